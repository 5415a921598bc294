//! `host invoke`: run one action and print its SOAR-shaped result.

use super::progress::Progress;
use super::{Global, dirs, report_error};
use clap::Args;
use serde_json::Map;
use soar_host::{ActionReport, Asset, Error, InvokeOptions, Limits, params};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Arguments of `host invoke`.
#[derive(Args)]
pub struct InvokeArgs {
    /// The connector (`cofense`)
    connector: String,
    /// The action (`get-ioc`, `"get ioc"` or `get_ioc`)
    action: String,
    /// Asset file (TOML) [default: ~/.config/soar/assets/<connector>.toml]
    #[arg(long, env = "SOAR_ASSET", value_name = "FILE")]
    asset: Option<PathBuf>,
    /// An action parameter; repeat for each (`--param id=41ec... --param source=Triage-1`)
    #[arg(short, long = "param", value_name = "NAME=VALUE", value_parser = parse_param)]
    params: Vec<(String, String)>,
    /// Stop the action after this many seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 300.0)]
    timeout: f64,
    /// Stop the action if it needs more memory than this
    #[arg(long, value_name = "MiB", default_value_t = 256)]
    memory: usize,
    /// Print the result on one line
    #[arg(long)]
    compact: bool,
}

fn parse_param(text: &str) -> Result<(String, String), String> {
    let (name, value) = text.split_once('=').ok_or_else(|| format!("'{text}' is not NAME=VALUE"))?;
    if name.trim().is_empty() {
        return Err(format!("'{text}' has no parameter name"));
    }
    Ok((name.trim().to_string(), value.to_string()))
}

/// Runs `host invoke`; returns the exit code.
pub async fn run(global: &Global, args: InvokeArgs) -> i32 {
    let echo: Map<String, serde_json::Value> =
        args.params.iter().map(|(name, value)| (name.clone(), serde_json::Value::from(value.as_str()))).collect();
    let report = match invoke(global, &args).await {
        Ok(report) => report,
        Err(err) => ActionReport::from_error(&err, echo),
    };
    if let Some(error) = &report.error {
        report_error(&error.message);
    }
    let json = if args.compact { serde_json::to_string(&report) } else { serde_json::to_string_pretty(&report) };
    println!("{}", json.unwrap_or_else(|err| format!("{{\"status\":\"failed\",\"message\":\"{err}\"}}")));
    report.exit_code()
}

async fn invoke(global: &Global, args: &InvokeArgs) -> Result<ActionReport, Error> {
    let limits = Limits {
        memory: args.memory.saturating_mul(1 << 20),
        time: Duration::try_from_secs_f64(args.timeout)
            .map_err(|_| Error::Host(format!("--timeout {} is not a number of seconds", args.timeout)))?,
    };
    let runtime = global.runtime(limits)?;
    let plugin = runtime.load(&global.plugin_dir().find(&args.connector)?).await?;
    let action = plugin.action(&args.action)?;
    let params = params::bind(&action.params, &args.params)?;
    let asset_path = args.asset.clone().unwrap_or_else(|| dirs::default_asset(&plugin.info().name));
    let asset = Arc::new(Asset::load(&asset_path, &plugin.info().configuration)?);

    let progress = Progress::new();
    let mut options = InvokeOptions::new(global.data_dir());
    let messages = progress.clone();
    options.progress = Some(Box::new(move |message| messages.message(message)));
    let bytes = progress.clone();
    options.download_progress = Some(Box::new(move |done, total| bytes.bytes(done, total)));
    let report = runtime.invoke(&plugin, action, params, asset, options).await;
    progress.finish();
    Ok(report)
}

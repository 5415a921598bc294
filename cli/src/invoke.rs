//! `host invoke`: run one action and print its SOAR-shaped result.

use super::options::{DataDirArgs, LoadArgs, PluginDirArgs, TlsArgs};
use super::output::{self, Format};
use super::progress::Progress;
use super::{dirs, report_error};
use clap::Args;
use serde_json::Map;
use soar_host::manifest::ActionKind;
use soar_host::storage::{DiskStores, Stores};
use soar_host::{ActionReport, Asset, Error, InvokeOptions, Limits, params};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Arguments of `host invoke`.
#[derive(Args)]
pub struct InvokeArgs {
    /// The connector (`cofense`)
    connector: String,
    /// The action (`get-ioc`, `"get ioc"` or `get_ioc`)
    action: String,
    /// An action parameter; repeat for each (`--param id=41ec... --param source=Triage-1`)
    #[arg(short, long = "param", value_name = "NAME=VALUE", value_parser = parse_param)]
    params: Vec<(String, String)>,
    /// Run the action for this container (files it adds to the vault belong to it)
    #[arg(long, value_name = "ID")]
    container: Option<u64>,
    #[command(flatten)]
    run: RunOptions,
}

/// Options of every command that runs an action.
#[derive(Args)]
pub struct RunOptions {
    /// Asset file (TOML) [default: ~/.config/soar/assets/<connector>.toml]
    #[arg(long, env = "SOAR_ASSET", value_name = "FILE")]
    asset: Option<PathBuf>,
    /// Stop the action after this many seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 300.0)]
    timeout: f64,
    /// Stop the action if it needs more memory than this
    #[arg(long, value_name = "MiB", default_value_t = 256)]
    memory: usize,
    /// Fail a download into the vault that grows larger than this
    #[arg(long, value_name = "MiB", env = "SOAR_MAX_DOWNLOAD", default_value_t = soar_host::sandbox::DEFAULT_MAX_DOWNLOAD >> 20)]
    max_download: u64,
    /// Print the result on one line (JSON)
    #[arg(long)]
    compact: bool,
    /// How to print the result: the SOAR action result as JSON, or a table of its data for a person
    #[arg(long, value_enum, default_value = "json")]
    output: Format,
    #[command(flatten)]
    plugins: PluginDirArgs,
    #[command(flatten)]
    data: DataDirArgs,
    #[command(flatten)]
    load: LoadArgs,
    // For the vendors the action reaches.
    #[command(flatten)]
    tls: TlsArgs,
}

/// One action to run: which, of which connector, with what.
pub struct Call<'a> {
    pub connector: &'a str,
    pub which: Which<'a>,
    /// The parameters as given (`name=value`).
    pub given: &'a [(String, String)],
    /// The container the action runs for.
    pub container: Option<u64>,
}

/// Which action to run.
pub enum Which<'a> {
    /// By name.
    Named(&'a str),
    /// The connector's action of this kind (`on poll` is its `ingest` action).
    Kind(ActionKind),
}

fn parse_param(text: &str) -> Result<(String, String), String> {
    let (name, value) = text.split_once('=').ok_or_else(|| format!("'{text}' is not NAME=VALUE"))?;
    if name.trim().is_empty() {
        return Err(format!("'{text}' has no parameter name"));
    }
    Ok((name.trim().to_string(), value.to_string()))
}

/// Runs `host invoke`; returns the exit code.
pub async fn run(args: InvokeArgs) -> i32 {
    let call = Call {
        connector: &args.connector,
        which: Which::Named(&args.action),
        given: &args.params,
        container: args.container,
    };
    run_action(&call, &args.run).await
}

/// Runs one action, prints its result and returns the exit code.
pub async fn run_action(call: &Call<'_>, options: &RunOptions) -> i32 {
    let echo: Map<String, serde_json::Value> =
        call.given.iter().map(|(name, value)| (name.clone(), serde_json::Value::from(value.as_str()))).collect();
    let report = match invoke(call, options).await {
        Ok(report) => report,
        Err(err) => ActionReport::from_error(&err, echo),
    };
    if let Some(error) = &report.error {
        report_error(&error.message);
    }
    if options.output == Format::Table {
        print!("{}", report_table(&report));
        return report.exit_code();
    }
    let json = if options.compact { serde_json::to_string(&report) } else { serde_json::to_string_pretty(&report) };
    println!("{}", json.unwrap_or_else(|err| format!("{{\"status\":\"failed\",\"message\":\"{err}\"}}")));
    report.exit_code()
}

/// An action result for a person: its status and message, its data as a table,
/// and its summary.
fn report_table(report: &ActionReport) -> String {
    let printable = |text: &str| soar_host::redact::printable(text, 4096);
    let status = serde_json::to_value(report.status).ok().and_then(|v| v.as_str().map(str::to_string));
    let mut out = format!("{}: {}\n", status.unwrap_or_default(), printable(&report.message));
    if let Some(error) = &report.error {
        let kind = serde_json::to_value(error.kind).ok().and_then(|v| v.as_str().map(str::to_string));
        out.push_str(&format!("kind: {}\n", kind.unwrap_or_default()));
        if let Some(parameter) = &error.parameter {
            out.push_str(&format!("parameter: {}\n", printable(parameter)));
        }
    }
    if !report.data.is_empty() {
        out.push('\n');
        out.push_str(&output::table(&report.data));
    }
    if let Some(summary) = report.summary.as_object().filter(|summary| !summary.is_empty()) {
        out.push('\n');
        for (key, value) in summary {
            let value = value.as_str().map_or_else(|| value.to_string(), str::to_string);
            out.push_str(&format!("{}: {}\n", printable(key), printable(&value)));
        }
    }
    out
}

async fn invoke(call: &Call<'_>, options: &RunOptions) -> Result<ActionReport, Error> {
    let limits = Limits {
        memory: options.memory.saturating_mul(1 << 20),
        time: Duration::try_from_secs_f64(options.timeout)
            .map_err(|_| Error::Host(format!("--timeout {} is not a number of seconds", options.timeout)))?,
        max_download: options.max_download.saturating_mul(1 << 20),
    };
    let runtime = options.load.runtime(limits, options.tls.settings())?;
    let plugin = runtime.load(&options.plugins.plugins().find(call.connector)?).await?;
    let action = match call.which {
        Which::Named(name) => plugin.action(name)?,
        Which::Kind(kind) => plugin.action_of_kind(kind)?,
    };
    let params = params::bind(&action.params, call.given)?;
    let asset_path = options.asset.clone().unwrap_or_else(|| dirs::default_asset(&plugin.info().name));
    let asset = Arc::new(Asset::load(&asset_path, &plugin.info().configuration)?);

    let data_dir = options.data.data_dir();
    let mut invoke_options = InvokeOptions::new(data_dir.clone());
    if let Some(id) = call.container {
        invoke_options.container = Some(container_name(&data_dir, id)?);
    }
    let progress = Progress::new();
    let messages = progress.clone();
    invoke_options.progress = Some(Arc::new(move |message| messages.message(message)));
    let bytes = progress.clone();
    invoke_options.download_progress = Some(Arc::new(move |done, total| bytes.bytes(done, total)));
    let containers = progress.clone();
    invoke_options.ingest_progress = Some(Arc::new(move |count| containers.count(count, "containers")));
    let report = runtime.invoke_action(&plugin, action, params, asset, &invoke_options).await;
    progress.finish();
    // The process exits next: the kernel takes back the engine's mappings and
    // the compiled code at once, faster than their destructors would one by
    // one.
    std::mem::forget(plugin);
    std::mem::forget(runtime);
    Ok(report)
}

/// The id and name of container `id`, which must exist.
fn container_name(data_dir: &Path, id: u64) -> Result<(u64, String), Error> {
    let store = DiskStores::new(data_dir.to_path_buf())
        .containers()
        .map_err(|err| Error::Host(format!("container store: {err}")))?;
    match store.container(id).map_err(|err| Error::Host(format!("container store: {err}")))? {
        Some(container) => Ok((id, container.name)),
        None => Err(Error::Param(soar_host::params::ParamError {
            name: "container".into(),
            message: format!("There is no container {id} in {}", data_dir.display()),
        })),
    }
}

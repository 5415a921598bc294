//! `host invoke`: run one action and print its SOAR-shaped result.

use super::options::{DataDirArgs, LoadArgs, LoadSettings, PluginDirArgs, TlsArgs, absolute};
use super::output::{self, Format};
use super::progress::Progress;
use super::resident::{self, Forwarded};
use super::{dirs, report_error};
use clap::Args;
use serde::{Deserialize, Serialize};
use serde_json::Map;
use soar_host::manifest::ActionKind;
use soar_host::sandbox::outbound::TlsSettings;
use soar_host::storage::{DiskStores, Stores};
use soar_host::{ActionReport, Asset, Error, InvokeOptions, Limits, PluginDir, Runtime, params};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Arguments of `host invoke`.
#[derive(Args)]
#[command(after_help = resident::HANDED_OVER)]
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
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Call {
    pub connector: String,
    pub which: Which,
    /// The parameters as given (`name=value`).
    pub given: Vec<(String, String)>,
    /// The container the action runs for.
    pub container: Option<u64>,
}

/// Which action to run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Which {
    /// By name.
    Named(String),
    /// The connector's action of this kind (`on poll` is its `ingest` action).
    Kind(ActionKind),
}

impl Call {
    /// The parameters as given, for the result of an action that did not run.
    fn echo(&self) -> Map<String, serde_json::Value> {
        self.given.iter().map(|(name, value)| (name.clone(), serde_json::Value::from(value.as_str()))).collect()
    }
}

/// [`RunOptions`] resolved: every default filled in from this process's
/// environment, every path absolute, the limits checked. What an action needs
/// to run the same here or in a resident host.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunSettings {
    /// The asset file, if one was named.
    pub asset: Option<PathBuf>,
    /// Where `<connector>.toml`, the default asset, is.
    pub assets_dir: PathBuf,
    pub memory: usize,
    pub time: Duration,
    pub max_download: u64,
    pub compact: bool,
    pub output: Format,
    pub plugin_dir: PathBuf,
    pub data_dir: PathBuf,
    pub load: LoadSettings,
    pub tls: TlsSettings,
}

impl RunOptions {
    /// The settings these options give.
    fn settings(&self) -> Result<RunSettings, Error> {
        Ok(RunSettings {
            asset: self.asset.clone().map(absolute),
            assets_dir: absolute(dirs::assets()),
            memory: self.memory.saturating_mul(1 << 20),
            time: Duration::try_from_secs_f64(self.timeout)
                .map_err(|_| Error::Host(format!("--timeout {} is not a number of seconds", self.timeout)))?,
            max_download: self.max_download.saturating_mul(1 << 20),
            compact: self.compact,
            output: self.output,
            plugin_dir: self.plugins.path(),
            data_dir: self.data.data_dir(),
            load: self.load.settings(),
            tls: self.tls.settings(),
        })
    }
}

impl RunSettings {
    pub fn limits(&self) -> Limits {
        Limits { memory: self.memory, time: self.time, max_download: self.max_download }
    }
}

/// What a command that ran an action prints, and its exit code.
#[derive(Debug, Serialize, Deserialize)]
pub struct Outcome {
    /// The error line for stderr, if the action failed.
    pub error: Option<String>,
    pub stdout: String,
    pub exit: i32,
}

impl Outcome {
    /// The output of `report`, in `format`.
    pub fn of(report: &ActionReport, format: Format, compact: bool) -> Self {
        let stdout = if format == Format::Table {
            report_table(report)
        } else {
            let json = if compact { serde_json::to_string(report) } else { serde_json::to_string_pretty(report) };
            json.unwrap_or_else(|err| format!("{{\"status\":\"failed\",\"message\":\"{err}\"}}")) + "\n"
        };
        Self { error: report.error.as_ref().map(|error| error.message.clone()), stdout, exit: report.exit_code() }
    }

    /// The outcome of an action that could not start because of `err`.
    pub fn failed(err: &Error, call: &Call, format: Format, compact: bool) -> Self {
        Self::of(&ActionReport::from_error(err, call.echo()), format, compact)
    }

    /// Prints the outcome; returns the exit code.
    pub fn print(&self) -> i32 {
        if let Some(error) = &self.error {
            report_error(error);
        }
        print!("{}", self.stdout);
        self.exit
    }
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
        connector: args.connector,
        which: Which::Named(args.action),
        given: args.params,
        container: args.container,
    };
    run_action(&call, &args.run).await
}

/// Runs one action, in the resident host that `SOAR_HOST_SOCKET` names if one
/// serves there, else here; prints its result and returns the exit code.
pub async fn run_action(call: &Call, options: &RunOptions) -> i32 {
    let settings = match options.settings() {
        Ok(settings) => settings,
        Err(err) => return Outcome::failed(&err, call, options.output, options.compact).print(),
    };
    settings.load.warn();
    let progress = Progress::new();
    let outcome = match resident::socket() {
        Some(socket) => match resident::forward(&socket, call, &settings, &progress).await {
            Forwarded::Done(outcome) => outcome,
            Forwarded::Elsewhere(why) => {
                tracing::info!("{why}; running the action in this process");
                here(call, &settings, &progress).await
            }
        },
        None => here(call, &settings, &progress).await,
    };
    progress.finish();
    outcome.print()
}

/// Runs the action in this process.
async fn here(call: &Call, settings: &RunSettings, progress: &Progress) -> Outcome {
    let runtime = settings
        .load
        .trust()
        .and_then(|trust| Runtime::new(settings.load.options(trust, settings.limits(), settings.tls.clone(), None)));
    let report = match runtime {
        Ok(runtime) => {
            let report =
                run_on(&runtime, call, settings, &|name| std::env::var(name).ok(), &|options| progress.attach(options))
                    .await;
            // The process exits next: the kernel takes back the engine's
            // mappings and the compiled code at once, faster than their
            // destructors would one by one.
            std::mem::forget(runtime);
            report
        }
        Err(err) => ActionReport::from_error(&err, call.echo()),
    };
    Outcome::of(&report, settings.output, settings.compact)
}

/// Runs `call` on `runtime`, with `env` as the environment its asset's
/// `{ env = ... }` values and its user come from, and `watch` attaching the
/// progress displays; returns its report, or the report of why it did not run.
pub async fn run_on(
    runtime: &Runtime,
    call: &Call,
    settings: &RunSettings,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
    watch: &(dyn Fn(&mut InvokeOptions) + Sync),
) -> ActionReport {
    match invoke(runtime, call, settings, env, watch).await {
        Ok(report) => report,
        Err(err) => ActionReport::from_error(&err, call.echo()),
    }
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

async fn invoke(
    runtime: &Runtime,
    call: &Call,
    settings: &RunSettings,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
    watch: &(dyn Fn(&mut InvokeOptions) + Sync),
) -> Result<ActionReport, Error> {
    let plugin = runtime.plugin(&PluginDir::new(&settings.plugin_dir), &call.connector).await?;
    let action = match &call.which {
        Which::Named(name) => plugin.action(name)?,
        Which::Kind(kind) => plugin.action_of_kind(*kind)?,
    };
    let params = params::bind(&action.params, &call.given)?;
    let asset_path =
        settings.asset.clone().unwrap_or_else(|| settings.assets_dir.join(format!("{}.toml", plugin.info().name)));
    let asset = Arc::new(Asset::load_with_env(&asset_path, &plugin.info().configuration, env)?);

    let mut invoke_options = InvokeOptions::new(settings.data_dir.clone());
    invoke_options.user = soar_host::user_in(env);
    if let Some(id) = call.container {
        invoke_options.container = Some(container_name(&settings.data_dir, id)?);
    }
    watch(&mut invoke_options);
    Ok(runtime.invoke_action(&plugin, action, params, asset, &invoke_options).await)
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

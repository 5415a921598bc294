//! `host`: run sandboxed security-automation connectors from the command line.
//!
//! Command-line parsing and the subcommands, on the `soar_host` library.

mod actions;
mod containers;
mod dirs;
mod invoke;
mod output;
mod plugin;
mod poll;
mod progress;
mod signing;

use clap::{Args, Parser, Subcommand};
use soar_host::signing::TrustStore;
use soar_host::{Runtime, RuntimeOptions, Trust, exit};
use std::path::PathBuf;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

/// Run sandboxed security-automation connectors (WebAssembly components).
#[derive(Parser)]
#[command(name = "host", version, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Options every subcommand takes.
#[derive(Args)]
pub struct Global {
    /// Directory of installed connectors (`<name>.wasm`) [default: ~/.local/share/soar/plugins]
    #[arg(long, env = "SOAR_PLUGIN_DIR", global = true, value_name = "DIR")]
    plugin_dir: Option<PathBuf>,
    /// Directory for asset state, the vault and ingested containers [default: ~/.local/share/soar]
    #[arg(long, env = "SOAR_DATA_DIR", global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Directory for compiled connector code [default: ~/.cache/soar/compiled]
    #[arg(long, env = "SOAR_CACHE_DIR", global = true, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Trusted public keys: a key file or a directory of them [default: ~/.config/soar/trusted-keys]
    #[arg(long, env = "SOAR_TRUST", global = true, value_name = "PATH")]
    trust: Option<PathBuf>,
    /// Load connectors without checking their signatures. For developing connectors only
    #[arg(long, env = "SOAR_ALLOW_UNSIGNED", global = true, value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = parse_flag, action = clap::ArgAction::Set, default_value = "false")]
    allow_unsigned: bool,
    /// Accept signatures that cover only part of a component (wasmsign2 extensions)
    #[arg(long, env = "SOAR_ALLOW_PARTIAL_SIGNATURES", global = true, value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = parse_flag, action = clap::ArgAction::Set, default_value = "false")]
    allow_partial_signatures: bool,
    /// Trust the CA certificates in this PEM file, besides the system's, for vendors and registries
    #[arg(long, env = "SOAR_CA_BUNDLE", global = true, value_name = "FILE")]
    ca_bundle: Option<PathBuf>,
    /// More diagnostics on stderr (-v: info, -vv: debug)
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
}

impl Global {
    fn plugin_dir(&self) -> soar_host::PluginDir {
        soar_host::PluginDir::new(self.plugin_dir.clone().unwrap_or_else(dirs::plugins))
    }

    fn data_dir(&self) -> PathBuf {
        self.data_dir.clone().unwrap_or_else(dirs::data)
    }

    fn trust_path(&self) -> PathBuf {
        self.trust.clone().unwrap_or_else(dirs::trusted_keys)
    }

    fn trust_store(&self) -> Result<TrustStore, soar_host::Error> {
        TrustStore::load(&self.trust_path())
            .map(|store| store.allow_partial_signatures(self.allow_partial_signatures))
            .map_err(soar_host::Error::TrustStore)
    }

    fn runtime(&self, limits: soar_host::Limits) -> Result<Runtime, soar_host::Error> {
        let trust = if self.allow_unsigned {
            eprintln!(
                "WARNING: --allow-unsigned: connector signatures are NOT checked. Use this only while developing connectors."
            );
            Trust::AllowUnsigned
        } else {
            Trust::Signed(self.trust_store()?)
        };
        let cache_dir = Some(self.cache_dir.clone().unwrap_or_else(dirs::cache));
        // One action per process: no instance pool (see `RuntimeOptions::instance_pool`).
        let tls = soar_host::sandbox::outbound::TlsSettings { ca_bundle: self.ca_bundle.clone() };
        Runtime::new(RuntimeOptions { trust, cache_dir, limits, tls, instance_pool: None, ..Default::default() })
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run one action and print its result as JSON
    Invoke(invoke::InvokeArgs),
    /// Run a connector's ingestion action (`on poll`): new data become containers
    Poll(poll::PollArgs),
    /// List a connector's actions and configuration
    Actions(actions::ActionsArgs),
    /// List, show and export the containers ingestion actions saved
    Containers(containers::ContainersArgs),
    /// Install, list, remove, publish, pin and export connectors (signed components)
    Plugin(plugin::PluginArgs),
    /// Create a signing key pair (Ed25519, wasmsign2's key format)
    Keygen(signing::KeygenArgs),
    /// Sign a component (adding to its existing signatures)
    Sign(signing::SignArgs),
    /// Check a component's signatures and print its digest and signers
    Verify(signing::VerifyArgs),
    /// Print a shell completion script (`host completions bash > ~/.local/share/bash-completion/completions/host`)
    Completions {
        /// The shell
        shell: clap_complete::Shell,
        /// The command name to complete (`soar-host` for that name of the binary)
        #[arg(long, default_value = "host")]
        name: String,
    },
    /// Print the manual page (roff; `host man | man -l -`)
    Man,
}

fn main() -> ExitCode {
    // Error values capture a backtrace when RUST_BACKTRACE is set, which costs
    // milliseconds per error and fills error output; the host reports causes, not
    // host backtraces, unless RUST_LIB_BACKTRACE asks for them explicitly.
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        // SAFETY: nothing else runs yet; no other thread reads the environment.
        unsafe { std::env::set_var("RUST_LIB_BACKTRACE", "0") };
    }
    ExitCode::from(u8::try_from(run()).unwrap_or(1))
}

/// Runs the command line; returns the exit code.
fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() { exit::INVALID_INPUT } else { exit::SUCCESS };
        }
    };
    init_logging(cli.global.verbose);
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return exit::HOST;
        }
    };
    runtime.block_on(async {
        match cli.command {
            Command::Invoke(args) => invoke::run(&cli.global, args).await,
            Command::Poll(args) => poll::run(&cli.global, args).await,
            Command::Actions(args) => actions::run(&cli.global, args).await,
            Command::Containers(args) => containers::run(&cli.global, args),
            Command::Plugin(args) => plugin::run(&cli.global, args).await,
            Command::Keygen(args) => signing::keygen(args),
            Command::Sign(args) => signing::sign(args),
            Command::Verify(args) => signing::verify(&cli.global, args),
            Command::Completions { shell, name } => {
                clap_complete::generate(
                    shell,
                    &mut <Cli as clap::CommandFactory>::command(),
                    name,
                    &mut std::io::stdout(),
                );
                exit::SUCCESS
            }
            Command::Man => man(),
        }
    })
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_env("SOAR_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .with_target(false)
        .without_time()
        .init();
}

/// Writes the manual page of `host` and its subcommands to stdout.
fn man() -> i32 {
    let page = clap_mangen::Man::new(<Cli as clap::CommandFactory>::command());
    match page.render(&mut std::io::stdout()) {
        Ok(()) => exit::SUCCESS,
        // A pager or `head` that stops reading early is not an error.
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => exit::SUCCESS,
        Err(err) => {
            report_error(&format!("cannot write the manual page: {err}"));
            exit::HOST
        }
    }
}

/// A boolean as environment variables spell it: 1/true/yes/on or 0/false/no/off.
fn parse_flag(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        _ => Err(format!("'{text}' is not a boolean: use 1, true or yes, or 0, false or no")),
    }
}

/// Prints `error: <message>` on stderr.
pub fn report_error(message: &str) {
    eprintln!("error: {message}");
}

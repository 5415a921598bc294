//! `host`: run sandboxed security-automation connectors from the command line.
//!
//! Command-line parsing and the subcommands, on the `soar_host` library.

mod actions;
mod containers;
mod dirs;
mod invoke;
mod options;
mod output;
mod plugin;
mod poll;
mod progress;
mod resident;
mod signing;

use clap::{Parser, Subcommand};
use soar_host::exit;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

/// Run sandboxed security-automation connectors (WebAssembly components).
#[derive(Parser)]
#[command(name = "host", version, propagate_version = true)]
struct Cli {
    /// More diagnostics on stderr (-v: info, -vv: debug)
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
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
    /// Keep connectors loaded and run the actions that `invoke` and `poll` hand over (when SOAR_HOST_SOCKET names the socket)
    Serve(resident::ServeArgs),
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
    init_logging(cli.verbose);
    // One action needs one thread; a resident host runs many at once.
    let mut builder = match cli.command {
        Command::Serve(_) => tokio::runtime::Builder::new_multi_thread(),
        _ => tokio::runtime::Builder::new_current_thread(),
    };
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return exit::HOST;
        }
    };
    runtime.block_on(async {
        match cli.command {
            Command::Invoke(args) => invoke::run(args).await,
            Command::Poll(args) => poll::run(args).await,
            Command::Actions(args) => actions::run(args).await,
            Command::Containers(args) => containers::run(args),
            Command::Plugin(args) => plugin::run(args).await,
            Command::Keygen(args) => signing::keygen(args),
            Command::Sign(args) => signing::sign(args),
            Command::Verify(args) => signing::verify(args),
            Command::Serve(args) => resident::serve(args).await,
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

/// How this process logs, set once by `init_logging`.
static LOGGING: std::sync::OnceLock<resident::Logging> = std::sync::OnceLock::new();

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = std::env::var("SOAR_LOG").ok().filter(|filter| EnvFilter::try_new(filter).is_ok());
    let logging = resident::Logging {
        filter: filter.unwrap_or_else(|| default.into()),
        colour: std::io::IsTerminal::is_terminal(&std::io::stderr()),
    };
    // `try_init` also routes the `log` records of dependencies into it.
    let _ = tracing_subscriber::util::SubscriberInitExt::try_init(log_subscriber(&logging, std::io::stderr));
    let _ = LOGGING.set(logging);
}

/// How this process logs (on stderr, as `-v` and `SOAR_LOG` say).
pub fn logging() -> resident::Logging {
    LOGGING.get().cloned().unwrap_or(resident::Logging { filter: "warn".into(), colour: false })
}

/// The log subscriber of a command that logs as `logging` says, to `writer`: in
/// this process, or in a resident host for a command's action.
pub fn log_subscriber<W>(logging: &resident::Logging, writer: W) -> impl tracing::Subscriber + Send + Sync + 'static
where
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(&logging.filter).unwrap_or_else(|_| EnvFilter::new("warn")))
        .with_writer(writer)
        .with_ansi(logging.colour)
        .with_target(false)
        .without_time()
        .finish()
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

/// Prints `error: <message>` on stderr.
pub fn report_error(message: &str) {
    eprintln!("error: {message}");
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::{CommandFactory, Parser};
    use std::collections::BTreeMap;

    /// The options of every command that runs an action.
    const RUN: &str = "asset timeout memory max-download compact output";
    /// The options of every command that loads connectors.
    const LOAD: &str = "cache-dir compiler trust allow-partial-signatures allow-unsigned";
    /// Every command and the options it takes (besides `--help`, `--version`
    /// and the global `-v`): an option is placed on a command deliberately.
    const OPTIONS: &[(&str, &[&str])] = &[
        ("invoke", &["param container", RUN, "plugin-dir data-dir ca-bundle", LOAD]),
        ("poll", &["poll-now container-count", RUN, "plugin-dir data-dir ca-bundle", LOAD]),
        ("actions", &["output json plugin-dir", LOAD]),
        ("containers list", &["connector asset limit output data-dir"]),
        ("containers show", &["output data-dir"]),
        ("containers export", &["connector asset data-dir"]),
        ("plugin install", &["replace insecure-registry ca-bundle plugin-dir", LOAD]),
        ("plugin list", &["plugin-dir", LOAD]),
        ("plugin remove", &["plugin-dir"]),
        ("plugin push", &["insecure-registry ca-bundle", LOAD]),
        ("plugin sync", &["lock replace insecure-registry ca-bundle plugin-dir", LOAD]),
        ("plugin export", &["output with-keys plugin-dir", LOAD]),
        ("keygen", &["secret-key public-key"]),
        ("sign", &["secret-key public-key output"]),
        ("verify", &["public-key trust allow-partial-signatures"]),
        ("serve", &["socket"]),
        ("completions", &["name"]),
        ("man", &[]),
    ];

    /// The commands that run something (no subcommands of their own), by
    /// their path, with their long options.
    fn leaves(command: &clap::Command, path: &str, found: &mut BTreeMap<String, Vec<String>>) {
        if command.has_subcommands() {
            for sub in command.get_subcommands().filter(|sub| sub.get_name() != "help") {
                let path = format!("{path} {}", sub.get_name()).trim().to_string();
                leaves(sub, &path, found);
            }
            return;
        }
        let mut options: Vec<String> = command
            .get_arguments()
            .filter_map(|arg| arg.get_long())
            .filter(|long| !["help", "version", "verbose"].contains(long))
            .map(str::to_string)
            .collect();
        options.sort();
        found.insert(path.to_string(), options);
    }

    #[test]
    fn each_command_takes_exactly_the_options_that_change_what_it_does() {
        let mut command = Cli::command();
        command.build();
        let mut found = BTreeMap::new();
        leaves(&command, "", &mut found);
        let expected: BTreeMap<String, Vec<String>> = OPTIONS
            .iter()
            .map(|(path, groups)| {
                let mut options: Vec<String> =
                    groups.iter().flat_map(|group| group.split_whitespace()).map(str::to_string).collect();
                options.sort();
                (path.to_string(), options)
            })
            .collect();
        assert_eq!(found.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>(), "the commands");
        for (path, options) in &expected {
            assert_eq!(&found[path], options, "the options of `host {path}`");
        }
    }

    #[test]
    fn verbose_is_taken_everywhere_and_nothing_else_before_the_command() {
        let parse =
            |args: &[&str]| Cli::try_parse_from([&["host"], args].concat()).map(|_| ()).map_err(|err| err.kind());
        assert_eq!(parse(&["man", "-vv"]), Ok(()));
        assert_eq!(parse(&["-v", "containers", "list"]), Ok(()));
        let unknown = Err(clap::error::ErrorKind::UnknownArgument);
        assert_eq!(parse(&["--trust", "keys", "plugin", "list"]), unknown);
        assert_eq!(parse(&["plugin", "--plugin-dir", "plugins", "list"]), unknown);
        assert_eq!(parse(&["containers", "list", "--trust", "keys"]), unknown);
        assert_eq!(parse(&["keygen", "-k", "a", "-K", "b", "--cache-dir", "c"]), unknown);
    }
}

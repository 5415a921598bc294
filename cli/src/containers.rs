//! `host containers`: what ingestion actions saved.

use super::options::DataDirArgs;
use super::output::{self, Format};
use super::report_error;
use clap::{Args, Subcommand};
use soar_host::exit;
use soar_host::storage::ingest::ContainerStore;
use soar_host::storage::{DiskStores, Stores};
use std::io::Write;

/// Arguments of `host containers`.
#[derive(Args)]
pub struct ContainersArgs {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List containers (JSON array, without artifacts; or a table)
    List {
        #[command(flatten)]
        filter: Filter,
        /// At most this many
        #[arg(long)]
        limit: Option<u64>,
        /// JSON for programs, or a table for a person
        #[arg(long, value_enum, default_value = "json")]
        output: Format,
        #[command(flatten)]
        data: DataDirArgs,
    },
    /// Show one container with its artifacts (JSON; or a table of the artifacts)
    Show {
        /// The container id
        id: u64,
        /// JSON for programs, or the container and a table of its artifacts for a person
        #[arg(long, value_enum, default_value = "json")]
        output: Format,
        #[command(flatten)]
        data: DataDirArgs,
    },
    /// Export containers with their artifacts (JSON array, streamed)
    Export {
        #[command(flatten)]
        filter: Filter,
        #[command(flatten)]
        data: DataDirArgs,
    },
}

impl Command {
    fn data(&self) -> &DataDirArgs {
        match self {
            Command::List { data, .. } | Command::Show { data, .. } | Command::Export { data, .. } => data,
        }
    }
}

#[derive(Args)]
struct Filter {
    /// Only this connector's containers
    #[arg(long)]
    connector: Option<String>,
    /// Only this asset's containers (the asset file's name without .toml)
    #[arg(long)]
    asset: Option<String>,
}

/// Runs `host containers`; returns the exit code.
pub fn run(args: ContainersArgs) -> i32 {
    let data_dir = args.command.data().data_dir();
    let store = match DiskStores::new(data_dir.clone()).containers() {
        Ok(store) => store,
        Err(err) => {
            report_error(&format!("cannot open the container store in {}: {err}", data_dir.display()));
            return exit::HOST;
        }
    };
    let result = match args.command {
        Command::List { filter, limit, output, .. } => store
            .containers(filter.connector.as_deref(), filter.asset.as_deref(), limit)
            .map(|containers| match output {
                Format::Json => print_json(&containers),
                Format::Table => print!("{}", output::table(&as_rows(&containers))),
            }),
        Command::Show { id, output, .. } => match store.container(id) {
            Ok(Some(container)) => store.artifacts(id).map(|artifacts| match output {
                Format::Json => print_json(&serde_json::json!({"container": container, "artifacts": artifacts})),
                Format::Table => {
                    print!("{}", output::table(&as_rows(std::slice::from_ref(&container))));
                    println!();
                    print!("{}", output::table(&as_rows(&artifacts)));
                }
            }),
            Ok(None) => {
                report_error(&format!("there is no container {id}"));
                return exit::INVALID_INPUT;
            }
            Err(err) => Err(err),
        },
        Command::Export { filter, .. } => export(store.as_ref(), &filter),
    };
    match result {
        Ok(()) => exit::SUCCESS,
        Err(err) => {
            report_error(&format!("container store: {err}"));
            exit::HOST
        }
    }
}

/// Records as JSON rows for a table.
fn as_rows<T: serde::Serialize>(items: &[T]) -> Vec<serde_json::Value> {
    items.iter().filter_map(|item| serde_json::to_value(item).ok()).collect()
}

fn print_json(value: &impl serde::Serialize) {
    println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
}

/// Writes `[{"container": ..., "artifacts": [...]}, ...]` one container at a time.
fn export(store: &dyn ContainerStore, filter: &Filter) -> std::io::Result<()> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut first = true;
    let write = |out: &mut dyn Write, text: &str| out.write_all(text.as_bytes());
    write(&mut out, "[")?;
    store.for_each_container(filter.connector.as_deref(), filter.asset.as_deref(), &mut |container, artifacts| {
        let item = serde_json::json!({"container": container, "artifacts": artifacts});
        let separator = if first { "\n" } else { ",\n" };
        first = false;
        out.write_all(separator.as_bytes())?;
        serde_json::to_writer(&mut out, &item).map_err(std::io::Error::other)
    })?;
    write(&mut out, "\n]\n")?;
    out.flush()
}

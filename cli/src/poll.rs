//! `host poll`: run a connector's ingestion action (`on poll`).

use super::invoke::{Call, RunOptions, Which, run_action};
use clap::Args;
use soar_host::manifest::ActionKind;

/// Arguments of `host poll`.
#[derive(Args)]
#[command(after_help = crate::resident::HANDED_OVER)]
pub struct PollArgs {
    /// The connector (`threatconnect`)
    connector: String,
    /// A one-off poll: look back `interval_days`, leave the checkpoint alone
    #[arg(long)]
    poll_now: bool,
    /// With --poll-now, the most containers to ingest
    #[arg(long, value_name = "N", requires = "poll_now")]
    container_count: Option<u32>,
    #[command(flatten)]
    run: RunOptions,
}

/// Runs `host poll`; returns the exit code.
pub async fn run(args: PollArgs) -> i32 {
    let mut params = Vec::new();
    if args.poll_now {
        params.push(("poll_now".to_string(), "true".to_string()));
    }
    if let Some(count) = args.container_count {
        params.push(("container_count".to_string(), count.to_string()));
    }
    let call =
        Call { connector: args.connector, which: Which::Kind(ActionKind::Ingest), given: params, container: None };
    run_action(&call, &args.run).await
}

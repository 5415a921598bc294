//! The resident host: `host serve` keeps the engine, the loaded connectors and
//! the vendor connections of one user warm in one process, and `host invoke`
//! and `host poll` hand it their action over a Unix socket when
//! `SOAR_HOST_SOCKET` names one. An action then costs the command's start and
//! the action itself, not loading the engine and the connector again.
//!
//! The two ends are the same user's: the socket's directory is the user's own
//! and no one else may write to it, and each end checks the other's user id
//! (`SO_PEERCRED`) before a byte of an action passes. The command resolves
//! everything that depends on where it runs (defaults from its environment,
//! relative paths against its directory) and sends its environment along, for
//! the asset's `{ env = ... }` values; the resident host looks at its own
//! environment for none of it. Whatever the resident host loads, it checks
//! again for each action as a command would: the trusted keys are read again,
//! and a connector file that changed is verified and loaded again.
//!
//! On the socket: one connection per action. The command writes one line of
//! JSON ([`Request`]); the resident host answers with lines of JSON
//! ([`Event`]), progress and log lines while the action runs, then its
//! [`Outcome`]. A command that goes away stops its action.

mod forward;
mod serve;

pub use forward::{Forwarded, forward};
pub use serve::{ServeArgs, run as serve};

use super::invoke::{Call, Outcome, RunSettings};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The environment variable naming the resident host's socket.
pub const SOCKET_VAR: &str = "SOAR_HOST_SOCKET";

/// What the help of the commands that hand their action over says of it.
pub const HANDED_OVER: &str =
    "With SOAR_HOST_SOCKET set, the action runs in the resident host serving that socket (`host serve`), if one does.";

/// The longest request line a resident host reads.
const MAX_REQUEST: u64 = 4 << 20;

/// The version of the host and of the protocol.
const VERSION: &str = concat!(env!("CARGO_PKG_NAME"), " ", env!("CARGO_PKG_VERSION"), " protocol 1");

/// What the command and the resident host must agree on: the same build runs an
/// action the same way. Besides the version, the size and modification time of
/// the executable: a host rebuilt or upgraded in place never hands its actions
/// to a resident host still running the old code (which takes this when it
/// starts).
fn build() -> String {
    let executable = std::env::current_exe().and_then(std::fs::metadata);
    match executable.as_ref().map(|meta| (meta.len(), meta.modified())) {
        Ok((size, Ok(modified))) => {
            let modified = modified.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            format!("{VERSION}, an executable of {size} bytes modified at {}", modified.as_nanos())
        }
        _ => VERSION.into(),
    }
}

/// The socket `SOAR_HOST_SOCKET` names, if it names one.
pub fn socket() -> Option<PathBuf> {
    std::env::var_os(SOCKET_VAR).filter(|value| !value.is_empty()).map(PathBuf::from)
}

/// An action handed to the resident host.
#[derive(Debug, Serialize, Deserialize)]
struct Request {
    /// The command's [`build`].
    version: String,
    call: Call,
    settings: RunSettings,
    /// The command's environment.
    env: BTreeMap<String, String>,
    /// How the command logs: its filter, and whether its stderr takes colour.
    log: Logging,
}

/// How a command logs on its stderr.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Logging {
    /// The filter (`warn`, `soar_host=debug`).
    pub filter: String,
    pub colour: bool,
}

/// What the resident host tells the command.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Event {
    /// The connector's progress message.
    Progress(String),
    /// Download progress: bytes so far, of the total when known.
    Bytes(u64, Option<u64>),
    /// Containers saved so far.
    Count(u64),
    /// A log line for the command's stderr.
    Log(String),
    /// The action ended.
    Done(Outcome),
    /// The resident host does not run this request (another version, a
    /// malformed request); nothing of the action ran.
    Refused(String),
}

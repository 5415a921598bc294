//! Idle connections kept for the next request of the same asset to the same
//! origin, and never for another asset's.

use std::sync::{Arc, Mutex};
use std::time::Duration;
use wasmtime_wasi_http::WasiBody;

/// How long an idle connection is kept: short enough to expire before most
/// servers' own keep-alive timeouts, so a request rarely meets a connection the
/// server is closing.
const IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// The most idle connections kept per asset and origin.
const MAX_IDLE: usize = 256;

/// Idle connections of one runtime, by asset and origin (see the module
/// documentation).
#[derive(Default)]
pub struct ConnectionPool {
    idle: Mutex<std::collections::HashMap<PoolKey, Vec<Idle>>>,
}

impl std::fmt::Debug for ConnectionPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionPool").finish_non_exhaustive()
    }
}

/// Whose connection to where: the asset (`tenant`), the origin, and how its
/// certificate was checked.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct PoolKey {
    pub(super) tenant: Arc<str>,
    pub(super) https: bool,
    pub(super) host: url::Host,
    pub(super) port: u16,
    pub(super) verify_tls: bool,
}

struct Idle {
    sender: hyper::client::conn::http1::SendRequest<WasiBody>,
    since: std::time::Instant,
}

impl ConnectionPool {
    /// A connection of `key` ready for a request, if one is idle.
    pub(super) fn take(&self, key: &PoolKey) -> Option<hyper::client::conn::http1::SendRequest<WasiBody>> {
        let mut idle = self.idle.lock().ok()?;
        let connections = idle.get_mut(key)?;
        // Closed and expired connections go; those still busy with a response
        // body stay for later.
        connections.retain(|c| !c.sender.is_closed() && c.since.elapsed() < IDLE_TIMEOUT);
        let ready = connections.iter().position(|c| c.sender.is_ready());
        ready.map(|at| connections.swap_remove(at).sender)
    }

    /// Keeps `sender` for later requests of `key`; it is taken only once its
    /// current response has been read.
    pub(super) fn keep(&self, key: PoolKey, sender: hyper::client::conn::http1::SendRequest<WasiBody>) {
        if let Ok(mut idle) = self.idle.lock() {
            let connections = idle.entry(key).or_default();
            if connections.len() < MAX_IDLE {
                connections.push(Idle { sender, since: std::time::Instant::now() });
            }
        }
    }
}

//! The sandbox around each action: what the guest may reach, how much memory it
//! may use and for how long it may run.

pub mod outbound;

use std::time::Duration;

/// Resource limits for one action.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The most linear memory the connector may use, in bytes.
    pub memory: usize,
    /// The longest an action may run, host calls and downloads included.
    pub time: Duration,
    /// The largest file one download may add to the vault, in bytes.
    pub max_download: u64,
}

/// The default download limit: 4 GiB, room for large message archives and the
/// 1 GiB benchmark, small enough that a hostile vendor cannot fill a disk.
pub const DEFAULT_MAX_DOWNLOAD: u64 = 4 << 30;

impl Default for Limits {
    fn default() -> Self {
        Self { memory: 256 << 20, time: Duration::from_secs(300), max_download: DEFAULT_MAX_DOWNLOAD }
    }
}

/// A `ResourceLimiter` that caps linear memory and remembers a refusal, so that
/// the trap a starved guest then raises can be reported as what it is.
pub struct MemoryCap {
    limit: usize,
    exceeded: bool,
}

impl MemoryCap {
    /// Caps memory at `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Self { limit, exceeded: false }
    }

    /// Whether a growth was refused.
    pub fn exceeded(&self) -> bool {
        self.exceeded
    }
}

impl wasmtime::ResourceLimiter for MemoryCap {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let allowed = desired <= self.limit;
        self.exceeded |= !allowed;
        Ok(allowed)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }

    fn instances(&self) -> usize {
        64
    }

    fn tables(&self) -> usize {
        64
    }

    fn memories(&self) -> usize {
        16
    }
}

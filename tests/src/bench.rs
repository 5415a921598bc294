//! What the benchmarks share: timing child processes and summarising samples.

use std::time::Duration;

/// Median, 90th percentile and minimum of `samples`.
pub struct Stats {
    pub median: Duration,
    pub p90: Duration,
    pub min: Duration,
}

impl Stats {
    /// Summarises `samples` (at least one).
    pub fn of(samples: &mut [Duration]) -> Self {
        samples.sort();
        let at = |fraction: f64| samples[((samples.len() - 1) as f64 * fraction).round() as usize];
        Self { median: at(0.5), p90: at(0.9), min: samples[0] }
    }
}

impl std::fmt::Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "median {} | p90 {} | min {}", show(self.median), show(self.p90), show(self.min))
    }
}

/// A duration in the unit that suits it.
pub fn show(duration: Duration) -> String {
    let micros = duration.as_secs_f64() * 1e6;
    if micros < 1000.0 {
        format!("{micros:.1} µs")
    } else if micros < 1e6 {
        format!("{:.2} ms", micros / 1e3)
    } else {
        format!("{:.2} s", micros / 1e6)
    }
}

/// What a measured child process did.
pub struct Measured {
    pub status: std::process::ExitStatus,
    /// Wall time from spawn to exit.
    pub elapsed: Duration,
    /// Peak resident memory, in bytes (`measure_memory` only).
    pub max_rss: u64,
    pub stdout: Vec<u8>,
}

/// Runs `command` to completion and times it.
pub fn measure(command: &mut std::process::Command) -> std::io::Result<Measured> {
    let started = std::time::Instant::now();
    let output = command.stderr(std::process::Stdio::inherit()).output()?;
    Ok(Measured { status: output.status, elapsed: started.elapsed(), max_rss: 0, stdout: output.stdout })
}

/// Runs `command` under GNU time (`/usr/bin/time`), which reports the peak memory
/// of exactly the process it starts. The kernel's own accounting of a child
/// started from here would not do: Linux carries the forking process's peak (and
/// this process holds a simulator's data) into the child's.
pub fn measure_memory(command: &std::process::Command) -> std::io::Result<Measured> {
    let report = tempfile::NamedTempFile::new()?;
    let mut timed = std::process::Command::new("/usr/bin/time");
    timed.args(["--format", "%M", "--output"]).arg(report.path()).arg(command.get_program()).args(command.get_args());
    for (name, value) in command.get_envs() {
        match value {
            Some(value) => timed.env(name, value),
            None => timed.env_remove(name),
        };
    }
    let mut measured = measure(&mut timed)?;
    let kib: u64 = std::fs::read_to_string(report.path())?
        .trim()
        .lines()
        .last()
        .unwrap_or("")
        .parse()
        .map_err(std::io::Error::other)?;
    measured.max_rss = kib * 1024;
    Ok(measured)
}

/// The `host` binary with the test components and trust, `data` and `cache` as
/// its directories.
pub fn host_command(data: &std::path::Path, cache: &std::path::Path) -> std::process::Command {
    use crate::harness::{host_binary, plugin_dir, trust_dir};
    let mut host = std::process::Command::new(host_binary());
    // In the environment: each command reads those of them it takes.
    host.env("SOAR_PLUGIN_DIR", plugin_dir()).env("SOAR_TRUST", trust_dir());
    host.env("SOAR_DATA_DIR", data).env("SOAR_CACHE_DIR", cache);
    host.env_remove("RUST_BACKTRACE").env_remove("SOAR_HOST_SOCKET");
    host
}

/// A private directory for one benchmark: the asset file (`asset_toml` as
/// `<name>.toml`), and the host's data and cache directories.
pub struct BenchDirs {
    pub asset: std::path::PathBuf,
    pub data: std::path::PathBuf,
    pub cache: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl BenchDirs {
    /// Creates the directory and writes the asset.
    pub fn new(name: &str, asset_toml: &str) -> std::io::Result<Self> {
        let dir = tempfile::tempdir()?;
        let asset = dir.path().join(format!("{name}.toml"));
        crate::harness::write_asset(&asset, asset_toml)?;
        Ok(Self { asset, data: dir.path().join("data"), cache: dir.path().join("cache"), _dir: dir })
    }

    /// `host` with these directories.
    pub fn host(&self) -> std::process::Command {
        host_command(&self.data, &self.cache)
    }
}

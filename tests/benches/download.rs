//! Streaming a 1 GiB attachment into the vault (`make bench`): the host's peak
//! memory against a tiny download, and its throughput against `curl -o` from
//! the same simulator.

use soar_tests::bench::{BenchDirs, measure_memory, show};
use soar_tests::sim::cofense_vision::CofenseSim;
use std::process::Command;
use std::time::Duration;

const SIZE: u64 = 1 << 30;
const RUNS: usize = 3;

fn main() -> anyhow::Result<()> {
    let tokio = tokio::runtime::Runtime::new()?;
    let sim = tokio.block_on(CofenseSim::start())?;
    let dirs = BenchDirs::new("vision", &sim.asset_toml())?;
    let small = sim.add_attachment("small.bin", vec![7u8; 64 << 10]);
    let big = sim.add_generated_attachment("big.bin", SIZE);

    let download = |md5: &str, name: &str| {
        let mut host = dirs.host();
        host.args(["invoke", "cofense", "get-message-attachment", "--compact", "--asset"]).arg(&dirs.asset);
        host.args(["--param", &format!("md5={md5}"), "--param", &format!("filename={name}")]);
        host
    };
    // Twice: the first run compiles the component into the cache.
    measure_memory(&download(&small.md5, "small.bin"))?;
    let baseline = measure_memory(&download(&small.md5, "small.bin"))?;
    anyhow::ensure!(baseline.status.success(), "{}", String::from_utf8_lossy(&baseline.stdout));

    let mut host_runs = Vec::new();
    for _ in 0..RUNS {
        let run = measure_memory(&download(&big.md5, "big.bin"))?;
        let result: serde_json::Value = serde_json::from_slice(&run.stdout)?;
        anyhow::ensure!(result["data"][0]["vault_id"] == big.sha1.as_str(), "wrong download: {result}");
        host_runs.push(run);
    }
    let token = {
        let state: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dirs.data.join("state/cofense/vision.json"))?)?;
        state["oauth2_token"]["access_token"].as_str().unwrap_or_default().to_string()
    };
    let target = dirs.data.with_file_name("curl.bin");
    let mut curl_times = Vec::new();
    for _ in 0..RUNS {
        let mut curl = Command::new("curl");
        curl.args(["-sS", "--fail", "-o"]).arg(&target).arg("-H").arg(format!("Authorization: Bearer {token}"));
        curl.arg(format!("{}/api/v4/attachment?md5={}", sim.base_url(), big.md5));
        let run = soar_tests::bench::measure(&mut curl)?;
        anyhow::ensure!(run.status.success(), "curl failed");
        anyhow::ensure!(std::fs::metadata(&target)?.len() == SIZE, "curl got a partial file");
        curl_times.push(run.elapsed);
    }

    let best_host = host_runs.iter().map(|r| r.elapsed).min().unwrap_or_default();
    let best_curl = curl_times.iter().copied().min().unwrap_or_default();
    let rate = |elapsed: Duration| SIZE as f64 / elapsed.as_secs_f64() / (1 << 20) as f64;
    let peak = host_runs.iter().map(|r| r.max_rss).max().unwrap_or_default();
    println!("1 GiB attachment into the vault ({RUNS} runs each, best shown):");
    println!("  host invoke get-message-attachment: {} ({:.0} MiB/s)", show(best_host), rate(best_host));
    println!("  curl -o from the same simulator:    {} ({:.0} MiB/s)", show(best_curl), rate(best_curl));
    println!("  host throughput is {:.0}% of curl's", 100.0 * best_curl.as_secs_f64() / best_host.as_secs_f64());
    println!(
        "  host peak memory: {:.1} MiB for 64 KiB, {:.1} MiB for 1 GiB: grows by {:.1} MiB",
        baseline.max_rss as f64 / 1048576.0,
        peak as f64 / 1048576.0,
        (peak.saturating_sub(baseline.max_rss)) as f64 / 1048576.0
    );
    Ok(())
}

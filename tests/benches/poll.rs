//! `on poll` over 100,000 indicators (`make bench`): time and peak memory, next
//! to a poll over 10,000 to show memory does not grow with the count.

use chrono::{Duration, Utc};
use soar_tests::bench::{BenchDirs, measure_memory, show};
use soar_tests::sim::threatconnect::ThreatConnectSim;

fn main() -> anyhow::Result<()> {
    let tokio = tokio::runtime::Runtime::new()?;
    for count in [10_000usize, 100_000] {
        let sim = tokio.block_on(ThreatConnectSim::start())?;
        sim.clear_indicators();
        // Spread over the last six days: all inside the default seven-day window.
        let step = Duration::milliseconds(6 * 86_400_000 / count as i64);
        sim.generate_indicators(count, Utc::now() - Duration::days(6), step);
        let dirs = BenchDirs::new("tc", &format!("{}max_containers = {count}\n", sim.asset_toml()))?;
        let mut host = dirs.host();
        host.args(["poll", "threatconnect", "--compact", "--timeout", "600", "--asset"]).arg(&dirs.asset);
        let run = measure_memory(&host)?;
        let result: serde_json::Value = serde_json::from_slice(&run.stdout)?;
        anyhow::ensure!(result["summary"]["containers_created"] == count, "poll failed: {result}");
        println!(
            "on poll over {count:>6} indicators: {} ({:.0} indicators/s), host peak memory {:.1} MiB",
            show(run.elapsed),
            count as f64 / run.elapsed.as_secs_f64(),
            run.max_rss as f64 / 1048576.0
        );
    }
    Ok(())
}

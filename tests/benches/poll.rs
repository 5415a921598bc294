//! `on poll` over 100,000 indicators (`make bench`): time and peak memory, next
//! to a poll over 10,000 to show memory does not grow with the count.

use chrono::{Duration, Utc};
use soar_tests::bench::{host_command, measure_memory, show};
use soar_tests::sim::threatconnect::ThreatConnectSim;

fn main() -> anyhow::Result<()> {
    let tokio = tokio::runtime::Runtime::new()?;
    for count in [10_000usize, 100_000] {
        let sim = tokio.block_on(ThreatConnectSim::start())?;
        sim.clear_indicators();
        // Spread over the last six days: all inside the default seven-day window.
        let step = Duration::milliseconds(6 * 86_400_000 / count as i64);
        sim.generate_indicators(count, Utc::now() - Duration::days(6), step);
        let work = tempfile::tempdir()?;
        let asset = work.path().join("tc.toml");
        std::fs::write(&asset, format!("{}max_containers = {count}\n", sim.asset_toml()))?;
        let mut host = host_command(&work.path().join("data"), &work.path().join("cache"));
        host.args(["poll", "threatconnect", "--compact", "--timeout", "600", "--asset"]).arg(&asset);
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

//! `on poll` over 100,000 indicators (`make bench`): time and peak memory, next
//! to a poll over 10,000 to show memory does not grow with the count; then
//! 100,000 indicators all added in one second, which must cost no more than
//! twice the same number spread over days, and a second poll of them that finds
//! nothing new.

use chrono::{Duration, Utc};
use soar_tests::bench::{BenchDirs, measure_memory, show};
use soar_tests::sim::threatconnect::ThreatConnectSim;

struct Case {
    what: &'static str,
    count: usize,
    step: Duration,
}

fn main() -> anyhow::Result<()> {
    let tokio = tokio::runtime::Runtime::new()?;
    let spread = |count: usize| Duration::milliseconds(6 * 86_400_000 / count as i64);
    let cases = [
        Case { what: "spread over six days", count: 10_000, step: spread(10_000) },
        Case { what: "spread over six days", count: 100_000, step: spread(100_000) },
        Case { what: "all in one second", count: 100_000, step: Duration::zero() },
    ];
    let mut spread_time = None;
    for case in cases {
        let sim = tokio.block_on(ThreatConnectSim::start())?;
        sim.clear_indicators();
        // All inside the default seven-day window.
        sim.generate_indicators(case.count, Utc::now() - Duration::days(6), case.step);
        let dirs = BenchDirs::new("tc", &format!("{}max_containers = {}\n", sim.asset_toml(), case.count))?;
        let mut host = dirs.host();
        host.args(["poll", "threatconnect", "--compact", "--timeout", "600", "--asset"]).arg(&dirs.asset);
        let run = measure_memory(&host)?;
        let result: serde_json::Value = serde_json::from_slice(&run.stdout)?;
        anyhow::ensure!(result["summary"]["containers_created"] == case.count, "poll failed: {result}");
        let seconds = run.elapsed.as_secs_f64();
        print!(
            "on poll over {:>6} indicators {}: {} ({:.0} indicators/s), host peak memory {:.1} MiB",
            case.count,
            case.what,
            show(run.elapsed),
            case.count as f64 / seconds,
            run.max_rss as f64 / 1048576.0
        );
        match (case.step.is_zero(), spread_time) {
            (false, _) if case.count == 100_000 => spread_time = Some(seconds),
            (true, Some(spread)) => print!(", {:.2}x the time spread over days (target at most 2x)", seconds / spread),
            _ => {}
        }
        println!();
        if case.step.is_zero() {
            let again = measure_memory(&host)?;
            let result: serde_json::Value = serde_json::from_slice(&again.stdout)?;
            anyhow::ensure!(result["summary"]["containers_created"] == 0, "the re-poll ingested again: {result}");
            println!("on poll again over those {} indicators, nothing new: {}", case.count, show(again.elapsed));
        }
    }
    Ok(())
}

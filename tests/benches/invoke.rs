//! Action latency (`make bench`):
//!
//! (a) the whole `host invoke cofense get-ioc` process against the simulator,
//!     compile cache warm and token cached;
//! (b) the same HTTP call from a Python script using `requests`, a fresh process
//!     per action, as classic SOAR platforms run actions;
//! (c) instantiating the component and calling one action in-process, without
//!     network (an action that stops at parameter validation).

use soar_host::signing::TrustStore;
use soar_host::{Asset, InvokeOptions, Runtime, RuntimeOptions, Trust, params};
use soar_tests::bench::{BenchDirs, Stats, measure, show};
use soar_tests::harness::{plugin_dir, trust_dir};
use soar_tests::sim::cofense::CofenseSim;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

const PROCESS_RUNS: usize = 40;
const IN_PROCESS_RUNS: usize = 3000;

/// (b): what a classic connector does per action: start Python, import
/// `requests`, read the cached token, send the request, print the result.
const PYTHON: &str = r#"
import json, sys, requests
base_url, state_file, ioc_id, source = sys.argv[1:5]
token = json.load(open(state_file))["oauth2_token"]["access_token"]
response = requests.get(f"{base_url}/iocrepository/v1/iocs/{ioc_id}", timeout=120, headers={
    "Accept": "application/json", "Content-Type": "application/json",
    "X-Cofense-IOC-Source": source, "Authorization": f"Bearer {token}"})
response.raise_for_status()
print(json.dumps({"status": "success", "message": "Fetched IOC successfully",
                  "parameter": {"id": ioc_id, "source": source}, "data": [response.json()["data"]], "summary": {}}))
"#;

fn main() -> anyhow::Result<()> {
    let tokio = tokio::runtime::Runtime::new()?;
    let sim = tokio.block_on(CofenseSim::start())?;
    let dirs = BenchDirs::new("vision", &sim.asset_toml())?;
    let (asset, data, cache) = (&dirs.asset, &dirs.data, &dirs.cache);
    let source = "Vision-UI";
    let ioc = sim.iocs(source).first().and_then(|ioc| ioc["id"].as_str().map(str::to_string)).expect("a seeded IOC");

    let mut host = dirs.host();
    host.args(["invoke", "cofense", "get-ioc", "--compact", "--asset"]).arg(asset);
    host.args(["--param", &format!("id={ioc}"), "--param", &format!("source={source}")]);
    // Warm up: compile into the cache and store a token.
    let warm = measure(&mut host)?;
    anyhow::ensure!(warm.status.success(), "host invoke failed: {}", String::from_utf8_lossy(&warm.stdout));
    let mut samples: Vec<Duration> = Vec::new();
    for _ in 0..PROCESS_RUNS {
        let run = measure(&mut host)?;
        anyhow::ensure!(run.status.success(), "host invoke failed");
        samples.push(run.elapsed);
    }
    let host_stats = Stats::of(&mut samples);
    println!("(a) host invoke cofense get-ioc, whole process, cache warm ({PROCESS_RUNS} runs): {host_stats}");
    println!("    first run (compiling the component): {}", show(warm.elapsed));

    let script = data.with_file_name("get_ioc.py");
    std::fs::write(&script, PYTHON)?;
    let state = data.join("state/cofense/vision.json");
    let mut python = Command::new("python3");
    python.arg(&script).arg(sim.base_url()).arg(&state).arg(&ioc).arg(source);
    let mut samples = Vec::new();
    for _ in 0..PROCESS_RUNS {
        let run = measure(&mut python)?;
        anyhow::ensure!(run.status.success(), "the Python script failed (is `requests` installed?)");
        samples.push(run.elapsed);
    }
    let python_stats = Stats::of(&mut samples);
    println!("(b) python3 + requests, fresh process per action ({PROCESS_RUNS} runs): {python_stats}");
    println!("    host is {:.1}x faster (median)", python_stats.median.as_secs_f64() / host_stats.median.as_secs_f64());

    tokio.block_on(in_process(cache, data, asset))?;
    Ok(())
}

/// (c): instantiate + call, in-process, no network.
async fn in_process(cache: &std::path::Path, data: &std::path::Path, asset: &std::path::Path) -> anyhow::Result<()> {
    let trust = Trust::Signed(TrustStore::load(&trust_dir()).map_err(anyhow::Error::msg)?);
    let runtime = Runtime::new(RuntimeOptions { trust, cache_dir: Some(cache.to_path_buf()), ..Default::default() })?;
    let plugin = runtime.load(&plugin_dir().join("cofense.wasm")).await?;
    let asset = Arc::new(Asset::load(asset, &plugin.info().configuration)?);
    let action = plugin.action("list iocs")?;
    let given = [("source".to_string(), "Vision-UI".to_string()), ("size".to_string(), "0".to_string())];
    let options = InvokeOptions::new(data);
    let mut samples = Vec::with_capacity(IN_PROCESS_RUNS);
    for i in 0..IN_PROCESS_RUNS + 100 {
        let bound = params::bind(&action.params, &given)?;
        let started = Instant::now();
        let report = runtime.invoke_action(&plugin, action, bound, asset.clone(), &options).await;
        let elapsed = started.elapsed();
        anyhow::ensure!(
            report.error.as_ref().is_some_and(|e| e.parameter.as_deref() == Some("size")),
            "unexpected {report:?}"
        );
        if i >= 100 {
            samples.push(elapsed);
        }
    }
    println!(
        "(c) in-process instantiate + call of one action, no network ({IN_PROCESS_RUNS} runs): {}",
        Stats::of(&mut samples)
    );
    Ok(())
}

//! Action latency (`make bench`):
//!
//! (a) the whole `host invoke cofense get-ioc` process against the simulator,
//!     compile cache warm and token cached, running the action itself, and
//!     handing it to a resident host (`host serve`, `SOAR_HOST_SOCKET`), and
//! (b) the same HTTP call from a Python script using `requests`, a fresh process
//!     per action, as classic SOAR platforms run actions: run in turns (A B A B),
//!     with the median of the pairs' ratios;
//! (c) `host --version`, beside `/bin/true` (what starting any process costs);
//! (d) instantiating the component and calling one action in-process, without
//!     network (an action that stops at parameter validation);
//! (e) the instructions one invoke (of each kind) and one `--version` execute, counted by
//!     `valgrind --tool=callgrind`: a figure that does not move with the load
//!     of a shared machine, to compare commits by (the invoke's also outside
//!     SHA-256, which valgrind runs without the CPU's SHA extensions);
//! (f) what a connector costs before its first action: its size as shipped,
//!     and `host actions cofense` with an empty compile cache (the compile), with
//!     each compiler.

use soar_host::signing::TrustStore;
use soar_host::{Asset, Compiler, InvokeOptions, Runtime, RuntimeOptions, Trust, params};
use soar_tests::bench::{BenchDirs, Stats, host_command, measure, show};
use soar_tests::harness::{Resident, plugin_dir, trust_dir, unsigned_component};
use soar_tests::sim::cofense_vision::CofenseSim;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

const PROCESS_RUNS: usize = 40;
const IN_PROCESS_RUNS: usize = 3000;
const FIRST_COMPILE_RUNS: usize = 9;

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

    let get_ioc = || {
        let mut host = dirs.host();
        host.args(["invoke", "cofense", "get-ioc", "--compact", "--asset"]).arg(asset);
        host.args(["--param", &format!("id={ioc}"), "--param", &format!("source={source}")]);
        host
    };
    let mut host = get_ioc();
    // Warm up: compile into the cache and store a token.
    let warm = measure(&mut host)?;
    anyhow::ensure!(warm.status.success(), "host invoke failed: {}", String::from_utf8_lossy(&warm.stdout));

    let script = data.with_file_name("get_ioc.py");
    std::fs::write(&script, PYTHON)?;
    let state = data.join("state/cofense/vision.json");
    let mut python = Command::new("python3");
    python.arg(&script).arg(sim.base_url()).arg(&state).arg(&ioc).arg(source);

    let resident = Resident::start(dirs.host())?;
    let mut handing = get_ioc();
    handing.env("SOAR_HOST_SOCKET", &resident.socket);
    // Warm up: the resident host loads the component and opens a connection.
    anyhow::ensure!(measure(&mut handing)?.stdout == warm.stdout, "the resident host's result differs");

    let (mut host_samples, mut handed_samples, mut python_samples) = (Vec::new(), Vec::new(), Vec::new());
    let (mut ratios, mut handed_ratios) = (Vec::new(), Vec::new());
    for _ in 0..PROCESS_RUNS {
        let run = measure(&mut host)?;
        anyhow::ensure!(run.status.success(), "host invoke failed");
        let handed = measure(&mut handing)?;
        anyhow::ensure!(handed.status.success(), "host invoke through the resident host failed");
        let baseline = measure(&mut python)?;
        anyhow::ensure!(baseline.status.success(), "the Python script failed (is `requests` installed?)");
        ratios.push(run.elapsed.as_secs_f64() / baseline.elapsed.as_secs_f64());
        handed_ratios.push(handed.elapsed.as_secs_f64() / baseline.elapsed.as_secs_f64());
        host_samples.push(run.elapsed);
        handed_samples.push(handed.elapsed);
        python_samples.push(baseline.elapsed);
    }
    ratios.sort_by(f64::total_cmp);
    handed_ratios.sort_by(f64::total_cmp);
    println!(
        "(a) host invoke cofense get-ioc, whole process, cache warm ({PROCESS_RUNS} runs): {}",
        Stats::of(&mut host_samples)
    );
    println!("    first run (compiling the component): {}", show(warm.elapsed));
    println!("    handed to a resident host, in turns: {}", Stats::of(&mut handed_samples));
    println!("(b) python3 + requests, fresh process per action, in turns with (a): {}", Stats::of(&mut python_samples));
    println!(
        "    host / python, median of the pairs: {:.2}% | handed to a resident host: {:.2}%",
        ratios[ratios.len() / 2] * 100.0,
        handed_ratios[handed_ratios.len() / 2] * 100.0
    );

    let mut version = dirs.host();
    version.arg("--version");
    let mut floor = Command::new("/bin/true");
    let (mut versions, mut floors) = (Vec::new(), Vec::new());
    for _ in 0..PROCESS_RUNS {
        versions.push(measure(&mut version)?.elapsed);
        floors.push(measure(&mut floor)?.elapsed);
    }
    println!("(c) host --version: {} | /bin/true, in turns: {}", Stats::of(&mut versions), Stats::of(&mut floors));

    tokio.block_on(in_process(cache, data, asset))?;
    instruction_counts(&mut host, &mut handing, &mut version)?;
    first_compile()
}

/// (f): sizes, and the first load of cofense with a cache of its own each run.
fn first_compile() -> anyhow::Result<()> {
    let size = |name: &str| std::fs::metadata(unsigned_component(name)).map(|file| file.len());
    println!(
        "(f) components as shipped, unsigned: cofense {} bytes, threatconnect {} bytes",
        size("cofense.wasm")?,
        size("threatconnect.wasm")?
    );
    // Each compiler in turns.
    let mut compiles = Compiler::ALL.map(|compiler| (compiler.name(), Vec::new()));
    for _ in 0..FIRST_COMPILE_RUNS {
        for (compiler, samples) in &mut compiles {
            let dirs = tempfile::tempdir()?;
            let mut load = host_command(&dirs.path().join("data"), &dirs.path().join("cache"));
            load.args(["actions", "cofense", "--compiler", compiler]);
            let run = measure(&mut load)?;
            anyhow::ensure!(run.status.success(), "host actions cofense --compiler {compiler} failed");
            samples.push(run.elapsed);
        }
    }
    for (compiler, samples) in &mut compiles {
        println!(
            "    host actions cofense --compiler {compiler}, compile cache empty ({FIRST_COMPILE_RUNS} runs): {}",
            Stats::of(samples)
        );
    }
    Ok(())
}

/// (e): instructions under callgrind (skipped, saying so, without valgrind).
///
/// Valgrind's CPU has no SHA extensions, so the component's SHA-256 (a fraction
/// of a millisecond with them) runs in portable code there and counts for most
/// of an invoke: the figure outside it is the one that shows the rest move.
fn instruction_counts(invoke: &mut Command, handing: &mut Command, version: &mut Command) -> anyhow::Result<()> {
    let profile = tempfile::NamedTempFile::new()?;
    let count = |command: &Command| -> anyhow::Result<Option<u64>> {
        let mut counted = Command::new("valgrind");
        counted.arg("--tool=callgrind").arg(format!("--callgrind-out-file={}", profile.path().display()));
        counted.arg(command.get_program()).args(command.get_args());
        // The command's own environment (its plugin, data and cache directories).
        for (name, value) in command.get_envs() {
            match value {
                Some(value) => counted.env(name, value),
                None => counted.env_remove(name),
            };
        }
        let Ok(output) = counted.output() else { return Ok(None) };
        anyhow::ensure!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let stderr = String::from_utf8_lossy(&output.stderr);
        Ok(stderr.lines().find_map(|line| line.split("Collected : ").nth(1)?.trim().parse().ok()))
    };
    // Under valgrind the CPU looks different to the engine, which compiles (and
    // caches) the component once for it: the first run warms that up.
    if count(invoke)?.is_none() {
        println!("(e) instruction counts: skipped (valgrind is not installed)");
        return Ok(());
    }
    let invoked = count(invoke)?.unwrap_or(0);
    let hashing = inclusive_cost(profile.path(), "sha2::sha256::compress256")?;
    let handed = count(handing)?.unwrap_or(0);
    let started = count(version)?.unwrap_or(0);
    println!(
        "(e) instructions (callgrind): host invoke cofense get-ioc {invoked}, {} of them outside SHA-256 | handed to a resident host {handed} (the command's) | host --version {started}",
        invoked.saturating_sub(hashing)
    );
    Ok(())
}

/// The instructions spent in `function` and what it calls, by `callgrind_annotate`.
fn inclusive_cost(profile: &std::path::Path, function: &str) -> anyhow::Result<u64> {
    let output = Command::new("callgrind_annotate").arg("--inclusive=yes").arg(profile).output()?;
    anyhow::ensure!(output.status.success(), "callgrind_annotate: {}", String::from_utf8_lossy(&output.stderr));
    let needle = format!(":{function} ");
    let listing = String::from_utf8_lossy(&output.stdout);
    let line = listing.lines().find(|line| line.contains(&needle));
    let cost = line.and_then(|line| line.split_whitespace().next()).map(|count| count.replace(',', ""));
    cost.and_then(|count| count.parse().ok()).ok_or_else(|| anyhow::anyhow!("no {function} in the profile"))
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
        "(d) in-process instantiate + call of one action, no network ({IN_PROCESS_RUNS} runs): {}",
        Stats::of(&mut samples)
    );
    Ok(())
}

//! Embedded throughput (`make bench`): `get ioc` through the host library, 10,000
//! actions at 1 and at 64 in flight, beside a plain hyper client sending the same
//! request at the same concurrency over keep-alive connections.
//!
//! The simulator runs in a process of its own, and so does each measured side
//! (this program started again with `child ...`), so that the CPU time and the
//! peak memory reported are those of one side alone.

use http_body_util::{BodyExt, Empty};
use soar_host::signing::TrustStore;
use soar_host::{Asset, InvokeOptions, PluginDir, Runtime, RuntimeOptions, Status, Trust};
use soar_tests::bench::{measure_memory, show};
use soar_tests::harness::{plugin_dir, trust_dir, workspace};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SOURCE: &str = "Vision-UI";

fn actions() -> usize {
    std::env::var("SOAR_BENCH_ACTIONS").ok().and_then(|n| n.parse().ok()).unwrap_or(10_000)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("child") {
        let (side, inflight, dir) = (&args[2], args[3].parse()?, PathBuf::from(&args[4]));
        let tokio = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
        let latencies = match side.as_str() {
            "host" => tokio.block_on(host_side(&dir, inflight))?,
            _ => tokio.block_on(client_side(&dir, inflight))?,
        };
        return report(latencies);
    }
    let dir = tempfile::tempdir()?;
    let _sim = Simulator::start(dir.path())?;
    println!("get ioc, {} actions per run, simulator in its own process:", actions());
    for inflight in [1, 64] {
        let host = run_child("host", inflight, dir.path())?;
        let client = run_child("client", inflight, dir.path())?;
        for (name, side) in [("host (library)", &host), ("hyper keep-alive", &client)] {
            println!(
                "  {inflight:>2} in flight, {name:<17} {:>7.0} actions/s | p50 {} | p99 {} | CPU {} per action | peak {:.1} MiB",
                side.rate,
                show(side.p50),
                show(side.p99),
                show(side.cpu),
                side.peak as f64 / (1 << 20) as f64
            );
        }
        println!("  {inflight:>2} in flight: host / client = {:.2}", host.rate / client.rate);
    }
    Ok(())
}

/// The simulator process, stopped when dropped.
struct Simulator(std::process::Child);

impl Simulator {
    /// Starts `sim cofense`, which writes `dir/cofense.toml`.
    fn start(dir: &Path) -> anyhow::Result<Self> {
        let mut child = Command::new(workspace().join("target/release/sim"))
            .arg("cofense")
            .arg("--asset-dir")
            .arg(dir)
            .stdout(Stdio::piped())
            .spawn()?;
        let mut lines = std::io::BufReader::new(child.stdout.take().expect("piped")).lines();
        let first = lines.next().transpose()?.unwrap_or_default();
        anyhow::ensure!(first.contains("simulator at"), "the simulator did not start: {first}");
        // The rest of what it prints is read too: a closed pipe would stop it.
        std::thread::spawn(move || lines.for_each(drop));
        Ok(Self(child))
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What one side measured.
struct Side {
    rate: f64,
    p50: Duration,
    p99: Duration,
    cpu: Duration,
    peak: u64,
}

fn run_child(side: &str, inflight: usize, dir: &Path) -> anyhow::Result<Side> {
    let mut command = Command::new(std::env::current_exe()?);
    command.args(["child", side, &inflight.to_string()]).arg(dir).env_remove("RUST_BACKTRACE");
    let run = measure_memory(&command)?;
    anyhow::ensure!(run.status.success(), "the {side} side failed");
    let line: serde_json::Value = serde_json::from_slice(&run.stdout)?;
    let micros = |key: &str| Duration::from_secs_f64(line[key].as_f64().unwrap_or(0.0) / 1e6);
    Ok(Side {
        rate: line["rate"].as_f64().unwrap_or(0.0),
        p50: micros("p50_us"),
        p99: micros("p99_us"),
        cpu: micros("cpu_us"),
        peak: run.max_rss,
    })
}

/// The latencies of one side, the wall time they took, and the CPU time of
/// this process, printed as one JSON line for the parent.
struct Latencies {
    samples: Vec<Duration>,
    wall: Duration,
}

fn report(mut latencies: Latencies) -> anyhow::Result<()> {
    let count = latencies.samples.len();
    latencies.samples.sort();
    let at = |fraction: f64| latencies.samples[((count - 1) as f64 * fraction).round() as usize];
    let cpu = process_cpu();
    let line = serde_json::json!({
        "rate": count as f64 / latencies.wall.as_secs_f64(),
        "p50_us": at(0.5).as_secs_f64() * 1e6,
        "p99_us": at(0.99).as_secs_f64() * 1e6,
        "cpu_us": cpu.as_secs_f64() * 1e6 / count as f64,
    });
    println!("{line}");
    Ok(())
}

/// User and system CPU time of this process so far.
fn process_cpu() -> Duration {
    // SAFETY: getrusage fills the struct it is given.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// Runs `count` calls of `call`, `inflight` at a time, and times each.
async fn drive<F, Fut>(inflight: usize, call: F) -> anyhow::Result<Latencies>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let call = Arc::new(call);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let total = actions();
    let started = Instant::now();
    let workers: Vec<_> = (0..inflight)
        .map(|worker| {
            let (call, next) = (call.clone(), next.clone());
            tokio::spawn(async move {
                let mut samples = Vec::new();
                while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < total {
                    let begun = Instant::now();
                    call(worker).await?;
                    samples.push(begun.elapsed());
                }
                anyhow::Ok(samples)
            })
        })
        .collect();
    let mut samples = Vec::with_capacity(total);
    for worker in workers {
        samples.extend(worker.await??);
    }
    Ok(Latencies { samples, wall: started.elapsed() })
}

/// The host side: one shared runtime, `get ioc` by name.
async fn host_side(dir: &Path, inflight: usize) -> anyhow::Result<Latencies> {
    let trust = Trust::Signed(TrustStore::load(&trust_dir()).map_err(anyhow::Error::msg)?);
    let pool = inflight.max(16) as u32;
    let options =
        RuntimeOptions { trust, cache_dir: Some(dir.join("cache")), instance_pool: Some(pool), ..Default::default() };
    let runtime = Arc::new(Runtime::new(options)?);
    let plugin = runtime.plugin(&PluginDir::new(plugin_dir()), "cofense").await?;
    let asset = Arc::new(Asset::load(&dir.join("cofense.toml"), &plugin.info().configuration)?);
    let options = InvokeOptions::new(dir.join("data"));
    // Warm up: a token in the asset's state, and the IOC to fetch.
    let listed =
        runtime.invoke(&plugin, "list iocs", &[("source", SOURCE), ("size", "1")], asset.clone(), &options).await;
    anyhow::ensure!(listed.status == Status::Success, "list iocs failed: {listed:?}");
    let id = listed.data[0]["id"].as_str().unwrap_or_default().to_string();
    std::fs::write(dir.join("ioc"), &id)?;
    drive(inflight, move |_| {
        let (runtime, plugin, asset, options, id) =
            (runtime.clone(), plugin.clone(), asset.clone(), options.clone(), id.clone());
        async move {
            let report =
                runtime.invoke(&plugin, "get ioc", &[("id", id.as_str()), ("source", SOURCE)], asset, &options).await;
            anyhow::ensure!(report.status == Status::Success, "get ioc failed: {report:?}");
            Ok(())
        }
    })
    .await
}

/// The native side: the same request from hyper, one keep-alive connection per
/// request in flight, the JSON answer read and parsed.
async fn client_side(dir: &Path, inflight: usize) -> anyhow::Result<Latencies> {
    let asset: toml::Table = std::fs::read_to_string(dir.join("cofense.toml"))?.parse()?;
    let base = asset["base_url"].as_str().unwrap_or_default().to_string();
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("data/state/cofense/cofense.json"))?)?;
    let token = state["oauth2_token"]["access_token"].as_str().unwrap_or_default().to_string();
    let id = std::fs::read_to_string(dir.join("ioc"))?;
    let authority = base.trim_start_matches("http://").to_string();
    let path = format!("/iocrepository/v1/iocs/{id}");
    let mut senders = Vec::new();
    for _ in 0..inflight {
        let stream = tokio::net::TcpStream::connect(&authority).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        senders.push(tokio::sync::Mutex::new(sender));
    }
    let senders = Arc::new(senders);
    drive(inflight, move |worker| {
        let (senders, authority, path, token) = (senders.clone(), authority.clone(), path.clone(), token.clone());
        async move {
            let mut sender = senders[worker].lock().await;
            sender.ready().await?;
            let request = http::Request::get(path)
                .header("host", authority)
                .header("accept", "application/json")
                .header("content-type", "application/json")
                .header("x-cofense-ioc-source", SOURCE)
                .header("authorization", format!("Bearer {token}"))
                .body(Empty::<bytes::Bytes>::new())?;
            let response = sender.send_request(request).await?;
            anyhow::ensure!(response.status().is_success(), "{}", response.status());
            let body = response.into_body().collect().await?.to_bytes();
            let json: serde_json::Value = serde_json::from_slice(&body)?;
            anyhow::ensure!(json["data"]["id"].is_string(), "unexpected answer");
            Ok(())
        }
    })
    .await
}

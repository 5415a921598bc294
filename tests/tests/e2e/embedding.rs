//! The host as a library in a concurrent program: the example program, and
//! more actions in flight than the instance pool holds.

use futures_util::future::join_all;
use soar_host::signing::TrustStore;
use soar_host::slots::Queueing;
use soar_host::{Asset, FailureKind, InvokeOptions, PluginDir, Runtime, RuntimeOptions, Status, Trust};
use soar_tests::harness::{HostEnv, example_binary, plugin_dir, trust_dir, unsigned_component};
use soar_tests::sim::cofense_vision::CofenseSim;
use soar_tests::sim::{Fault, FaultRule};
use std::sync::Arc;
use std::time::Duration;

/// The runtime, the Cofense plugin and an asset for `sim` (its file in `env`).
async fn cofense(
    sim: &CofenseSim,
    env: &HostEnv,
    pool: u32,
    queueing: Queueing,
) -> (Arc<Runtime>, Arc<soar_host::Plugin>, Arc<Asset>) {
    let trust = Trust::Signed(TrustStore::load(&trust_dir()).unwrap());
    let options = RuntimeOptions { trust, instance_pool: Some(pool), queueing, ..Default::default() };
    let runtime = Arc::new(Runtime::new(options).unwrap());
    let plugin = runtime.plugin(&PluginDir::new(plugin_dir()), "cofense").await.unwrap();
    let file = env.asset("vision", &sim.asset_toml());
    let asset = Arc::new(Asset::load(&file, &plugin.info().configuration).unwrap());
    (runtime, plugin, asset)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_embedding_example_runs_actions_concurrently_and_reads_the_state() {
    let sim = CofenseSim::start().await.unwrap();
    let env = HostEnv::new();
    let asset = env.asset("vision", &sim.asset_toml());
    let ioc = sim.iocs("Vision-UI")[0]["id"].as_str().unwrap().to_string();
    let output = tokio::process::Command::new(example_binary("embed"))
        .arg(plugin_dir())
        .arg(trust_dir())
        .arg(&asset)
        .arg(env.data_dir())
        .args(["cofense", "get ioc", &format!("id={ioc}"), "source=Vision-UI"])
        .env_remove("RUST_BACKTRACE")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{stdout}");
    for line in &lines[..4] {
        let report: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(report["status"], "success", "{line}");
        assert_eq!(report["data"][0]["id"], ioc.as_str());
    }
    // The token the actions cached is in the asset's state, and nowhere in the output.
    assert_eq!(lines[4], "state keys: oauth2_token");
    assert!(!stdout.contains("access_token"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn plugins_by_name_are_loaded_once_and_again_when_the_file_changes() {
    let sim = CofenseSim::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(plugin_dir().join("cofense.wasm"), dir.path().join("cofense.wasm")).unwrap();
    let trust = Trust::Signed(TrustStore::load(&trust_dir()).unwrap());
    let runtime = Runtime::new(RuntimeOptions { trust, ..Default::default() }).unwrap();
    let plugins = PluginDir::new(dir.path());
    let first = runtime.plugin(&plugins, "cofense").await.unwrap();
    let again = runtime.plugin(&plugins, "cofense").await.unwrap();
    assert!(Arc::ptr_eq(&first, &again), "the same plugin, not loaded twice");
    // A file rewritten in place is verified again: here it no longer verifies.
    let mut bytes = std::fs::read(dir.path().join("cofense.wasm")).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(dir.path().join("cofense.wasm"), &bytes).unwrap();
    let refused = runtime.plugin(&plugins, "cofense").await.err().expect("a tampered file is refused");
    assert_eq!(refused.failure_kind(), FailureKind::UntrustedConnector, "{refused}");
    drop(sim);
}

/// 256 actions at once against a pool of 16: the others wait their turn, and
/// every one succeeds.
#[tokio::test(flavor = "multi_thread")]
async fn more_actions_in_flight_than_the_pool_holds_wait_for_a_slot() {
    let sim = CofenseSim::start().await.unwrap();
    let env = HostEnv::new();
    let (runtime, plugin, asset) = cofense(&sim, &env, 16, Queueing::default()).await;
    let options = InvokeOptions::new(env.data_dir());
    let ioc = sim.iocs("Vision-UI")[0]["id"].as_str().unwrap().to_string();
    let params = [("id", ioc.as_str()), ("source", "Vision-UI")];
    let runs = (0..256).map(|_| {
        let (runtime, plugin, asset, options) = (runtime.clone(), plugin.clone(), asset.clone(), options.clone());
        let params = params.map(|(name, value)| (name, value.to_string()));
        tokio::spawn(async move { runtime.invoke(&plugin, "get-ioc", &params, asset, &options).await })
    });
    let reports = tokio::time::timeout(Duration::from_secs(120), join_all(runs)).await.expect("256 actions in time");
    for report in reports {
        let report = report.unwrap();
        assert_eq!(report.status, Status::Success, "{report:?}");
    }
}

/// What `pick` takes from each payload of a shipped connector (`cofense.wasm`),
/// nested modules included.
fn in_shipped<T>(name: &str, pick: impl Fn(wasmparser::Payload) -> Vec<T>) -> Vec<T> {
    let bytes = std::fs::read(unsigned_component(name)).unwrap();
    wasmparser::Parser::new(0).parse_all(&bytes).flat_map(|payload| pick(payload.unwrap())).collect()
}

/// Each connector starts with linear memory enough for an action's working set
/// (`.cargo/config.toml`), so that a pooled runtime reuses an instance slot
/// without changing page protections between actions.
#[test]
fn connectors_start_with_room_for_an_actions_working_set() {
    for name in ["cofense.wasm", "threatconnect.wasm"] {
        let minimums = in_shipped(name, |payload| match payload {
            wasmparser::Payload::MemorySection(memories) => {
                memories.into_iter().map(|memory| memory.unwrap().initial).collect()
            }
            _ => vec![],
        });
        // One core module defines memory; the adapter's and the shims' import it.
        assert_eq!(minimums.len(), 1, "{name}: {minimums:?}");
        assert!(minimums[0] * 65536 >= 2 << 20, "{name} starts with {} pages of memory", minimums[0]);
    }
}

/// The shipped connectors carry no sections that only a debugger reads: the
/// build (`tools/shrink`) drops the component's names and producers, and
/// wasm-opt each core module's, so none of their bytes are shipped or compiled.
#[test]
fn connectors_ship_without_debugging_sections() {
    for name in ["cofense.wasm", "threatconnect.wasm"] {
        let custom = in_shipped(name, |payload| match payload {
            wasmparser::Payload::CustomSection(section) => vec![section.name().to_string()],
            _ => vec![],
        });
        assert!(custom.is_empty(), "{name} has custom sections {custom:?}");
    }
}

/// Past the queue's bound an action fails at once as `host-busy` (exit code 5),
/// never as the connector's crash, and sends nothing.
#[tokio::test(flavor = "multi_thread")]
async fn past_the_queue_bound_an_action_is_host_busy_and_sends_nothing() {
    let sim = CofenseSim::start().await.unwrap();
    let queueing = Queueing { max_waiting: 0, max_wait: Duration::from_secs(60) };
    let env = HostEnv::new();
    let (runtime, plugin, asset) = cofense(&sim, &env, 1, queueing).await;
    let options = InvokeOptions::new(env.data_dir());
    // Warm up: a token in the state, so each action sends one request.
    let report =
        runtime.invoke(&plugin, "list searchable headers", &[] as &[(&str, &str)], asset.clone(), &options).await;
    assert_eq!(report.status, Status::Success, "{report:?}");
    // One action holds the only slot, its vendor answering slowly; eight more
    // arrive meanwhile, with no room to wait.
    sim.server().inject(FaultRule::on("/api/v4/config/searchableHeaders", Fault::Slow { millis: 1500 }).times(1));
    let before = sim.server().requests().len();
    let holder = {
        let (runtime, plugin, asset, options) = (runtime.clone(), plugin.clone(), asset.clone(), options.clone());
        tokio::spawn(async move {
            runtime.invoke(&plugin, "list searchable headers", &[] as &[(&str, &str)], asset, &options).await
        })
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while sim.server().requests().len() == before {
        assert!(std::time::Instant::now() < deadline, "the first action sent its request");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let reports =
        join_all((0..8).map(|_| {
            runtime.invoke(&plugin, "list searchable headers", &[] as &[(&str, &str)], asset.clone(), &options)
        }))
        .await;
    for report in &reports {
        let failure = report.error.as_ref().expect("no slot and no queue: refused");
        assert_eq!(failure.kind, FailureKind::HostBusy, "{failure:?}");
        assert!(failure.message.contains("The host is busy"), "{}", failure.message);
        assert_eq!(failure.kind.exit_code(), soar_host::exit::HOST);
    }
    assert_eq!(holder.await.unwrap().status, Status::Success);
    assert_eq!(sim.server().requests().len() - before, 1, "a refused action sends nothing");
}

/// A keep-alive HTTP server answering `ok`, counting the connections it
/// accepts; with `close_idle`, it closes each connection right after answering,
/// without saying so (as a server whose keep-alive timeout just ran out).
async fn keep_alive_server(close_idle: bool) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::Ordering;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|_request| async {
                    Ok::<_, std::convert::Infallible>(hyper::Response::new(http_body_util::Full::new(
                        bytes::Bytes::from_static(b"ok"),
                    )))
                });
                let io = hyper_util::rt::TokioIo::new(socket);
                let connection = hyper::server::conn::http1::Builder::new().serve_connection(io, service);
                if close_idle {
                    // One exchange, then the socket closes under the client.
                    let mut connection = std::pin::pin!(connection);
                    let _ = tokio::time::timeout(Duration::from_millis(200), connection.as_mut()).await;
                } else {
                    let _ = connection.await;
                }
            });
        }
    });
    (url, accepted)
}

/// The sandbox probe's runtime and plugin.
async fn probe() -> (Runtime, Arc<soar_host::Plugin>) {
    let trust = Trust::Signed(TrustStore::load(&trust_dir()).unwrap());
    let runtime = Runtime::new(RuntimeOptions { trust, ..Default::default() }).unwrap();
    let plugin = runtime.plugin(&PluginDir::new(plugin_dir()), "sandbox_probe").await.unwrap();
    (runtime, plugin)
}

/// Connections are reused by later actions of the same asset, and never by
/// another asset's actions, even to the same origin.
#[tokio::test(flavor = "multi_thread")]
async fn connections_are_reused_across_actions_of_one_asset_and_never_across_assets() {
    use std::sync::atomic::Ordering;
    let (server, accepted) = keep_alive_server(false).await;
    let (runtime, plugin) = probe().await;
    let data = tempfile::tempdir().unwrap();
    let options = InvokeOptions::new(data.path());
    let asset = |name: &str| {
        let values = [("base_url".to_string(), server.clone())].into_iter().collect();
        Arc::new(Asset::from_values(name, values, &plugin.info().configuration))
    };
    let (first, second) = (asset("tenant-a"), asset("tenant-b"));
    let url = format!("{server}/ok");
    for _ in 0..3 {
        let report = runtime.invoke(&plugin, "fetch", &[("url", url.as_str())], first.clone(), &options).await;
        assert_eq!(report.status, Status::Success, "{report:?}");
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 1, "three actions of one asset, one connection");
    let report = runtime.invoke(&plugin, "fetch", &[("url", url.as_str())], second.clone(), &options).await;
    assert_eq!(report.status, Status::Success, "{report:?}");
    assert_eq!(accepted.load(Ordering::SeqCst), 2, "another asset gets a connection of its own");
    // The same asset name under another data directory is another tenant too.
    let elsewhere = tempfile::tempdir().unwrap();
    let report = runtime
        .invoke(&plugin, "fetch", &[("url", url.as_str())], first.clone(), &InvokeOptions::new(elsewhere.path()))
        .await;
    assert_eq!(report.status, Status::Success, "{report:?}");
    assert_eq!(accepted.load(Ordering::SeqCst), 3);
}

/// A kept connection that the server has closed meanwhile is not used: every
/// action succeeds, each on a fresh connection.
#[tokio::test(flavor = "multi_thread")]
async fn a_kept_connection_the_server_closed_is_not_used() {
    use std::sync::atomic::Ordering;
    let (server, accepted) = keep_alive_server(true).await;
    let (runtime, plugin) = probe().await;
    let data = tempfile::tempdir().unwrap();
    let options = InvokeOptions::new(data.path());
    let values = [("base_url".to_string(), server.clone())].into_iter().collect();
    let asset = Arc::new(Asset::from_values("probe", values, &plugin.info().configuration));
    let url = format!("{server}/ok");
    for round in 0..5 {
        let report = runtime.invoke(&plugin, "fetch", &[("url", url.as_str())], asset.clone(), &options).await;
        assert_eq!(report.status, Status::Success, "round {round}: {report:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 5);
}

//! The sandbox: outbound requests only to the origins the connector declares and
//! its asset sets, time and memory
//! limits, no filesystem, sockets or environment. The probe component tries each
//! escape; the host must stop or refuse it, say so clearly, and carry on.

use soar_host::signing::TrustStore;
use soar_host::{Asset, InvokeOptions, Limits, PluginDir, Runtime, RuntimeOptions, Status, Trust, exit};
use soar_tests::harness::{HostEnv, component, trust_dir};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A bare HTTP server that answers 200 to every request and counts the
/// connections made to it (a denied request must not even connect).
async fn counting_server() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(answer_ok(socket));
        }
    });
    (url, connections)
}

/// Reads a request head and answers `200 ok`, closing only after the client has.
async fn answer_ok(mut socket: tokio::net::TcpStream) {
    let mut head = Vec::new();
    let mut buffer = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match socket.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buffer[..n]),
        }
    }
    let _ = socket.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok").await;
    let _ = socket.shutdown().await;
    while matches!(socket.read(&mut buffer).await, Ok(n) if n > 0) {}
}

fn probe_asset(env: &HostEnv, base_url: &str) -> std::path::PathBuf {
    env.asset("probe", &format!("base_url = \"{base_url}\"\n"))
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_outside_base_url_are_denied() {
    let (allowed, allowed_hits) = counting_server().await;
    let (other, other_hits) = counting_server().await;
    let env = HostEnv::new();
    let asset = probe_asset(&env, &allowed);

    let run = env.invoke("sandbox_probe", "fetch", &asset, &[("url", &format!("{allowed}/ok"))]).await.success();
    assert_eq!(run.json["summary"]["status"], 200);
    assert_eq!(allowed_hits.load(Ordering::SeqCst), 1);

    let port = allowed.rsplit(':').next().unwrap();
    for url in [
        format!("{other}/x"),
        format!("https://127.0.0.1:{port}/x"),
        format!("http://localhost:{port}/x"),
        "http://169.254.169.254/latest/meta-data".to_string(),
    ] {
        let run = env.invoke("sandbox_probe", "fetch", &asset, &[("url", &url)]).await;
        let message = run.failure("http-request-denied", exit::SANDBOX);
        assert!(message.starts_with("HttpRequestDenied:") && message.contains(url.trim_end_matches("/x")), "{message}");
    }
    assert_eq!(other_hits.load(Ordering::SeqCst), 0, "the other server must never be contacted");
    assert_eq!(allowed_hits.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connector_declaring_two_origins_reaches_both_and_nothing_else() {
    let (first, first_hits) = counting_server().await;
    let (second, second_hits) = counting_server().await;
    let (other, other_hits) = counting_server().await;
    let env = HostEnv::new();
    let asset = env.asset("probe", &format!("base_url = \"{first}\"\nsecond_url = \"{second}/api\"\n"));
    for url in [format!("{first}/a"), format!("{second}/b")] {
        let run = env.invoke("sandbox_probe", "fetch", &asset, &[("url", &url)]).await.success();
        assert_eq!(run.json["summary"]["status"], 200);
    }
    assert_eq!((first_hits.load(Ordering::SeqCst), second_hits.load(Ordering::SeqCst)), (1, 1));
    let run = env.invoke("sandbox_probe", "fetch", &asset, &[("url", &format!("{other}/c"))]).await;
    run.failure("http-request-denied", exit::SANDBOX);
    assert_eq!(other_hits.load(Ordering::SeqCst), 0);

    // An origin the asset does not set is not allowed.
    let only_first = probe_asset(&env, &first);
    let run = env.invoke("sandbox_probe", "fetch", &only_first, &[("url", &format!("{second}/b"))]).await;
    run.failure("http-request-denied", exit::SANDBOX);
    assert_eq!(second_hits.load(Ordering::SeqCst), 1);

    // Each origin is checked as an origin: a bad one is bad configuration, named.
    let bad = env.asset("bad", &format!("base_url = \"{first}\"\nsecond_url = \"ftp://127.0.0.1/\"\n"));
    let run = env.invoke("sandbox_probe", "fetch", &bad, &[("url", &format!("{first}/a"))]).await;
    let message = run.failure("invalid-config", exit::INVALID_INPUT);
    assert!(message.contains("second_url"), "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connector_declaring_no_origin_gets_no_network_at_all() {
    let (server, hits) = counting_server().await;
    let env = HostEnv::new();
    // The asset holds a URL, but the connector does not declare it an origin.
    let asset = env.asset("offline", &format!("url = \"{server}\"\n"));
    for url in [format!("{server}/x"), "http://127.0.0.1:9/".to_string()] {
        let run = env.invoke("offline_probe", "fetch", &asset, &[("url", &url)]).await;
        let message = run.failure("http-request-denied", exit::SANDBOX);
        assert!(message.contains(url.trim_end_matches('/')), "{message}");
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0, "no connection was made");
    let actions = env.run(&["actions", "offline_probe", "--json"]).await;
    let roles: Vec<_> = actions.json["configuration"].as_array().unwrap().iter().map(|c| c["role"].clone()).collect();
    assert_eq!(roles, [serde_json::json!("value")], "{actions:#?}");
}

#[tokio::test]
async fn a_busy_loop_is_stopped_by_the_time_limit() {
    let env = HostEnv::new();
    let asset = probe_asset(&env, "http://127.0.0.1:9");
    let started = Instant::now();
    let run = env.run(&["invoke", "sandbox_probe", "spin", "--asset", asset.to_str().unwrap(), "--timeout", "1"]).await;
    let message = run.failure("time-limit", exit::SANDBOX);
    assert!(message.contains("1 s time limit"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
}

/// Code from the baseline compiler keeps the sandbox as optimized code does: it
/// checks the time limit in loops, and meets the memory limit and traps alike.
#[tokio::test]
async fn connectors_compiled_baseline_keep_every_limit() {
    let env = HostEnv::new();
    let asset = probe_asset(&env, "http://127.0.0.1:9");
    let invoke = |action: &'static str, limit: &'static [&'static str]| {
        let mut args = vec!["invoke", "sandbox_probe", action, "--compiler", "baseline", "--asset"];
        args.push(asset.to_str().unwrap());
        args.extend_from_slice(limit);
        let env = &env;
        async move { env.run(&args).await }
    };
    let started = Instant::now();
    let run = invoke("spin", &["--timeout", "1"]).await;
    assert!(run.failure("time-limit", exit::SANDBOX).contains("1 s time limit"));
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
    let run = invoke("hog", &["--memory", "64"]).await;
    assert!(run.failure("memory-limit", exit::SANDBOX).contains("64 MiB memory limit"));
    let run = invoke("crash", &[]).await;
    assert!(run.failure("crashed", exit::SANDBOX).contains("the probe crashed on purpose"));
}

#[tokio::test]
async fn a_blocked_host_call_is_stopped_by_the_time_limit() {
    let env = HostEnv::new();
    let asset = probe_asset(&env, "http://127.0.0.1:9");
    let started = Instant::now();
    let run = env
        .run(&[
            "invoke",
            "sandbox_probe",
            "nap",
            "--param",
            "millis=60000",
            "--asset",
            asset.to_str().unwrap(),
            "--timeout",
            "1",
        ])
        .await;
    run.failure("time-limit", exit::SANDBOX);
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
}

#[tokio::test]
async fn unbounded_allocation_is_stopped_by_the_memory_limit() {
    let env = HostEnv::new();
    let asset = probe_asset(&env, "http://127.0.0.1:9");
    let run = env.run(&["invoke", "sandbox_probe", "hog", "--asset", asset.to_str().unwrap(), "--memory", "64"]).await;
    let message = run.failure("memory-limit", exit::SANDBOX);
    assert!(message.contains("64 MiB memory limit"), "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_filesystem_environment_arguments_or_sockets() {
    let (server, hits) = counting_server().await;
    let env = HostEnv::new();
    let asset = probe_asset(&env, &server);
    let address = server.trim_start_matches("http://");
    let output = env
        .command()
        .args(["invoke", "sandbox_probe", "escape", "--param", &format!("address={address}"), "--asset"])
        .arg(&asset)
        .env("SOAR_PROBE_SECRET", "visible?")
        .output()
        .await
        .unwrap();
    let result: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(result["status"], "success", "{result:#}");
    assert_eq!(
        result["data"][0],
        serde_json::json!({"filesystem": false, "environment": false, "arguments": false, "socket": false})
    );
    assert_eq!(hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_crash_is_reported_with_the_connector_message() {
    let env = HostEnv::new();
    let asset = probe_asset(&env, "http://127.0.0.1:9");
    let run = env.invoke("sandbox_probe", "crash", &asset, &[]).await;
    let message = run.failure("crashed", exit::SANDBOX);
    assert!(message.contains("the probe crashed on purpose"), "{message}");
}

/// In one process, every kind of sandbox failure is survived: the next action in
/// the same runtime runs normally.
#[tokio::test(flavor = "multi_thread")]
async fn the_host_library_survives_every_failure() {
    let (server, _) = counting_server().await;
    let limits = Limits { memory: 64 << 20, time: Duration::from_secs(1), ..Limits::default() };
    let trust = Trust::Signed(TrustStore::load(&trust_dir()).unwrap());
    let runtime =
        Runtime::new(RuntimeOptions { trust, cache_dir: None, limits, instance_pool: Some(2), ..Default::default() })
            .unwrap();
    let dir = component("sandbox_probe.wasm").parent().unwrap().to_path_buf();
    let plugin = runtime.load(&PluginDir::new(dir).find("sandbox_probe").unwrap()).await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let values = [("base_url".to_string(), server.clone())].into_iter().collect();
    let asset = Arc::new(Asset::from_values("probe", values, &plugin.info().configuration));
    let options = InvokeOptions::new(data.path());
    let run = |action: &'static str, given: Vec<(&'static str, String)>| {
        let (runtime, plugin, asset, options) = (&runtime, &plugin, asset.clone(), &options);
        async move { runtime.invoke(plugin, action, &given, asset, options).await }
    };
    for (action, kind) in [("hog", "memory-limit"), ("spin", "time-limit"), ("crash", "crashed")] {
        let report = run(action, vec![]).await;
        assert_eq!(serde_json::to_value(report.error.unwrap().kind).unwrap(), kind, "{action}");
    }
    let report = run("fetch", vec![("url", "http://127.0.0.1:1/".into())]).await;
    assert_eq!(serde_json::to_value(report.error.unwrap().kind).unwrap(), "http-request-denied");
    let report = run("fetch", vec![("url", format!("{server}/fine"))]).await;
    assert_eq!(report.status, Status::Success, "{report:#?}");
}

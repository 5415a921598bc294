//! Storage and names: tenants never share state, the host's files are private
//! whatever the umask, and files that would block or overflow are refused.

use super::cofense_asset;
use soar_host::exit;
use soar_tests::harness::HostEnv;
use soar_tests::hostile::{Behaviour, HostileServer};
use soar_tests::sim::cofense_vision::CofenseSim;
use std::collections::HashSet;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

/// Every bearer token `sim` received.
fn tokens_received(sim: &CofenseSim) -> HashSet<String> {
    sim.server()
        .requests()
        .iter()
        .filter_map(|r| r.header("authorization").and_then(|v| v.strip_prefix("Bearer ")).map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_tenants_with_the_same_asset_file_name_never_share_a_token() {
    let (tenant_a, tenant_b) = (CofenseSim::start().await.unwrap(), CofenseSim::start().await.unwrap());
    let env = HostEnv::new();
    let a = cofense_asset(&env, "a/vision.toml", &tenant_a.base_url(), CofenseSim::CLIENT_SECRET);
    let b = cofense_asset(&env, "b/vision.toml", &tenant_b.base_url(), CofenseSim::CLIENT_SECRET);
    env.invoke("cofense", "list-searchable-headers", &a, &[]).await.success();

    let run = env.invoke("cofense", "list-searchable-headers", &b, &[]).await;
    let message = run.failure("invalid-config", exit::INVALID_INPUT);
    assert!(
        message.contains("a/vision.toml") && message.contains("b/vision.toml") && message.contains("name = "),
        "{message}"
    );
    assert!(tenant_b.server().requests().is_empty(), "nothing may reach tenant B: {:#?}", tenant_b.server().requests());

    // Named apart, each tenant gets its own token.
    let text = std::fs::read_to_string(&b).unwrap();
    std::fs::write(&b, format!("name = \"vision-b\"\n{text}")).unwrap();
    env.invoke("cofense", "list-searchable-headers", &b, &[]).await.success();
    let (seen_a, seen_b) = (tokens_received(&tenant_a), tokens_received(&tenant_b));
    assert!(!seen_b.is_empty() && seen_a.is_disjoint(&seen_b), "A's token reached B: {seen_a:?} {seen_b:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_asset_moved_to_another_server_never_sends_it_the_old_token() {
    let (old, new) = (CofenseSim::start().await.unwrap(), CofenseSim::start().await.unwrap());
    let env = HostEnv::new();
    let asset = cofense_asset(&env, "vision.toml", &old.base_url(), CofenseSim::CLIENT_SECRET);
    env.invoke("cofense", "list-searchable-headers", &asset, &[]).await.success();
    cofense_asset(&env, "vision.toml", &new.base_url(), CofenseSim::CLIENT_SECRET);
    env.invoke("cofense", "list-searchable-headers", &asset, &[]).await.success();
    assert_eq!(new.tokens_issued(), 1, "the new server issued its own token");
    assert!(tokens_received(&old).is_disjoint(&tokens_received(&new)));
}

/// Every file under `dir` is 0600 and every directory 0700 (but `dir` itself).
fn assert_private(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let mode = meta.permissions().mode() & 0o777;
        if meta.is_dir() {
            assert_eq!(mode, 0o700, "{}", path.display());
            assert_private(&path);
        } else {
            assert_eq!(mode, 0o600, "{}", path.display());
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_file_the_host_writes_is_private_whatever_the_umask() {
    let sim = CofenseSim::start().await.unwrap();
    let attachment = sim.add_attachment("a.txt", b"contents".to_vec());
    let tc = soar_tests::sim::threatconnect::ThreatConnectSim::start().await.unwrap();
    let env = HostEnv::new();
    std::fs::create_dir(env.data_dir()).unwrap();
    std::fs::set_permissions(env.data_dir(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let vision = cofense_asset(&env, "vision.toml", &sim.base_url(), CofenseSim::CLIENT_SECRET);
    let tc_asset = env.asset("tc", &tc.asset_toml());
    let md5 = format!("md5={}", attachment.md5);
    let invocations: [Vec<&str>; 2] = [
        vec![
            "invoke",
            "cofense",
            "get-message-attachment",
            "--asset",
            vision.to_str().unwrap(),
            "--param",
            &md5,
            "--param",
            "filename=a.txt",
        ],
        vec!["poll", "threatconnect", "--asset", tc_asset.to_str().unwrap(), "--poll-now"],
    ];
    for args in invocations {
        let mut command = env.command();
        command.args(&args);
        // SAFETY: umask is async-signal-safe and touches only the child.
        unsafe {
            command.pre_exec(|| {
                libc::umask(0);
                Ok(())
            });
        }
        let output = command.output().await.unwrap();
        assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stdout));
    }
    assert!(env.data_dir().join("ingest.sqlite").is_file());
    assert_private(&env.data_dir());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_file_that_is_a_fifo_does_not_hang_the_host() {
    let env = HostEnv::new();
    let fifo = env.root().join("secret.fifo");
    let name = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
    let asset = env.asset(
        "vision",
        "base_url = \"http://127.0.0.1:9\"\nclient_id = \"x\"\nclient_secret = { file = \"secret.fifo\" }\n",
    );
    let started = Instant::now();
    let run =
        tokio::time::timeout(Duration::from_secs(20), env.invoke("cofense", "list-searchable-headers", &asset, &[]))
            .await
            .expect("the host must not block on a FIFO");
    let message = run.failure("invalid-config", exit::INVALID_INPUT);
    assert!(message.contains("secret.fifo") && message.contains("not a regular file"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endless_download_stops_at_the_limit_and_leaves_nothing() {
    let vendor = HostileServer::start().await;
    vendor.issue_tokens("/uaa/oauth/token");
    vendor.on("/api/v4/attachment", Behaviour::Endless { content_type: "application/octet-stream".into() });
    let env = HostEnv::new();
    let asset = cofense_asset(&env, "vision.toml", &vendor.base_url(), CofenseSim::CLIENT_SECRET);
    let md5 = "a".repeat(32);
    let args = [
        "invoke",
        "cofense",
        "get-message-attachment",
        "--asset",
        asset.to_str().unwrap(),
        "--param",
        &format!("md5={md5}"),
        "--param",
        "filename=big.bin",
        "--max-download",
        "2",
    ];
    let run = env.run(&args).await;
    let message = run.failure("platform", exit::ACTION_FAILED);
    assert!(message.contains("limit of 2 MiB") && message.contains("--max-download"), "{message}");
    assert_vault_empty(&env.data_dir());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_declared_length_of_ten_gib_reserves_nothing_and_fails_at_once() {
    let vendor = HostileServer::start().await;
    vendor.issue_tokens("/uaa/oauth/token");
    vendor.on("/api/v4/attachment", Behaviour::DeclaredLength { declared: 10 << 30, sent: 1024 });
    let env = HostEnv::new();
    let asset = cofense_asset(&env, "vision.toml", &vendor.base_url(), CofenseSim::CLIENT_SECRET);
    let run = env
        .invoke("cofense", "get-message-attachment", &asset, &[("md5", &"a".repeat(32)), ("filename", "big.bin")])
        .await;
    let message = run.failure("platform", exit::ACTION_FAILED);
    assert!(message.contains("limit of 4096 MiB"), "{message}");
    assert_vault_empty(&env.data_dir());
}

/// No document in the vault and no temporary file left behind.
fn assert_vault_empty(data_dir: &Path) {
    let vault = data_dir.join("vault");
    let mut files = Vec::new();
    let mut dirs = vec![vault];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if !path.to_string_lossy().ends_with(".lock") {
                files.push(path);
            }
        }
    }
    assert!(files.is_empty(), "left behind: {files:?}");
}

#[tokio::test]
async fn keygen_and_sign_with_relative_paths_succeed_and_write_both_keys() {
    let dir = tempfile::tempdir().unwrap();
    let env = HostEnv::new();
    let run = |args: &'static [&'static str]| {
        let mut command = env.command();
        command.current_dir(dir.path()).args(args);
        async move { command.output().await.unwrap() }
    };
    let output = run(&["keygen", "--secret-key", "publisher.key", "--public-key", "publisher.pub"]).await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(dir.path().join("publisher.key").is_file() && dir.path().join("publisher.pub").is_file());
    std::fs::copy(soar_tests::harness::unsigned_component("cofense.wasm"), dir.path().join("c.wasm")).unwrap();
    let output = run(&["sign", "c.wasm", "-k", "publisher.key", "-K", "publisher.pub", "-o", "signed.wasm"]).await;
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let output = run(&["verify", "signed.wasm", "--public-key", "publisher.pub"]).await;
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));

    // Both or neither: when the public key cannot be written (its path is a
    // directory), no secret key stays behind either.
    std::fs::create_dir(dir.path().join("taken.pub")).unwrap();
    let output = run(&["keygen", "--secret-key", "second.key", "--public-key", "taken.pub"]).await;
    assert!(!output.status.success());
    assert!(!dir.path().join("second.key").exists(), "a secret key without its public key was left");
}

/// The temporary download files in the vault.
fn downloads_in_progress(data_dir: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(data_dir.join("vault/tmp")).map_or_else(
        |_| Vec::new(),
        |entries| entries.flatten().map(|e| e.path()).filter(|p| !p.to_string_lossy().ends_with(".lock")).collect(),
    )
}

/// Waits (at most 10 s) until `count` downloads are in progress.
async fn wait_for_downloads(data_dir: &Path, count: usize) -> Vec<std::path::PathBuf> {
    let started = Instant::now();
    loop {
        let found = downloads_in_progress(data_dir);
        if found.len() >= count || started.elapsed() > Duration::from_secs(10) {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_download_killed_with_sigkill_leaves_no_debris_after_the_next_vault_use() {
    let vendor = HostileServer::start().await;
    vendor.issue_tokens("/uaa/oauth/token");
    // 40 MiB declared, sent a byte a second: the host reserves the space and waits.
    vendor.on("/api/v4/attachment", Behaviour::SlowBody { millis: 1000, total: 40 << 20 });
    vendor.on("/api/v4/download/logs", Behaviour::Json { status: 200, body: "log contents".into() });
    let env = HostEnv::new();
    let asset = cofense_asset(&env, "vision.toml", &vendor.base_url(), CofenseSim::CLIENT_SECRET);
    let attachment = ["invoke", "cofense", "get-message-attachment", "--asset", asset.to_str().unwrap(), "--param"];
    let md5 = format!("md5={}", "a".repeat(32));
    let spawn = || {
        let mut command = env.command();
        command.args(attachment).args([md5.as_str(), "--param", "filename=slow.bin"]);
        command.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
        command.spawn().unwrap()
    };
    let mut killed = spawn();
    let left = wait_for_downloads(&env.data_dir(), 1).await;
    assert_eq!(left.len(), 1, "the download started");
    killed.start_kill().unwrap();
    killed.wait().await.unwrap();
    assert!(left[0].exists(), "kill -9 leaves the temporary file behind");
    // Another download is in progress in another process while the vault is next used.
    let mut live = spawn();
    let both = wait_for_downloads(&env.data_dir(), 2).await;
    assert_eq!(both.len(), 2);
    tokio::time::sleep(Duration::from_millis(2200)).await;

    env.invoke("cofense", "download-logs", &asset, &[]).await.success();
    let remaining = downloads_in_progress(&env.data_dir());
    assert!(!left[0].exists(), "the abandoned file is removed");
    assert_eq!(remaining.len(), 1, "the live download is untouched: {remaining:?}");
    live.start_kill().unwrap();
    live.wait().await.unwrap();
}

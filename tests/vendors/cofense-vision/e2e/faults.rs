//! Injected faults: each gets the expected retry, refresh or clear error, and
//! loses nothing.

use super::Vision;
use soar_host::exit;
use soar_tests::sim::{Fault, FaultRule};
use std::time::{Duration, Instant};

const HEADERS: &str = "/api/v4/config/searchableHeaders";

fn count(vision: &Vision, path: &str) -> usize {
    vision.sim.server().requests().iter().filter(|r| r.path == path).count()
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limits_are_retried_after_retry_after() {
    let vision = Vision::start().await;
    vision.sim.server().inject(FaultRule::on(HEADERS, Fault::TooManyRequests { retry_after: 1 }));
    let started = Instant::now();
    vision.invoke("list-searchable-headers", &[]).await.success();
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After is honoured");
    assert_eq!(count(&vision, HEADERS), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn server_errors_are_retried_with_backoff() {
    let vision = Vision::start().await;
    vision.sim.server().inject(FaultRule::on(HEADERS, Fault::ServerError).times(2));
    vision.invoke("list-searchable-headers", &[]).await.success();
    assert_eq!(count(&vision, HEADERS), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn persistent_server_errors_end_in_a_clear_error() {
    let vision = Vision::start().await;
    vision.sim.server().inject(FaultRule::on(HEADERS, Fault::ServerError).times(100));
    let run = vision.invoke("list-searchable-headers", &[]).await;
    let message = run.failure("vendor", exit::ACTION_FAILED);
    assert!(
        message.starts_with("Error from server. Status code: 500") && message.ends_with("(after 4 attempts)"),
        "{message}"
    );
    assert_eq!(run.json["error"]["http_status"], 500);
    assert_eq!(count(&vision, HEADERS), 4, "a bounded number of attempts");
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_that_are_not_idempotent_are_not_retried() {
    let vision = Vision::start().await;
    let (message_id, recipient) = vision.sim.sample_message();
    vision.sim.server().inject(FaultRule::on("/api/v4/quarantineJobs", Fault::ServerError).method("POST"));
    let run =
        vision.invoke("create-quarantine-job", &[("quarantine_emails", &format!("{recipient}:{message_id}"))]).await;
    run.failure("vendor", exit::ACTION_FAILED);
    assert_eq!(count(&vision, "/api/v4/quarantineJobs"), 1, "a POST is sent once");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_too_long_retry_after_is_not_waited_for() {
    let vision = Vision::start().await;
    vision.sim.server().inject(FaultRule::on(HEADERS, Fault::TooManyRequests { retry_after: 3600 }));
    let started = Instant::now();
    let run = vision.invoke("list-searchable-headers", &[]).await;
    assert!(run.failure("vendor", exit::ACTION_FAILED).starts_with("Error from server. Status code: 429"));
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_responses_within_and_beyond_the_time_limit() {
    let vision = Vision::start().await;
    vision.sim.server().inject(FaultRule::on(HEADERS, Fault::Slow { millis: 500 }));
    vision.invoke("list-searchable-headers", &[]).await.success();

    vision.sim.server().inject(FaultRule::on(HEADERS, Fault::Slow { millis: 30_000 }));
    let started = Instant::now();
    let asset = vision.asset.to_str().unwrap();
    let run =
        vision.env.run(&["invoke", "cofense", "list-searchable-headers", "--asset", asset, "--timeout", "2"]).await;
    run.failure("time-limit", exit::SANDBOX);
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_json_is_reported() {
    let vision = Vision::start().await;
    vision.sim.server().inject(FaultRule::on(HEADERS, Fault::MalformedJson));
    let run = vision.invoke("list-searchable-headers", &[]).await;
    assert!(run.failure("vendor", exit::ACTION_FAILED).starts_with("Unable to parse JSON response. Error: "));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connection_dropped_mid_body_is_reported_and_retried_no_further() {
    let vision = Vision::start().await;
    vision.sim.server().inject(FaultRule::on(HEADERS, Fault::DropMidBody { after_bytes: 10 }));
    let run = vision.invoke("list-searchable-headers", &[]).await;
    assert!(run.failure("connection", exit::ACTION_FAILED).contains("Error reading the server's response"));
    // The state is intact and the next invoke works.
    vision.invoke("list-searchable-headers", &[]).await.success();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_download_leaves_nothing_in_the_vault() {
    let vision = Vision::start().await;
    let attachment = vision.sim.add_generated_attachment("big.bin", 8 << 20);
    vision.sim.server().inject(FaultRule::on("/api/v4/attachment", Fault::DropMidBody { after_bytes: 1 << 20 }));
    let run = vision.invoke("get-message-attachment", &[("md5", &attachment.md5), ("filename", "big.bin")]).await;
    let message = run.failure("connection", exit::ACTION_FAILED);
    assert!(message.contains("nothing was added to the vault"), "{message}");
    let vault = vision.env.data_dir().join("vault");
    let files: Vec<_> = walk(&vault).into_iter().filter(|p| !p.ends_with("index.lock")).collect();
    assert!(files.is_empty(), "the vault holds {files:?}");

    // The same download without the fault lands whole.
    let run =
        vision.invoke("get-message-attachment", &[("md5", &attachment.md5), ("filename", "big.bin")]).await.success();
    assert_eq!(run.data()[0]["vault_id"], attachment.sha1.as_str());
    assert_eq!(run.data()[0]["size"], attachment.size);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() { files.extend(walk(&path)) } else { files.push(path) }
    }
    files
}

//! The OAuth token: obtained once, reused from the asset's state, refreshed
//! before it expires and after `invalid_token`, dropped when the client changes,
//! and kept private.

use super::Vision;
use soar_host::exit;
use soar_tests::sim::cofense_vision::CofenseSim;
use std::os::unix::fs::PermissionsExt;

fn state_file(vision: &Vision) -> std::path::PathBuf {
    vision.env.data_dir().join("state/cofense/cofense.json")
}

fn token_requests(vision: &Vision) -> usize {
    vision.sim.server().requests().iter().filter(|r| r.path == "/uaa/oauth/token").count()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_token_is_obtained_once_and_reused() {
    let vision = Vision::start().await;
    vision.invoke("list-searchable-headers", &[]).await.success();
    assert_eq!(vision.sim.tokens_issued(), 1);
    vision.invoke("list-searchable-headers", &[]).await.success();
    vision.invoke("get-last-ioc", &[("source", "Vision-UI")]).await;
    assert_eq!(vision.sim.tokens_issued(), 1, "the second and third invokes reuse the stored token");
    assert_eq!(token_requests(&vision), 1);

    let state = std::fs::read_to_string(state_file(&vision)).unwrap();
    let state: serde_json::Value = serde_json::from_str(&state).unwrap();
    assert_eq!(state["oauth2_token"]["client_id"], CofenseSim::CLIENT_ID);
    assert!(state["oauth2_token"]["expires_at"].is_i64());
    let mode = std::fs::metadata(state_file(&vision)).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the state holds a token: owner only");
    let dir_mode = std::fs::metadata(state_file(&vision).parent().unwrap()).unwrap().permissions().mode();
    assert_eq!(dir_mode & 0o077, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalidated_token_is_refreshed_once() {
    let vision = Vision::start().await;
    vision.invoke("list-searchable-headers", &[]).await.success();
    vision.sim.expire_tokens();
    vision.clear();
    vision.invoke("list-searchable-headers", &[]).await.success();
    let requests = vision.sim.server().requests();
    let paths: Vec<(&str, &str)> = requests.iter().map(|r| (r.method.as_str(), r.path.as_str())).collect();
    assert_eq!(
        paths,
        vec![
            ("GET", "/api/v4/config/searchableHeaders"),
            ("POST", "/uaa/oauth/token"),
            ("GET", "/api/v4/config/searchableHeaders")
        ]
    );
    assert_ne!(requests[0].header("authorization"), requests[2].header("authorization"));
    assert_eq!(vision.sim.tokens_issued(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_about_to_expire_is_replaced_before_use() {
    let vision = Vision::start().await;
    // Tokens that live 30 s are inside the 60 s safety margin: never reused.
    vision.sim.set_token_lifetime(30);
    vision.invoke("list-searchable-headers", &[]).await.success();
    vision.clear();
    vision.invoke("list-searchable-headers", &[]).await.success();
    let paths: Vec<String> = vision.sim.server().requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths, vec!["/uaa/oauth/token", "/api/v4/config/searchableHeaders"], "no 401 round trip");

    vision.sim.set_token_lifetime(3600);
    vision.invoke("list-searchable-headers", &[]).await.success();
    vision.clear();
    vision.invoke("list-searchable-headers", &[]).await.success();
    assert_eq!(token_requests(&vision), 0, "a long-lived token is reused");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_token_is_dropped_when_the_client_id_changes() {
    let vision = Vision::start().await;
    vision.invoke("list-searchable-headers", &[]).await.success();
    let other_client = vision.sim.asset_toml().replace(CofenseSim::CLIENT_ID, "another-client");
    std::fs::write(&vision.asset, other_client).unwrap();
    vision.clear();
    let run = vision.invoke("list-searchable-headers", &[]).await;
    run.failure("vendor", exit::ACTION_FAILED);
    let requests = vision.sim.server().requests();
    assert_eq!(requests.len(), 1, "the old client's token is not used: {requests:#?}");
    assert_eq!(requests[0].path, "/uaa/oauth/token");
    assert!(requests[0].form().contains(&("client_id".to_string(), "another-client".to_string())));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unauthorized_answer_is_not_retried() {
    let vision = Vision::start().await;
    vision.invoke("list-searchable-headers", &[]).await.success();
    vision.clear();
    let denied = serde_json::json!({"error": "unauthorized", "error_description": "Full authentication is required"});
    vision.sim.server().inject(soar_tests::sim::FaultRule::on(
        "/api/v4/config",
        soar_tests::sim::Fault::Status { status: 401, body: denied },
    ));
    let run = vision.invoke("list-searchable-headers", &[]).await;
    assert!(run.failure("vendor", exit::ACTION_FAILED).starts_with("Error from server. Status code: 401"));
    assert_eq!(vision.sim.server().requests().len(), 1, "only invalid_token triggers a refresh");
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_invokes_never_corrupt_the_state() {
    let vision = Vision::start().await;
    let runs = (0..8).map(|_| vision.invoke("list-searchable-headers", &[]));
    let runs = futures_util::future::join_all(runs).await;
    for run in runs {
        run.success();
    }
    let state: serde_json::Value = serde_json::from_slice(&std::fs::read(state_file(&vision)).unwrap()).unwrap();
    assert!(state["oauth2_token"]["access_token"].is_string());
    // Whatever token was stored last works.
    let before = vision.sim.tokens_issued();
    vision.invoke("list-searchable-headers", &[]).await.success();
    assert_eq!(vision.sim.tokens_issued(), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_secret_never_appears_in_output_or_logs() {
    let vision = Vision::start().await;
    let echoed = serde_json::json!({"status": "BAD_REQUEST", "message": format!("client secret {} rejected", CofenseSim::CLIENT_SECRET)});
    vision.sim.server().inject(soar_tests::sim::FaultRule::on(
        "/api/v4/config",
        soar_tests::sim::Fault::Status { status: 400, body: echoed },
    ));
    let run = vision
        .env
        .run(&["-vv", "invoke", "cofense", "list-searchable-headers", "--asset", vision.asset.to_str().unwrap()])
        .await;
    run.failure("vendor", exit::ACTION_FAILED);
    assert!(run.stdout.contains("client secret *** rejected"), "{}", run.stdout);
    assert!(
        !run.stdout.contains(CofenseSim::CLIENT_SECRET) && !run.stderr.contains(CofenseSim::CLIENT_SECRET),
        "{run:#?}"
    );
}

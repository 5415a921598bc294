//! Injected faults through the ThreatConnect connector: retried where safe,
//! and otherwise the reference connector's message with what came back.

use super::Tc;
use soar_host::exit;
use soar_tests::sim::{Fault, FaultRule};

const OWNERS: &str = "/v3/security/owners";

fn count(tc: &Tc) -> usize {
    tc.signed_requests().iter().filter(|r| r.path == OWNERS).count()
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limits_and_server_errors_are_retried_and_each_retry_is_signed_afresh() {
    let tc = Tc::start().await;
    // Rules apply in order: the first request gets the 429, the second the 500.
    tc.sim.server().inject(FaultRule::on(OWNERS, Fault::TooManyRequests { retry_after: 1 }));
    tc.sim.server().inject(FaultRule::on(OWNERS, Fault::ServerError));
    tc.invoke("list-owners", &[]).await.success();
    assert_eq!(count(&tc), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn persistent_server_errors_end_in_the_reference_message() {
    let tc = Tc::start().await;
    tc.sim.server().inject(FaultRule::on(OWNERS, Fault::ServerError).times(100));
    let run = tc.invoke("list-owners", &[]).await;
    let message = run.failure("vendor", exit::ACTION_FAILED);
    assert!(
        message.starts_with("Error from server, Status Code: 500 data returned: {")
            && message.ends_with("(after 4 attempts)"),
        "{message}"
    );
    assert_eq!(run.json["error"]["http_status"], 500);
    assert_eq!(count(&tc), 4, "a bounded number of attempts");
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_json_is_reported() {
    let tc = Tc::start().await;
    tc.sim.server().inject(FaultRule::on(OWNERS, Fault::MalformedJson));
    let run = tc.invoke("list-owners", &[]).await;
    assert_eq!(run.failure("vendor", exit::ACTION_FAILED), "Unable to parse response as JSON");
}

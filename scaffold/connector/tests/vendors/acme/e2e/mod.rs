//! Acme: every action through the real host and the simulator.

use soar_tests::harness::assert_documented_paths;
use soar_tests::kit::Vendor;
use soar_tests::sim::acme::AcmeSim;

/// The vendor directory (`tests/vendors/<vendor>/`): its specification and fixtures.
const VENDOR: &str = "acme";

#[tokio::test(flavor = "multi_thread")]
async fn test_connectivity_reads_the_status_with_the_api_key() {
    let acme = Vendor::<AcmeSim>::start().await;
    let run = acme.invoke("test-connectivity", &[]).await;
    assert_eq!((run.code, run.json["message"].as_str()), (0, Some("Test Connectivity Passed")), "{run:#?}");
    assert_eq!(run.json["data"][0]["status"], "ok");
    assert_documented_paths(VENDOR, "test connectivity", &run.json);
    let requests = acme.take_requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    assert_eq!(requests[0].header("x-api-key"), Some(AcmeSim::API_KEY));
}

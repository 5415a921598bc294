//! Bad input and bad configuration: a clear error naming the parameter or
//! variable, a non-zero exit, and nothing sent.

use super::Tc;
use soar_host::exit;
use soar_tests::harness::Rejection;
use soar_tests::sim::threatconnect::ThreatConnectSim;

#[tokio::test(flavor = "multi_thread")]
async fn bad_parameters_are_rejected_before_sending() {
    let tc = Tc::start().await;
    let unresolved =
        "Could not resolve primary_field parameter type. Please check provided value of primary_field parameter.";
    let cases: Vec<Rejection> = vec![
        ("hunt-ip", vec![("ip", "1.2.3.256")], "ip", "Parameter 'ip' failed validation"),
        ("hunt-ip", vec![("ip", "evil.example.com")], "ip", "Parameter 'ip' failed validation"),
        ("hunt-file", vec![("hash", "not-a-hash")], "hash", "Parameter 'hash' failed validation"),
        ("hunt-email", vec![("email", "nobody")], "email", "Parameter 'email' failed validation"),
        ("hunt-domain", vec![("domain", "not a domain")], "domain", "Could not resolve parameter type"),
        ("hunt-url", vec![("url", "evil.example.com")], "url", "Parameter 'url' failed validation"),
        ("post-data", vec![("primary_field", "hello world")], "primary_field", unresolved),
        (
            "post-data",
            vec![("primary_field", "d41d8cd98f00b204e9800998ecf8427e, 1.2.3.4")],
            "primary_field",
            unresolved,
        ),
        (
            "post-data",
            vec![("primary_field", "1.2.3.4"), ("rating", "6")],
            "rating",
            "Please provide a rating between 0 and 5",
        ),
        (
            "post-data",
            vec![("primary_field", "1.2.3.4"), ("rating", "-1")],
            "rating",
            "Please provide a rating between 0 and 5",
        ),
        (
            "post-data",
            vec![("primary_field", "1.2.3.4"), ("confidence", "101")],
            "confidence",
            "Please provide a confidence between 0 and 100",
        ),
        (
            "post-data",
            vec![("primary_field", "1.2.3.4"), ("confidence", "-5")],
            "confidence",
            "Please provide a valid non-negative integer value",
        ),
        (
            "post-data",
            vec![("primary_field", "1.2.3.4"), ("attribute_name", "Description")],
            "attribute_value",
            "An attribute needs both",
        ),
        ("hunt-ip", vec![], "ip", "The required parameter 'ip' is missing"),
    ];
    tc.rejects_before_sending(cases).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_configuration_is_rejected_before_sending() {
    let sim = ThreatConnectSim::start().await.unwrap();
    for (extra, variable, message) in [
        (
            "max_containers = 0\n",
            "max_containers",
            "Please provide a positive, non zero integer in config parameter \"max_containers\"",
        ),
        (
            "interval_days = -2\n",
            "interval_days",
            "Please provide a positive, non zero integer in config parameter \"interval_days\"",
        ),
        (
            "max_containers = 2.5\n",
            "max_containers",
            "Please provide a positive, non zero integer in config parameter \"max_containers\"",
        ),
    ] {
        let tc = Tc::with_sim(ThreatConnectSim::start().await.unwrap(), extra);
        let run = tc.poll(&[]).await;
        assert_eq!(run.failure("invalid-config", exit::INVALID_INPUT), message);
        assert_eq!(run.json["error"]["parameter"], variable);
        assert!(tc.sim.server().requests().is_empty());
    }
    for (extra, expected) in [
        ("max_containers = \"many\"\n", "'max_containers' must be a number"),
        ("interval_days = true\n", "'interval_days' must be a number"),
    ] {
        let tc = Tc::with_sim(ThreatConnectSim::start().await.unwrap(), extra);
        let run = tc.poll(&[]).await;
        assert!(run.failure("invalid-config", exit::INVALID_INPUT).contains(expected), "{run:#?}");
        assert!(tc.sim.server().requests().is_empty());
    }
    // A wrong secret is refused by the API's signature check.
    let tc = Tc::with_sim(sim, "");
    std::fs::write(&tc.asset, tc.sim.asset_toml().replace(ThreatConnectSim::SECRET_KEY, "wrong-secret")).unwrap();
    let run = tc.invoke("test-connectivity", &[]).await;
    assert!(
        run.failure("vendor", exit::ACTION_FAILED).contains("Signature data did not match expected result"),
        "{run:#?}"
    );
    assert_eq!(tc.sim.auth_failures(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stale_timestamp_is_refused_by_the_api() {
    let tc = Tc::start().await;
    tc.sim.set_clock_offset(chrono::Duration::minutes(10));
    let run = tc.invoke("list-owners", &[]).await;
    assert!(run.failure("vendor", exit::ACTION_FAILED).contains("Timestamp out of acceptable time range"), "{run:#?}");
}

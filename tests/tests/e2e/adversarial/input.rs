//! Input: parameters that would reach another endpoint or split a header are
//! bad input, refused before anything is sent; empty answers are not success.

use soar_host::exit;
use soar_tests::kit::Vendor;
use soar_tests::sim::cofense_vision::CofenseSim;
use soar_tests::sim::{Fault, FaultRule};

type Vision = Vendor<CofenseSim>;

const MD5: &str = "41ecc26bd356dd706cc1a0cd839cad2c";

#[tokio::test(flavor = "multi_thread")]
async fn ioc_ids_dot_and_dot_dot_reach_no_other_endpoint() {
    let vision = Vision::start().await;
    for id in [".", "..", " .. "] {
        for (action, extra) in [
            ("get-ioc", ("source", "Triage-1")),
            ("delete-ioc", ("source", "Triage-1")),
            ("update-ioc", ("expires_at", "2030-01-01")),
        ] {
            let run = vision.invoke(action, &[("id", id), extra]).await;
            run.rejected("id", "Please provide a valid value in the 'id' parameter: it cannot be empty, '.' or '..'");
        }
    }
    assert!(vision.sim.server().requests().is_empty(), "{:#?}", vision.sim.server().requests());
}

#[tokio::test(flavor = "multi_thread")]
async fn control_characters_in_a_header_parameter_send_nothing_at_all() {
    let vision = Vision::start().await;
    // (A NUL cannot travel in an argument; the SDK's unit tests try it.)
    for source in ["Triage-1\r\nX-Injected: 1", "a\nb", "a\u{7f}", "a\rb"] {
        for (action, params) in [
            ("get-ioc", vec![("id", MD5), ("source", source)]),
            ("list-iocs", vec![("source", source)]),
            ("get-last-ioc", vec![("source", source)]),
            ("delete-ioc", vec![("id", MD5), ("source", source)]),
        ] {
            let run = vision.invoke(action, &params).await;
            run.rejected(
                "source",
                "Please provide a valid value in the 'source' parameter: it cannot contain control characters",
            );
        }
    }
    assert!(
        vision.sim.server().requests().is_empty(),
        "not even a token request: {:#?}",
        vision.sim.server().requests()
    );
}

/// An action, the path its answer comes from, and its parameters.
type Case = (&'static str, &'static str, Vec<(&'static str, &'static str)>);

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_200_is_a_vendor_error_wherever_json_is_expected() {
    let vision = Vision::start().await;
    let cases: [Case; 4] = [
        ("list-iocs", "/iocrepository/v1/iocs", vec![("source", "Triage-1")]),
        ("get-messagesearch-results", "/api/v4/searches/1/results", vec![("id", "1")]),
        (
            "update-iocs",
            "/iocrepository/v1/iocs",
            vec![
                ("source", "Triage-1"),
                ("threat_type", "md5"),
                ("threat_value", MD5),
                ("threat_level", "Malicious"),
                ("created_at", "2024-01-01"),
                ("source_id", "x"),
            ],
        ),
        ("get-ioc", "/iocrepository/v1/iocs/", vec![("id", MD5), ("source", "Triage-1")]),
    ];
    for (action, path, params) in cases {
        vision.sim.server().inject(FaultRule::on(path, Fault::Empty { status: 200 }));
        let run = vision.invoke(action, &params).await;
        let message = run.failure("vendor", exit::ACTION_FAILED);
        assert_eq!(message, "The server returned an unexpected empty response", "{action}");
        vision.sim.server().clear_faults();
    }
    // Where the API answers an empty 200 by design, it is success.
    vision.sim.server().inject(FaultRule::on("/api/v4/quarantineJobs/", Fault::Empty { status: 200 }));
    vision.invoke("delete-quarantine-job", &[("id", "1")]).await.success();
}

//! Contract tests: every captured Cofense Vision body, served by the simulator,
//! turns into the documented output of each action that reads it.

use super::{VENDOR, Vision};
use serde_json::Value;
use serde_json::json;
use soar_tests::harness::{documented_paths, missing_paths, vendor_dir};
use soar_tests::sim::{Fault, FaultRule};

fn fixture(name: &str) -> Value {
    let path = vendor_dir(VENDOR).join("fixtures").join(name);
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// (fixture, method, path the body answers, action, parameters)
type Contract = (&'static str, &'static str, &'static str, &'static str, &'static [(&'static str, &'static str)]);

const CONTRACTS: &[Contract] = &[
    ("list_iocs.json", "GET", "/iocrepository/v1/iocs", "list iocs", &[("source", "Vision-UI")]),
    ("get_last_ioc.json", "GET", "/iocrepository/v1/iocs/last", "get last ioc", &[("source", "Vision-UI")]),
    (
        "get_last_ioc.json",
        "GET",
        "/iocrepository/v1/iocs/",
        "get ioc",
        &[("id", "1db1468c0d7166ab43fd8a9ec4b920b0"), ("source", "Vision-UI")],
    ),
    (
        "get_last_ioc.json",
        "DELETE",
        "/iocrepository/v1/iocs/",
        "delete ioc",
        &[("id", "1db1468c0d7166ab43fd8a9ec4b920b0"), ("source", "Vision-UI")],
    ),
    (
        "update_ioc.json",
        "PUT",
        "/iocrepository/v1/iocs/",
        "update ioc",
        &[("id", "e3026f0c154395767993f34cc71b13e3"), ("expires_at", "2080-05-15")],
    ),
    (
        "update_iocs.json",
        "PUT",
        "/iocrepository/v1/iocs",
        "update iocs",
        &[
            ("source", "Vision-UI"),
            ("threat_type", "URL"),
            ("threat_value", "https://domain.com"),
            ("threat_level", "Malicious"),
            ("source_id", "s"),
            ("created_at", "4/10/2022"),
        ],
    ),
    ("list_quarantine_jobs.json", "POST", "/api/v4/quarantineJobs/filter", "list quarantine jobs", &[]),
    ("stop_quarantine_job.json", "PUT", "/api/v4/quarantineJobs/265/stop", "stop quarantine job", &[("id", "265")]),
    ("stop_quarantine_job.json", "GET", "/api/v4/quarantineJobs/265", "get quarantine job", &[("id", "265")]),
    ("list_message_searches.json", "GET", "/api/v4/searches", "list message searches", &[]),
    ("create_message_search.json", "POST", "/api/v4/searches", "create message search", &[("subjects", "test")]),
    ("create_message_search.json", "GET", "/api/v4/searches/1", "get message search", &[("id", "1")]),
    (
        "get_message_search_results.json",
        "GET",
        "/api/v4/searches/1/results",
        "get messagesearch results",
        &[("id", "1")],
    ),
    (
        "get_message_metadata.json",
        "GET",
        "/api/v4/messages/metadata",
        "get message metadata",
        &[
            ("internet_message_id", "<999999999.999999.999999999999@aaaaaaaaaaa>"),
            ("recipient_address", "testuser@test.com"),
        ],
    ),
];

#[tokio::test(flavor = "multi_thread")]
async fn every_fixture_becomes_the_documented_output() {
    let vision = Vision::start().await;
    for (name, method, path, action, params) in CONTRACTS {
        let body = fixture(name);
        vision
            .sim
            .server()
            .inject(FaultRule::on(path, Fault::Status { status: 200, body: body.clone() }).method(method));
        let run = vision.invoke(&action.replace(' ', "-"), params).await.success();
        let expected = match (body.get("data"), body.get("quarantineJobs"), body.get("searches"), body.get("messages"))
        {
            (Some(Value::Array(items)), ..)
            | (_, Some(Value::Array(items)), ..)
            | (_, _, Some(Value::Array(items)), _)
            | (.., Some(Value::Array(items))) => items.clone(),
            (Some(item), ..) => vec![item.clone()],
            _ => vec![body.clone()],
        };
        // Vendor objects pass through unchanged...
        assert_eq!(run.data(), &expected, "{name} through {action}");
        // ...so every documented path is there, except those the captured body
        // itself lacks (a trimmed capture).
        let paths = documented_paths(VENDOR, action);
        let data_paths: Vec<String> = paths.iter().filter(|p| p.starts_with("data")).cloned().collect();
        let lacking = missing_paths(&json!({"data": expected}), &data_paths);
        let missing: Vec<String> =
            missing_paths(&run.json, &paths).into_iter().filter(|p| !lacking.contains(p)).collect();
        assert!(missing.is_empty(), "{name} through {action}: {missing:#?}");
        vision.sim.server().clear_faults();
    }
}

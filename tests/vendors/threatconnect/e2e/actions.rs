//! Each action's happy path, the request the simulator received (and verified),
//! and the documented data paths.

use super::{Tc, VENDOR};
use serde_json::{Value, json};
use soar_tests::harness::{assert_documented_paths, assert_documented_paths_except};
use soar_tests::sim::threatconnect::ThreatConnectSim;

#[tokio::test(flavor = "multi_thread")]
async fn test_connectivity_signs_its_request() {
    let tc = Tc::start().await;
    let run = tc.invoke("test-connectivity", &[]).await.success();
    assert_eq!(run.json["message"], "Test Connectivity Passed");
    let requests = tc.signed_requests();
    assert_eq!(requests.len(), 1);
    assert_eq!((requests[0].method.as_str(), requests[0].path_and_query()), ("GET", "/v3/security/owners".to_string()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_base_url_with_a_path_keeps_it_in_the_api_root() {
    let sim = ThreatConnectSim::start_with("/api", 0).await.unwrap();
    let tc = Tc::with_sim(sim, "");
    tc.invoke("test-connectivity", &[]).await.success();
    assert_eq!(tc.signed_requests()[0].path, "/api/v3/security/owners");
}

#[tokio::test(flavor = "multi_thread")]
async fn list_owners_works_without_count() {
    let tc = Tc::start().await;
    let run = tc.invoke("list-owners", &[]).await.success();
    // `permTrack` is documented from an older API; v3 owners no longer carry it.
    assert_documented_paths_except(VENDOR, "list owners", &run.json, &["data.*.data.*.permTrack"]);
    let owners = run.data()[0]["data"].as_array().unwrap().len();
    assert!(owners > 0);
    assert_eq!(run.json["summary"]["num_owners"], owners);
    assert_eq!(run.data()[0]["count"], owners, "the count the v3 API leaves out is filled in");
    assert_eq!(run.json["message"], "List owners succeeded");
    let requests = tc.signed_requests();
    assert_eq!(requests[0].path_and_query(), "/v3/security/owners");
}

/// Posts one indicator of each kind; the union of the results has every
/// documented path (each kind has its own).
#[tokio::test(flavor = "multi_thread")]
async fn post_data_of_every_kind() {
    let tc = Tc::start().await;
    let md5 = "aaa0985a485969f70c0b414ef328daaa";
    let sha256 = "aaaa30ba2f79f45ed475ba35205d6332abf201830a4979355c53c66f3220aaaa";
    let posts: Vec<Vec<(&str, &str)>> = vec![
        vec![
            ("primary_field", "17.5.7.8"),
            ("rating", "2"),
            ("confidence", "50"),
            ("attribute_name", "Description"),
            ("attribute_value", "valid description"),
            ("tag", "testing"),
            ("security_label", "TLP:AMBER"),
        ],
        vec![("primary_field", "abcde@gmail.com")],
        vec![("primary_field", md5), ("size", "10")],
        vec![("primary_field", "http://www.test.ru")],
        vec![("primary_field", "www.test.com"), ("dns_active", "true"), ("whois_active", "false")],
    ];
    let mut data = Vec::new();
    let mut summary = Value::Null;
    let mut message = Value::Null;
    for params in &posts {
        let run = tc.invoke("post-data", params).await.success();
        assert_eq!(run.data()[0]["message"], "Created");
        data.extend(run.data().iter().cloned());
        summary = run.json["summary"].clone();
        message = run.json["message"].clone();
    }
    let multi = tc.invoke("post-data", &[("primary_field", &format!("{md5}, {sha256}"))]).await.success();
    data.extend(multi.data().iter().cloned());
    assert_documented_paths(VENDOR, "post data", &json!({"data": data, "summary": summary, "message": message}));
    assert_eq!(message, "Data successfully posted to ThreatConnect");

    let requests = tc.signed_requests();
    assert_eq!(requests.len(), posts.len() + 1);
    for request in &requests {
        assert_eq!((request.method.as_str(), request.path.as_str()), ("POST", "/v3/indicators"));
        assert_eq!(request.raw_query.as_deref(), Some("fields=securityLabels&fields=tags&fields=attributes"));
    }
    assert_eq!(
        requests[0].json(),
        json!({"ip": "17.5.7.8", "type": "Address", "rating": 2.0, "confidence": 50,
            "attributes": {"data": [{"type": "Description", "value": "valid description", "default": true}]},
            "tags": {"data": [{"name": "testing"}]}, "securityLabels": {"data": [{"name": "TLP:AMBER"}]}})
    );
    assert_eq!(requests[2].json(), json!({"md5": md5, "type": "File", "size": 10}));
    assert_eq!(
        requests[4].json(),
        json!({"hostName": "www.test.com", "type": "Host", "dnsActive": true, "whoisActive": false})
    );
    assert_eq!(requests[5].json(), json!({"md5": md5, "sha256": sha256, "type": "File", "size": null}));
    assert_eq!(multi.data()[0]["data"]["summary"].as_str().unwrap().to_lowercase(), format!("{md5} : {sha256}"));

    // Posting the same indicator again updates it.
    let run = tc.invoke("post-data", &[("primary_field", "17.5.7.8"), ("rating", "4")]).await.success();
    assert_eq!(run.data()[0]["message"], "Updated");
}

/// Runs a hunt; with `documented`, asks for every sub-collection and checks the
/// spec's data paths for that action.
async fn hunt(tc: &Tc, action: &str, documented: Option<&str>, params: &[(&str, &str)], expected_type: &str) -> Value {
    let mut params = params.to_vec();
    if documented.is_some() {
        params.extend_from_slice(&[("attribute", "true"), ("tag", "true"), ("security_label", "true")]);
    }
    let run = tc.invoke(action, &params).await.success();
    if let Some(spec_action) = documented {
        assert_documented_paths(VENDOR, spec_action, &run.json);
    }
    let result = &run.data()[0];
    assert_eq!(result["status"], "Success");
    let found = result["data"].as_array().unwrap();
    assert!(!found.is_empty(), "{action} found nothing");
    assert!(found.iter().all(|indicator| indicator["type"] == expected_type), "{found:#?}");
    assert_eq!(run.json["summary"], json!({"total_objects": found.len()}));
    assert_eq!(run.json["message"], format!("Total objects: {}", found.len()));
    result.clone()
}

/// Adds an indicator of `kind` with every optional field and sub-collection the
/// hunts document; returns its summary.
fn rich(tc: &Tc, kind: &str, summary: &str) -> String {
    tc.sim.add_indicator(json!({
        "type": kind, "summary": summary, "rating": 3, "confidence": 60, "description": "This is testing data", "dnsActive": true, "whoisActive": false,
        "attributes": {"data": [{"type": "Description", "value": "This is testing data", "default": true}]},
        "tags": {"data": [{"name": "testing"}]},
        "securityLabels": {"data": [{"name": "TLP:AMBER"}]},
    }));
    summary.to_string()
}

/// A seeded indicator's summary of `kind`.
fn seeded(tc: &Tc, kind: &str) -> String {
    let indicators = tc.sim.indicators();
    let found = indicators.iter().find(|i| i["type"] == kind && i["active"] != false);
    found.unwrap_or_else(|| panic!("no seeded {kind}"))["summary"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn hunts_of_every_kind() {
    let tc = Tc::start().await;
    let ip = rich(&tc, "Address", "123.23.124.32");
    hunt(&tc, "hunt-ip", Some("hunt ip"), &[("ip", ip.as_str())], "Address").await;
    let requests = tc.signed_requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/v3/indicators");
    assert_eq!(
        requests[0].query(),
        vec![
            ("fields".to_string(), "securityLabels".to_string()),
            ("fields".into(), "tags".into()),
            ("fields".into(), "attributes".into()),
            ("tql".into(), format!("typeName IN ('Address') AND summary CONTAINS '{ip}'")),
            ("resultStart".into(), "0".into()),
            ("resultLimit".into(), "10000".into()),
        ]
    );
    assert!(
        requests[0]
            .raw_query
            .as_deref()
            .unwrap()
            .contains("tql=typeName+IN+%28%27Address%27%29+AND+summary+CONTAINS+%27"),
        "Python's encoding"
    );

    let hash = rich(&tc, "File", "AAAAF2DB1295FA419B190BD7478DAAAA");
    hunt(&tc, "hunt-file", Some("hunt file"), &[("hash", &hash.to_lowercase())], "File").await;
    let email = rich(&tc, "EmailAddress", "abcxyz@test.com");
    hunt(&tc, "hunt-email", Some("hunt email"), &[("email", &email)], "EmailAddress").await;
    let host = rich(&tc, "Host", "vclub.credit");
    hunt(&tc, "hunt-domain", Some("hunt domain"), &[("domain", &host)], "Host").await;
    let url = rich(&tc, "URL", "http://www.test.com/list/oz/");
    hunt(&tc, "hunt-url", Some("hunt url"), &[("url", &url)], "URL").await;
    let requests = tc.signed_requests();
    assert_eq!(requests.len(), 4);
    assert!(requests[2].query_values("tql")[0].starts_with("typeName IN ('Host')"));
    hunt(&tc, "hunt-url", None, &[("url", &seeded(&tc, "URL"))], "URL").await;
    assert!(tc.signed_requests()[0].query_values("fields").is_empty(), "no fields unless asked for");
}

#[tokio::test(flavor = "multi_thread")]
async fn hunt_domain_with_a_url_hunts_urls() {
    let tc = Tc::start().await;
    let url = seeded(&tc, "URL");
    hunt(&tc, "hunt-domain", None, &[("domain", &url)], "URL").await;
    assert!(tc.signed_requests()[0].query_values("tql")[0].starts_with("typeName IN ('URL')"));
}

#[tokio::test(flavor = "multi_thread")]
async fn hunts_escape_values_and_owners() {
    let tc = Tc::start().await;
    tc.sim.add_indicator(
        json!({"type": "EmailAddress", "summary": "o'brien@evil.example.com", "ownerName": "Demo Organization"}),
    );
    let result = hunt(
        &tc,
        "hunt-email",
        None,
        &[("email", "o'brien@evil.example.com"), ("owner", "Demo Organization; Other's Org")],
        "EmailAddress",
    )
    .await;
    assert_eq!(result["data"].as_array().unwrap().len(), 1);
    let tql = &tc.signed_requests()[0].query_values("tql")[0];
    assert_eq!(
        tql,
        "typeName IN ('EmailAddress') AND summary CONTAINS 'o\\'brien@evil.example.com' and ownerName in ('Demo Organization', 'Other\\'s Org')"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn hunts_follow_every_page() {
    let tc = Tc::start().await;
    for i in 0..10_050u32 {
        tc.sim.add_indicator(json!({"type": "Host", "summary": format!("h{i}.paging.example.com")}));
    }
    let run = tc.invoke("hunt-domain", &[("domain", "paging.example.com")]).await.success();
    let found = run.data()[0]["data"].as_array().unwrap().len();
    assert_eq!(found, 10_050);
    assert_eq!(run.json["summary"]["total_objects"], 10_050);
    assert!(run.data()[0].get("next").is_none(), "links of single pages are dropped");
    let requests = tc.signed_requests();
    let starts: Vec<String> = requests.iter().flat_map(|r| r.query_values("resultStart")).collect();
    assert_eq!(starts, vec!["0", "10000"]);
}

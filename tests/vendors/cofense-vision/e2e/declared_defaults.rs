//! Defaults and allowed values declared in the WIT: described by `host
//! actions`, applied to a parameter left out, enforced before anything is sent.

use super::Vision;
use serde_json::{Value, json};
use soar_tests::harness::HostEnv;

fn named<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array().unwrap().iter().find(|item| item["name"] == name).unwrap_or_else(|| panic!("no {name}"))
}

#[tokio::test]
async fn defaults_and_allowed_values_are_described() {
    let env = HostEnv::new();
    let cofense = env.run(&["actions", "cofense", "--json"]).await;
    assert_eq!(cofense.code, 0, "{cofense:#?}");
    let search = &named(&cofense.json["actions"], "create message search")["parameters"];
    for name in ["attachment_hash_match_criteria", "domain_match_criteria"] {
        let param = named(search, name);
        assert_eq!((&param["default"], &param["values"]), (&json!("ANY"), &json!(["ANY", "ALL"])), "{name}");
    }
    assert_eq!((&named(search, "domains")["default"], &named(search, "domains")["values"]), (&json!(null), &json!([])));
    let list_iocs = &named(&cofense.json["actions"], "list iocs")["parameters"];
    let defaults: Vec<&Value> = ["page", "size", "include_expired"].map(|p| &named(list_iocs, p)["default"]).to_vec();
    assert_eq!(defaults, [&json!("0"), &json!("50"), &json!("false")]);
    assert_eq!(named(&cofense.json["configuration"], "verify_server_cert")["default"], "true");

    let table = env.run(&["actions", "cofense"]).await;
    assert!(
        table
            .stdout
            .lines()
            .any(|line| line.trim_start().starts_with("--param domain_match_criteria=<string> (optional)")
                && line.ends_with("(default: ANY; one of: ANY, ALL)")),
        "{}",
        table.stdout
    );
}

/// The body `create message search` with `params` sends.
async fn search_sent(vision: &Vision, params: &[(&str, &str)]) -> Value {
    vision.clear();
    vision.invoke("create-message-search", params).await.success();
    vision.single_request_to("POST", "/api/v4/searches").json()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_parameter_left_out_takes_its_default() {
    let vision = Vision::start().await;
    let hashes = ("attachment_hashes", "md5:938c2cc0dcc05f2b68c4287040cfcf71");
    let defaulted = search_sent(&vision, &[hashes, ("domains", "test.com")]).await;
    assert_eq!(defaulted["attachmentHashCriteria"]["type"], "ANY");
    assert_eq!(defaulted["domainCriteria"]["type"], "ANY");
    let explicit = search_sent(&vision, &[hashes, ("domains", "test.com"), ("domain_match_criteria", " ANY ")]).await;
    assert_eq!(defaulted, explicit, "a left-out parameter is its default");

    vision.clear();
    let run = vision.invoke("list-iocs", &[("source", "Vision-UI")]).await.success();
    assert_eq!(run.json["parameter"], json!({"source": "Vision-UI"}), "only what was given is echoed");
    let query = vision.single_request_to("GET", "/iocrepository/v1/iocs").raw_query.unwrap_or_default();
    for pair in ["page=0", "size=50", "includeExpired=False"] {
        assert!(query.split('&').any(|given| given == pair), "{pair} in {query}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_value_outside_the_allowed_ones_is_refused_before_anything_is_sent() {
    let vision = Vision::start().await;
    vision.clear();
    // Refused even without the domains it qualifies: it is not a value the
    // parameter takes.
    for (name, value) in [("domain_match_criteria", "SOME"), ("attachment_hash_match_criteria", "all")] {
        let run = vision.invoke("create-message-search", &[("subjects", "hello"), (name, value)]).await;
        run.rejected(
            name,
            &format!("Please provide a valid value for the {name} parameter. Allowed values are: ANY, ALL"),
        );
    }
    let requests = vision.sim.server().requests();
    assert!(requests.is_empty(), "nothing reaches the simulator, not even a token request: {requests:#?}");
}

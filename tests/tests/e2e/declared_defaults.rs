//! Defaults and allowed values declared in the connectors' WIT: described by
//! `host actions`, applied to a parameter left out, enforced before anything is
//! sent, and, for configuration, applied by the host to an asset that leaves a
//! variable out (its origin included).

use crate::cofense::Vision;
use serde_json::{Value, json};
use soar_host::sandbox::outbound::{OutboundPolicy, TlsClients, TlsSettings};
use soar_host::signing::TrustStore;
use soar_host::{Asset, PluginDir, Runtime, RuntimeOptions, Trust};
use soar_tests::harness::{HostEnv, plugin_dir, trust_dir};
use soar_tests::sim::threatconnect::ThreatConnectSim;
use std::sync::Arc;

/// ThreatConnect's default instance, from its WIT.
const DEFAULT_BASE_URL: &str = "https://api.threatconnect.com";

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

    let tc = env.run(&["actions", "threatconnect", "--json"]).await;
    let base_url = named(&tc.json["configuration"], "base_url");
    assert_eq!((&base_url["default"], &base_url["required"]), (&json!(DEFAULT_BASE_URL), &json!(true)));
    assert_eq!(named(&tc.json["configuration"], "max_containers")["default"], "100");
    assert_eq!(named(&tc.json["configuration"], "secret_key")["default"], json!(null));

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
    let table = env.run(&["actions", "threatconnect"]).await;
    assert!(table.stdout.contains(&format!("(default: {DEFAULT_BASE_URL})")), "{}", table.stdout);
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

#[tokio::test(flavor = "multi_thread")]
async fn a_threatconnect_asset_without_base_url_uses_the_default_instance() {
    let env = HostEnv::new();
    let without_base_url =
        format!("access_id = \"{}\"\nsecret_key = \"{}\"\n", ThreatConnectSim::ACCESS_ID, ThreatConnectSim::SECRET_KEY);
    let file = env.asset("tc-default", &without_base_url);

    // The host reads the default from the component and grants exactly its origin.
    let trust = Trust::Signed(TrustStore::load(&trust_dir()).unwrap());
    let runtime = Runtime::new(RuntimeOptions { trust, ..Default::default() }).unwrap();
    let plugin = runtime.plugin(&PluginDir::new(plugin_dir()), "threatconnect").await.unwrap();
    let asset = Asset::load(&file, &plugin.info().configuration).unwrap();
    assert_eq!(asset.value("base_url"), Some(DEFAULT_BASE_URL));
    assert_eq!(asset.origins(), [DEFAULT_BASE_URL]);
    let tls = Arc::new(TlsClients::new(TlsSettings::default()));
    let policy = OutboundPolicy::for_origins(&asset.origin_urls(), asset.verify_tls(), tls).unwrap();
    assert!(policy.allows(&"https://api.threatconnect.com/v3/indicators".parse().unwrap()));
    for elsewhere in
        ["http://api.threatconnect.com/v3", "https://sandbox.threatconnect.com/api", "http://127.0.0.1:80/"]
    {
        assert!(!policy.allows(&elsewhere.parse().unwrap()), "{elsewhere}");
    }
    assert!(asset.verify_tls(), "verify_server_cert defaults to true");

    // The command accepts the asset: the action runs and refuses its bad
    // parameter, before sending anything.
    let run = env.invoke("threatconnect", "hunt-ip", &file, &[("ip", "not-an-ip")]).await;
    run.rejected("ip", "Parameter 'ip' failed validation");
}

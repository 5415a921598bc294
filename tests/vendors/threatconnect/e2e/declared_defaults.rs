//! The configuration defaults declared in the WIT: described by `host actions`
//! and applied by the host to an asset that leaves a variable out (its origin
//! included).

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
async fn the_default_instance_is_described() {
    let env = HostEnv::new();
    let tc = env.run(&["actions", "threatconnect", "--json"]).await;
    let base_url = named(&tc.json["configuration"], "base_url");
    assert_eq!((&base_url["default"], &base_url["required"]), (&json!(DEFAULT_BASE_URL), &json!(true)));
    assert_eq!(named(&tc.json["configuration"], "max_containers")["default"], "100");
    assert_eq!(named(&tc.json["configuration"], "secret_key")["default"], json!(null));

    let table = env.run(&["actions", "threatconnect"]).await;
    assert!(table.stdout.contains(&format!("(default: {DEFAULT_BASE_URL})")), "{}", table.stdout);
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

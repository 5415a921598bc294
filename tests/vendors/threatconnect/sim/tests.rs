//! The simulator over real HTTP on loopback, signed as the connector signs.

use super::ThreatConnectSim;
use super::store::form_encode;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use std::collections::HashSet;

/// What a response carried.
struct Reply {
    status: u16,
    json: Value,
}

/// Sends one request on a fresh connection, with the `{}` body and JSON content type the connector sends.
async fn send(sim: &ThreatConnectSim, method: &str, target: &str, body: &str, headers: &[(&str, String)]) -> Reply {
    let stream = tokio::net::TcpStream::connect(sim.server().addr()).await.expect("connect");
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("handshake");
    tokio::spawn(connection);
    let mut request = http::Request::builder()
        .method(method)
        .uri(target)
        .header("host", sim.server().addr().to_string())
        .header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let request = request.body(Full::new(Bytes::from(body.to_string()))).expect("request");
    let response = sender.send_request(request).await.expect("response");
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    Reply { status, json: serde_json::from_slice(&bytes).unwrap_or(Value::Null) }
}

fn signed_headers(method: &str, target: &str, timestamp: i64) -> Vec<(&'static str, String)> {
    vec![
        ("timestamp", timestamp.to_string()),
        ("authorization", ThreatConnectSim::authorization(method, target, timestamp)),
    ]
}

async fn signed(sim: &ThreatConnectSim, method: &str, target: &str, body: &str) -> Reply {
    let headers = signed_headers(method, target, chrono::Utc::now().timestamp());
    send(sim, method, target, body, &headers).await
}

async fn get(sim: &ThreatConnectSim, target: &str) -> Reply {
    signed(sim, "GET", target, "{}").await
}

/// `/v3/indicators?` plus the pairs encoded as Python `requests` encodes them.
fn indicators_target(pairs: &[(&str, &str)]) -> String {
    let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v))).collect();
    format!("/v3/indicators?{}", query.join("&"))
}

fn summaries(reply: &Reply) -> Vec<String> {
    let data = reply.json["data"].as_array().cloned().unwrap_or_default();
    data.iter().map(|indicator| indicator["summary"].as_str().unwrap_or_default().to_string()).collect()
}

#[tokio::test]
async fn signed_requests_are_accepted() {
    let sim = ThreatConnectSim::start().await.expect("start");
    let reply = get(&sim, "/v3/security/owners").await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    let fixture: Value = serde_json::from_str(super::LIST_OWNERS).expect("fixture");
    assert_eq!(reply.json, fixture);
    assert!(reply.json.get("count").is_none());
    assert_eq!(sim.auth_failures(), 0);
    assert_eq!(sim.server().requests()[0].body, "{}");
}

#[tokio::test]
async fn bad_credentials_are_rejected() {
    let sim = ThreatConnectSim::start().await.expect("start");
    let now = chrono::Utc::now().timestamp();
    let target = "/v3/security/owners";
    let reject = async |headers: Vec<(&str, String)>, message: &str| {
        let reply = send(&sim, "GET", target, "{}", &headers).await;
        assert_eq!(reply.status, 401);
        assert_eq!(reply.json, json!({"errCode": "0x1001", "message": message, "status": "Error"}));
    };
    let mut wrong = signed_headers("GET", "/v3/security/owner", now);
    wrong[0].1 = now.to_string();
    reject(wrong, "Signature data did not match expected result").await;
    reject(signed_headers("POST", target, now), "Signature data did not match expected result").await;
    reject(signed_headers("GET", target, now - 301), "Timestamp out of acceptable time range").await;
    reject(signed_headers("GET", target, now + 400), "Timestamp out of acceptable time range").await;
    reject(signed_headers("GET", target, now)[..1].to_vec(), "Access Denied").await;
    let other = ThreatConnectSim::authorization("GET", target, now).replace(ThreatConnectSim::ACCESS_ID, "99");
    reject(vec![("timestamp", now.to_string()), ("authorization", other)], "Access Denied").await;
    assert_eq!(sim.auth_failures(), 6);
    // Unknown routes authenticate first too.
    reject(vec![], "Access Denied").await;
    assert_eq!(sim.auth_failures(), 7);
}

#[tokio::test]
async fn the_clock_offset_moves_the_timestamp_window() {
    let sim = ThreatConnectSim::start().await.expect("start");
    let ten_minutes_ago = chrono::Utc::now().timestamp() - 600;
    let target = "/v3/security/owners";
    let reply = send(&sim, "GET", target, "{}", &signed_headers("GET", target, ten_minutes_ago)).await;
    assert_eq!(reply.status, 401);
    sim.set_clock_offset(chrono::Duration::minutes(-10));
    let reply = send(&sim, "GET", target, "{}", &signed_headers("GET", target, ten_minutes_ago)).await;
    assert_eq!(reply.status, 200);
    assert_eq!(get(&sim, target).await.status, 401, "the real time is now 10 minutes ahead of the simulator");
}

#[tokio::test]
async fn the_prefix_is_part_of_the_root_and_unknown_routes_are_404() {
    let sim = ThreatConnectSim::start_with("api/", 0).await.expect("start");
    assert_eq!(sim.base_url(), format!("{}/api", sim.server().base_url()));
    assert!(sim.asset_toml().contains(&format!("base_url = \"{}\"", sim.base_url())));
    assert_eq!(sim.asset_toml().lines().count(), 3);
    assert_eq!(get(&sim, "/api/v3/security/owners").await.status, 200);
    let reply = get(&sim, "/v3/security/owners").await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.json, json!({"errCode": "0x1003", "message": "Not found", "status": "Error"}));
    assert_eq!(signed(&sim, "DELETE", "/api/v3/indicators", "{}").await.status, 405);
}

#[tokio::test]
async fn seeded_data_covers_every_cef_type() {
    let sim = ThreatConnectSim::start().await.expect("start");
    let all = sim.indicators();
    let has = |type_name: &str, summary: &str| all.iter().any(|i| i["type"] == type_name && i["summary"] == summary);
    assert!(has("Address", "203.0.113.7") && has("Address", "2001:db8::dead:beef"));
    assert!(has("EmailAddress", "verybadguy@bad.com") && has("Host", "ultrabadguy.com"));
    assert!(has("File", "9D67E81C18101FC266057CD7851604B8"));
    assert!(has(
        "File",
        "900150983CD24FB0D6963F7D28E17F72 : A9993E364706816ABA3E25717850C26C9CD0D89D : \
         BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"
    ));
    assert!(has("URL", "http://malware-c2.example.net/gate.php?id=1") && has("CIDR", "10.0.0.0/24"));
    assert!(has("Registry Key", "HKEY_LOCAL_MACHINE\\Software\\Evil : Run : REG_SZ") && has("ASN", "ASN204288"));
    assert!(has("Mutex", "Global\\EvilMutex123") && has("User Agent", "Mozilla/5.0 (compatible; EvilBot/1.0)"));
    let owners: HashSet<&str> = all.iter().filter_map(|i| i["ownerName"].as_str()).collect();
    assert_eq!(owners.len(), 3);
    // The documentation's host keeps its fixture shape.
    let host = all.iter().find(|i| i["id"] == 4).expect("fixture host");
    assert_eq!(host["tags"]["data"][1]["name"], "Created via API");
    assert_eq!(host["associatedGroups"]["data"][0]["name"], "Bad Guy");
}

#[tokio::test]
async fn tql_filters_as_the_connector_hunts() {
    let sim = ThreatConnectSim::start().await.expect("start");
    let hunt = |tql: &str| indicators_target(&[("fields", "tags"), ("fields", "attributes"), ("tql", tql)]);
    let reply = get(&sim, &hunt("typeName IN ('Address') AND summary CONTAINS '203.0.113.7'")).await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    assert_eq!(summaries(&reply), ["203.0.113.7"]);
    assert_eq!(reply.json["count"], 1);
    let indicator = &reply.json["data"][0];
    assert_eq!(indicator["tags"]["data"][0]["name"], "Botnet");
    assert_eq!(indicator["attributes"]["data"][0]["type"], "Description");
    assert!(indicator.get("securityLabels").is_none(), "not requested");
    assert_eq!(indicator["ip"], "203.0.113.7");
    // Hashes are stored upper-case; hunts match in any case.
    let reply = get(&sim, &hunt("typeName IN ('File') AND summary CONTAINS 'a9993e364706816aba3e'")).await;
    assert_eq!(reply.json["count"], 1);
    assert_eq!(reply.json["data"][0]["sha256"], "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD");
    let reply = get(&sim, &hunt("typeName IN ('Host') and ownerName in (\"O'Brien\", 'Demo Source')")).await;
    assert_eq!(summaries(&reply), ["malware-c2.example.net"]);
}

#[tokio::test]
async fn tql_escapes_and_errors() {
    let sim = ThreatConnectSim::start().await.expect("start");
    let query = |tql: &str| indicators_target(&[("tql", tql)]);
    let quoted = "http://evil.example/it's\"quoted\"\\path";
    for tql in [r"summary CONTAINS 'it\'s'", r#"summary CONTAINS "\"quoted\"""#, r"summary CONTAINS '\\path'"] {
        assert_eq!(summaries(&get(&sim, &query(tql)).await), [quoted], "{tql}");
    }
    // XSOAR's encoding (%20 for spaces) signs and parses as well.
    let target = "/v3/indicators?tql=summary%20%3D%20%22ASN204288%22";
    assert_eq!(summaries(&get(&sim, target).await), ["ASN204288"]);
    for bad in ["summary CONTAINS 'open", "colour = 'red'", "typeName IN ('Address'", "rating > 'high'"] {
        let reply = get(&sim, &query(bad)).await;
        assert_eq!(reply.status, 400, "{bad}");
        assert_eq!(reply.json["errCode"], "0x1002");
        assert!(reply.json["message"].as_str().is_some_and(|m| m.starts_with("Invalid TQL")), "{}", reply.json);
    }
}

#[tokio::test]
async fn only_active_indicators_unless_asked() {
    let sim = ThreatConnectSim::start().await.expect("start");
    let reply = get(&sim, &indicators_target(&[("tql", "summary = '192.0.2.200'")])).await;
    assert_eq!(reply.json["count"], 0);
    let reply = get(&sim, &indicators_target(&[("tql", "summary = '192.0.2.200' and active = false")])).await;
    assert_eq!(summaries(&reply), ["192.0.2.200"]);
}

#[tokio::test]
async fn paging_follows_next_links() {
    let sim = ThreatConnectSim::start().await.expect("start");
    sim.clear_indicators();
    assert!(sim.indicators().is_empty());
    let start = chrono::Utc::now() - chrono::Duration::days(1);
    sim.generate_indicators(250, start, chrono::Duration::seconds(10));
    let mut target = indicators_target(&[("tql", "dateAdded > '2000-01-01'"), ("resultLimit", "100")]);
    let (mut ids, mut pages) = (Vec::new(), 0);
    loop {
        let reply = get(&sim, &target).await;
        assert_eq!((reply.status, &reply.json["count"]), (200, &json!(250)), "{}", reply.json);
        assert_eq!(reply.json.get("prev").is_some(), pages > 0);
        ids.extend(reply.json["data"].as_array().expect("data").iter().map(|i| i["id"].as_u64().expect("id")));
        pages += 1;
        let Some(next) = reply.json["next"].as_str() else { break };
        assert!(next.contains("tql=dateAdded+%3E+%272000-01-01%27"), "{next}");
        target = next.strip_prefix(&sim.server().base_url()).expect("absolute link to the simulator").to_string();
    }
    assert_eq!(pages, 3);
    assert_eq!(ids.len(), 250);
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest (highest id) first by default");
    let types: HashSet<String> = sim.indicators().iter().map(|i| i["type"].to_string()).collect();
    assert_eq!(types.len(), 10);

    let reply = get(&sim, &indicators_target(&[("sorting", "dateAdded asc"), ("resultStart", "240")])).await;
    let dates: Vec<&str> =
        reply.json["data"].as_array().expect("data").iter().filter_map(|i| i["dateAdded"].as_str()).collect();
    assert_eq!(dates.len(), 10);
    assert!(dates.windows(2).all(|w| w[0] < w[1]));
    assert!(reply.json.get("next").is_none());
    let prev = reply.json["prev"].as_str().expect("prev");
    assert!(prev.ends_with("sorting=dateAdded+asc&resultStart=140&resultLimit=100"), "{prev}");
    assert_eq!(get(&sim, &indicators_target(&[("resultLimit", "10001")])).await.status, 400);
    assert_eq!(get(&sim, &indicators_target(&[("resultLimit", "10000")])).await.status, 200);
    assert_eq!(get(&sim, &indicators_target(&[("sorting", "colour desc")])).await.status, 400);
    assert_eq!(get(&sim, &indicators_target(&[("fields", "nonsense")])).await.status, 400);
    assert_eq!(get(&sim, &indicators_target(&[("owner", "Nobody")])).await.status, 403);
}

#[tokio::test]
async fn post_creates_then_updates() {
    let sim = ThreatConnectSim::start().await.expect("start");
    let target = "/v3/indicators?fields=attributes&fields=securityLabels&fields=tags&fields=attributes";
    let body = json!({
        "rating": 3, "confidence": 50, "hostName": "fresh.example", "type": "Host", "dnsActive": null,
        "whoisActive": null, "attributes": {"data": [{"type": "Description", "value": "new host", "default": true}]},
        "tags": {"data": [{"name": "Phishing"}]}, "securityLabels": {"data": [{"name": "TLP:AMBER"}]}
    });
    let created = signed(&sim, "POST", target, &body.to_string()).await;
    assert_eq!(created.status, 201, "{}", created.json);
    assert_eq!((&created.json["message"], &created.json["status"]), (&json!("Created"), &json!("Success")));
    let data = &created.json["data"];
    assert_eq!(
        (&data["summary"], &data["ownerName"], &data["rating"]),
        (&json!("fresh.example"), &json!("Demo Organization"), &json!(3.0))
    );
    assert_eq!((&data["dnsActive"], &data["description"]), (&json!(false), &json!("new host")));
    assert_eq!(data["securityLabels"]["data"][0]["color"], "FFC000");
    let indicators = sim.indicators();
    let phishing = indicators.iter().find(|i| i["summary"] == "phish-login.example.org").expect("seeded");
    let phishing_id = phishing["tags"]["data"][0]["id"].clone();
    assert_eq!(data["tags"]["data"][0]["id"], phishing_id, "tags are shared by name");

    let update = json!({
        "type": "Host", "hostName": "FRESH.example", "rating": 5, "dnsActive": true, "tags": {"data": [{"name": "C2"}]}
    });
    let updated = signed(&sim, "POST", "/v3/indicators?fields=tags", &update.to_string()).await;
    assert_eq!(updated.status, 200, "{}", updated.json);
    assert_eq!(updated.json["message"], "Updated");
    let data = &updated.json["data"];
    assert_eq!(data["id"], created.json["data"]["id"]);
    assert_eq!((&data["rating"], &data["confidence"], &data["dnsActive"]), (&json!(5.0), &json!(50), &json!(true)));
    assert_eq!(data["tags"]["data"].as_array().map(Vec::len), Some(2));
    assert!(data.get("attributes").is_none());

    let file = json!({"type": "File", "sha1": "a".repeat(40), "md5": "b".repeat(32), "size": null});
    let reply = signed(&sim, "POST", "/v3/indicators", &file.to_string()).await;
    assert_eq!(reply.status, 201);
    assert_eq!(reply.json["data"]["summary"], format!("{} : {}", "B".repeat(32), "A".repeat(40)));
    let more = json!({"type": "File", "md5": "b".repeat(32), "sha256": "c".repeat(64)});
    let reply = signed(&sim, "POST", "/v3/indicators", &more.to_string()).await;
    assert_eq!(reply.status, 200, "one shared hash designates the same file");
    assert_eq!(reply.json["data"]["summary"], format!("{} : {} : {}", "B".repeat(32), "A".repeat(40), "C".repeat(64)));

    let elsewhere = signed(&sim, "POST", "/v3/indicators?owner=Demo%20Source", &update.to_string()).await;
    assert_eq!((elsewhere.status, &elsewhere.json["data"]["ownerName"]), (201, &json!("Demo Source")));
    let reply = get(&sim, &indicators_target(&[("tql", "summary = 'fresh.example'")])).await;
    assert_eq!(reply.json["count"], 2);
}

#[tokio::test]
async fn post_validates() {
    let sim = ThreatConnectSim::start().await.expect("start");
    for body in [
        json!({"type": "Hashtag", "value": "#x"}),
        json!({"type": "Address"}),
        json!({"type": "Address", "ip": "1.2.3.4", "rating": 6}),
        json!({"type": "EmailAddress", "address": "a@b.example", "confidence": 101}),
        json!({"type": "URL", "text": "http://a.example", "attributes": {"data": [{"type": "Nope", "value": "v"}]}}),
    ] {
        let reply = signed(&sim, "POST", "/v3/indicators", &body.to_string()).await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.json);
        assert_eq!(reply.json["status"], "Error");
    }
    let reply = signed(&sim, "POST", "/v3/indicators", "not json").await;
    assert_eq!(reply.status, 400);
}

#[tokio::test]
async fn single_indicators_and_added_ones() {
    let sim = ThreatConnectSim::start().await.expect("start");
    let reply = get(&sim, "/v3/indicators/4?fields=tags&fields=associatedGroups").await;
    let fixture: Value = serde_json::from_str(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/vendors/threatconnect/fixtures/indicator_with_tags.json"
    )))
    .expect("fixture");
    assert_eq!(reply.json, fixture, "the documentation's example, field for field");
    let added = sim.add_indicator(json!({"type": "ASN", "summary": "ASN64500", "ownerName": "Demo Community"}));
    assert_eq!(added["AS Number"], "ASN64500");
    assert_eq!(added["ownerId"], 3);
    let reply = get(&sim, "/v3/indicators/ASN64500?owner=Demo%20Community").await;
    assert_eq!(reply.json["data"]["id"], added["id"]);
    assert_eq!(get(&sim, "/v3/indicators/ASN64500").await.status, 404, "by summary looks in the organization");
    let reply = get(&sim, "/v3/indicators/27").await;
    assert_eq!(
        reply.json["data"]["legacyLink"],
        "https://app.threatconnect.com/auth/indicators/details/file.xhtml\
         ?file=9D67E81C18101FC266057CD7851604B8&owner=Demo+Organization"
    );
}

#[tokio::test]
async fn generates_a_hundred_thousand_quickly() {
    let sim = ThreatConnectSim::start().await.expect("start");
    let began = std::time::Instant::now();
    sim.generate_indicators(100_000, chrono::Utc::now() - chrono::Duration::days(2), chrono::Duration::zero());
    assert!(began.elapsed() < std::time::Duration::from_secs(5), "generation took {:?}", began.elapsed());
    let began = std::time::Instant::now();
    let target =
        indicators_target(&[("sorting", "dateAdded desc"), ("resultLimit", "10000"), ("resultStart", "50000")]);
    let reply = get(&sim, &target).await;
    assert_eq!(reply.json["data"].as_array().map(Vec::len), Some(10_000));
    assert!(reply.json["count"].as_u64().is_some_and(|count| count > 100_000));
    assert!(began.elapsed() < std::time::Duration::from_secs(5), "a page took {:?}", began.elapsed());
}

//! The simulator over real HTTP on loopback.

use super::CofenseSim;
use axum::body::Bytes;
use http::{HeaderMap, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use md5::{Digest, Md5};
use serde_json::{Value, json};
use sha2::Sha256;
use std::io::{Cursor, Read};

/// A response as the tests see it.
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Bytes,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }
}

/// Sends one request on a fresh connection and collects the whole response.
async fn send(sim: &CofenseSim, method: &str, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Answer {
    let response = open(sim, method, path, headers, body).await;
    let (parts, body) = response.into_parts();
    let body = body.collect().await.expect("response body").to_bytes();
    Answer { status: parts.status.as_u16(), headers: parts.headers, body }
}

/// Sends one request and returns the response with its body still streaming.
async fn open(
    sim: &CofenseSim,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> http::Response<hyper::body::Incoming> {
    let stream = tokio::net::TcpStream::connect(sim.server().addr()).await.expect("connect");
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("handshake");
    tokio::spawn(connection);
    let mut request = Request::builder().method(method).uri(path).header("host", sim.server().addr().to_string());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Full::new(Bytes::from(body))).expect("request");
    sender.send_request(request).await.expect("response")
}

/// A fresh bearer token.
async fn token(sim: &CofenseSim) -> String {
    let form = format!(
        "client_id={}&client_secret={}&grant_type=client_credentials",
        CofenseSim::CLIENT_ID,
        CofenseSim::CLIENT_SECRET
    );
    let answer =
        send(sim, "POST", "/uaa/oauth/token", &[("content-type", "application/x-www-form-urlencoded")], form.into())
            .await;
    assert_eq!(answer.status, 200);
    answer.json()["access_token"].as_str().unwrap_or_default().to_string()
}

/// An authenticated API call with an optional JSON body and an optional IOC source.
async fn call(
    sim: &CofenseSim,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
    source: Option<&str>,
) -> Answer {
    let auth = format!("Bearer {token}");
    let mut headers = vec![("authorization", auth.as_str()), ("accept", "application/json")];
    headers.push(("content-type", "application/json"));
    if let Some(source) = source {
        headers.push(("x-cofense-ioc-source", source));
    }
    let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    send(sim, method, path, &headers, body).await
}

#[tokio::test]
async fn tokens_are_issued_checked_and_expired() {
    let sim = CofenseSim::start().await.expect("start");
    let health = send(&sim, "GET", "/actuator/health", &[], Vec::new()).await;
    assert_eq!((health.status, health.json()), (200, json!({"status": "UP"})));
    sim.set_health("DOWN");
    assert_eq!(send(&sim, "GET", "/actuator/health", &[], Vec::new()).await.json()["status"], "DOWN");

    let form = "client_id=soar-client&client_secret=wrong&grant_type=client_credentials";
    let bad = send(&sim, "POST", "/uaa/oauth/token", &[], form.into()).await;
    assert_eq!(
        (bad.status, bad.json()),
        (401, json!({"error": "unauthorized", "error_description": "Bad credentials"}))
    );
    let form = format!("client_id=soar-client&client_secret={}&grant_type=password", CofenseSim::CLIENT_SECRET);
    let grant = send(&sim, "POST", "/uaa/oauth/token", &[], form.into()).await;
    assert_eq!((grant.status, grant.json()["error"].clone()), (400, json!("unsupported_grant_type")));

    let token = token(&sim).await;
    assert_eq!(sim.tokens_issued(), 1);
    let headers = call(&sim, &token, "GET", "/api/v4/config/searchableHeaders", None, None).await;
    assert_eq!(headers.status, 200);
    assert!(headers.json()["headers"][0].is_string());

    let anonymous = send(&sim, "GET", "/api/v4/searches", &[], Vec::new()).await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(anonymous.header("content-type"), "application/json");
    assert_eq!(anonymous.json()["error_description"], "Full authentication is required to access this resource");
    let unknown = call(&sim, "nope", "GET", "/api/v4/searches", None, None).await;
    assert_eq!((unknown.status, unknown.json()["error"].clone()), (401, json!("invalid_token")));

    sim.expire_tokens();
    let expired = call(&sim, &token, "GET", "/api/v4/searches", None, None).await;
    assert_eq!(expired.status, 401);
    assert_eq!(
        expired.json(),
        json!({"error": "invalid_token", "error_description": format!("Access token expired: {token}")})
    );

    sim.set_token_lifetime(0);
    let form =
        format!("client_id=soar-client&client_secret={}&grant_type=client_credentials", CofenseSim::CLIENT_SECRET);
    let short = send(&sim, "POST", "/uaa/oauth/token", &[], form.into()).await.json();
    assert_eq!(short["expires_in"], 0);
    assert_eq!(short["token_type"], "bearer");
    let short = short["access_token"].as_str().unwrap_or_default().to_string();
    assert_eq!(call(&sim, &short, "GET", "/api/v4/searches", None, None).await.status, 401);
    assert_eq!(sim.tokens_issued(), 2);
    assert!(sim.asset_toml().contains(&format!("base_url = \"{}\"", sim.base_url())));
}

#[tokio::test]
async fn iocs_round_trip() {
    let sim = CofenseSim::start().await.expect("start");
    let token = token(&sim).await;
    let entry = |kind: &str, value: &str, updated: &str| {
        let source = json!({
            "id": "sid-1",
            "threat_level": "Malicious",
            "created_at": "2022-04-17T14:05:44.000000Z",
            "updated_at": updated,
            "requested_expiration": "2080-04-17T14:05:44.000000Z",
        });
        let attributes = json!({"threat_type": kind, "threat_value": value});
        json!({"type": "ioc", "attributes": attributes, "metadata": {"source": source}})
    };
    let body = json!({"data": [entry("Url", "https://bad.example/x", "2022-04-18T00:00:00.000000Z"),
                               entry("domain", "bad.example", "2022-04-19T00:00:00.000000Z")]});
    let created = call(&sim, &token, "PUT", "/iocrepository/v1/iocs", Some(body), Some("Triage-1")).await;
    assert_eq!(created.status, 200);
    let data = created.json()["data"].clone();
    let url_id = hex::encode(Md5::digest("url:https://bad.example/x"));
    assert_eq!(data[0]["id"], url_id.as_str());
    assert_eq!(data[0]["attributes"]["threat_type"], "URL");
    assert_eq!(data[0]["metadata"]["source"]["created_at"], "2022-04-17T14:05:44.000+00:00");
    assert_eq!(data[1]["metadata"]["quarantine"]["source_names"], json!(["Triage-1"]));
    assert_eq!(data[1]["metadata"]["quarantine"]["expired"], false);

    let listed = call(
        &sim,
        &token,
        "GET",
        "/iocrepository/v1/iocs?page=0&size=50&includeExpired=False&sort=updatedAt%2Cdesc",
        None,
        Some("Triage-1"),
    )
    .await;
    assert_eq!(listed.json()["data"].as_array().map(Vec::len), Some(2));
    let one = call(&sim, &token, "GET", &format!("/iocrepository/v1/iocs/{url_id}"), None, Some("Triage-1")).await;
    assert_eq!(one.json()["data"]["attributes"]["threat_value"], "https://bad.example/x");
    assert_eq!(
        call(&sim, &token, "GET", &format!("/iocrepository/v1/iocs/{url_id}"), None, Some("Other")).await.status,
        404
    );

    let expiry =
        json!({"data": {"type": "ioc", "metadata": {"quarantine": {"expires_at": "2020-01-31T00:00:00.000000Z"}}}});
    let updated = call(&sim, &token, "PUT", &format!("/iocrepository/v1/iocs/{url_id}"), Some(expiry), None).await;
    assert_eq!(updated.status, 200);
    assert_eq!(updated.json()["data"]["metadata"]["source"], Value::Null);
    assert_eq!(updated.json()["data"]["metadata"]["quarantine"]["expires_at"], "2020-01-31T00:00:00.000+00:00");
    assert_eq!(updated.json()["data"]["metadata"]["quarantine"]["expired"], true);

    let unexpired =
        call(&sim, &token, "GET", "/iocrepository/v1/iocs?includeExpired=false", None, Some("Triage-1")).await;
    assert_eq!(unexpired.json()["data"].as_array().map(Vec::len), Some(1));
    let last = call(&sim, &token, "GET", "/iocrepository/v1/iocs/last", None, Some("Triage-1")).await;
    assert_eq!(last.json()["data"]["id"], url_id.as_str());

    let deleted =
        call(&sim, &token, "DELETE", &format!("/iocrepository/v1/iocs/{url_id}"), None, Some("Triage-1")).await;
    assert_eq!(deleted.json()["data"]["id"], url_id.as_str());
    assert_eq!(
        call(&sim, &token, "GET", &format!("/iocrepository/v1/iocs/{url_id}"), None, Some("Triage-1")).await.status,
        404
    );
    assert_eq!(sim.iocs("Triage-1").len(), 1);

    let seeded = call(&sim, &token, "GET", "/iocrepository/v1/iocs/last", None, Some("Vision-UI")).await;
    assert_eq!(seeded.json()["data"]["id"], "1db1468c0d7166ab43fd8a9ec4b920b0");
    let empty = call(&sim, &token, "GET", "/iocrepository/v1/iocs/last", None, Some("Nobody")).await;
    assert_eq!((empty.status, empty.json()), (200, json!({"data": null})));
    let no_source = call(&sim, &token, "GET", "/iocrepository/v1/iocs", None, None).await;
    assert_eq!((no_source.status, no_source.json()["status"].clone()), (400, json!("BAD_REQUEST")));
    let bad_type = json!({"data": [entry("ip", "1.2.3.4", "2022-04-18")]});
    assert_eq!(call(&sim, &token, "PUT", "/iocrepository/v1/iocs", Some(bad_type), Some("Triage-1")).await.status, 400);
    let seeded_list =
        call(&sim, &token, "GET", "/iocrepository/v1/iocs?includeExpired=True", None, Some("test-source-1")).await;
    assert_eq!(seeded_list.json()["data"][0]["id"], "test_id_1");
}

#[tokio::test]
async fn quarantine_jobs_follow_their_lifecycle() {
    let sim = CofenseSim::start().await.expect("start");
    let token = token(&sim).await;
    let body = json!({"quarantineEmails": [{"internetMessageId": "<a@x>", "recipientAddress": "pqr@xyz.com"}]});
    let created = call(&sim, &token, "POST", "/api/v4/quarantineJobs", Some(body), None).await.json();
    let id = created["id"].as_u64().unwrap_or_default();
    assert_eq!(created["createdBy"], CofenseSim::CLIENT_ID);
    assert_eq!(created["stopRequested"], false);
    assert_eq!(created["quarantineJobRuns"][0]["status"], "NEW");
    assert_eq!(created["quarantineEmails"][0]["status"], "NEW");

    let filter = json!({"filterOptions": {"autoQuarantine": false, "includeStatus": ["NEW"]}});
    let listed = call(
        &sim,
        &token,
        "POST",
        "/api/v4/quarantineJobs/filter?excludeQuarantineEmails=True&page=0&size=50",
        Some(filter),
        None,
    )
    .await;
    let jobs = listed.json()["quarantineJobs"].clone();
    assert_eq!(jobs.as_array().map(Vec::len), Some(1));
    assert_eq!(jobs[0]["quarantineEmails"], json!([]));

    let restore = format!("/api/v4/quarantineJobs/{id}/restore");
    assert_eq!(call(&sim, &token, "PUT", &restore, None, None).await.status, 400);
    (0..3).for_each(|_| sim.advance_jobs());
    let done = sim.quarantine_job(id).unwrap_or_default();
    assert_eq!(done["quarantineJobRuns"][0]["status"], "COMPLETED");
    assert_eq!(done["quarantineEmails"][0]["status"], "QUARANTINED");
    let restored = call(&sim, &token, "PUT", &restore, None, None).await;
    assert_eq!((restored.status, restored.body.len()), (200, 0));
    assert_eq!(sim.quarantine_job(id).unwrap_or_default()["quarantineJobRuns"][1]["jobRunType"], "RESTORE");

    let approve = format!("/api/v4/quarantineJobs/{id}/approve");
    assert_eq!(call(&sim, &token, "PUT", &approve, None, None).await.status, 400);
    let auto = sim.add_auto_quarantine_job(&[("<b@x>", "abc@xyz.com")]);
    let approved =
        call(&sim, &token, "PUT", &format!("/api/v4/quarantineJobs/{auto}/approve?messageCount=1"), None, None).await;
    assert_eq!(approved.status, 200);
    assert_eq!(sim.quarantine_job(auto).unwrap_or_default()["quarantineJobRuns"][0]["status"], "QUEUED");

    let stopped = call(&sim, &token, "PUT", &format!("/api/v4/quarantineJobs/{auto}/stop"), None, None).await.json();
    assert_eq!(stopped["stopRequested"], true);
    sim.advance_jobs();
    assert_eq!(sim.quarantine_job(auto).unwrap_or_default()["quarantineJobRuns"][0]["status"], "QUEUED");

    let seeded = call(&sim, &token, "GET", "/api/v4/quarantineJobs/6", None, None).await.json();
    assert_eq!(seeded["stopRequested"], "False");
    let deleted = call(&sim, &token, "DELETE", &format!("/api/v4/quarantineJobs/{id}"), None, None).await;
    assert_eq!((deleted.status, deleted.body.len()), (200, 0));
    assert_eq!(call(&sim, &token, "GET", &format!("/api/v4/quarantineJobs/{id}"), None, None).await.status, 404);
    let bad = json!({"filterOptions": {"includeStatus": ["DONE"]}});
    assert_eq!(call(&sim, &token, "POST", "/api/v4/quarantineJobs/filter", Some(bad), None).await.status, 400);
}

#[tokio::test]
async fn messages_download_as_zip_with_one_time_tokens() {
    let sim = CofenseSim::start().await.expect("start");
    let token = token(&sim).await;
    let (message_id, recipient) = sim.sample_message();
    let query = format!("internetMessageId={}&recipientAddress={}", encode(&message_id), encode(&recipient));
    let metadata = call(&sim, &token, "GET", &format!("/api/v4/messages/metadata?{query}"), None, None).await.json();
    assert_eq!(metadata["internetMessageId"], message_id.as_str());

    for password in [None, Some("s3cret")] {
        let mut body = json!({"internetMessageId": message_id, "recipientAddress": recipient});
        if let Some(password) = password {
            body["password"] = json!(password);
        }
        let issued = call(&sim, &token, "POST", "/api/v4/messages", Some(body), None).await;
        assert_eq!(issued.header("content-type"), "application/json");
        let download_token = String::from_utf8_lossy(&issued.body).to_string();
        assert!(!download_token.starts_with('"') && !download_token.is_empty());

        let path = format!("/api/v4/messages?token={download_token}");
        let zip = call(&sim, &token, "GET", &path, None, None).await;
        assert_eq!(zip.header("content-type"), "application/zip");
        assert_eq!(zip.header("content-length"), zip.body.len().to_string());
        let eml = read_zip_entry(&zip.body, &format!("{}.eml", metadata["id"]), password);
        assert_eq!(metadata["md5"], hex::encode(Md5::digest(&eml)));
        let first = &metadata["attachments"][0];
        let name = format!("attachments/{}", first["filename"].as_str().unwrap_or_default());
        assert_eq!(first["sha256"], hex::encode(Sha256::digest(read_zip_entry(&zip.body, &name, password))));
        if password.is_some() {
            let mut archive = zip::ZipArchive::new(Cursor::new(zip.body.to_vec())).expect("zip");
            assert!(archive.by_index(0).is_err(), "an encrypted entry needs the password");
        }
        assert_eq!(call(&sim, &token, "GET", &path, None, None).await.status, 404);
    }
    let missing = call(
        &sim,
        &token,
        "GET",
        "/api/v4/messages/metadata?internetMessageId=%3Cx%3E&recipientAddress=a%40b",
        None,
        None,
    )
    .await;
    assert_eq!(missing.json()["status"], "NOT_FOUND");
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b".-_".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }
        })
        .collect()
}

fn read_zip_entry(archive: &[u8], name: &str, password: Option<&str>) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(Cursor::new(archive.to_vec())).expect("zip");
    let mut entry = match password {
        Some(password) => archive.by_name_decrypt(name, password.as_bytes()).expect("encrypted entry"),
        None => archive.by_name(name).expect("entry"),
    };
    let mut bytes = Vec::new();
    entry.read_to_end(&mut bytes).expect("entry bytes");
    bytes
}

#[tokio::test]
async fn generated_attachments_stream_their_hashed_bytes() {
    let sim = CofenseSim::start().await.expect("start");
    let token = token(&sim).await;
    let size = 3 * 1024 * 1024 + 7;
    let attachment = sim.add_generated_attachment("big file.bin", size);
    assert_eq!(attachment.size, size);
    let auth = format!("Bearer {token}");
    let response = open(
        &sim,
        "GET",
        &format!("/api/v4/attachment?md5={}", attachment.md5),
        &[("authorization", &auth)],
        Vec::new(),
    )
    .await;
    assert_eq!(response.headers()["content-type"], "application/octet-stream");
    assert_eq!(response.headers()["content-length"], size.to_string().as_str());
    assert_eq!(response.headers()["content-disposition"], "attachment; filename=\"big file.bin\"");
    let (mut md5, mut sha256, mut length) = (Md5::new(), Sha256::new(), 0u64);
    let mut body = response.into_body();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.expect("frame").into_data() {
            md5.update(&data);
            sha256.update(&data);
            length += data.len() as u64;
        }
    }
    assert_eq!((length, hex::encode(md5.finalize())), (size, attachment.md5.clone()));
    assert_eq!(hex::encode(sha256.finalize()), attachment.sha256);

    let small = sim.add_attachment("note.txt", b"hello".to_vec());
    let by_sha = call(&sim, &token, "GET", &format!("/api/v4/attachment?sha256={}", small.sha256), None, None).await;
    assert_eq!(by_sha.body.as_ref(), b"hello");
    let unknown = call(&sim, &token, "GET", &format!("/api/v4/attachment?md5={}", "0".repeat(32)), None, None).await;
    assert_eq!((unknown.status, unknown.header("content-type")), (404, "application/json"));
}

#[tokio::test]
async fn searches_match_seeded_messages() {
    let sim = CofenseSim::start().await.expect("start");
    let token = token(&sim).await;
    let body = json!({"senders": ["pqr@xyz.com"], "recipient": "*@XYZ.com", "attachmentExcludeMimeTypes": ["image"]});
    let created = call(&sim, &token, "POST", "/api/v4/searches", Some(body), None).await.json();
    let id = created["id"].as_u64().unwrap_or_default();
    assert_eq!(created["subjects"], json!([]));
    assert_eq!(created["attachmentHashCriteria"], json!({"type": "ANY", "attachmentHashes": []}));
    assert_eq!(sim.searches().last().map(|s| s["id"].clone()), Some(json!(id)));
    let results =
        call(&sim, &token, "GET", &format!("/api/v4/searches/{id}/results?page=0&size=10&sort=id%2Cdesc"), None, None)
            .await
            .json();
    let subjects: Vec<Value> =
        results["messages"].as_array().into_iter().flatten().map(|m| m["subject"].clone()).collect();
    assert_eq!(subjects, vec![json!("test_subject_2")]);
    assert_eq!(results["search"]["id"], id);

    let too_many = json!({"subjects": ["a", "b", "c", "d"]});
    assert_eq!(call(&sim, &token, "POST", "/api/v4/searches", Some(too_many), None).await.status, 400);
    let everything = call(&sim, &token, "POST", "/api/v4/searches", Some(json!({})), None).await.json();
    let all =
        call(&sim, &token, "GET", &format!("/api/v4/searches/{}/results", everything["id"]), None, None).await.json();
    assert_eq!(all["messages"].as_array().map(Vec::len), Some(sim.messages().len()));
    let listed = call(&sim, &token, "GET", "/api/v4/searches?page=0&size=2&sort=id%2Cdesc", None, None).await.json();
    assert_eq!(listed["searches"][0]["id"], everything["id"]);
    assert_eq!(call(&sim, &token, "GET", "/api/v4/searches/34", None, None).await.json()["createdBy"], "cds");
}

#[tokio::test]
async fn other_routes_and_errors() {
    let sim = CofenseSim::start().await.expect("start");
    let token = token(&sim).await;
    let logs = call(&sim, &token, "GET", "/api/v4/download/logs", None, None).await;
    assert_eq!(logs.header("content-type"), "application/zip");
    assert!(zip::ZipArchive::new(Cursor::new(logs.body.to_vec())).is_ok_and(|a| a.len() == 3));
    let unknown = call(&sim, &token, "GET", "/api/v4/nothing", None, None).await;
    assert_eq!((unknown.status, unknown.json()["status"].clone()), (404, json!("NOT_FOUND")));
    assert_eq!(call(&sim, &token, "PATCH", "/api/v4/searches", None, None).await.status, 405);
    assert_eq!(call(&sim, &token, "GET", "/api/v4/quarantineJobs/abc", None, None).await.status, 400);
    let recorded = sim.server().requests();
    assert!(recorded.iter().any(|r| r.path == "/api/v4/download/logs"));
}

/// Run with `--ignored` to time a 1 GiB attachment end to end.
#[tokio::test(flavor = "multi_thread")]
#[ignore]
async fn gigabyte_attachment() {
    let sim = CofenseSim::start().await.expect("start");
    let token = token(&sim).await;
    let started = std::time::Instant::now();
    let attachment = sim.add_generated_attachment("huge.bin", 1 << 30);
    eprintln!("hashing 1 GiB took {:?}", started.elapsed());
    let auth = format!("Bearer {token}");
    let response = open(
        &sim,
        "GET",
        &format!("/api/v4/attachment?sha256={}", attachment.sha256),
        &[("authorization", &auth)],
        Vec::new(),
    )
    .await;
    let mut body = response.into_body();
    let mut md5 = Md5::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.expect("frame").into_data() {
            md5.update(&data);
        }
    }
    assert_eq!(hex::encode(md5.finalize()), attachment.md5);
    eprintln!("hashing and streaming 1 GiB took {:?}", started.elapsed());
}

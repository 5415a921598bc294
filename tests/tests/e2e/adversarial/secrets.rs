//! Secrets: a vendor or a connector that echoes them, in any encoding, never
//! gets them printed; redaction never corrupts what the host produced.

use super::{assert_no_secret, cofense_asset};
use serde_json::json;
use soar_host::exit;
use soar_tests::harness::HostEnv;
use soar_tests::hostile::{Behaviour, HostileServer, ISSUED_TOKEN};

const SECRET: &str = "s3cret/value+with=specials&\"quotes\"";

#[tokio::test(flavor = "multi_thread")]
async fn a_vendor_echoing_the_token_request_in_every_encoding_shows_no_secret() {
    let vendor = HostileServer::start().await;
    vendor.on("/uaa/oauth/token", Behaviour::Echo { status: 400 });
    let env = HostEnv::new();
    let asset = cofense_asset(&env, "vision.toml", &vendor.base_url(), &SECRET.replace('"', "\\\""));
    let run = env.invoke("cofense", "list-searchable-headers", &asset, &[]).await;
    let message = run.failure("vendor", exit::ACTION_FAILED);
    assert!(message.contains("Token generation failed") && message.contains("***"), "{message}");
    // The echo really carried the secret, form-encoded.
    assert!(
        String::from_utf8_lossy(&vendor.requests()[0].raw)
            .contains("client_secret=s3cret%2Fvalue%2Bwith%3Dspecials%26%22quotes%22")
    );
    assert_no_secret(&run, SECRET);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bearer_token_kept_in_state_is_masked_when_the_vendor_echoes_it() {
    let vendor = HostileServer::start().await;
    vendor.issue_tokens("/uaa/oauth/token");
    vendor.on("/api/", Behaviour::Echo { status: 400 });
    let env = HostEnv::new();
    let asset = cofense_asset(&env, "vision.toml", &vendor.base_url(), "a-long-enough-client-secret");
    for _ in 0..2 {
        // The second run takes the token from the asset's state.
        let run = env.invoke("cofense", "list-searchable-headers", &asset, &[]).await;
        let message = run.failure("vendor", exit::ACTION_FAILED);
        assert!(message.contains("Bearer ***"), "{message}");
        assert_no_secret(&run, ISSUED_TOKEN);
    }
    let token_requests = vendor.requests().iter().filter(|r| r.target.starts_with("/uaa")).count();
    assert_eq!(token_requests, 1, "the token was kept in state");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connector_leaking_its_secret_in_logs_progress_data_and_errors_shows_none() {
    let env = HostEnv::new();
    let asset = env.asset("probe", &format!("base_url = \"http://127.0.0.1:9\"\napi_key = {}\n", toml_string(SECRET)));
    let run = env.invoke("sandbox_probe", "leak", &asset, &[]).await.success();
    assert_no_secret(&run, SECRET);
    assert!(run.stderr.contains("the key is literal ***, percent ***, unicode ***"), "{}", run.stderr);
    // Values are masked one by one: the data keeps its shape.
    assert_eq!(run.json["data"][0], json!({"secret": "***", "percent": "***", "nested": {"quoted": "x\"***\"y"}}));
    assert_eq!(run.json["summary"], json!({"secret": "***"}));
    let run = env.invoke("sandbox_probe", "leak", &asset, &[("fail", "true")]).await;
    assert!(run.failure("vendor", exit::ACTION_FAILED).contains("the vendor echoed literal ***"));
    assert_no_secret(&run, SECRET);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_given_as_a_parameter_is_masked_in_the_echo() {
    let env = HostEnv::new();
    let asset = env.asset("probe", &format!("base_url = \"http://127.0.0.1:9\"\napi_key = {}\n", toml_string(SECRET)));
    let run = env.invoke("sandbox_probe", "fetch", &asset, &[("url", &format!("http://127.0.0.1:9/{SECRET}"))]).await;
    assert!(run.json["parameter"]["url"].as_str().unwrap().contains("***"), "{run:#?}");
    assert_no_secret(&run, SECRET);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_toml_error_next_to_a_secret_quotes_no_text() {
    let env = HostEnv::new();
    let asset = env.asset(
        "vision",
        "base_url = \"http://127.0.0.1:9\"\nclient_id = \"x\"\nclient_secret = \"hunter2-the-secret\n",
    );
    let run = env.invoke("cofense", "list-searchable-headers", &asset, &[]).await;
    let message = run.failure("invalid-config", exit::INVALID_INPUT);
    assert!(
        message.contains("vision.toml") && message.contains("line 3") && message.contains("'client_secret'"),
        "{message}"
    );
    assert!(!run.stdout.contains("hunter2") && !run.stderr.contains("hunter2"), "{run:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_asset_flag_pointing_at_a_password_file_prints_none_of_it() {
    let env = HostEnv::new();
    let shadow = env.root().join("shadow");
    std::fs::write(&shadow, "root:$6$saltsalt$0123456789abcdef:19000:0:99999:7:::\n").unwrap();
    let mut files = vec![shadow];
    let system = std::path::PathBuf::from("/etc/shadow");
    if std::fs::read(&system).is_ok() {
        files.push(system);
    }
    for file in files {
        let first_line = std::fs::read_to_string(&file).unwrap().lines().next().unwrap_or_default().to_string();
        let run = env.invoke("cofense", "list-searchable-headers", &file, &[]).await;
        run.failure("invalid-config", exit::INVALID_INPUT);
        for part in first_line.split(':').filter(|part| part.len() > 3) {
            assert!(!run.stdout.contains(part) && !run.stderr.contains(part), "{file:?} leaked {part}: {run:#?}");
        }
    }
}

/// A vendor that accepts any credentials and serves `contents` as the
/// attachment, and `metadata` as a message's metadata.
async fn vendor_serving(contents: &str, metadata: serde_json::Value) -> HostileServer {
    let vendor = HostileServer::start().await;
    vendor.issue_tokens("/uaa/oauth/token");
    vendor.on("/api/v4/attachment", Behaviour::Json { status: 200, body: contents.to_string() });
    vendor.on("/api/v4/messages/metadata", Behaviour::Json { status: 200, body: metadata.to_string() });
    vendor
}

fn sha1_hex(bytes: &[u8]) -> String {
    hex::encode(<sha1::Sha1 as sha1::Digest>::digest(bytes))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_one_letter_secret_corrupts_no_vault_id_hash_name_or_path() {
    let contents = "bbbb abba bob ".repeat(1000);
    let vendor = vendor_serving(&contents, json!({})).await;
    let env = HostEnv::new();
    let asset = cofense_asset(&env, "vision.toml", &vendor.base_url(), "b");
    let run = env
        .invoke("cofense", "get-message-attachment", &asset, &[("md5", &"b".repeat(32)), ("filename", "bob.txt")])
        .await
        .success();
    assert!(run.stderr.contains("'client_secret' is weak"), "the weak secret is named: {}", run.stderr);
    let item = &run.data()[0];
    let sha1 = sha1_hex(contents.as_bytes());
    assert_eq!((item["vault_id"].as_str(), item["hash"].as_str()), (Some(sha1.as_str()), Some(sha1.as_str())));
    let sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(contents.as_bytes()));
    assert_eq!(item["metadata"]["sha256"], sha256);
    assert_eq!(item["name"], "bob.txt");
    assert_eq!(std::fs::read_to_string(item["path"].as_str().unwrap()).unwrap(), contents);
    assert_eq!(run.json["summary"]["vault_id"], sha1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_that_is_also_in_vendor_data_leaves_the_data_and_host_fields_intact() {
    let contents = "attachment contents";
    let sha1 = sha1_hex(contents.as_bytes());
    // The secret is part of the vault id the host produces; the vendor names
    // the file after it and quotes it in its data.
    let secret = sha1[4..20].to_string();
    let metadata = json!({"id": 1, "note": format!("key \"{secret}\" here"), secret.clone(): [secret.clone()]});
    let vendor = vendor_serving(contents, metadata).await;
    let env = HostEnv::new();
    let asset = cofense_asset(&env, "vision.toml", &vendor.base_url(), &secret);
    let filename = format!("report-{secret}.txt");
    let run = env
        .invoke("cofense", "get-message-attachment", &asset, &[("md5", &"a".repeat(32)), ("filename", &filename)])
        .await
        .success();
    let item = &run.data()[0];
    for field in [&item["vault_id"], &item["hash"], &item["metadata"]["sha1"], &run.json["summary"]["vault_id"]] {
        assert_eq!(field, &json!(sha1), "the host's own fields are never rewritten: {item}");
    }
    assert_eq!(run.json["message"], format!("Vault id: {sha1}"));
    assert_eq!(std::fs::read_to_string(item["path"].as_str().unwrap()).unwrap(), contents);
    assert_eq!(item["name"], "report-***.txt", "the vendor's text is masked");
    let run = env
        .invoke(
            "cofense",
            "get-message-metadata",
            &asset,
            &[("internet_message_id", "<a@b>"), ("recipient_address", "x@y.com")],
        )
        .await
        .success();
    assert_eq!(run.data()[0], json!({"id": 1, "note": "key \"***\" here", "***": ["***"]}), "structure intact");
}

fn toml_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

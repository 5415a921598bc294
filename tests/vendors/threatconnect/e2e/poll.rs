//! `on poll`: first, incremental and repeated runs, the max-containers boundary,
//! many indicators in one second, an interrupted run and poll now. Every
//! indicator is ingested exactly once, with the right CEF fields.

use super::Tc;
use chrono::{Duration, Utc};
use serde_json::{Value, json};
use soar_host::exit;
use soar_tests::sim::threatconnect::ThreatConnectSim;
use soar_tests::sim::{Fault, FaultRule};
use std::collections::BTreeMap;

/// A simulator with no indicators, and an asset with `extra` configuration.
pub(super) async fn empty(extra: &str) -> Tc {
    let sim = ThreatConnectSim::start().await.unwrap();
    sim.clear_indicators();
    Tc::with_sim(sim, extra)
}

pub(super) fn stamp(time: chrono::DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Adds `count` Address indicators added at `when`; returns their ids.
pub(super) fn add_addresses(tc: &Tc, count: u32, when: chrono::DateTime<Utc>, first_octet: u32) -> Vec<String> {
    (0..count)
        .map(|i| {
            let indicator = tc.sim.add_indicator(json!({"type": "Address", "summary": format!("{first_octet}.0.{}.{}", i / 250, i % 250), "dateAdded": stamp(when)}));
            indicator["id"].to_string()
        })
        .collect()
}

/// Every container in the host's store, by source data identifier, with its
/// artifacts.
pub(super) async fn containers(tc: &Tc) -> BTreeMap<String, Value> {
    let run = tc.env.run(&["containers", "export", "--connector", "threatconnect", "--asset", "threatconnect"]).await;
    assert_eq!(run.code, 0, "{run:#?}");
    let items: Vec<Value> = serde_json::from_str(&run.stdout).unwrap_or_else(|err| panic!("{err}: {}", run.stdout));
    let mut by_id = BTreeMap::new();
    for item in items {
        let id = item["container"]["source_data_identifier"].as_str().unwrap().to_string();
        assert!(by_id.insert(id.clone(), item).is_none(), "container {id} ingested twice");
    }
    by_id
}

pub(super) fn checkpoint(tc: &Tc) -> Value {
    let state =
        std::fs::read(tc.env.data_dir().join("state/threatconnect/threatconnect.json")).expect("the poll wrote state");
    serde_json::from_slice::<Value>(&state).unwrap()["poll_checkpoint"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn first_run_ingests_the_interval_with_cef_fields() {
    let sim = ThreatConnectSim::start().await.unwrap();
    let now = Utc::now();
    let seeded: Vec<Value> = sim.indicators().into_iter().filter(|i| i["active"] != false).collect();
    let in_interval = |indicator: &&Value| {
        let added = chrono::DateTime::parse_from_rfc3339(indicator["dateAdded"].as_str().unwrap()).unwrap();
        added >= now - Duration::days(7) && added < now - Duration::seconds(1)
    };
    let expected: Vec<String> = seeded.iter().filter(in_interval).map(|i| i["id"].to_string()).collect();
    assert!(expected.len() > 5 && expected.len() < seeded.len(), "the seed spans more than the interval");
    let tc = Tc::with_sim(sim, "max_containers = 1000\n");

    let run = tc.poll(&[]).await.success();
    assert_eq!(run.json["summary"]["containers_created"], expected.len());
    assert_eq!(run.json["message"], format!("Polling has succeeded: {} new indicators ingested", expected.len()));
    let stored = containers(&tc).await;
    assert_eq!(stored.keys().cloned().collect::<Vec<_>>(), {
        let mut e = expected.clone();
        e.sort();
        e
    });
    for request in tc.signed_requests() {
        assert_eq!(request.query_values("sorting"), vec!["dateAdded desc"], "newest first");
        assert!(request.query_values("tql")[0].starts_with("dateAdded >= \""), "{request:#?}");
    }

    // The artifacts carry the CEF fields of each indicator type.
    let by_type: BTreeMap<String, &Value> =
        stored.values().map(|item| (item["container"]["data"]["type"].as_str().unwrap().to_string(), item)).collect();
    for (kind, field) in [
        ("Address", "deviceAddress"),
        ("EmailAddress", "emailAddress"),
        ("Host", "deviceDnsDomain"),
        ("URL", "requestURL"),
        ("CIDR", "cidrPrefix"),
        ("Mutex", "mutex"),
        ("Registry Key", "registryKey"),
        ("ASN", "asn"),
        ("User Agent", "requestClientApplication"),
    ] {
        let Some(item) = by_type.get(kind) else { continue };
        let artifact = &item["artifacts"][0];
        assert!(artifact["cef"].get(field).is_some(), "{kind}: {artifact:#}");
        assert_eq!(artifact["cef"]["deviceCustomDate1"], item["container"]["data"]["dateAdded"]);
        assert_eq!(artifact["cef"]["deviceCustomDate2Label"], "Last Modified");
        assert_eq!(artifact["source_data_identifier"], item["container"]["source_data_identifier"]);
        assert_eq!(artifact["label"], "event");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_cef_mapping_from_generated_indicators() {
    let tc = empty("max_containers = 100\n").await;
    tc.sim.generate_indicators(24, Utc::now() - Duration::hours(2), Duration::seconds(60));
    tc.poll(&[]).await.success();
    let stored = containers(&tc).await;
    assert_eq!(stored.len(), 24);
    let names: std::collections::BTreeSet<String> =
        stored.values().map(|item| item["artifacts"][0]["name"].as_str().unwrap().to_string()).collect();
    for name in [
        "IP Artifact",
        "Email Address Artifact",
        "File Artifact",
        "Domain Artifact",
        "URL Artifact",
        "CIDR Artifact",
        "Mutex Artifact",
        "Registry Key Artifact",
        "ASN Artifact",
        "User Agent Artifact",
    ] {
        assert!(names.contains(name), "no {name} among {names:?}");
    }
    let ipv6 = stored.values().find(|item| item["artifacts"][0]["cef"].get("deviceCustomIPv6Address1").is_some());
    assert!(ipv6.is_some(), "an IPv6 address maps to deviceCustomIPv6Address1");
    let files: Vec<&Value> = stored.values().filter(|item| item["container"]["data"]["type"] == "File").collect();
    assert!(files.iter().any(|item| item["artifacts"][0]["cef"].get("fileHashSha256").is_some()), "all three hashes");
    assert!(files.iter().all(|item| item["artifacts"][0]["cef"].get("fileHashMd5").is_some()));
}

#[tokio::test(flavor = "multi_thread")]
async fn incremental_runs_take_only_what_is_new() {
    let tc = empty("").await;
    let now = Utc::now();
    let first = add_addresses(&tc, 3, now - Duration::hours(3), 10);
    tc.poll(&[]).await.success();
    assert_eq!(containers(&tc).await.len(), 3);
    assert_eq!(checkpoint(&tc)["last_date_time"], stamp(now - Duration::hours(3)));

    let run = tc.poll(&[]).await.success();
    assert_eq!(
        (run.json["summary"]["containers_created"].as_u64(), run.json["summary"]["duplicates_skipped"].as_u64()),
        (Some(0), Some(0))
    );

    let second = add_addresses(&tc, 4, now - Duration::hours(1), 11);
    let run = tc.poll(&[]).await.success();
    assert_eq!(run.json["summary"]["containers_created"], 4);
    let stored = containers(&tc).await;
    let all: Vec<String> = first.iter().chain(&second).cloned().collect();
    assert_eq!(stored.len(), all.len());
    assert!(all.iter().all(|id| stored.contains_key(id)));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_max_containers_boundary_is_honoured_oldest_first() {
    let tc = empty("max_containers = 5\n").await;
    let now = Utc::now();
    let mut ids = Vec::new();
    for minute in 0..12 {
        ids.extend(add_addresses(&tc, 1, now - Duration::minutes(60 - minute), 20 + minute as u32));
    }
    let mut created = Vec::new();
    for _ in 0..4 {
        let run = tc.poll(&[]).await.success();
        created.push(run.json["summary"]["containers_created"].as_u64().unwrap());
    }
    assert_eq!(created, vec![5, 5, 2, 0]);
    let stored = containers(&tc).await;
    assert_eq!(stored.len(), 12);
    // Oldest first: the first five containers are the five oldest indicators.
    let mut by_container: Vec<(u64, String)> = stored
        .values()
        .map(|item| {
            (
                item["container"]["id"].as_u64().unwrap(),
                item["container"]["source_data_identifier"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    by_container.sort();
    let order: Vec<String> = by_container.into_iter().map(|(_, sdi)| sdi).collect();
    assert_eq!(order, ids);
}

#[tokio::test(flavor = "multi_thread")]
async fn many_indicators_in_one_second_are_neither_dropped_nor_repeated() {
    let tc = empty("max_containers = 7\n").await;
    let second = Utc::now() - Duration::minutes(5);
    let ids = add_addresses(&tc, 50, second, 30);
    let mut total = 0;
    for _ in 0..10 {
        let run = tc.poll(&[]).await.success();
        total += run.json["summary"]["containers_created"].as_u64().unwrap();
        assert_eq!(run.json["summary"]["duplicates_skipped"], 0, "the checkpoint knows what it took in that second");
    }
    assert_eq!(total, 50);
    let stored = containers(&tc).await;
    assert_eq!(stored.len(), 50);
    assert!(ids.iter().all(|id| stored.contains_key(id)));
    let checkpoint = checkpoint(&tc);
    assert_eq!(checkpoint["last_date_time"], stamp(second));
    assert_eq!(checkpoint["ids"].as_array().unwrap().len(), 50);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_run_resumes_without_loss_or_repeats() {
    let tc = empty("max_containers = 5000\n").await;
    let start = Utc::now() - Duration::hours(2);
    tc.sim.generate_indicators(2500, start, Duration::seconds(1));
    // Requests: the window size, the oldest page, then the next page, whose
    // connection drops: the run stops after one page of 1000.
    tc.sim.server().inject(FaultRule::on("/v3/indicators", Fault::DropMidBody { after_bytes: 4096 }).after(2));
    let run = tc.poll(&[]).await;
    run.failure("connection", exit::ACTION_FAILED);
    let partial = containers(&tc).await.len();
    assert_eq!(partial, 1000, "the first page was ingested and checkpointed");

    let run = tc.poll(&[]).await.success();
    let stored = containers(&tc).await;
    assert_eq!(stored.len(), 2500, "everything is ingested exactly once");
    let created = run.json["summary"]["containers_created"].as_u64().unwrap() as usize;
    assert_eq!(created + partial, 2500);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_page_is_suppressed_as_duplicates_on_the_rerun() {
    let tc = empty("max_containers = 5000\n").await;
    tc.sim.generate_indicators(1500, Utc::now() - Duration::hours(2), Duration::seconds(1));
    tc.poll(&[]).await.success();
    // Forget the checkpoint, as if the run had died before saving it: the rerun
    // sees every indicator again and the host suppresses every container.
    let state = tc.env.data_dir().join("state/threatconnect/threatconnect.json");
    std::fs::write(&state, "{}").unwrap();
    let run = tc.poll(&[]).await.success();
    assert_eq!(run.json["summary"]["containers_created"], 0);
    assert_eq!(run.json["summary"]["duplicates_skipped"], 1500);
    assert_eq!(containers(&tc).await.len(), 1500);
}

#[tokio::test(flavor = "multi_thread")]
async fn poll_now_leaves_the_checkpoint_alone() {
    let tc = empty("max_containers = 3\n").await;
    add_addresses(&tc, 6, Utc::now() - Duration::hours(1), 40);
    let run = tc.poll(&["--poll-now", "--container-count", "4"]).await.success();
    assert_eq!(run.json["summary"]["containers_created"], 4);
    assert!(!tc.env.data_dir().join("state/threatconnect/threatconnect.json").exists(), "poll now writes no state");
    let run = tc.poll(&["--poll-now"]).await.success();
    assert_eq!(run.json["summary"]["containers_created"], 2, "max_containers applies, the first 4 are duplicates");
    assert_eq!(run.json["summary"]["duplicates_skipped"], 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_with_nothing_new_still_leaves_a_start_time() {
    let tc = empty("interval_days = 3\n").await;
    let run = tc.poll(&[]).await.success();
    assert_eq!(run.json["summary"]["containers_created"], 0);
    let checkpoint = checkpoint(&tc);
    let start = chrono::DateTime::parse_from_rfc3339(checkpoint["last_date_time"].as_str().unwrap()).unwrap();
    let age = Utc::now().signed_duration_since(start);
    assert!(age > Duration::days(3) - Duration::minutes(1) && age < Duration::days(3) + Duration::minutes(1), "{age}");
    tc.poll(&[]).await.success();
}

//! A ThreatConnect that cannot be trusted: bad indicators, a lying `count`,
//! pages in the wrong order, endless paging, out-of-range configuration and
//! vendor text meant for a terminal. The poll stores what it can, never moves
//! its checkpoint past what it saw, fails fast and says why; nothing panics.

use super::poll::{add_addresses, checkpoint, containers, empty, stamp};
use chrono::{Duration, Utc};
use serde_json::json;
use soar_host::exit;
use soar_tests::sim::threatconnect::Hostility;
use std::time::Instant;

/// Rewrites that give the indicator with `summary` another summary or id in
/// what the simulator sends.
fn summary_becomes(summary: &str, raw: &str) -> (String, String) {
    (format!("\"summary\":\"{summary}\""), format!("\"summary\":{raw}"))
}

fn id_becomes(id: &str, raw: &str) -> (String, String) {
    (format!("\"id\":{id},"), format!("\"id\":{raw},"))
}

#[tokio::test(flavor = "multi_thread")]
async fn indicators_that_cannot_be_stored_are_skipped_and_the_poll_moves_on() {
    let tc = empty("").await;
    let when = Utc::now() - Duration::hours(2);
    let ids = add_addresses(&tc, 10, when, 9);
    let summaries: Vec<String> = (0..10).map(|i| format!("9.0.0.{i}")).collect();
    tc.sim.set_hostility(Hostility {
        rewrites: vec![
            summary_becomes(&summaries[1], "\"\""),
            summary_becomes(&summaries[2], "\"\\u200b\\u2060\""),
            summary_becomes(&summaries[3], "\"x\\ud800y\""),
            id_becomes(&ids[4], "\"\""),
            id_becomes(&ids[5], "\"x\\ud800y\""),
            id_becomes(&ids[6], "null"),
            id_becomes(&ids[7], &format!("\"{}\"", ids[0])),
        ],
        ..Hostility::default()
    });
    let started = Instant::now();
    let run = tc.poll(&[]).await.success();
    assert_eq!(run.json["summary"]["containers_created"], 4, "{run:#?}");
    assert_eq!(run.json["summary"]["indicators_skipped"], 6, "{run:#?}");
    let stored = containers(&tc).await;
    let mut expected: Vec<&String> = [0, 3, 8, 9].iter().map(|&i| &ids[i]).collect();
    expected.sort();
    assert_eq!(stored.keys().collect::<Vec<_>>(), expected, "the good ones, and the one whose summary was repaired");
    assert_eq!(stored[&ids[3]]["container"]["name"], "x\u{fffd}y");
    for skipped in [&ids[1], &ids[2]] {
        assert!(run.stderr.contains(&format!("indicator {skipped} skipped")), "{}", run.stderr);
    }
    assert!(run.stderr.contains("reads as a number"), "{}", run.stderr);
    assert_eq!(checkpoint(&tc)["last_date_time"], stamp(when));
    // The page is checkpointed: the next poll finds nothing new and succeeds.
    let run = tc.poll(&[]).await.success();
    assert_eq!(run.json["summary"]["containers_created"], 0);
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_count_lower_than_the_truth_fails_and_loses_nothing() {
    let tc = empty("").await;
    add_addresses(&tc, 50, Utc::now() - Duration::hours(1), 10);
    tc.sim.set_hostility(Hostility { count: Some(Some(3)), ..Hostility::default() });
    let run = tc.poll(&[]).await;
    let message = run.failure("vendor", exit::ACTION_FAILED);
    assert!(message.contains("counted 3 indicators") && message.contains("lists more"), "{message}");
    assert!(containers(&tc).await.is_empty(), "nothing stored from a window it cannot trust");
    // Once the vendor is honest, all 50 arrive.
    tc.sim.set_hostility(Hostility::default());
    assert_eq!(tc.poll(&[]).await.success().json["summary"]["containers_created"], 50);
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_listed_oldest_first_fail_before_the_checkpoint_moves() {
    let tc = empty("max_containers = 5\n").await;
    let now = Utc::now();
    let ids: Vec<String> =
        (0..20).flat_map(|i| add_addresses(&tc, 1, now - Duration::minutes(60 - i), 20 + i as u32)).collect();
    tc.sim.set_hostility(Hostility { oldest_first: true, ..Hostility::default() });
    let run = tc.poll(&[]).await;
    assert!(run.failure("vendor", exit::ACTION_FAILED).contains("not sorted newest first"), "{run:#?}");
    assert!(containers(&tc).await.is_empty());
    tc.sim.set_hostility(Hostility::default());
    tc.poll(&[]).await.success();
    let stored: Vec<String> = containers(&tc).await.into_keys().collect();
    let mut oldest: Vec<String> = ids[..5].to_vec();
    oldest.sort();
    assert_eq!(stored, oldest, "the five oldest come first");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_indicator_dated_after_the_window_does_not_move_the_checkpoint() {
    let tc = empty("").await;
    let when = Utc::now() - Duration::hours(1);
    add_addresses(&tc, 3, when, 30);
    let future = "2099-01-01T00:00:00Z";
    tc.sim.set_hostility(Hostility {
        rewrites: vec![(format!("\"dateAdded\":\"{}\"", stamp(when)), format!("\"dateAdded\":\"{future}\""))],
        ..Hostility::default()
    });
    let run = tc.poll(&[]).await.success();
    assert!(run.stderr.contains("dated outside the window"), "{}", run.stderr);
    let saved = checkpoint(&tc)["last_date_time"].as_str().unwrap().to_string();
    assert!(saved.as_str() < future && saved <= stamp(Utc::now()), "the checkpoint jumped to {saved}");
}

#[tokio::test(flavor = "multi_thread")]
async fn endless_or_absurd_paging_is_stopped_at_once() {
    let tc = empty("").await;
    add_addresses(&tc, 5, Utc::now() - Duration::hours(1), 40);
    let cases = [
        (
            "a poll without count whose next never ends",
            Hostility { count: Some(None), endless: true, ..Hostility::default() },
        ),
        ("a count of 10^12", Hostility { count: Some(Some(1_000_000_000_000)), ..Hostility::default() }),
    ];
    for (what, hostility) in cases {
        tc.sim.server().take_requests();
        tc.sim.set_hostility(hostility);
        let started = Instant::now();
        let run = tc.poll(&[]).await;
        assert!(run.failure("vendor", exit::ACTION_FAILED).contains("paging is inconsistent"), "{what}: {run:#?}");
        let requests = tc.sim.server().requests().len();
        assert!(requests <= 4, "{what}: {requests} requests");
        assert!(started.elapsed() < std::time::Duration::from_secs(15), "{what}: {:?}", started.elapsed());
    }
    assert!(containers(&tc).await.is_empty());

    tc.sim.server().take_requests();
    tc.sim.set_hostility(Hostility { endless: true, ..Hostility::default() });
    let run = tc.invoke("hunt-ip", &[("ip", "40.0.0.1")]).await;
    assert!(run.failure("vendor", exit::ACTION_FAILED).contains("paging is inconsistent"), "{run:#?}");
    assert!(tc.sim.server().requests().len() <= 3, "{:#?}", tc.sim.server().requests().len());
}

#[tokio::test(flavor = "multi_thread")]
async fn out_of_range_configuration_is_bad_input_and_sends_nothing() {
    for extra in ["interval_days = 100000000\n", "interval_days = 2932896\n"] {
        let tc = empty(extra).await;
        let run = tc.poll(&[]).await;
        let message = run.failure("invalid-config", exit::INVALID_INPUT);
        assert!(message.contains("interval_days"), "{message}");
        assert!(tc.sim.server().requests().is_empty(), "{extra}: {:#?}", tc.sim.server().requests());
    }
    let tc = empty("").await;
    let spaced = tc.sim.asset_toml().replace("base_url = \"http://", "base_url = \"http://127.0.0.1 ");
    let asset = tc.env.asset("spaced", &spaced);
    let run = tc.env.run(&["poll", "threatconnect", "--asset", asset.to_str().unwrap()]).await;
    assert!(run.failure("invalid-config", exit::INVALID_INPUT).contains("'base_url'"), "{run:#?}");
    assert!(tc.sim.server().requests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn vendor_text_cannot_forge_log_lines_or_flood_errors() {
    let tc = empty("").await;
    let ids = add_addresses(&tc, 2, Utc::now() - Duration::hours(1), 50);
    tc.sim.set_hostility(Hostility {
        // Unstorable (no summary), so the poll warns about it, naming its id.
        rewrites: vec![id_becomes(&ids[0], "\"x\\r\\n ERROR forged log line\""), summary_becomes("50.0.0.0", "\"\"")],
        ..Hostility::default()
    });
    let run = tc.poll(&[]).await.success();
    assert!(!run.stderr.lines().any(|line| line.starts_with(" ERROR forged")), "{}", run.stderr);
    assert!(run.stderr.contains("\\r\\n ERROR forged log line"), "{}", run.stderr);

    // A server that cannot be reached: the error names the request's URL,
    // which carries the 60,000-character owner.
    let owner = "o".repeat(60_000);
    let unreachable = tc.sim.asset_toml().replace(&tc.sim.base_url(), "http://127.0.0.1:9");
    let asset = tc.env.asset("unreachable", &unreachable);
    let run = tc.env.invoke("threatconnect", "hunt-ip", &asset, &[("ip", "50.0.0.1"), ("owner", &owner)]).await;
    assert_eq!(run.code, exit::ACTION_FAILED, "{}", &run.stderr[..run.stderr.len().min(2000)]);
    let message = run.json["message"].as_str().unwrap_or_default();
    assert!(message.len() < 20_000, "an error of {} bytes", message.len());
    assert!(run.stderr.len() < 40_000, "{} bytes on stderr", run.stderr.len());
    assert!(run.stdout.len() < 100_000, "{} bytes on stdout", run.stdout.len());
    assert_eq!(
        json!(run.json["parameter"]["owner"].as_str().map(str::len)),
        json!(60_000),
        "the echo keeps what was given"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_with_fifty_thousand_indicators_is_polled_again_in_linear_time() {
    let tc = empty("max_containers = 60000\n").await;
    tc.sim.generate_indicators(50_000, Utc::now() - Duration::hours(1), Duration::zero());
    let started = Instant::now();
    let run = tc.poll(&["--timeout", "120"]).await.success();
    let first = started.elapsed();
    assert_eq!(run.json["summary"]["containers_created"], 50_000);
    // Every indicator of that second is in the checkpoint: the second poll
    // reads them all again and must recognise each in constant time, and not
    // rewrite the unchanged checkpoint after every page (the quadratic search
    // took 8.7 s, against 1.3 s). The checkpoint is checked to be untouched;
    // the time only against the first poll's in the same run, which did more
    // (it saved 50,000 containers), so that a loaded machine slows both.
    let state = tc.env.data_dir().join("state/threatconnect/threatconnect.json");
    let checkpoint = (std::fs::read(&state).unwrap(), std::fs::metadata(&state).unwrap().modified().unwrap());
    let started = Instant::now();
    let run = tc.poll(&["--timeout", "120"]).await.success();
    let second = started.elapsed();
    assert_eq!(
        (run.json["summary"]["containers_created"].as_u64(), run.json["summary"]["duplicates_skipped"].as_u64()),
        (Some(0), Some(0))
    );
    let after = (std::fs::read(&state).unwrap(), std::fs::metadata(&state).unwrap().modified().unwrap());
    assert!(after == checkpoint, "the unchanged checkpoint was written again");
    assert!(second < first * 2, "the re-poll took {second:?}, the first poll {first:?}");
}

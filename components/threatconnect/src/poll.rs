//! `on poll`: new indicators become containers with one artifact each.
//!
//! The poll reads a time window (`dateAdded` from the checkpoint, or
//! `interval_days` back, up to the second before the poll started) newest first,
//! as the API lists indicators, but ingests oldest first: it takes the window's
//! size, then reads its pages from the last (oldest) to the first and walks each
//! backwards. Only one page is held at a time.
//!
//! The checkpoint is the `dateAdded` of the newest ingested indicator plus the
//! ids ingested at that very second, so the next poll starts at that second
//! without repeating those indicators and without dropping others of the same
//! second, however many there are. It is saved after every page; an interrupted
//! poll resumes from the last page it finished, and the host suppresses the
//! containers it had already saved (same source data identifier).

use crate::cef;
use crate::client::ThreatConnect;
use serde::{Deserialize, Serialize};
use soar_sdk::dates;
use soar_sdk::http::{Method, Request};
use soar_sdk::prelude::*;
use soar_sdk::{config, ingest, log, state, validate};

/// Where the checkpoint is kept in the asset's state.
const CHECKPOINT: &str = "poll_checkpoint";
/// Indicators per request.
const PAGE: u64 = 1000;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Checkpoint {
    /// The `dateAdded` of the newest ingested indicator (`2024-01-02T03:04:05Z`).
    last_date_time: String,
    /// The ids ingested with exactly that `dateAdded`.
    ids: Vec<String>,
}

#[derive(Default)]
struct Tally {
    containers: u64,
    duplicates: u64,
    artifacts: u64,
}

pub fn on_poll(poll_now: Option<bool>, container_count: Option<u32>) -> ActionOutcome {
    let max_containers = config::positive_integer("max_containers", 100)?;
    let interval_days = config::positive_integer("interval_days", 7)?;
    let poll_now = poll_now.unwrap_or(false);
    let limit = match container_count.filter(|_| poll_now) {
        Some(count) => validate::non_zero("container_count", count.into())?,
        None => max_containers.into(),
    };
    let tc = ThreatConnect::connect()?;
    let now = dates::now();
    let default_start = now - chrono_days(interval_days);
    let saved: Option<Checkpoint> = if poll_now { None } else { state::get(CHECKPOINT)? };
    let mut checkpoint = saved
        .filter(|checkpoint| dates::parse_utc(&checkpoint.last_date_time).is_some())
        .unwrap_or_else(|| Checkpoint { last_date_time: dates::format_seconds(&default_start), ids: Vec::new() });
    let start = dates::parse_utc(&checkpoint.last_date_time).unwrap_or(default_start);
    // The current second is left to the next poll: indicators may still be added to it.
    let end = now - chrono_seconds(1);

    let window = tc.request(Method::Get, "indicators").query(
        "tql",
        format!(
            "dateAdded >= \"{}\" AND dateAdded <= \"{}\"",
            dates::format_seconds(&start),
            dates::format_seconds(&end)
        ),
    );
    let window = window.query("sorting", "dateAdded desc");
    let mut remaining = window_size(&tc, &window)?;
    log::progress(&format!("{remaining} indicators added since {}", dates::format_seconds(&start)));

    let mut tally = Tally::default();
    while remaining > 0 && tally.containers < limit {
        let first = remaining.saturating_sub(PAGE);
        let page = tc.call(&window.clone().query("resultStart", first).query("resultLimit", remaining - first))?;
        for indicator in page["data"].as_array().into_iter().flatten().rev() {
            if tally.containers >= limit {
                break;
            }
            ingest_one(indicator, &mut checkpoint, &mut tally)?;
        }
        if !poll_now {
            state::set(CHECKPOINT, &checkpoint)?;
        }
        remaining = first;
        log::progress(&format!("{} new indicators ingested", tally.containers));
    }
    if !poll_now {
        // Also when nothing was new: the next poll always has a start time.
        state::set(CHECKPOINT, &checkpoint)?;
    }
    Output::new()
        .summary("containers_created", tally.containers)
        .summary("duplicates_skipped", tally.duplicates)
        .summary("artifacts_created", tally.artifacts)
        .summary("checkpoint", &checkpoint.last_date_time)
        .message(format!("Polling has succeeded: {} new indicators ingested", tally.containers))
        .into()
}

/// Saves one indicator unless the checkpoint shows it was ingested already, and
/// moves the checkpoint to it.
fn ingest_one(indicator: &Value, checkpoint: &mut Checkpoint, tally: &mut Tally) -> Result<(), ActionError> {
    let id = cef::identifier(indicator);
    let Some(added) = indicator["dateAdded"].as_str().and_then(dates::parse_utc) else {
        log::warn(&format!("indicator {id} has no valid dateAdded; skipped"));
        return Ok(());
    };
    let added = dates::format_seconds(&added);
    if added == checkpoint.last_date_time && checkpoint.ids.contains(&id) {
        return Ok(());
    }
    let container = ingest::save_container(&cef::container(indicator))?;
    if container.duplicate {
        tally.duplicates += 1;
    } else {
        tally.containers += 1;
    }
    if !ingest::save_artifact(container.id, &cef::artifact(indicator))?.duplicate {
        tally.artifacts += 1;
    }
    if added == checkpoint.last_date_time {
        checkpoint.ids.push(id);
    } else if added > checkpoint.last_date_time {
        *checkpoint = Checkpoint { last_date_time: added, ids: vec![id] };
    }
    Ok(())
}

/// How many indicators the window holds: the API's `count`, or, if it gives
/// none, found by walking the pages.
fn window_size(tc: &ThreatConnect, window: &Request) -> Result<u64, ActionError> {
    let probe = tc.call(&window.clone().query("resultStart", 0).query("resultLimit", 1))?;
    if let Some(count) = probe["count"].as_u64() {
        return Ok(count);
    }
    let mut total = 0;
    loop {
        let page = tc.call(&window.clone().query("resultStart", total).query("resultLimit", PAGE))?;
        let got = page["data"].as_array().map_or(0, Vec::len) as u64;
        total += got;
        if got < PAGE || page.get("next").is_none_or(Value::is_null) {
            return Ok(total);
        }
    }
}

fn chrono_days(days: u32) -> dates::TimeDelta {
    dates::TimeDelta::days(days.into())
}

fn chrono_seconds(seconds: i64) -> dates::TimeDelta {
    dates::TimeDelta::seconds(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_compare_as_text_because_the_format_is_fixed() {
        let earlier = dates::format_seconds(&dates::parse_utc("2024-01-02T03:04:05Z").unwrap());
        let later = dates::format_seconds(&dates::parse_utc("2024-01-02T03:04:06.5Z").unwrap());
        assert!(later > earlier);
    }
}

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
//!
//! Vendor data is not trusted to keep the checkpoint honest. Before a page is
//! ingested it must hold as many indicators as the window's size says, in
//! newest-first order, none newer than the window's newest, and the oldest page
//! must not link a next one (the size was then too small); otherwise the poll
//! fails, saying why, before the checkpoint could move past indicators it never
//! saw. An indicator dated outside the window, or one that cannot be stored
//! (no usable id, an empty summary), is skipped with a warning naming it; the
//! rest of the page is stored.

use crate::OnPoll;
use crate::cef;
use crate::client::{ThreatConnect, paging_error};
use serde::{Deserialize, Serialize};
use soar_sdk::dates::{self, DateTime, TimeDelta, Utc};
use soar_sdk::http::{Method, Request};
use soar_sdk::ingest::IngestError;
use soar_sdk::prelude::*;
use soar_sdk::{config, ingest, log, state, validate};
use std::collections::HashSet;

/// Where the checkpoint is kept in the asset's state.
const CHECKPOINT: &str = "poll_checkpoint";
/// Indicators per request.
const PAGE: u64 = 1000;
/// The longest look-back (`interval_days`): a century.
const MAX_INTERVAL_DAYS: u32 = 36_500;
/// The most pages read to size a window whose `count` the API does not give.
const MAX_WINDOW_PAGES: u64 = 10_000;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Checkpoint {
    /// The `dateAdded` of the newest ingested indicator (`2024-01-02T03:04:05Z`).
    last_date_time: String,
    /// The ids ingested with exactly that `dateAdded`.
    ids: Vec<String>,
}

/// The checkpoint while a poll runs: the ids of the last second in a set, so
/// that a second with 100,000 indicators costs no more than 100,000 seconds.
struct Position {
    last: DateTime<Utc>,
    last_text: String,
    ids: HashSet<String>,
    /// Changed since it was last saved (or never saved): a poll that finds
    /// nothing new does not rewrite a large checkpoint page after page.
    dirty: bool,
}

impl Position {
    fn of(checkpoint: Option<Checkpoint>, default_start: DateTime<Utc>) -> Self {
        let last = checkpoint.as_ref().and_then(|checkpoint| dates::parse_utc(&checkpoint.last_date_time));
        match (checkpoint, last) {
            (Some(checkpoint), Some(last)) => Self {
                last,
                last_text: dates::format_seconds(&last),
                ids: checkpoint.ids.into_iter().collect(),
                dirty: false,
            },
            _ => Self {
                last: default_start,
                last_text: dates::format_seconds(&default_start),
                ids: HashSet::new(),
                dirty: true,
            },
        }
    }

    /// Saves the checkpoint if it changed.
    fn save(&mut self) -> Result<(), ActionError> {
        if self.dirty {
            state::set(CHECKPOINT, &self.checkpoint())?;
            self.dirty = false;
        }
        Ok(())
    }

    fn checkpoint(&self) -> Checkpoint {
        let mut ids: Vec<String> = self.ids.iter().cloned().collect();
        ids.sort();
        Checkpoint { last_date_time: self.last_text.clone(), ids }
    }

    fn seen(&self, added: &str, id: &str) -> bool {
        added == self.last_text && self.ids.contains(id)
    }

    fn advance(&mut self, added: DateTime<Utc>, added_text: String, id: String) {
        if added_text == self.last_text {
            self.dirty |= self.ids.insert(id);
        } else if added > self.last {
            (self.last, self.last_text, self.ids) = (added, added_text, HashSet::from([id]));
            self.dirty = true;
        }
    }
}

#[derive(Default)]
struct Tally {
    containers: u64,
    duplicates: u64,
    artifacts: u64,
    skipped: u64,
}

impl Action for OnPoll {
    fn run(self) -> ActionOutcome {
        let OnPoll { poll_now, container_count } = self;
        let max_containers = config::positive_integer("max_containers")?;
        let interval_days = config::positive_integer_at_most("interval_days", MAX_INTERVAL_DAYS)?;
        let limit = match container_count.filter(|_| poll_now) {
            Some(count) => validate::non_zero("container_count", count.into())?,
            None => max_containers.into(),
        };
        let tc = ThreatConnect::connect()?;
        let now = dates::now();
        // Bounded above, so these cannot overflow; checked all the same.
        let clock = || ActionError::platform("the clock is outside the range of dates");
        let default_start = now.checked_sub_signed(TimeDelta::days(interval_days.into())).ok_or_else(clock)?;
        // The current second is left to the next poll: indicators may still be added to it.
        let end = now.checked_sub_signed(TimeDelta::seconds(1)).ok_or_else(clock)?;
        let saved: Option<Checkpoint> = if poll_now { None } else { state::get(CHECKPOINT)? };
        let mut position = Position::of(saved, default_start);
        let start = position.last;

        let window = tc.request(Method::Get, "indicators").query(
            "tql",
            format!(
                "dateAdded >= \"{}\" AND dateAdded <= \"{}\"",
                dates::format_seconds(&start),
                dates::format_seconds(&end)
            ),
        );
        let window = window.query("sorting", "dateAdded desc");
        let (size, newest) = window_size(&tc, &window)?;
        let mut remaining = size;
        log::progress(&format!("{size} indicators added since {}", dates::format_seconds(&start)));

        let mut tally = Tally::default();
        // The oldest indicator of the pages ingested so far: the next (newer) page
        // may hold nothing older.
        let mut floor: Option<DateTime<Utc>> = None;
        while remaining > 0 && tally.containers < limit {
            let first = remaining.saturating_sub(PAGE);
            let expected = remaining - first;
            let page = tc.call(&window.clone().query("resultStart", first).query("resultLimit", expected))?;
            let items = checked_page(&page, first, expected, size, newest, floor)?;
            floor = items.iter().filter_map(|(_, added)| *added).max().or(floor);
            for (indicator, added) in items.into_iter().rev() {
                if tally.containers >= limit {
                    break;
                }
                ingest_one(indicator, added, (start, end), &mut position, &mut tally)?;
            }
            if !poll_now {
                position.save()?;
            }
            remaining = first;
            log::progress(&format!("{} new indicators ingested", tally.containers));
        }
        if !poll_now {
            // A first poll saves one even when nothing was new: the next poll
            // always has a start time.
            position.save()?;
        }
        let mut output = Output::new()
            .summary("containers_created", tally.containers)
            .summary("duplicates_skipped", tally.duplicates)
            .summary("artifacts_created", tally.artifacts)
            .summary("checkpoint", &position.last_text);
        if tally.skipped > 0 {
            output = output.summary("indicators_skipped", tally.skipped);
        }
        output.message(format!("Polling has succeeded: {} new indicators ingested", tally.containers)).into()
    }
}

/// An indicator and its `dateAdded`, if it has a valid one.
type Dated<'a> = (&'a Value, Option<DateTime<Utc>>);

/// The indicators of the page at `first` (expected to hold `expected` of the
/// window's `size`), with their dates, after checking the page is what the
/// window promised: full, newest first, no newer than the window's `newest`,
/// no older than `floor` (the oldest of the pages already ingested, which are
/// older), and, for the last page, linking no further one.
fn checked_page(
    page: &Value,
    first: u64,
    expected: u64,
    size: u64,
    newest: Option<DateTime<Utc>>,
    floor: Option<DateTime<Utc>>,
) -> Result<Vec<Dated<'_>>, ActionError> {
    let Some(items) = page["data"].as_array() else {
        return Err(ActionError::vendor(None, format!("ThreatConnect's page at resultStart {first} has no data list")));
    };
    if items.len() as u64 != expected {
        return Err(paging_error(format!(
            "it counted {size} indicators in the window, but the page at resultStart {first} holds {} instead of {expected}",
            items.len()
        )));
    }
    if first + expected == size && page.get("next").is_some_and(|next| !next.is_null()) {
        return Err(paging_error(format!(
            "it counted {size} indicators in the window, but lists more after them (the last page links a next one)"
        )));
    }
    let dated: Vec<Dated> =
        items.iter().map(|item| (item, item["dateAdded"].as_str().and_then(dates::parse_utc))).collect();
    let mut previous: Option<DateTime<Utc>> = None;
    for added in dated.iter().filter_map(|(_, added)| *added) {
        if previous.is_some_and(|previous| added > previous) || newest.is_some_and(|newest| added > newest) {
            return Err(paging_error(format!(
                "the page at resultStart {first} is not sorted newest first, as the poll asked"
            )));
        }
        previous = Some(added);
    }
    if let (Some(oldest_here), Some(floor)) = (previous, floor)
        && oldest_here < floor
    {
        return Err(paging_error(format!(
            "the page at resultStart {first} holds indicators older than the page after it"
        )));
    }
    Ok(dated)
}

/// Saves one indicator unless the checkpoint shows it was ingested already, and
/// moves the checkpoint to it. One that cannot be stored is skipped with a warning.
fn ingest_one(
    indicator: &Value,
    added: Option<DateTime<Utc>>,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    position: &mut Position,
    tally: &mut Tally,
) -> Result<(), ActionError> {
    let shown = match &indicator["id"] {
        Value::String(id) => id.clone(),
        other => other.to_string(),
    };
    let mut skip = |why: &str| {
        log::warn(&format!("indicator {shown} skipped: {why}"));
        tally.skipped += 1;
        Ok(())
    };
    let id = match cef::identifier(indicator) {
        Ok(id) => id,
        Err(why) => return skip(why),
    };
    let Some(added) = added else { return skip("it has no valid dateAdded") };
    if added < start || added > end {
        return skip("it is dated outside the window the poll asked for");
    }
    let added_text = dates::format_seconds(&added);
    if position.seen(&added_text, &id) {
        return Ok(());
    }
    let container = match ingest::save_container(&cef::container(indicator, &id)) {
        Ok(container) => container,
        Err(IngestError::Invalid(why)) => return skip(&why),
        Err(other) => return Err(ingest::error(other)),
    };
    if container.duplicate {
        tally.duplicates += 1;
    } else {
        tally.containers += 1;
    }
    match ingest::save_artifact(container.id, &cef::artifact(indicator, &id)) {
        Ok(saved) if !saved.duplicate => tally.artifacts += 1,
        Ok(_) => {}
        Err(IngestError::Invalid(why)) => log::warn(&format!("indicator {shown}: its artifact was not stored: {why}")),
        Err(other) => return Err(ingest::error(other)),
    }
    position.advance(added, added_text, id);
    Ok(())
}

/// How many indicators the window holds (the API's `count`, or, if it gives
/// none, found by walking the pages, bounded and never the same page twice),
/// and the `dateAdded` of its newest.
fn window_size(tc: &ThreatConnect, window: &Request) -> Result<(u64, Option<DateTime<Utc>>), ActionError> {
    let probe = tc.call(&window.clone().query("resultStart", 0).query("resultLimit", 1))?;
    let newest = probe["data"][0]["dateAdded"].as_str().and_then(dates::parse_utc);
    if let Some(count) = probe["count"].as_u64() {
        return Ok((count, newest));
    }
    let mut total: u64 = 0;
    let mut previous: Option<(Value, Value)> = None;
    for _ in 0..MAX_WINDOW_PAGES {
        let page = tc.call(&window.clone().query("resultStart", total).query("resultLimit", PAGE))?;
        let items = page["data"].as_array().map(Vec::as_slice).unwrap_or_default();
        let got = items.len() as u64;
        let key = items.first().zip(items.last()).map(|(a, b)| (a["id"].clone(), b["id"].clone()));
        if got > 0 && key == previous {
            return Err(paging_error(format!("it returned the same page twice (at resultStart {total})")));
        }
        total = total.saturating_add(got);
        if got < PAGE || page.get("next").is_none_or(Value::is_null) {
            return Ok((total, newest));
        }
        previous = key;
    }
    Err(paging_error(format!("it still links a next page after {MAX_WINDOW_PAGES} pages of {PAGE}")))
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

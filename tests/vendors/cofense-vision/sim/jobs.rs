//! Quarantine jobs (`/api/v4/quarantineJobs`).
//!
//! Jobs are kept as the JSON objects Vision returns, so seeded fixtures keep
//! their quirks (e.g. `"stopRequested": "False"`); jobs made here use real booleans.
//!
//! Lifecycle: a job's state is the status of its latest run. [`Store::advance`]
//! moves every job that is not stopped one step: NEW → QUEUED → RUNNING →
//! COMPLETED (or FAILED when every email failed). Auto-quarantine jobs start at
//! PENDING_APPROVAL and wait there until approved (→ QUEUED). When a run
//! completes, its emails change: QUARANTINE → QUARANTINED, RESTORE → RESTORED,
//! EXPUNGE → EXPUNGED; a recipient containing "unknown" becomes UNKNOWN_MAILBOX
//! and counts as an error of the run.

use super::api::{
    ApiError, Params, Reply, json_body, naive_now, ok, ok_empty, parse_date, sort_items, string_list, strings, truthy,
};
use super::{CofenseSim, Shared};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use chrono::{DateTime, Utc};
use md5::{Digest, Md5};
use serde_json::{Value, json};
use std::sync::Arc;

/// Run statuses the filter accepts.
const STATUSES: [&str; 6] = ["NEW", "PENDING_APPROVAL", "QUEUED", "RUNNING", "COMPLETED", "FAILED"];
/// Fields the list can sort on.
const SORTABLE: [&str; 6] = ["id", "createdBy", "createdDate", "modifiedBy", "modifiedDate", "stopRequested"];
/// Who makes the lifecycle changes.
const SYSTEM: &str = "system";

/// Every quarantine job, oldest first.
#[derive(Default)]
pub(crate) struct Store {
    jobs: Vec<Value>,
    last_job: u64,
    last_run: u64,
    last_email: u64,
}

/// IOC matches that made an auto-quarantine job.
#[derive(Default)]
pub(crate) struct Matching {
    /// The matching IOCs as quarantine jobs embed them (`metadata.source` null).
    pub(crate) iocs: Vec<Value>,
    pub(crate) sources: Vec<String>,
}

impl Store {
    /// Adds a job from a fixture, filling in fields the capture left out.
    pub(crate) fn seed(&mut self, mut job: Value) {
        let Some(fields) = job.as_object_mut() else { return };
        for (key, default) in [
            ("quarantineEmails", json!([])),
            ("matchingIOCs", json!([])),
            ("matchingSources", json!([])),
            ("matchingIocInfo", json!([])),
            ("searchId", Value::Null),
        ] {
            fields.entry(key).or_insert(default);
        }
        let max_id = |key: &str| job[key].as_array().into_iter().flatten().filter_map(|x| x["id"].as_u64()).max();
        self.last_run = self.last_run.max(max_id("quarantineJobRuns").unwrap_or_default());
        self.last_email = self.last_email.max(max_id("quarantineEmails").unwrap_or_default());
        self.last_job = self.last_job.max(job["id"].as_u64().unwrap_or_default());
        self.jobs.push(job);
    }

    /// A job by id.
    pub(crate) fn get(&self, id: u64) -> Option<Value> {
        self.jobs.iter().find(|job| job["id"] == id).cloned()
    }

    fn get_mut(&mut self, id: u64) -> Result<&mut Value, ApiError> {
        self.jobs.iter_mut().find(|job| job["id"] == id).ok_or(ApiError::NotFound)
    }

    /// Creates a job quarantining `emails` (internet message id, recipient).
    /// Auto-quarantine jobs wait for approval.
    pub(crate) fn create(&mut self, emails: &[(String, String)], by: &str, auto: Option<Matching>) -> Value {
        let now = naive_now();
        self.last_job += 1;
        let emails: Vec<Value> = emails
            .iter()
            .map(|(message_id, recipient)| {
                self.last_email += 1;
                json!({
                    "id": self.last_email,
                    "recipientAddress": recipient,
                    "internetMessageId": message_id,
                    "ewsMessageId": null,
                    "status": "NEW",
                    "errorMessage": null,
                    "createdDate": now,
                    "quarantinedDate": null,
                    "originalFolderId": null,
                })
            })
            .collect();
        let status = if auto.is_some() { "PENDING_APPROVAL" } else { "NEW" };
        let run = self.new_run("QUARANTINE", status, emails.len());
        let matching = auto.as_ref();
        let ioc_ids = matching.map(|m| m.iocs.iter().map(|ioc| ioc["id"].clone()).collect::<Vec<_>>());
        let job = json!({
            "id": self.last_job,
            "createdBy": by,
            "createdDate": now,
            "modifiedBy": by,
            "modifiedDate": now,
            "stopRequested": false,
            "quarantineEmails": emails,
            "quarantineJobRuns": [run],
            "autoQuarantine": auto.is_some(),
            "matchingIOCs": ioc_ids.unwrap_or_default(),
            "matchingSources": matching.map(|m| m.sources.clone()).unwrap_or_default(),
            "matchingIocInfo": matching.map(|m| m.iocs.clone()).unwrap_or_default(),
            "searchId": null,
            "emailCount": emails.len(),
        });
        self.jobs.push(job.clone());
        job
    }

    fn new_run(&mut self, kind: &str, status: &str, total: usize) -> Value {
        self.last_run += 1;
        json!({
            "id": self.last_run,
            "jobRunType": kind,
            "status": status,
            "startedDate": null,
            "completedDate": null,
            "total": total,
            "error": 0,
        })
    }

    /// Moves every job that is not stopped one step along its lifecycle.
    pub(crate) fn advance(&mut self) {
        for job in &mut self.jobs {
            if step(job) {
                touch(job, SYSTEM);
            }
        }
    }
}

/// The status of a job's latest run.
fn job_status(job: &Value) -> Option<&str> {
    job["quarantineJobRuns"].as_array()?.last()?["status"].as_str()
}

fn last_run_mut(job: &mut Value) -> Option<&mut Value> {
    job.get_mut("quarantineJobRuns")?.as_array_mut()?.last_mut()
}

fn touch(job: &mut Value, by: &str) {
    job["modifiedDate"] = json!(naive_now());
    job["modifiedBy"] = json!(by);
}

/// One lifecycle step; whether anything changed.
fn step(job: &mut Value) -> bool {
    if truthy(&job["stopRequested"]) {
        return false;
    }
    let Some(run) = last_run_mut(job) else { return false };
    match run["status"].as_str() {
        Some("NEW") => run["status"] = json!("QUEUED"),
        Some("QUEUED") => {
            run["status"] = json!("RUNNING");
            run["startedDate"] = json!(naive_now());
        }
        Some("RUNNING") => finish(job),
        _ => return false,
    }
    true
}

/// Completes the latest run: applies it to every email and counts failures.
fn finish(job: &mut Value) {
    let now = naive_now();
    let kind = job_run_kind(job);
    let (total, errors) = match job.get_mut("quarantineEmails").and_then(Value::as_array_mut) {
        Some(emails) => {
            (emails.len(), emails.iter_mut().map(|email| apply(email, &kind, &now)).filter(|done| !done).count())
        }
        None => (0, 0),
    };
    if let Some(run) = last_run_mut(job) {
        let failed = total > 0 && errors == total;
        run["status"] = json!(if failed { "FAILED" } else { "COMPLETED" });
        run["completedDate"] = json!(now);
        run["total"] = json!(total);
        run["error"] = json!(errors);
    }
}

fn job_run_kind(job: &Value) -> String {
    let runs = job["quarantineJobRuns"].as_array();
    runs.and_then(|runs| runs.last()?["jobRunType"].as_str()).unwrap_or("QUARANTINE").to_string()
}

/// Applies a run to one email; whether it succeeded.
fn apply(email: &mut Value, kind: &str, now: &str) -> bool {
    let recipient = email["recipientAddress"].as_str().unwrap_or_default().to_string();
    if recipient.to_lowercase().contains("unknown") {
        email["status"] = json!("UNKNOWN_MAILBOX");
        email["errorMessage"] = json!(format!("No primary addresses were found for {}/{recipient}", email["id"]));
        return false;
    }
    let quarantined = email["status"] == "QUARANTINED";
    match kind {
        "RESTORE" if quarantined => email["status"] = json!("RESTORED"),
        "EXPUNGE" if quarantined => email["status"] = json!("EXPUNGED"),
        "RESTORE" | "EXPUNGE" => {
            email["errorMessage"] = json!("The message is not quarantined");
            return false;
        }
        _ => quarantine(email, &recipient, now),
    }
    email["errorMessage"] = Value::Null;
    true
}

fn quarantine(email: &mut Value, recipient: &str, now: &str) {
    // Exchange ids are opaque; derive stable ones from the message and mailbox.
    let seed = format!("{}|{recipient}", email["internetMessageId"].as_str().unwrap_or_default());
    let digest = hex::encode(Md5::digest(seed));
    email["status"] = json!("QUARANTINED");
    email["quarantinedDate"] = json!(now);
    email["ewsMessageId"] = json!(format!("AAMkAD{digest}AAA="));
    email["originalFolderId"] = json!(format!("AAMkAD{}AQ==", &digest[..16]));
}

/// What `POST /quarantineJobs/filter` filters on.
#[derive(Default)]
struct Filter {
    auto_only: bool,
    iocs: Vec<String>,
    sources: Vec<String>,
    include: Vec<String>,
    exclude: Vec<String>,
    modified_after: Option<DateTime<Utc>>,
}

impl Filter {
    fn parse(body: &Value) -> Result<Self, ApiError> {
        let options = &body["filterOptions"];
        let auto_only = match &options["autoQuarantine"] {
            Value::Null => false,
            Value::Bool(b) => *b,
            _ => return Err(ApiError::bad_request("'autoQuarantine' must be a boolean")),
        };
        let modified_after = match &options["modifiedDateAfter"] {
            Value::Null => None,
            Value::String(text) => Some(
                parse_date(text)
                    .ok_or_else(|| ApiError::bad_request(format!("Invalid 'modifiedDateAfter': {text}")))?,
            ),
            _ => return Err(ApiError::bad_request("'modifiedDateAfter' must be a date string")),
        };
        Ok(Self {
            auto_only,
            iocs: string_list(&options["iocs"], "iocs")?,
            sources: string_list(&options["sources"], "sources")?,
            include: status_list(&options["includeStatus"], "includeStatus")?,
            exclude: status_list(&options["excludeStatus"], "excludeStatus")?,
            modified_after,
        })
    }

    fn matches(&self, job: &Value) -> bool {
        let status = job_status(job).unwrap_or_default().to_string();
        let any_of =
            |wanted: &[String], key: &str| wanted.is_empty() || strings(&job[key]).iter().any(|v| wanted.contains(v));
        let modified = job["modifiedDate"].as_str().and_then(parse_date);
        (!self.auto_only || truthy(&job["autoQuarantine"]))
            && any_of(&self.iocs, "matchingIOCs")
            && any_of(&self.sources, "matchingSources")
            && (self.include.is_empty() || self.include.contains(&status))
            && !self.exclude.contains(&status)
            && self.modified_after.is_none_or(|after| modified.is_some_and(|m| m > after))
    }
}

fn status_list(value: &Value, name: &str) -> Result<Vec<String>, ApiError> {
    let statuses = string_list(value, name)?;
    match statuses.iter().find(|s| !STATUSES.contains(&s.as_str())) {
        Some(bad) => {
            Err(ApiError::bad_request(format!("Invalid value '{bad}' in '{name}'; allowed: {}", STATUSES.join(", "))))
        }
        None => Ok(statuses),
    }
}

/// A job id from the path.
fn job_id(text: &str) -> Result<u64, ApiError> {
    text.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "Failed to convert value '{text}' of type 'java.lang.String' to 'java.lang.Long'"
        ))
    })
}

/// `POST /api/v4/quarantineJobs/filter?excludeQuarantineEmails&page&size&sort`.
pub(crate) async fn filter(State(shared): State<Arc<Shared>>, RawQuery(query): RawQuery, body: Bytes) -> Reply {
    let params = Params::new(query.as_deref());
    let exclude_emails = params.bool("excludeQuarantineEmails", false)?;
    let page = params.page()?;
    let sort = params.sort(&SORTABLE)?;
    let filter = Filter::parse(&json_body(&body)?)?;
    let mut jobs: Vec<Value> = {
        let store = shared.jobs.lock().expect("jobs lock");
        store.jobs.iter().filter(|job| filter.matches(job)).cloned().collect()
    };
    sort_items(&mut jobs, &sort, |job, key| match key {
        "stopRequested" => json!(truthy(&job[key])),
        _ => job[key].clone(),
    });
    let mut jobs = page.apply(jobs);
    if exclude_emails {
        jobs.iter_mut().for_each(|job| job["quarantineEmails"] = json!([]));
    }
    ok(&json!({"quarantineJobs": jobs}))
}

/// `POST /api/v4/quarantineJobs` with `{"quarantineEmails": [{internetMessageId, recipientAddress}]}`.
pub(crate) async fn create(State(shared): State<Arc<Shared>>, body: Bytes) -> Reply {
    let body = json_body(&body)?;
    let items = body["quarantineEmails"]
        .as_array()
        .filter(|items| !items.is_empty())
        .ok_or_else(|| ApiError::bad_request("'quarantineEmails' must be a non-empty list"))?;
    let emails = items
        .iter()
        .map(|item| {
            let field = |key: &str| {
                item[key]
                    .as_str()
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(str::to_string)
                    .ok_or_else(|| ApiError::bad_request(format!("Each quarantine email needs '{key}'")))
            };
            Ok((field("internetMessageId")?, field("recipientAddress")?))
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let job = shared.jobs.lock().expect("jobs lock").create(&emails, CofenseSim::CLIENT_ID, None);
    ok(&job)
}

/// `GET /api/v4/quarantineJobs/{id}`.
pub(crate) async fn get(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Reply {
    let job = shared.jobs.lock().expect("jobs lock").get(job_id(&id)?).ok_or(ApiError::NotFound)?;
    ok(&job)
}

/// `DELETE /api/v4/quarantineJobs/{id}`: an empty 200.
pub(crate) async fn delete(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Reply {
    let id = job_id(&id)?;
    let mut store = shared.jobs.lock().expect("jobs lock");
    let index = store.jobs.iter().position(|job| job["id"] == id).ok_or(ApiError::NotFound)?;
    store.jobs.remove(index);
    ok_empty()
}

/// `PUT /api/v4/quarantineJobs/{id}/restore`: starts a RESTORE run of a completed job.
pub(crate) async fn restore(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Reply {
    let id = job_id(&id)?;
    let mut store = shared.jobs.lock().expect("jobs lock");
    let job = store.get_mut(id)?;
    if job_status(job) != Some("COMPLETED") {
        return Err(ApiError::bad_request(format!("Quarantine job {id} must be COMPLETED to be restored")));
    }
    let total = job["quarantineEmails"].as_array().map_or(0, Vec::len);
    let run = store.new_run("RESTORE", "NEW", total);
    let job = store.get_mut(id)?;
    if let Some(runs) = job.get_mut("quarantineJobRuns").and_then(Value::as_array_mut) {
        runs.push(run);
    }
    touch(job, CofenseSim::CLIENT_ID);
    ok_empty()
}

/// `PUT /api/v4/quarantineJobs/{id}/approve[?messageCount=n]`: releases a job
/// waiting for approval.
pub(crate) async fn approve(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Reply {
    let id = job_id(&id)?;
    let params = Params::new(query.as_deref());
    if let Some(count) = params.non_blank("messageCount")
        && count.parse::<u64>().ok().is_none_or(|n| n == 0)
    {
        return Err(ApiError::bad_request(format!("'messageCount' must be a positive integer, not '{count}'")));
    }
    let mut store = shared.jobs.lock().expect("jobs lock");
    let job = store.get_mut(id)?;
    if job_status(job) != Some("PENDING_APPROVAL") {
        return Err(ApiError::bad_request(format!("Quarantine job {id} is not pending approval")));
    }
    if let Some(run) = last_run_mut(job) {
        run["status"] = json!("QUEUED");
    }
    touch(job, CofenseSim::CLIENT_ID);
    ok_empty()
}

/// `PUT /api/v4/quarantineJobs/{id}/stop`: marks the job stopped; answers with it.
pub(crate) async fn stop(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Reply {
    let id = job_id(&id)?;
    let mut store = shared.jobs.lock().expect("jobs lock");
    let job = store.get_mut(id)?;
    job["stopRequested"] = json!(true);
    touch(job, CofenseSim::CLIENT_ID);
    ok(job)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(store: &Store, id: u64) -> String {
        store.get(id).and_then(|job| job_status(&job).map(str::to_string)).unwrap_or_default()
    }

    #[test]
    fn jobs_walk_their_lifecycle() {
        let mut store = Store::default();
        let emails = [("<a@x>".to_string(), "pqr@xyz.com".to_string()), ("<a@x>".into(), "unknown@xyz.com".into())];
        let id = store.create(&emails, "me", None)["id"].as_u64().unwrap_or_default();
        for expected in ["QUEUED", "RUNNING", "COMPLETED", "COMPLETED"] {
            store.advance();
            assert_eq!(status(&store, id), expected);
        }
        let job = store.get(id).unwrap_or_default();
        assert_eq!(job["quarantineEmails"][0]["status"], "QUARANTINED");
        assert_eq!(job["quarantineEmails"][1]["status"], "UNKNOWN_MAILBOX");
        assert_eq!(job["quarantineJobRuns"][0]["error"], 1);
        assert_eq!(job["modifiedBy"], SYSTEM);

        let failing = [("<b@x>".to_string(), "unknown@xyz.com".to_string())];
        let id = store.create(&failing, "me", None)["id"].as_u64().unwrap_or_default();
        (0..3).for_each(|_| store.advance());
        assert_eq!(status(&store, id), "FAILED");

        let auto = store.create(&failing, "me", Some(Matching::default()))["id"].as_u64().unwrap_or_default();
        store.advance();
        assert_eq!(status(&store, auto), "PENDING_APPROVAL");
    }

    #[test]
    fn filters_read_the_latest_run() {
        let mut store = Store::default();
        store.seed(fixture!("stop_quarantine_job.json"));
        let job = store.get(265).unwrap_or_default();
        let only = |body: Value| Filter::parse(&body).map(|f| f.matches(&job)).unwrap_or(false);
        assert!(only(json!({"filterOptions": {"autoQuarantine": false, "includeStatus": ["COMPLETED"]}})));
        assert!(!only(json!({"filterOptions": {"excludeStatus": ["COMPLETED"]}})));
        assert!(!only(json!({"filterOptions": {"autoQuarantine": true}})));
        assert!(only(
            json!({"filterOptions": {"iocs": ["test_ioc_id_1"], "modifiedDateAfter": "2022-07-25T00:00:00Z"}})
        ));
        assert!(Filter::parse(&json!({"filterOptions": {"includeStatus": ["DONE"]}})).is_err());
    }
}

//! The IOC repository (`/iocrepository/v1/iocs`).
//!
//! An IOC is one record shared by every source that submitted it: each source
//! keeps its own `metadata.source` block, while `metadata.quarantine` is common
//! (its `source_names` lists the sources holding the IOC). Reads and deletes see
//! only the IOCs of the source named by `X-Cofense-IOC-Source`.
//!
//! Choices where the API is not documented:
//! - The id of a new IOC is the MD5 hex of `lower(threat_type) + ":" + threat_value`
//!   (the value keeps its case).
//! - `updatedAt` (for `sort`, `since` and `last`) is the repository's own update
//!   time: a seeded IOC's `metadata.source.updated_at`, or the time of the last
//!   change made through the API. Without `sort`, lists keep repository (insertion) order.
//! - `GET /iocs/last` for a source without IOCs answers 200 `{"data": null}`.
//! - `expired` is kept as seeded and recomputed from `expires_at` on every change.
//! - A new IOC without `requested_expiration` expires 14 days after creation.

use super::Shared;
use super::api::{ApiError, Params, Reply, ok, parse_date, sort_items, zoned};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use chrono::{DateTime, Duration, Utc};
use md5::{Digest, Md5};
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// The header naming the IOC source.
const SOURCE_HEADER: &str = "x-cofense-ioc-source";
/// Threat types the repository accepts (compared case-insensitively).
const THREAT_TYPES: [&str; 6] = ["domain", "md5", "sender", "sha256", "subject", "url"];
/// Source of seeded IOCs whose quarantine block names none.
const DEFAULT_SOURCE: &str = "Vision-UI";
/// Lifetime of a new IOC without `requested_expiration`.
const DEFAULT_EXPIRY_DAYS: i64 = 14;

/// Every IOC of every source.
#[derive(Default)]
pub(crate) struct Store {
    records: Vec<Record>,
    clock: u64,
}

struct Record {
    id: String,
    threat_type: String,
    threat_value: String,
    /// `metadata.quarantine` without `source_names`.
    quarantine: Map<String, Value>,
    /// Source name and that source's `metadata.source` (null for some seeds).
    sources: Vec<(String, Value)>,
    updated: DateTime<Utc>,
    /// Breaks ties between equal `updated` times: later changes win.
    tick: u64,
}

impl Record {
    fn has_source(&self, source: &str) -> bool {
        self.sources.iter().any(|(name, _)| name == source)
    }

    /// The IOC as `source` sees it (`None`: with `metadata.source` null).
    fn render(&self, source: Option<&str>) -> Value {
        let source_meta = source
            .and_then(|s| self.sources.iter().find(|(name, _)| name == s))
            .map(|(_, meta)| meta.clone())
            .unwrap_or(Value::Null);
        let mut quarantine = Map::new();
        let names: Vec<&str> = self.sources.iter().map(|(name, _)| name.as_str()).collect();
        quarantine.insert("source_names".into(), json!(names));
        quarantine.extend(self.quarantine.clone());
        json!({
            "id": self.id,
            "type": "ioc",
            "attributes": {"threat_type": self.threat_type, "threat_value": self.threat_value},
            "metadata": {"source": source_meta, "quarantine": quarantine},
        })
    }

    fn order(&self) -> (DateTime<Utc>, u64) {
        (self.updated, self.tick)
    }

    /// Sets `expires_at` and recomputes `expired`.
    fn set_expiry(&mut self, expires: DateTime<Utc>) {
        self.quarantine.insert("expires_at".into(), json!(zoned(expires)));
        self.quarantine.insert("expired".into(), json!(expires <= Utc::now()));
    }
}

/// One validated entry of a bulk update.
struct Submission {
    id: String,
    threat_type: String,
    threat_value: String,
    source_meta: Value,
    expires: Option<DateTime<Utc>>,
}

impl Store {
    /// Adds the IOCs of a fixture body (`{"data": ioc}` or `{"data": [ioc]}`).
    pub(crate) fn seed(&mut self, fixture: &Value) {
        let iocs = match &fixture["data"] {
            Value::Array(items) => items.clone(),
            other => vec![other.clone()],
        };
        iocs.iter().for_each(|ioc| self.seed_one(ioc));
    }

    fn seed_one(&mut self, ioc: &Value) {
        // A fixture repeating an IOC (update_ioc.json after update_iocs.json) adds nothing.
        let Some(id) = ioc["id"].as_str().filter(|id| self.records.iter().all(|r| r.id != *id)) else { return };
        let meta = &ioc["metadata"];
        let mut quarantine = meta["quarantine"].as_object().cloned().unwrap_or_default();
        let mut names = super::api::strings(&quarantine.remove("source_names").unwrap_or(Value::Null));
        if names.is_empty() {
            names.push(DEFAULT_SOURCE.into());
        }
        let updated = [&meta["source"]["updated_at"], &quarantine.get("created_at").cloned().unwrap_or_default()]
            .iter()
            .find_map(|v| v.as_str().and_then(parse_date))
            .unwrap_or_else(Utc::now);
        self.clock += 1;
        let sources = names.into_iter().map(|name| (name, meta["source"].clone())).collect();
        self.records.push(Record {
            id: id.to_string(),
            threat_type: ioc["attributes"]["threat_type"].as_str().unwrap_or_default().to_uppercase(),
            threat_value: ioc["attributes"]["threat_value"].as_str().unwrap_or_default().to_string(),
            quarantine,
            sources,
            updated,
            tick: self.clock,
        });
    }

    /// Every IOC of `source` (expired ones included), in repository order.
    pub(crate) fn of_source(&self, source: &str) -> Vec<Value> {
        self.records.iter().filter(|r| r.has_source(source)).map(|r| r.render(Some(source))).collect()
    }

    /// A rendered IOC by id, with `metadata.source` null (as quarantine jobs embed it).
    pub(crate) fn sourceless(&self, id: &str) -> Option<Value> {
        self.records.iter().find(|r| r.id == id).map(|r| r.render(None))
    }

    fn find_mut(&mut self, id: &str) -> Option<&mut Record> {
        self.records.iter_mut().find(|r| r.id == id)
    }

    fn touch(&mut self, id: &str) {
        self.clock += 1;
        let tick = self.clock;
        if let Some(record) = self.find_mut(id) {
            record.updated = Utc::now();
            record.tick = tick;
        }
    }

    fn upsert(&mut self, source: &str, submission: Submission) -> Value {
        let now = Utc::now();
        if self.find_mut(&submission.id).is_none() {
            let mut record = Record {
                id: submission.id.clone(),
                threat_type: submission.threat_type.clone(),
                threat_value: submission.threat_value.clone(),
                quarantine: new_quarantine(now, submission.threat_value.contains('*')),
                sources: Vec::new(),
                updated: now,
                tick: 0,
            };
            record.set_expiry(submission.expires.unwrap_or(now + Duration::days(DEFAULT_EXPIRY_DAYS)));
            self.records.push(record);
        }
        let id = submission.id.clone();
        let record = self.find_mut(&id).expect("the record was just ensured");
        if let Some(expires) = submission.expires {
            record.set_expiry(expires);
        }
        match record.sources.iter_mut().find(|(name, _)| name == source) {
            Some((_, meta)) => *meta = submission.source_meta,
            None => record.sources.push((source.to_string(), submission.source_meta)),
        }
        self.touch(&id);
        self.records.iter().find(|r| r.id == id).map(|r| r.render(Some(source))).unwrap_or_default()
    }
}

fn new_quarantine(now: DateTime<Utc>, wildcard: bool) -> Map<String, Value> {
    let value = json!({
        "expires_at": null,
        "created_at": zoned(now),
        "first_quarantined_at": null,
        "last_quarantined_at": null,
        "match_count": 0,
        "quarantine_count": 0,
        "expired": false,
        "wildcard": wildcard,
    });
    value.as_object().cloned().unwrap_or_default()
}

/// The required `X-Cofense-IOC-Source` header.
fn source_header(headers: &HeaderMap) -> Result<String, ApiError> {
    headers
        .get(SOURCE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .ok_or_else(|| {
            ApiError::bad_request("Missing request header 'X-Cofense-IOC-Source' for method parameter of type String")
        })
}

fn date_field(value: &Value, name: &str, required: bool) -> Result<Option<DateTime<Utc>>, ApiError> {
    match value {
        Value::Null if !required => Ok(None),
        Value::String(text) => parse_date(text)
            .map(Some)
            .ok_or_else(|| ApiError::bad_request(format!("Invalid date for '{name}': {text}"))),
        _ => Err(ApiError::bad_request(format!("'{name}' is required and must be a date string"))),
    }
}

fn text_field<'a>(value: &'a Value, name: &str) -> Result<&'a str, ApiError> {
    value
        .as_str()
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request(format!("'{name}' is required")))
}

/// The id the repository gives an IOC.
fn ioc_id(threat_type: &str, threat_value: &str) -> String {
    hex::encode(Md5::digest(format!("{}:{threat_value}", threat_type.to_lowercase())))
}

/// Validates one entry of a bulk update.
fn submission(item: &Value) -> Result<Submission, ApiError> {
    if !item["type"].is_null() && item["type"] != "ioc" {
        return Err(ApiError::bad_request("Each entry must have type 'ioc'"));
    }
    let threat_type = text_field(&item["attributes"]["threat_type"], "threat_type")?;
    if !THREAT_TYPES.iter().any(|t| t.eq_ignore_ascii_case(threat_type)) {
        return Err(ApiError::bad_request(format!(
            "Invalid threat_type '{threat_type}'; allowed: {}",
            THREAT_TYPES.join(", ")
        )));
    }
    let threat_value = text_field(&item["attributes"]["threat_value"], "threat_value")?;
    let source = &item["metadata"]["source"];
    let source_id = source["id"].as_str().ok_or_else(|| ApiError::bad_request("'metadata.source.id' is required"))?;
    let threat_level = text_field(&source["threat_level"], "threat_level")?;
    let created = date_field(&source["created_at"], "created_at", true)?.unwrap_or_else(Utc::now);
    let updated = date_field(&source["updated_at"], "updated_at", false)?.unwrap_or_else(Utc::now);
    let expires = date_field(&source["requested_expiration"], "requested_expiration", false)?;
    Ok(Submission {
        id: ioc_id(threat_type, threat_value),
        threat_type: threat_type.to_uppercase(),
        threat_value: threat_value.to_string(),
        source_meta: json!({
            "threat_level": threat_level,
            "id": source_id,
            "created_at": zoned(created),
            "updated_at": zoned(updated),
            "requested_expiration": expires.map(zoned),
        }),
        expires,
    })
}

/// `GET /iocrepository/v1/iocs?page&size&includeExpired&since&sort=updatedAt[,dir]`.
pub(crate) async fn list(State(shared): State<Arc<Shared>>, headers: HeaderMap, RawQuery(query): RawQuery) -> Reply {
    let source = source_header(&headers)?;
    let params = Params::new(query.as_deref());
    let page = params.page()?;
    let include_expired = params.bool("includeExpired", false)?;
    let since = match params.non_blank("since") {
        None => None,
        Some(text) => Some(parse_date(text).ok_or_else(|| ApiError::bad_request(format!("Invalid 'since': {text}")))?),
    };
    let sort = params.sort(&["updatedAt"])?;
    let store = shared.iocs.lock().expect("iocs lock");
    let mut records: Vec<&Record> = store
        .records
        .iter()
        .filter(|r| r.has_source(&source))
        .filter(|r| include_expired || !super::api::truthy(r.quarantine.get("expired").unwrap_or(&Value::Null)))
        .filter(|r| since.is_none_or(|since| r.updated >= since))
        .collect();
    sort_items(&mut records, &sort, |r, _| {
        let (updated, tick) = r.order();
        json!(format!("{}#{tick:020}", updated.format("%Y-%m-%dT%H:%M:%S%.9f")))
    });
    let data: Vec<Value> = page.apply(records).into_iter().map(|r| r.render(Some(&source))).collect();
    ok(&json!({"data": data}))
}

/// `GET /iocrepository/v1/iocs/last`: the source's most recently updated IOC.
pub(crate) async fn last(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Reply {
    let source = source_header(&headers)?;
    let store = shared.iocs.lock().expect("iocs lock");
    let latest = store.records.iter().filter(|r| r.has_source(&source)).max_by_key(|r| r.order());
    ok(&json!({"data": latest.map(|r| r.render(Some(&source)))}))
}

/// `GET /iocrepository/v1/iocs/{id}`.
pub(crate) async fn get(State(shared): State<Arc<Shared>>, headers: HeaderMap, Path(id): Path<String>) -> Reply {
    let source = source_header(&headers)?;
    let store = shared.iocs.lock().expect("iocs lock");
    let record = store.records.iter().find(|r| r.id == id && r.has_source(&source)).ok_or(ApiError::NotFound)?;
    ok(&json!({"data": record.render(Some(&source))}))
}

/// `DELETE /iocrepository/v1/iocs/{id}`: removes the IOC from the source and
/// answers with it as it was.
pub(crate) async fn delete(State(shared): State<Arc<Shared>>, headers: HeaderMap, Path(id): Path<String>) -> Reply {
    let source = source_header(&headers)?;
    let mut store = shared.iocs.lock().expect("iocs lock");
    let index = store.records.iter().position(|r| r.id == id && r.has_source(&source)).ok_or(ApiError::NotFound)?;
    let deleted = store.records[index].render(Some(&source));
    store.records[index].sources.retain(|(name, _)| *name != source);
    if store.records[index].sources.is_empty() {
        store.records.remove(index);
    }
    ok(&json!({"data": deleted}))
}

/// `PUT /iocrepository/v1/iocs/{id}` (no source header): sets `expires_at`.
pub(crate) async fn update_one(State(shared): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> Reply {
    let body = super::api::json_body(&body)?;
    let expires = date_field(&body["data"]["metadata"]["quarantine"]["expires_at"], "expires_at", true)?
        .ok_or_else(|| ApiError::bad_request("'expires_at' is required"))?;
    let mut store = shared.iocs.lock().expect("iocs lock");
    store.find_mut(&id).ok_or(ApiError::NotFound)?.set_expiry(expires);
    store.touch(&id);
    ok(&json!({"data": store.sourceless(&id)}))
}

/// `PUT /iocrepository/v1/iocs`: creates or updates IOCs for the source. Every
/// entry is validated before any is stored.
pub(crate) async fn update_many(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Reply {
    let source = source_header(&headers)?;
    let body = super::api::json_body(&body)?;
    let items = body["data"].as_array().ok_or_else(|| ApiError::bad_request("'data' must be a list of IOCs"))?;
    let submissions = items.iter().map(submission).collect::<Result<Vec<_>, _>>()?;
    let mut store = shared.iocs.lock().expect("iocs lock");
    let data: Vec<Value> = submissions.into_iter().map(|s| store.upsert(&source, s)).collect();
    ok(&json!({"data": data}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_md5_of_type_and_value() {
        assert_eq!(ioc_id("URL", "https://a.example"), hex::encode(Md5::digest("url:https://a.example")));
        assert_eq!(ioc_id("Domain", "x.com"), ioc_id("domain", "x.com"));
    }

    #[test]
    fn seeds_land_in_their_sources() {
        let mut store = Store::default();
        store.seed(&fixture!("list_iocs.json"));
        store.seed(&fixture!("update_ioc.json"));
        assert_eq!(store.of_source("test-source-1").len(), 2);
        let vision = store.of_source("Vision-UI");
        assert_eq!(vision.len(), 1);
        assert_eq!(vision[0]["metadata"]["source"], Value::Null);
        assert_eq!(vision[0]["metadata"]["quarantine"]["source_names"], json!(["Vision-UI"]));
    }
}

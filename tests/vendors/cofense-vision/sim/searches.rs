//! Message searches (`/api/v4/searches`) and how a search matches messages.
//!
//! Matching (every given criterion must hold; an empty search matches all):
//! subjects: a case-insensitive substring of the subject; senders: a `from`
//! address; recipient: a recipient address against a `*` wildcard pattern;
//! attachmentNames: a substring of an attachment name; attachment hashes: ANY or
//! ALL of them among the attachments' MD5/SHA-256; attachmentMimeTypes: an
//! attachment whose (detected) content type starts with one; excluded MIME types:
//! no such attachment; domains: ANY or ALL found in the bodies or addresses;
//! url: a wildcard pattern against the words of the bodies; internetMessageId:
//! exact; received dates: inclusive bounds on `receivedOn`; headers: a header
//! with that name whose value contains one of the values.

use super::api::{ApiError, Params, Reply, json_body, naive_now, ok, parse_date, sort_items, string_list, strings};
use super::{CofenseSim, Shared};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::sync::Arc;

/// Most values a list criterion may hold.
const MAX_VALUES: usize = 3;
/// Fields searches sort on.
const SEARCH_SORT: [&str; 7] =
    ["id", "createdBy", "createdDate", "modifiedBy", "modifiedDate", "receivedAfterDate", "receivedBeforeDate"];
/// Fields results sort on.
const RESULT_SORT: [&str; 9] =
    ["id", "subject", "createdOn", "sentOn", "processedOn", "htmlBody", "md5", "sha1", "sha256"];

/// Every search, oldest first.
#[derive(Default)]
pub(crate) struct Store {
    searches: Vec<Value>,
    last_id: u64,
}

impl Store {
    /// Adds a search from a fixture.
    pub(crate) fn seed(&mut self, search: Value) {
        self.last_id = self.last_id.max(search["id"].as_u64().unwrap_or_default());
        if self.searches.iter().all(|s| s["id"] != search["id"]) {
            self.searches.push(search);
        }
    }

    /// Every search.
    pub(crate) fn all(&self) -> Vec<Value> {
        self.searches.clone()
    }

    fn get(&self, id: u64) -> Option<Value> {
        self.searches.iter().find(|s| s["id"] == id).cloned()
    }

    /// Validates a request body and stores it as a new search.
    fn create(&mut self, body: &Value, by: &str) -> Result<Value, ApiError> {
        if !body.is_object() {
            return Err(ApiError::bad_request("The request body must be a JSON object"));
        }
        let now = naive_now();
        let search = json!({
            "id": self.last_id + 1,
            "createdBy": by,
            "createdDate": now,
            "modifiedBy": by,
            "modifiedDate": now,
            "subjects": limited_list(body, "subjects")?,
            "senders": limited_list(body, "senders")?,
            "recipient": optional_text(body, "recipient")?,
            "attachmentNames": limited_list(body, "attachmentNames")?,
            "attachmentHashCriteria": hash_criteria(&body["attachmentHashCriteria"])?,
            "domainCriteria": domain_criteria(&body["domainCriteria"])?,
            "attachmentMimeTypes": limited_list(body, "attachmentMimeTypes")?,
            "attachmentExcludeMimeTypes": limited_list(body, "attachmentExcludeMimeTypes")?,
            "receivedAfterDate": optional_date(body, "receivedAfterDate")?,
            "receivedBeforeDate": optional_date(body, "receivedBeforeDate")?,
            "url": optional_text(body, "url")?,
            "internetMessageId": optional_text(body, "internetMessageId")?,
            "headers": header_criteria(&body["headers"])?,
            "partialIngest": optional_bool(body, "partialIngest")?,
        });
        self.last_id += 1;
        self.searches.push(search.clone());
        Ok(search)
    }
}

fn too_many(name: &str) -> ApiError {
    ApiError::bad_request(format!("'{name}' accepts at most {MAX_VALUES} values"))
}

/// A list of at most three strings (absent: empty).
fn limited_list(body: &Value, name: &str) -> Result<Vec<String>, ApiError> {
    let list = string_list(&body[name], name)?;
    if list.len() > MAX_VALUES {
        return Err(too_many(name));
    }
    Ok(list)
}

fn optional_text(body: &Value, name: &str) -> Result<Value, ApiError> {
    match &body[name] {
        Value::Null => Ok(Value::Null),
        Value::String(text) => Ok(json!(text)),
        _ => Err(ApiError::bad_request(format!("'{name}' must be a string"))),
    }
}

fn optional_bool(body: &Value, name: &str) -> Result<Value, ApiError> {
    match &body[name] {
        value @ (Value::Null | Value::Bool(_)) => Ok(value.clone()),
        _ => Err(ApiError::bad_request(format!("'{name}' must be a boolean"))),
    }
}

/// A date, stored naive with only the fractions it has (`2022-07-15T00:00:00`).
fn optional_date(body: &Value, name: &str) -> Result<Value, ApiError> {
    match &body[name] {
        Value::Null => Ok(Value::Null),
        Value::String(text) => parse_date(text)
            .map(|date| json!(date.format("%Y-%m-%dT%H:%M:%S%.f").to_string()))
            .ok_or_else(|| ApiError::bad_request(format!("Invalid date for '{name}': {text}"))),
        _ => Err(ApiError::bad_request(format!("'{name}' must be a date string"))),
    }
}

/// `ANY` (default) or `ALL`.
fn match_type(value: &Value, name: &str) -> Result<String, ApiError> {
    match value {
        Value::Null => Ok("ANY".into()),
        Value::String(text) if text == "ANY" || text == "ALL" => Ok(text.clone()),
        _ => Err(ApiError::bad_request(format!("'{name}.type' must be ANY or ALL"))),
    }
}

fn hash_criteria(value: &Value) -> Result<Value, ApiError> {
    let kind = match_type(&value["type"], "attachmentHashCriteria")?;
    let hashes = match &value["attachmentHashes"] {
        Value::Null => Vec::new(),
        Value::Array(items) if items.len() > MAX_VALUES => return Err(too_many("attachmentHashes")),
        Value::Array(items) => items.iter().map(attachment_hash).collect::<Result<_, _>>()?,
        _ => return Err(ApiError::bad_request("'attachmentHashes' must be a list")),
    };
    Ok(json!({"type": kind, "attachmentHashes": hashes}))
}

fn attachment_hash(item: &Value) -> Result<Value, ApiError> {
    let kind = item["hashType"].as_str().unwrap_or_default().to_uppercase();
    let hash = item["hashString"].as_str().unwrap_or_default();
    let length = match kind.as_str() {
        "MD5" => 32,
        "SHA256" => 64,
        _ => return Err(ApiError::bad_request("'hashType' must be MD5 or SHA256")),
    };
    if hash.len() != length || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::bad_request(format!("'{hash}' is not a valid {kind} hash")));
    }
    Ok(json!({"hashType": kind, "hashString": hash}))
}

fn domain_criteria(value: &Value) -> Result<Value, ApiError> {
    Ok(json!({
        "type": match_type(&value["type"], "domainCriteria")?,
        "domains": limited_list(value, "domains")?,
        "whiteListUrls": string_list(&value["whiteListUrls"], "whiteListUrls")?,
    }))
}

fn header_criteria(value: &Value) -> Result<Vec<Value>, ApiError> {
    let items = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) if items.len() > MAX_VALUES => return Err(too_many("headers")),
        Value::Array(items) => items,
        _ => return Err(ApiError::bad_request("'headers' must be a list")),
    };
    items
        .iter()
        .map(|item| {
            let key = item["key"].as_str().filter(|k| !k.trim().is_empty());
            let values = string_list(&item["values"], "headers.values")?;
            match key {
                Some(key) if !values.is_empty() => Ok(json!({"key": key, "values": values})),
                _ => Err(ApiError::bad_request("Each header needs a 'key' and at least one value")),
            }
        })
        .collect()
}

/// Whether `message` satisfies every criterion of `search`.
pub(crate) fn matches(search: &Value, message: &Value) -> bool {
    let checks: [fn(&Value, &Value) -> bool; 12] = [
        subjects_match,
        senders_match,
        recipient_matches,
        names_match,
        hashes_match,
        mime_types_match,
        no_excluded_mime_type,
        domains_match,
        url_matches,
        message_id_matches,
        dates_match,
        headers_match,
    ];
    checks.iter().all(|check| check(search, message))
}

fn lower(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_lowercase()
}

/// An address without its angle brackets, lower-cased.
fn address(value: &Value) -> String {
    lower(value).trim().trim_start_matches('<').trim_end_matches('>').to_string()
}

fn items<'a>(message: &'a Value, key: &str) -> &'a [Value] {
    message[key].as_array().map(Vec::as_slice).unwrap_or_default()
}

fn subjects_match(search: &Value, message: &Value) -> bool {
    let subject = lower(&message["subject"]);
    let wanted = strings(&search["subjects"]);
    wanted.is_empty() || wanted.iter().any(|s| subject.contains(&s.to_lowercase()))
}

fn senders_match(search: &Value, message: &Value) -> bool {
    let wanted = strings(&search["senders"]);
    wanted.is_empty()
        || items(message, "from").iter().any(|f| wanted.iter().any(|w| address(&f["address"]) == w.to_lowercase()))
}

fn recipient_matches(search: &Value, message: &Value) -> bool {
    match search["recipient"].as_str().filter(|r| !r.is_empty()) {
        None => true,
        Some(pattern) => items(message, "recipients").iter().any(|r| glob(pattern, &address(&r["address"]))),
    }
}

fn names_match(search: &Value, message: &Value) -> bool {
    let wanted = strings(&search["attachmentNames"]);
    wanted.is_empty()
        || items(message, "attachments")
            .iter()
            .any(|a| wanted.iter().any(|w| lower(&a["filename"]).contains(&w.to_lowercase())))
}

fn hashes_match(search: &Value, message: &Value) -> bool {
    let criteria = &search["attachmentHashCriteria"];
    let hashes = items(criteria, "attachmentHashes");
    let found = |hash: &Value| {
        let field = if hash["hashType"] == "SHA256" { "sha256" } else { "md5" };
        items(message, "attachments").iter().any(|a| lower(&a[field]) == lower(&hash["hashString"]))
    };
    match criteria["type"].as_str() {
        _ if hashes.is_empty() => true,
        Some("ALL") => hashes.iter().all(found),
        _ => hashes.iter().any(found),
    }
}

/// Whether an attachment's declared or detected type starts with one of `types`.
fn has_mime_type(message: &Value, types: &[String]) -> bool {
    items(message, "attachments").iter().any(|a| {
        [lower(&a["contentType"]), lower(&a["detectedContentType"])]
            .iter()
            .any(|t| !t.is_empty() && types.iter().any(|w| t.starts_with(&w.to_lowercase())))
    })
}

fn mime_types_match(search: &Value, message: &Value) -> bool {
    let wanted = strings(&search["attachmentMimeTypes"]);
    wanted.is_empty() || has_mime_type(message, &wanted)
}

fn no_excluded_mime_type(search: &Value, message: &Value) -> bool {
    let excluded = strings(&search["attachmentExcludeMimeTypes"]);
    excluded.is_empty() || !has_mime_type(message, &excluded)
}

/// The text domains and URLs are looked for in.
fn searchable_text(message: &Value) -> String {
    let addresses =
        ["from", "recipients"].into_iter().flat_map(|key| items(message, key)).map(|a| address(&a["address"]));
    [lower(&message["textBody"]), lower(&message["htmlBody"])]
        .into_iter()
        .chain(addresses)
        .collect::<Vec<_>>()
        .join(" ")
}

fn domains_match(search: &Value, message: &Value) -> bool {
    let criteria = &search["domainCriteria"];
    let domains = strings(&criteria["domains"]);
    let text = searchable_text(message);
    let found = |d: &String| text.contains(&d.to_lowercase());
    match criteria["type"].as_str() {
        _ if domains.is_empty() => true,
        Some("ALL") => domains.iter().all(found),
        _ => domains.iter().any(found),
    }
}

fn url_matches(search: &Value, message: &Value) -> bool {
    match search["url"].as_str().filter(|u| !u.is_empty()) {
        None => true,
        Some(pattern) => searchable_text(message)
            .split(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>'))
            .any(|word| glob(pattern, word)),
    }
}

fn message_id_matches(search: &Value, message: &Value) -> bool {
    search["internetMessageId"].as_str().filter(|id| !id.is_empty()).is_none_or(|id| message["internetMessageId"] == id)
}

fn dates_match(search: &Value, message: &Value) -> bool {
    let date = |value: &Value| value.as_str().and_then(parse_date);
    let received: Option<DateTime<Utc>> = date(&message["receivedOn"]);
    let after = date(&search["receivedAfterDate"]);
    let before = date(&search["receivedBeforeDate"]);
    after.is_none_or(|after| received.is_some_and(|r| r >= after))
        && before.is_none_or(|before| received.is_some_and(|r| r <= before))
}

fn headers_match(search: &Value, message: &Value) -> bool {
    items(search, "headers").iter().all(|criterion| {
        let key = lower(&criterion["key"]);
        let values = strings(&criterion["values"]);
        items(message, "headers")
            .iter()
            .any(|h| lower(&h["name"]) == key && values.iter().any(|v| lower(&h["value"]).contains(&v.to_lowercase())))
    })
}

/// Case-insensitive match of `text` against `pattern`, where `*` matches any run of characters.
fn glob(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.to_lowercase().chars().collect();
    let text: Vec<char> = text.to_lowercase().chars().collect();
    let (mut p, mut t) = (0, 0);
    // Where the last `*` was and how much of the text it has swallowed so far.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((star_p, star_t)) = star {
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

/// A search id from the path.
fn search_id(text: &str) -> Result<u64, ApiError> {
    text.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "Failed to convert value '{text}' of type 'java.lang.String' to 'java.lang.Long'"
        ))
    })
}

/// `GET /api/v4/searches?page&size&sort`.
pub(crate) async fn list(State(shared): State<Arc<Shared>>, RawQuery(query): RawQuery) -> Reply {
    let params = Params::new(query.as_deref());
    let page = params.page()?;
    let sort = params.sort(&SEARCH_SORT)?;
    let mut searches = shared.searches.lock().expect("searches lock").all();
    sort_items(&mut searches, &sort, |search, key| search[key].clone());
    ok(&json!({"searches": page.apply(searches)}))
}

/// `POST /api/v4/searches`: answers with the stored search.
pub(crate) async fn create(State(shared): State<Arc<Shared>>, body: Bytes) -> Reply {
    let body = json_body(&body)?;
    let search = shared.searches.lock().expect("searches lock").create(&body, CofenseSim::CLIENT_ID)?;
    ok(&search)
}

/// `GET /api/v4/searches/{id}`.
pub(crate) async fn get(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Reply {
    let search = shared.searches.lock().expect("searches lock").get(search_id(&id)?).ok_or(ApiError::NotFound)?;
    ok(&search)
}

/// `GET /api/v4/searches/{id}/results?page&size&sort`: the matching messages and the search.
pub(crate) async fn results(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Reply {
    let params = Params::new(query.as_deref());
    let page = params.page()?;
    let sort = params.sort(&RESULT_SORT)?;
    let search = shared.searches.lock().expect("searches lock").get(search_id(&id)?).ok_or(ApiError::NotFound)?;
    let mut messages: Vec<Value> = shared.mail.messages().into_iter().filter(|m| matches(&search, m)).collect();
    // The API sorts on `createdOn`, which responses call `receivedOn`.
    sort_items(&mut messages, &sort, |message, key| match key {
        "createdOn" => message["receivedOn"].clone(),
        _ => message[key].clone(),
    });
    ok(&json!({"messages": page.apply(messages), "search": search}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_like_vision() {
        assert!(glob("*@xyz.com", "pqr@xyz.com"));
        assert!(glob("p*r@*", "PQR@xyz.com"));
        assert!(glob("*", ""));
        assert!(!glob("abc@*", "pqr@xyz.com"));
        assert!(glob("https://*.example.com/*", "https://a.b.example.com/x"));
    }

    #[test]
    fn new_searches_are_normalised_and_limited() {
        let mut store = Store::default();
        store.seed(json!({"id": 133}));
        let search = store
            .create(&json!({"subjects": ["a"], "receivedAfterDate": "2022-07-15T00:00:00.000000Z"}), "me")
            .unwrap_or_default();
        assert_eq!(search["id"], 134);
        assert_eq!(search["receivedAfterDate"], "2022-07-15T00:00:00");
        assert_eq!(search["domainCriteria"], json!({"type": "ANY", "domains": [], "whiteListUrls": []}));
        assert_eq!(search["partialIngest"], Value::Null);
        assert!(store.create(&json!({"senders": ["a", "b", "c", "d"]}), "me").is_err());
        let bad_hash = json!([{"hashType": "md5", "hashString": "zz"}]);
        let hashes = json!({"attachmentHashCriteria": {"type": "ALL", "attachmentHashes": bad_hash}});
        assert!(store.create(&hashes, "me").is_err());
    }
}

//! What every Cofense route shares: Vision's error bodies, query parsing
//! (paging, Spring-style `sort`, Python-style booleans), JSON bodies and dates.

use crate::sim::{decode_query, json_response};
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::{Value, json};
use std::cmp::Ordering;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};

/// What a handler returns: a response, or an error rendered as Vision renders it.
pub(crate) type Reply = Result<Response, ApiError>;

/// A failed request, rendered as Vision's `{"status", "message", "details"}` body.
#[derive(Debug)]
pub(crate) enum ApiError {
    /// 400 with a message and details.
    BadRequest { message: String, details: Vec<String> },
    /// 404 "Object not found".
    NotFound,
}

impl ApiError {
    /// A 400 whose single detail repeats the message.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        let message = message.into();
        Self::BadRequest { details: vec![message.clone()], message }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::BadRequest { message, details } => bad_request_response(&message, &details),
            Self::NotFound => not_found_response(),
        }
    }
}

/// Vision's 404 body.
pub(crate) fn not_found_response() -> Response {
    json_response(
        StatusCode::NOT_FOUND,
        &json!({
            "status": "NOT_FOUND",
            "message": "Object not found",
            "details": ["Unable to find the requested object"],
        }),
    )
}

fn bad_request_response(message: &str, details: &[String]) -> Response {
    json_response(StatusCode::BAD_REQUEST, &json!({"status": "BAD_REQUEST", "message": message, "details": details}))
}

/// 405 for a known path with the wrong method, in Vision's error shape.
pub(crate) async fn method_not_allowed() -> Response {
    json_response(
        StatusCode::METHOD_NOT_ALLOWED,
        &json!({"status": "METHOD_NOT_ALLOWED", "message": "Request method not supported", "details": []}),
    )
}

/// 404 for every unknown path.
pub(crate) async fn unknown_path() -> Response {
    not_found_response()
}

/// 200 with a JSON body.
pub(crate) fn ok(body: &Value) -> Reply {
    Ok(json_response(StatusCode::OK, body))
}

/// 200 with an empty body, which is how Vision acknowledges deletes, restores and approvals.
pub(crate) fn ok_empty() -> Reply {
    Ok(StatusCode::OK.into_response())
}

/// Parses a JSON request body; an empty body counts as `null`.
pub(crate) fn json_body(body: &Bytes) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(body).map_err(|err| ApiError::BadRequest {
        message: "Malformed JSON request".into(),
        details: vec![format!("JSON parse error: {err}")],
    })
}

/// The decoded query of a request.
pub(crate) struct Params(Vec<(String, String)>);

/// One `sort` key: a field and whether it sorts descending.
pub(crate) type SortKey = (String, bool);

/// Largest page size Vision accepts.
const MAX_PAGE_SIZE: usize = 2000;
/// Page size when the request names none.
const DEFAULT_PAGE_SIZE: usize = 50;

impl Params {
    /// Decodes a raw query string (absent: no parameters).
    pub(crate) fn new(raw: Option<&str>) -> Self {
        Self(raw.map(decode_query).unwrap_or_default())
    }

    /// The first value of `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// The first non-blank value of `key`.
    pub(crate) fn non_blank(&self, key: &str) -> Option<&str> {
        self.get(key).map(str::trim).filter(|v| !v.is_empty())
    }

    /// A required non-blank parameter, or Spring's "missing parameter" 400.
    pub(crate) fn required(&self, key: &str) -> Result<&str, ApiError> {
        self.non_blank(key).ok_or_else(|| {
            ApiError::bad_request(format!(
                "Required request parameter '{key}' for method parameter type String is not present"
            ))
        })
    }

    /// A boolean parameter. Python clients send `True`/`False`, so the case is ignored.
    pub(crate) fn bool(&self, key: &str, default: bool) -> Result<bool, ApiError> {
        match self.non_blank(key) {
            None => Ok(default),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(v) => Err(ApiError::bad_request(format!("Invalid boolean value '{v}' for parameter '{key}'"))),
        }
    }

    /// `page` (≥ 0, default 0) and `size` (1..=2000, default 50).
    pub(crate) fn page(&self) -> Result<Page, ApiError> {
        let number = |key: &str, default: usize| match self.non_blank(key) {
            None => Ok(default),
            Some(v) => {
                v.parse::<usize>().map_err(|_| ApiError::bad_request(format!("Invalid value '{v}' for '{key}'")))
            }
        };
        let page = number("page", 0)?;
        let size = number("size", DEFAULT_PAGE_SIZE)?;
        if !(1..=MAX_PAGE_SIZE).contains(&size) {
            return Err(ApiError::bad_request(format!("Page size must be between 1 and {MAX_PAGE_SIZE}")));
        }
        Ok(Page { page, size })
    }

    /// Every `sort=field[,asc|desc]` value, checked against `allowed`.
    pub(crate) fn sort(&self, allowed: &[&str]) -> Result<Vec<SortKey>, ApiError> {
        self.0.iter().filter(|(k, _)| k == "sort").map(|(_, v)| sort_key(v, allowed)).collect()
    }
}

fn sort_key(value: &str, allowed: &[&str]) -> Result<SortKey, ApiError> {
    let mut parts = value.split(',').map(str::trim);
    let field = parts.next().unwrap_or_default();
    if !allowed.contains(&field) {
        return Err(ApiError::bad_request(format!("Invalid sort property '{field}'; allowed: {}", allowed.join(", "))));
    }
    // Spring reads the direction case-insensitively.
    let descending = match parts.next() {
        None => false,
        Some(order) if order.eq_ignore_ascii_case("asc") => false,
        Some(order) if order.eq_ignore_ascii_case("desc") => true,
        Some(order) => return Err(ApiError::bad_request(format!("Invalid sort direction '{order}'"))),
    };
    if parts.next().is_some() {
        return Err(ApiError::bad_request(format!("Invalid sort value '{value}'")));
    }
    Ok((field.to_string(), descending))
}

/// A page of a listing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Page {
    page: usize,
    size: usize,
}

impl Page {
    /// The items of this page.
    pub(crate) fn apply<T>(&self, items: Vec<T>) -> Vec<T> {
        items.into_iter().skip(self.page.saturating_mul(self.size)).take(self.size).collect()
    }
}

/// Sorts `items` by `keys` (stable, so unsorted ties keep their order);
/// `field` reads a sort field's value from an item.
pub(crate) fn sort_items<T>(items: &mut [T], keys: &[SortKey], field: impl Fn(&T, &str) -> Value) {
    if keys.is_empty() {
        return;
    }
    items.sort_by(|a, b| {
        keys.iter()
            .map(|(name, descending)| {
                let order = compare_json(&field(a, name), &field(b, name));
                if *descending { order.reverse() } else { order }
            })
            .find(|order| order.is_ne())
            .unwrap_or(Ordering::Equal)
    });
}

/// Orders JSON scalars: nulls first, then booleans, numbers and strings.
pub(crate) fn compare_json(a: &Value, b: &Value) -> Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::Number(_) => 2,
            Value::String(_) => 3,
            Value::Array(_) | Value::Object(_) => 4,
        }
    }
    match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Number(x), Value::Number(y)) => {
            x.as_f64().unwrap_or_default().partial_cmp(&y.as_f64().unwrap_or_default()).unwrap_or(Ordering::Equal)
        }
        (Value::String(x), Value::String(y)) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}

/// Reads a boolean that may be a JSON boolean or the string "True"/"False"
/// (some captured Vision bodies carry the strings).
pub(crate) fn truthy(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        Value::String(s) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// The strings of a JSON array (non-strings skipped; anything else: none).
pub(crate) fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| items.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// A request field that must be a list of strings (absent: empty), as Vision
/// checks it.
pub(crate) fn string_list(value: &Value, name: &str) -> Result<Vec<String>, ApiError> {
    match value {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) if items.iter().all(Value::is_string) => Ok(strings(value)),
        _ => Err(ApiError::bad_request(format!("'{name}' must be a list of strings"))),
    }
}

/// Parses the date forms Vision accepts: zoned (`Z`, `+00:00`, `+0000`), unzoned
/// (naive, read as UTC), with or without fractions or seconds, a bare date, or
/// epoch milliseconds.
pub(crate) fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return DateTime::from_timestamp_millis(text.parse().ok()?);
    }
    if let Ok(zoned) = DateTime::parse_from_rfc3339(text) {
        return Some(zoned.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M%z"] {
        if let Ok(zoned) = DateTime::parse_from_str(text, format) {
            return Some(zoned.with_timezone(&Utc));
        }
    }
    let naive = text.strip_suffix('Z').unwrap_or(text);
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M"] {
        if let Ok(parsed) = NaiveDateTime::parse_from_str(naive, format) {
            return Some(parsed.and_utc());
        }
    }
    NaiveDate::parse_from_str(naive, "%Y-%m-%d").ok()?.and_hms_opt(0, 0, 0).map(|d| d.and_utc())
}

/// A date as the IOC repository writes it: `2022-07-12T19:37:39.801+00:00`.
pub(crate) fn zoned(date: DateTime<Utc>) -> String {
    date.format("%Y-%m-%dT%H:%M:%S%.3f+00:00").to_string()
}

/// A date as the Vision API writes it: naive, microseconds (`2022-07-07T07:35:28.403647`).
pub(crate) fn naive(date: DateTime<Utc>) -> String {
    date.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

/// The current time as [`naive`] writes it.
pub(crate) fn naive_now() -> String {
    naive(Utc::now())
}

/// `bytes` random bytes as lower-case hex. Tokens only need to be unguessable
/// within a test run, so the std hasher's random keys are enough.
pub(crate) fn random_hex(bytes: usize) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut out = String::with_capacity(bytes * 2);
    while out.len() < bytes * 2 {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(COUNTER.fetch_add(1, AtomicOrdering::Relaxed));
        hasher.write_i64(Utc::now().timestamp_nanos_opt().unwrap_or_default());
        out.push_str(&format!("{:016x}", hasher.finish()));
    }
    out.truncate(bytes * 2);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_in_every_accepted_form() {
        let expected = "2022-04-17T14:05:44.000+00:00";
        for text in [
            "2022-04-17T14:05:44.000000Z",
            "2022-04-17T14:05:44Z",
            "2022-04-17T14:05:44.000+00:00",
            "2022-04-17T14:05:44+0000",
            "2022-04-17T14:05:44",
            "2022-04-17T16:05:44+02:00",
        ] {
            assert_eq!(parse_date(text).map(zoned).as_deref(), Some(expected), "{text}");
        }
        assert_eq!(parse_date("2022-04-17T14:05").map(zoned).as_deref(), Some("2022-04-17T14:05:00.000+00:00"));
        assert_eq!(parse_date("2020-08-31").map(zoned).as_deref(), Some("2020-08-31T00:00:00.000+00:00"));
        assert_eq!(parse_date("0").map(zoned).as_deref(), Some("1970-01-01T00:00:00.000+00:00"));
        assert_eq!(parse_date("yesterday"), None);
    }

    #[test]
    fn sort_keys_are_checked() {
        let params = Params::new(Some("sort=updatedAt%2Cdesc&sort=id"));
        assert_eq!(
            params.sort(&["updatedAt", "id"]).ok(),
            Some(vec![("updatedAt".into(), true), ("id".into(), false)])
        );
        assert!(params.sort(&["id"]).is_err());
        assert!(Params::new(Some("sort=id,sideways")).sort(&["id"]).is_err());
    }

    #[test]
    fn random_hex_has_the_requested_length() {
        let a = random_hex(16);
        assert_eq!(a.len(), 32);
        assert_ne!(a, random_hex(16));
    }
}

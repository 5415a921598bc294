//! A ThreatConnect v3 API simulator: HMAC-authenticated `security/owners` and `indicators` (TQL, paging,
//! sorting, `fields`, create-or-update), seeded with indicators of every type the connector maps to CEF.
//!
//! ```text
//! GET  {root}/security/owners            the owners of list_owners.json
//! GET  {root}/indicators                 tql, fields (repeated), resultStart, resultLimit, sorting, owner
//! GET  {root}/indicators/{id|summary}    one indicator; fields, owner
//! POST {root}/indicators                 create, or update the same type + summary in the owner; fields, owner
//! ```
//!
//! `root` is `{prefix}/v3`. Every route checks the HMAC signature first (see [`auth`]); the framework's
//! `/__sim/` control routes do not.

pub mod auth;
mod input;
mod seed;
mod store;
#[cfg(test)]
mod tests;
pub mod tql;

use super::{Server, Simulator, Transport, decode_query, json_response};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use store::{FieldSet, Owner, Selection, Sort, Store};

const LIST_OWNERS: &str =
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/vendors/threatconnect/fixtures/list_owners.json"));

/// `resultLimit` when none is given.
pub const DEFAULT_RESULT_LIMIT: usize = 100;
/// The largest `resultLimit` the API accepts.
pub const MAX_RESULT_LIMIT: usize = 10_000;

/// A running ThreatConnect simulator; it stops when dropped.
pub struct ThreatConnectSim {
    server: Server,
    shared: Arc<Shared>,
    prefix: String,
}

/// This vendor's simulator, for the registry.
pub type Sim = ThreatConnectSim;

impl Simulator for ThreatConnectSim {
    const CONNECTOR: &'static str = "threatconnect";
    const PRODUCT: &'static str = "ThreatConnect";

    async fn start_on(port: u16, transport: Transport) -> std::io::Result<Self> {
        Self::start_over("", port, transport).await
    }

    fn server(&self) -> &Server {
        &self.server
    }

    fn asset_toml(&self) -> String {
        self.asset_toml()
    }
}

impl ThreatConnectSim {
    /// The access id of the simulated API user.
    pub const ACCESS_ID: &'static str = "12345678901234567890";
    /// The secret key of the simulated API user.
    pub const SECRET_KEY: &'static str = "tc-secret-key-abcdef";

    /// API root `/v3` (base_url has no path), free port, seeded data.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with("", 0).await
    }

    /// API root `{prefix}/v3` (e.g. prefix "/api"), on `port` (0 = free).
    pub async fn start_with(prefix: &str, port: u16) -> std::io::Result<Self> {
        Self::start_over(prefix, port, Transport::Http).await
    }

    /// [`Self::start_with`] over `transport` (HTTPS, say).
    pub async fn start_over(prefix: &str, port: u16, transport: Transport) -> std::io::Result<Self> {
        let prefix = normalize_prefix(prefix);
        let shared = Arc::new(Shared::new(format!("{prefix}/v3")));
        let server = Server::start_with(router(shared.clone()), port, transport).await?;
        // Links in responses point at the server, which only now has its port.
        let _ = shared.origin.set(server.base_url());
        Ok(Self { server, shared, prefix })
    }

    /// The underlying server (request record, fault injection).
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// `http://127.0.0.1:<port>` plus the prefix, i.e. what users put in `base_url`.
    pub fn base_url(&self) -> String {
        format!("{}{}", self.server.base_url(), self.prefix)
    }

    /// The API root, `{base_url}/v3`.
    pub fn api_root(&self) -> String {
        format!("{}/v3", self.base_url())
    }

    /// An asset file (TOML): base_url, access_id, secret_key (and nothing else).
    pub fn asset_toml(&self) -> String {
        format!(
            "base_url = {}\naccess_id = {}\nsecret_key = {}\n",
            toml_string(&self.base_url()),
            toml_string(Self::ACCESS_ID),
            toml_string(Self::SECRET_KEY)
        )
    }

    /// The `Authorization` header a client with the simulator's credentials sends for `method` on
    /// `path_and_query` (raw, as on the request line) at `timestamp` (Unix seconds, also sent as `Timestamp`).
    pub fn authorization(method: &str, path_and_query: &str, timestamp: i64) -> String {
        auth::authorization(Self::ACCESS_ID, Self::SECRET_KEY, method, path_and_query, timestamp)
    }

    /// The simulator's clock (the real clock plus [`Self::set_clock_offset`]).
    pub fn now(&self) -> DateTime<Utc> {
        self.shared.now()
    }

    /// Adds an indicator (a v3 indicator JSON object without id/dateAdded/webLink...: those are
    /// assigned unless given); returns the stored object.
    ///
    /// Only `type` is required; the value fields (`ip`, `hostName`, `AS Number`...) are derived from
    /// `summary` and vice versa, the owner defaults to "Demo Organization" (`ownerName` or `ownerId` pick
    /// another), and sub-collections (`tags`, `attributes`, `securityLabels`, `associatedGroups`, each
    /// `{"data": [...]}`) get ids. An indicator with the id of an existing one replaces it.
    ///
    /// # Panics
    /// If `indicator` is not an object with a `type` and a summary or value field.
    pub fn add_indicator(&self, indicator: Value) -> Value {
        let now = self.shared.now().timestamp();
        let mut store = self.shared.store();
        let indicator = input::from_json(&mut store, &self.shared.owners, indicator, now);
        let json = indicator.to_json(FieldSet::all(), self.shared.origin());
        store.insert(indicator);
        json
    }

    /// Adds `count` generated indicators of mixed types (cycling through every type below) with
    /// `dateAdded` = `start` + i * `step` (step may be zero: many in one second), for benchmarks
    /// and polling tests; must handle 100,000 quickly.
    ///
    /// The types cycle through Address (IPv4, then IPv6), EmailAddress, File (md5 only, then all three
    /// hashes), Host, URL, CIDR, Mutex, Registry Key, ASN and User Agent; owners change every 12.
    /// Ids keep increasing, so the default order (newest id first) lists the last generated first.
    pub fn generate_indicators(&self, count: usize, start: DateTime<Utc>, step: chrono::Duration) {
        let mut store = self.shared.store();
        seed::generate(&mut store, &self.shared.owners, count, start.timestamp_millis(), step.num_milliseconds());
    }

    /// Removes every indicator (seeded ones included).
    pub fn clear_indicators(&self) {
        self.shared.store().clear();
    }

    /// Every stored indicator, inactive ones included, lowest id first, with all sub-collections.
    pub fn indicators(&self) -> Vec<Value> {
        let store = self.shared.store();
        store.all().map(|indicator| indicator.to_json(FieldSet::all(), self.shared.origin())).collect()
    }

    /// How many requests failed authentication (bad signature, stale timestamp, missing header).
    pub fn auth_failures(&self) -> usize {
        self.shared.auth_failures.load(Ordering::SeqCst)
    }

    /// Makes the indicator list misbehave as `hostility` says (from the next request on).
    pub fn set_hostility(&self, hostility: Hostility) {
        *self.shared.hostility.lock().expect("hostility lock") = hostility;
    }

    /// Shifts the simulator's clock (to test the timestamp window).
    pub fn set_clock_offset(&self, offset: chrono::Duration) {
        *self.shared.clock_offset.lock().expect("clock lock") = offset;
    }
}

/// `"api/"` → `"/api"`; `""` and `"/"` → `""`.
fn normalize_prefix(prefix: &str) -> String {
    let trimmed = prefix.trim_matches('/');
    if trimmed.is_empty() { String::new() } else { format!("/{trimmed}") }
}

fn toml_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// What the handlers share.
struct Shared {
    /// `{prefix}/v3`.
    root: String,
    credentials: auth::Credentials,
    owners_body: Value,
    /// The API user's organization first: it is where indicators go when no owner is named.
    owners: Vec<Owner>,
    /// `http://127.0.0.1:<port>`, set once the server listens.
    origin: OnceLock<String>,
    clock_offset: Mutex<chrono::Duration>,
    auth_failures: AtomicUsize,
    store: Mutex<Store>,
    hostility: Mutex<Hostility>,
}

/// Ways the indicator list can misbehave, as a hostile or broken ThreatConnect
/// would, for testing that a client does not trust what it is told.
#[derive(Debug, Clone, Default)]
pub struct Hostility {
    /// Report this `count` instead of the real one; `Some(None)` leaves it out.
    pub count: Option<Option<u64>>,
    /// List oldest first, whatever `sorting` asks.
    pub oldest_first: bool,
    /// Always link a `next` page; past the end, serve the last page again.
    pub endless: bool,
    /// Text replacements applied to every list response body as sent (to
    /// send what serde cannot: a lone surrogate, an id of another type...).
    pub rewrites: Vec<(String, String)>,
}

impl Shared {
    fn new(root: String) -> Self {
        let owners_body: Value = serde_json::from_str(LIST_OWNERS).expect("list_owners.json is JSON");
        let owners = owners_of(&owners_body);
        let mut store = Store::default();
        seed::seed(&mut store, &owners, Utc::now().timestamp());
        Self {
            root,
            credentials: auth::Credentials {
                access_id: ThreatConnectSim::ACCESS_ID.into(),
                secret_key: ThreatConnectSim::SECRET_KEY.into(),
            },
            owners_body,
            owners,
            origin: OnceLock::new(),
            clock_offset: Mutex::new(chrono::Duration::zero()),
            auth_failures: AtomicUsize::new(0),
            store: Mutex::new(store),
            hostility: Mutex::default(),
        }
    }

    fn now(&self) -> DateTime<Utc> {
        let offset = *self.clock_offset.lock().expect("clock lock");
        let now = Utc::now();
        now.checked_add_signed(offset).unwrap_or(now)
    }

    fn origin(&self) -> &str {
        self.origin.get().map_or("http://127.0.0.1", String::as_str)
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().expect("store lock")
    }

    /// The owner a request names (by name, or by id), or the API user's organization when it names none.
    fn owner(&self, name: Option<&str>) -> Result<Owner, ApiError> {
        let Some(name) = name else {
            return Ok(self.owners[0].clone());
        };
        let found = self.owners.iter().find(|owner| owner.name == name || owner.id.to_string() == name);
        found.cloned().ok_or_else(|| ApiError::forbidden(format!("Owner '{name}' does not exist or is not accessible")))
    }
}

/// The owners of the fixture, organizations first.
fn owners_of(body: &Value) -> Vec<Owner> {
    let items = body["data"].as_array().cloned().unwrap_or_default();
    let mut owners: Vec<(bool, Owner)> = items
        .iter()
        .filter_map(|item| {
            let owner = Owner { id: item["id"].as_u64()?, name: item["name"].as_str()?.to_string() };
            Some((item["type"] != "Organization", owner))
        })
        .collect();
    owners.sort_by_key(|(not_organization, _)| *not_organization);
    owners.into_iter().map(|(_, owner)| owner).collect()
}

fn router(shared: Arc<Shared>) -> Router {
    let root = shared.root.clone();
    Router::new()
        .route(&format!("{root}/security/owners"), get(list_owners))
        .route(&format!("{root}/indicators"), get(list_indicators).post(post_indicator))
        .route(&format!("{root}/indicators/{{key}}"), get(get_indicator))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(shared.clone(), authenticate))
        .with_state(shared)
}

/// A v3 error: `{"errCode": ..., "message": ..., "status": "Error"}`.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn bad_request(message: impl Into<String>) -> Self {
        Self { status: StatusCode::BAD_REQUEST, code: "0x1002", message: message.into() }
    }

    fn forbidden(message: impl Into<String>) -> Self {
        Self { status: StatusCode::FORBIDDEN, code: "0x1001", message: message.into() }
    }

    fn not_found(message: impl Into<String>) -> Self {
        Self { status: StatusCode::NOT_FOUND, code: "0x1003", message: message.into() }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json_response(self.status, &json!({"errCode": self.code, "message": self.message, "status": "Error"}))
    }
}

/// Checks the HMAC signature over the request target exactly as received.
async fn authenticate(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let uri = request.uri();
    let target = uri.path_and_query().map_or_else(|| uri.path(), |target| target.as_str());
    let now = shared.now().timestamp();
    match shared.credentials.verify(request.headers(), request.method().as_str(), target, now) {
        Ok(()) => next.run(request).await,
        Err(error) => {
            shared.auth_failures.fetch_add(1, Ordering::SeqCst);
            let body = json!({"errCode": "0x1001", "message": error.message(), "status": "Error"});
            json_response(StatusCode::UNAUTHORIZED, &body)
        }
    }
}

async fn not_found() -> ApiError {
    ApiError::not_found("Not found")
}

async fn method_not_allowed() -> Response {
    let body = json!({"errCode": "0x1002", "message": "Method not allowed", "status": "Error"});
    json_response(StatusCode::METHOD_NOT_ALLOWED, &body)
}

async fn list_owners(State(shared): State<Arc<Shared>>) -> Response {
    json_response(StatusCode::OK, &shared.owners_body)
}

/// The decoded query parameters of a request.
struct Params(Vec<(String, String)>);

impl Params {
    fn of(uri: &Uri) -> Self {
        Self(uri.query().map(decode_query).unwrap_or_default())
    }

    fn first(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0.iter().filter(move |(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    fn number(&self, key: &str, default: usize) -> Result<usize, ApiError> {
        match self.first(key) {
            None => Ok(default),
            Some(text) => text.trim().parse().map_err(|_| ApiError::bad_request(format!("Invalid {key}: '{text}'"))),
        }
    }

    fn fields(&self) -> Result<FieldSet, ApiError> {
        FieldSet::parse(self.all("fields")).map_err(ApiError::bad_request)
    }
}

/// A validated `GET indicators` request.
struct ListRequest {
    selection: Selection,
    fields: FieldSet,
    start: usize,
    limit: usize,
}

impl ListRequest {
    fn parse(params: &Params, shared: &Shared) -> Result<Self, ApiError> {
        let invalid_tql = |e: String| ApiError::bad_request(format!("Invalid TQL: {e}"));
        let tql = params.first("tql").map(str::trim).filter(|tql| !tql.is_empty());
        let tql = tql.map(|text| tql::Query::parse(text).map_err(invalid_tql)).transpose()?;
        let owner = params.first("owner").map(|name| shared.owner(Some(name)).map(|owner| owner.name)).transpose()?;
        let sort = Sort::parse_all(params.all("sorting")).map_err(ApiError::bad_request)?;
        let limit = params.number("resultLimit", DEFAULT_RESULT_LIMIT)?;
        if !(1..=MAX_RESULT_LIMIT).contains(&limit) {
            return Err(ApiError::bad_request(format!("resultLimit must be between 1 and {MAX_RESULT_LIMIT}")));
        }
        let start = params.number("resultStart", 0)?;
        Ok(Self { selection: Selection { tql, owner, sort }, fields: params.fields()?, start, limit })
    }
}

async fn list_indicators(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let request = ListRequest::parse(&Params::of(&uri), &shared)?;
    let hostility = shared.hostility.lock().expect("hostility lock").clone();
    let (count, data) = {
        let store = shared.store();
        let mut hits = store.select(&request.selection);
        if hostility.oldest_first {
            hits.reverse();
        }
        let start = if hostility.endless && request.start >= hits.len() {
            hits.len().saturating_sub(request.limit)
        } else {
            request.start
        };
        let page = hits.iter().skip(start).take(request.limit);
        (hits.len(), page.map(|indicator| indicator.to_json(request.fields, shared.origin())).collect::<Vec<_>>())
    };
    let mut body = Map::new();
    body.insert("data".into(), data.into());
    match hostility.count {
        None => {
            body.insert("count".into(), count.into());
        }
        Some(Some(reported)) => {
            body.insert("count".into(), reported.into());
        }
        Some(None) => {}
    }
    let link = |start: usize| {
        let origin = link_origin(&headers, &shared);
        page_link(&origin, uri.path(), uri.query().unwrap_or_default(), start, request.limit)
    };
    if hostility.endless || request.start.saturating_add(request.limit) < count {
        body.insert("next".into(), link(request.start + request.limit).into());
    }
    if request.start > 0 {
        body.insert("prev".into(), link(request.start.saturating_sub(request.limit)).into());
    }
    body.insert("status".into(), "Success".into());
    let mut text = Value::Object(body).to_string();
    for (from, to) in &hostility.rewrites {
        text = text.replace(from.as_str(), to);
    }
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], text).into_response())
}

/// Where paging links point: the host the client addressed, so that they work however it reached us.
fn link_origin(headers: &HeaderMap, shared: &Shared) -> String {
    match headers.get(header::HOST).and_then(|host| host.to_str().ok()) {
        Some(host) => format!("http://{host}"),
        None => shared.origin().to_string(),
    }
}

/// The same request with `resultStart` and `resultLimit` set (at the end); other parameters keep their order
/// and raw encoding, so a client can sign the link as it is.
fn page_link(origin: &str, path: &str, raw_query: &str, start: usize, limit: usize) -> String {
    let is_paging = |pair: &&str| {
        let key = decode_query(pair).into_iter().next().map(|(key, _)| key).unwrap_or_default();
        key == "resultStart" || key == "resultLimit"
    };
    let mut pairs: Vec<&str> = raw_query.split('&').filter(|pair| !pair.is_empty() && !is_paging(pair)).collect();
    let paging = format!("resultStart={start}&resultLimit={limit}");
    pairs.push(&paging);
    format!("{origin}{path}?{}", pairs.join("&"))
}

async fn get_indicator(
    State(shared): State<Arc<Shared>>,
    Path(key): Path<String>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let params = Params::of(&uri);
    let fields = params.fields()?;
    let owner = shared.owner(params.first("owner"))?;
    let store = shared.store();
    // Like the real API: a number is an id, anything else a summary in the owner (default: the organization).
    let found = match key.parse::<u64>() {
        Ok(id) => store.get(id),
        Err(_) => store.all().find(|i| i.owner.id == owner.id && i.summary.eq_ignore_ascii_case(&key)),
    };
    let data = found.map(|indicator| indicator.to_json(fields, shared.origin()));
    drop(store);
    let data = data.ok_or_else(|| ApiError::not_found(format!("Indicator '{key}' not found")))?;
    Ok(json_response(StatusCode::OK, &json!({"data": data, "status": "Success"})))
}

async fn post_indicator(State(shared): State<Arc<Shared>>, uri: Uri, body: Bytes) -> Result<Response, ApiError> {
    let params = Params::of(&uri);
    let fields = params.fields()?;
    let submission = input::Submission::parse(&body).map_err(ApiError::bad_request)?;
    let owner = shared.owner(params.first("owner").or(submission.owner_name.as_deref()))?;
    let now = shared.now().timestamp();
    let (data, created) = {
        let mut store = shared.store();
        let (id, created) = input::apply(&mut store, submission, owner, now);
        (store.get(id).map(|indicator| indicator.to_json(fields, shared.origin())), created)
    };
    let (status, message) = if created { (StatusCode::CREATED, "Created") } else { (StatusCode::OK, "Updated") };
    let body = json!({"data": data.unwrap_or(Value::Null), "message": message, "status": "Success"});
    Ok(json_response(status, &body))
}

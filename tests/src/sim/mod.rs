//! What every vendor simulator shares: a real HTTP server on 127.0.0.1 (a free
//! port), a record of every request it received, and fault injection.
//!
//! Faults are rules: "the next `times` requests whose path starts with `path`
//! (and whose method is `method`) get `fault`". Tests set them through
//! [`Server::inject`]; users running the standalone simulator set them over HTTP:
//!
//! ```text
//! POST   /__sim/faults    {"path": "/api/v4/", "times": 2, "fault": {"kind": "too_many_requests", "retry_after": 1}}
//! DELETE /__sim/faults
//! GET    /__sim/requests  (every request received, oldest first)
//! DELETE /__sim/requests
//! ```
//!
//! Each vendor's simulator lives in `tests/vendors/<vendor>/sim/` and is found
//! there by the build script: it becomes the module `sim::<vendor>` (dashes as
//! underscores) and an entry of [`registry`], so adding a vendor edits nothing
//! here. Its `mod.rs` implements [`Simulator`] and names the type `Sim`.

// The vendor modules (`#[path]` declarations) and `VENDORS`, written by `build.rs`.
include!(concat!(env!("OUT_DIR"), "/vendor_sims.rs"));

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

/// A vendor simulator, as the `sim` binary, the test kit ([`crate::kit`]) and
/// the scaffold see one.
pub trait Simulator: Send + Sync + Sized + 'static {
    /// The connector it stands in for, as users type it (`cofense`); also the
    /// name of the asset file `sim` writes for it.
    const CONNECTOR: &'static str;
    /// The vendor's product (`Cofense Vision`).
    const PRODUCT: &'static str;

    /// A seeded simulator on 127.0.0.1:`port` (0: a free port) over `transport`.
    fn start_on(port: u16, transport: Transport) -> impl Future<Output = std::io::Result<Self>> + Send;

    /// The underlying server: recorded requests and fault injection.
    fn server(&self) -> &Server;

    /// An asset file (TOML) pointing the connector at this simulator.
    fn asset_toml(&self) -> String;
}

/// A running simulator of any vendor.
pub trait Running: Send + Sync {
    fn server(&self) -> &Server;
    fn asset_toml(&self) -> String;
}

impl<S: Simulator> Running for S {
    fn server(&self) -> &Server {
        Simulator::server(self)
    }

    fn asset_toml(&self) -> String {
        Simulator::asset_toml(self)
    }
}

type Starting = Pin<Box<dyn Future<Output = std::io::Result<Box<dyn Running>>> + Send>>;

/// One vendor's simulator in the [`registry`].
#[derive(Clone, Copy)]
pub struct Registered {
    /// The vendor's directory name (`cofense-vision`).
    pub vendor: &'static str,
    /// [`Simulator::CONNECTOR`].
    pub connector: &'static str,
    /// [`Simulator::PRODUCT`].
    pub product: &'static str,
    /// [`Simulator::start_on`].
    pub start: fn(u16, Transport) -> Starting,
}

impl Registered {
    /// The entry of simulator `S`, found in directory `vendor`.
    pub fn of<S: Simulator>(vendor: &'static str) -> Self {
        fn start<S: Simulator>(port: u16, transport: Transport) -> Starting {
            Box::pin(async move { Ok(Box::new(S::start_on(port, transport).await?) as Box<dyn Running>) })
        }
        Self { vendor, connector: S::CONNECTOR, product: S::PRODUCT, start: start::<S> }
    }
}

/// Every vendor's simulator, in the order of their directory names.
pub fn registry() -> Vec<Registered> {
    VENDORS.iter().map(|register| register()).collect()
}

/// Largest request body a simulator accepts.
const MAX_REQUEST_BODY: usize = 16 << 20;

/// One request as the simulator received it.
#[derive(Debug, Clone, Serialize)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// The query exactly as sent (still percent-encoded), if any.
    pub raw_query: Option<String>,
    /// Header names lower-cased, in the order received.
    pub headers: Vec<(String, String)>,
    #[serde(serialize_with = "body_as_text")]
    pub body: Bytes,
}

fn body_as_text<S: serde::Serializer>(body: &Bytes, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&String::from_utf8_lossy(body))
}

impl Recorded {
    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The decoded query pairs, in order.
    pub fn query(&self) -> Vec<(String, String)> {
        self.raw_query.as_deref().map(decode_query).unwrap_or_default()
    }

    /// Every decoded value of query parameter `key`.
    pub fn query_values(&self, key: &str) -> Vec<String> {
        self.query().into_iter().filter(|(k, _)| k == key).map(|(_, v)| v).collect()
    }

    /// The path and raw query, as on the request line.
    pub fn path_and_query(&self) -> String {
        match &self.raw_query {
            Some(query) => format!("{}?{query}", self.path),
            None => self.path.clone(),
        }
    }

    /// The body parsed as JSON (`Null` if it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The body parsed as a form (`a=1&b=2`).
    pub fn form(&self) -> Vec<(String, String)> {
        decode_query(&String::from_utf8_lossy(&self.body))
    }
}

/// Decodes `application/x-www-form-urlencoded` text (`+` is a space).
pub fn decode_query(query: &str) -> Vec<(String, String)> {
    url_decode_pairs(query)
}

fn url_decode_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key), percent_decode(value))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'+', _) => out.push(b' '),
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 2;
            }
            (byte, _) => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A misbehaviour to inject.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// Answer `status` with `body` as JSON instead of handling the request.
    Status { status: u16, body: Value },
    /// Answer 429 with `Retry-After: retry_after` (seconds).
    TooManyRequests { retry_after: u64 },
    /// Answer 500.
    ServerError,
    /// Wait `millis` before handling the request normally.
    Slow { millis: u64 },
    /// Answer 200 with a JSON content type and a truncated JSON body.
    MalformedJson,
    /// Answer `status` with a JSON content type and no body at all.
    Empty { status: u16 },
    /// Handle the request normally, but drop the connection half-way through
    /// the response body (after at most `after_bytes`).
    DropMidBody { after_bytes: u64 },
}

/// "The next `times` requests matching `method` and `path` get `fault`."
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FaultRule {
    /// Only this method (any if absent).
    #[serde(default)]
    pub method: Option<String>,
    /// Only paths starting with this (any if absent).
    #[serde(default)]
    pub path: Option<String>,
    /// How many requests (default 1).
    #[serde(default = "one")]
    pub times: u32,
    /// How many matching requests to let through first (default 0).
    #[serde(default)]
    pub after: u32,
    pub fault: Fault,
}

fn one() -> u32 {
    1
}

impl FaultRule {
    /// `fault` for the next request to a path starting with `path`.
    pub fn on(path: &str, fault: Fault) -> Self {
        Self { method: None, path: Some(path.to_string()), times: 1, after: 0, fault }
    }

    /// Only after `count` matching requests went through normally.
    pub fn after(mut self, count: u32) -> Self {
        self.after = count;
        self
    }

    /// For the next `times` matching requests.
    pub fn times(mut self, times: u32) -> Self {
        self.times = times;
        self
    }

    /// Only for `method`.
    pub fn method(mut self, method: &str) -> Self {
        self.method = Some(method.to_string());
        self
    }

    fn matches(&self, method: &Method, path: &str) -> bool {
        self.times > 0
            && self.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(method.as_str()))
            && self.path.as_deref().is_none_or(|p| path.starts_with(p))
    }
}

/// The record and the fault rules of one simulator.
#[derive(Default)]
pub struct Control {
    requests: Mutex<Vec<Recorded>>,
    faults: Mutex<Vec<FaultRule>>,
}

impl Control {
    fn record(&self, request: Recorded) {
        self.requests.lock().expect("requests lock").push(request);
    }

    /// Takes the first rule matching the request, counting it down.
    fn fault_for(&self, method: &Method, path: &str) -> Option<Fault> {
        let mut faults = self.faults.lock().expect("faults lock");
        let rule = faults.iter_mut().find(|rule| rule.matches(method, path))?;
        if rule.after > 0 {
            rule.after -= 1;
            return None;
        }
        rule.times -= 1;
        let fault = rule.fault.clone();
        faults.retain(|rule| rule.times > 0);
        Some(fault)
    }
}

/// A running simulator; it stops when dropped.
pub struct Server {
    addr: SocketAddr,
    https: bool,
    control: Arc<Control>,
    _shutdown: oneshot::Sender<()>,
}

/// Whether a simulator speaks plain HTTP or HTTPS with a given certificate.
#[derive(Clone, Default)]
pub enum Transport {
    /// Plain HTTP.
    #[default]
    Http,
    /// HTTPS with this server configuration (see [`crate::tls`]).
    Https(Arc<rustls::ServerConfig>),
}

impl Server {
    /// Serves `app` (plus recording, faults and `/__sim/` control routes) on
    /// 127.0.0.1 at `port` (0: a free port), on the current tokio runtime.
    pub async fn start(app: Router, port: u16) -> std::io::Result<Self> {
        Self::start_with(app, port, Transport::Http).await
    }

    /// [`Self::start`] over `transport`.
    pub async fn start_with(app: Router, port: u16, transport: Transport) -> std::io::Result<Self> {
        let control = Arc::new(Control::default());
        let app = Router::new()
            .route("/__sim/requests", get(list_requests).delete(clear_requests))
            .route("/__sim/faults", axum::routing::post(add_fault).delete(clear_faults))
            .with_state(control.clone())
            .merge(app.layer(middleware::from_fn_with_state(control.clone(), record_and_inject)));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let (shutdown, stopped) = oneshot::channel::<()>();
        let stopped = async {
            let _ = stopped.await;
        };
        let https = matches!(transport, Transport::Https(_));
        match transport {
            Transport::Http => {
                tokio::spawn(async move { axum::serve(listener, app).with_graceful_shutdown(stopped).await });
            }
            Transport::Https(config) => {
                let listener = TlsListener { tcp: listener, acceptor: tokio_rustls::TlsAcceptor::from(config) };
                tokio::spawn(async move { axum::serve(listener, app).with_graceful_shutdown(stopped).await });
            }
        }
        Ok(Self { addr, https, control, _shutdown: shutdown })
    }

    /// `http://127.0.0.1:<port>` (`https://` in HTTPS mode).
    pub fn base_url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The address served.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<Recorded> {
        self.control.requests.lock().expect("requests lock").clone()
    }

    /// Every request received so far, clearing the record.
    pub fn take_requests(&self) -> Vec<Recorded> {
        std::mem::take(&mut *self.control.requests.lock().expect("requests lock"))
    }

    /// Adds a fault rule.
    pub fn inject(&self, rule: FaultRule) {
        self.control.faults.lock().expect("faults lock").push(rule);
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.control.faults.lock().expect("faults lock").clear();
    }
}

/// Accepts TCP connections and completes their TLS handshake; a client that
/// refuses the certificate (or stalls) is dropped and the next one accepted.
struct TlsListener {
    tcp: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else { continue };
            let handshake = tokio::time::timeout(Duration::from_secs(5), self.acceptor.accept(tcp));
            if let Ok(Ok(tls)) = handshake.await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

async fn record_and_inject(State(control): State<Arc<Control>>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_REQUEST_BODY).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response();
    };
    let path = parts.uri.path().to_string();
    control.record(Recorded {
        method: parts.method.to_string(),
        path: path.clone(),
        raw_query: parts.uri.query().map(str::to_string),
        headers: parts
            .headers
            .iter()
            .map(|(name, value)| (name.as_str().to_string(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
            .collect(),
        body: body.clone(),
    });
    let fault = control.fault_for(&parts.method, &path);
    let request = Request::from_parts(parts, Body::from(body));
    match fault {
        None => next.run(request).await,
        Some(Fault::Slow { millis }) => {
            tokio::time::sleep(Duration::from_millis(millis)).await;
            next.run(request).await
        }
        Some(Fault::DropMidBody { after_bytes }) => {
            let response = next.run(request).await;
            drop_mid_body(response, after_bytes)
        }
        Some(fault) => fault_response(&fault),
    }
}

fn fault_response(fault: &Fault) -> Response {
    let json = |status: u16, body: &Value| {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
    };
    match fault {
        Fault::Status { status, body } => json(*status, body),
        Fault::TooManyRequests { retry_after } => {
            let mut response =
                json(429, &serde_json::json!({"status": "TOO_MANY_REQUESTS", "message": "Rate limit exceeded"}));
            if let Ok(value) = HeaderValue::from_str(&retry_after.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
        Fault::ServerError => {
            json(500, &serde_json::json!({"status": "INTERNAL_SERVER_ERROR", "message": "Simulated failure"}))
        }
        Fault::Empty { status } => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::OK);
            (status, [(header::CONTENT_TYPE, "application/json")], "").into_response()
        }
        Fault::MalformedJson => {
            (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], "{\"data\": [{\"id\": ").into_response()
        }
        Fault::Slow { .. } | Fault::DropMidBody { .. } => unreachable!("handled by the middleware"),
    }
}

/// Passes the first half of the body (at most `after_bytes`) and then fails the
/// stream, which makes the server abort the connection mid-body.
fn drop_mid_body(response: Response, after_bytes: u64) -> Response {
    let (parts, body) = response.into_parts();
    let length = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        .unwrap_or(u64::MAX);
    let mut budget = after_bytes.min(length / 2);
    let stream = body.into_data_stream().map(move |chunk| {
        let chunk = chunk.map_err(std::io::Error::other)?;
        if budget == 0 {
            return Err(std::io::Error::other("connection dropped by the simulator"));
        }
        let take = (chunk.len() as u64).min(budget) as usize;
        budget -= take as u64;
        Ok::<Bytes, std::io::Error>(chunk.slice(..take))
    });
    let failing = stream.chain(futures_util::stream::once(async {
        // Let the head and the partial body reach the client before the abort.
        tokio::time::sleep(Duration::from_millis(20)).await;
        Err::<Bytes, _>(std::io::Error::other("connection dropped by the simulator"))
    }));
    Response::from_parts(parts, Body::from_stream(failing))
}

async fn list_requests(State(control): State<Arc<Control>>) -> Response {
    let requests = control.requests.lock().expect("requests lock").clone();
    axum::Json(requests).into_response()
}

async fn clear_requests(State(control): State<Arc<Control>>) -> StatusCode {
    control.requests.lock().expect("requests lock").clear();
    StatusCode::NO_CONTENT
}

async fn add_fault(State(control): State<Arc<Control>>, axum::Json(rule): axum::Json<FaultRule>) -> StatusCode {
    control.faults.lock().expect("faults lock").push(rule);
    StatusCode::CREATED
}

async fn clear_faults(State(control): State<Arc<Control>>) -> StatusCode {
    control.faults.lock().expect("faults lock").clear();
    StatusCode::NO_CONTENT
}

/// A JSON response with `status`.
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

/// The bearer token of a request, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_decode() {
        assert_eq!(
            decode_query("sort=createdDate%2Cdesc&sort=id%2Casc&q=a+b&x=%3C"),
            vec![
                ("sort".to_string(), "createdDate,desc".to_string()),
                ("sort".to_string(), "id,asc".to_string()),
                ("q".to_string(), "a b".to_string()),
                ("x".to_string(), "<".to_string()),
            ]
        );
    }
}

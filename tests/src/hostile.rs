//! A hostile vendor: a raw HTTP/1.1 server on 127.0.0.1 that answers each path
//! the way an attacker (or a broken appliance) would: echoing the request in
//! every encoding a secret could be recognised in, sending endless bodies,
//! declaring lengths it never sends, stalling before the head or between
//! bytes, redirecting elsewhere. It is written on bare TCP, not a framework, so
//! that it can break the protocol on purpose.

use base64::Engine as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How the server answers requests to a path.
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// A JSON answer.
    Json { status: u16, body: String },
    /// The whole request (head and body) echoed as JSON, verbatim and
    /// percent-encoded, base64-encoded and `\u`-escaped, with `status`.
    Echo { status: u16 },
    /// A body that never ends (chunked), of `content_type`.
    Endless { content_type: String },
    /// `Content-Length: declared`, then `sent` bytes, then the connection closes.
    DeclaredLength { declared: u64, sent: u64 },
    /// Nothing for `millis`, then a small JSON answer.
    SlowHead { millis: u64 },
    /// The head at once, then one byte every `millis`, `total` bytes in all.
    SlowBody { millis: u64, total: u64 },
    /// A redirect to `location`.
    Redirect { status: u16, location: String },
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct RawRequest {
    /// `GET /path?query HTTP/1.1`.
    pub line: String,
    /// The path with its query.
    pub target: String,
    /// Head and body, as received.
    pub raw: Vec<u8>,
}

impl RawRequest {
    /// The value of header `name`.
    pub fn header(&self, name: &str) -> Option<String> {
        let text = String::from_utf8_lossy(&self.raw);
        let head = text.split("\r\n\r\n").next().unwrap_or_default();
        head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim().eq_ignore_ascii_case(name).then(|| value.trim().to_string())
        })
    }
}

type Rules = Arc<Mutex<Vec<(String, Behaviour)>>>;

/// A running hostile server; it stops when dropped.
pub struct HostileServer {
    addr: SocketAddr,
    rules: Rules,
    requests: Arc<Mutex<Vec<RawRequest>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The access token [`HostileServer::issue_tokens`] hands out.
pub const ISSUED_TOKEN: &str = "hostile-bearer-token-0123456789abcdef";

impl HostileServer {
    /// Starts a server with no rules (every path answers 404).
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let rules: Rules = Arc::default();
        let requests: Arc<Mutex<Vec<RawRequest>>> = Arc::default();
        let (rules_, requests_) = (rules.clone(), requests.clone());
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(serve(socket, rules_.clone(), requests_.clone()));
            }
        });
        Self { addr, rules, requests, task }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Answers requests whose path starts with `path` with `behaviour` (the
    /// longest matching prefix wins).
    pub fn on(&self, path: &str, behaviour: Behaviour) -> &Self {
        let mut rules = self.rules.lock().expect("rules");
        rules.retain(|(prefix, _)| prefix != path);
        rules.push((path.to_string(), behaviour));
        rules.sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.len()));
        self
    }

    /// Answers an OAuth token endpoint at `path` with [`ISSUED_TOKEN`].
    pub fn issue_tokens(&self, path: &str) -> &Self {
        let body = serde_json::json!({"access_token": ISSUED_TOKEN, "token_type": "bearer", "expires_in": 3600});
        self.on(path, Behaviour::Json { status: 200, body: body.to_string() })
    }

    /// Every request received, oldest first.
    pub fn requests(&self) -> Vec<RawRequest> {
        self.requests.lock().expect("requests").clone()
    }
}

/// The echo document: the request verbatim and in every encoding.
pub fn echo_body(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw).into_owned();
    let percent: String = raw.iter().map(|b| format!("%{b:02X}")).collect();
    let base64 = base64::engine::general_purpose::STANDARD.encode(raw);
    let unicode: String = text.chars().map(|c| format!("\\u{:04x}", c as u32 & 0xffff)).collect();
    // The `\u` form is spliced in as written, so the JSON text itself carries
    // the escapes (a parser decodes them back to the request).
    format!(
        "{{\"request\": {}, \"percent\": {}, \"base64\": {}, \"unicode\": \"{unicode}\"}}",
        serde_json::Value::from(text),
        serde_json::Value::from(percent),
        serde_json::Value::from(base64)
    )
}

async fn serve(mut socket: TcpStream, rules: Rules, requests: Arc<Mutex<Vec<RawRequest>>>) {
    loop {
        let Some(request) = read_request(&mut socket).await else { return };
        requests.lock().expect("requests").push(request.clone());
        let path = request.target.split('?').next().unwrap_or_default().to_string();
        let behaviour = rules
            .lock()
            .expect("rules")
            .iter()
            .find(|(prefix, _)| path.starts_with(prefix.as_str()))
            .map(|(_, b)| b.clone());
        let keep_alive = match behaviour {
            None => answer(&mut socket, 404, "application/json", b"{\"error\": \"not found\"}").await,
            Some(Behaviour::Json { status, body }) => {
                answer(&mut socket, status, "application/json", body.as_bytes()).await
            }
            Some(Behaviour::Echo { status }) => {
                answer(&mut socket, status, "application/json", echo_body(&request.raw).as_bytes()).await
            }
            Some(Behaviour::Endless { content_type }) => {
                let head =
                    format!("HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ntransfer-encoding: chunked\r\n\r\n");
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, "x".repeat(64 * 1024));
                while socket.write_all(chunk.as_bytes()).await.is_ok() {}
                false
            }
            Some(Behaviour::DeclaredLength { declared, sent }) => {
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: {declared}\r\n\r\n"
                );
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(&vec![b'y'; sent as usize]).await;
                tokio::time::sleep(Duration::from_millis(50)).await;
                false
            }
            Some(Behaviour::SlowHead { millis }) => {
                tokio::time::sleep(Duration::from_millis(millis)).await;
                answer(&mut socket, 200, "application/json", b"{}").await
            }
            Some(Behaviour::SlowBody { millis, total }) => {
                let head =
                    format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {total}\r\n\r\n");
                let _ = socket.write_all(head.as_bytes()).await;
                for _ in 0..total {
                    tokio::time::sleep(Duration::from_millis(millis)).await;
                    if socket.write_all(b" ").await.is_err() {
                        return;
                    }
                }
                false
            }
            Some(Behaviour::Redirect { status, location }) => {
                let head = format!("HTTP/1.1 {status} Redirect\r\nlocation: {location}\r\ncontent-length: 0\r\n\r\n");
                socket.write_all(head.as_bytes()).await.is_ok()
            }
        };
        if !keep_alive {
            return;
        }
    }
}

async fn answer(socket: &mut TcpStream, status: u16, content_type: &str, body: &[u8]) -> bool {
    let head =
        format!("HTTP/1.1 {status} Hostile\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n", body.len());
    socket.write_all(head.as_bytes()).await.is_ok() && socket.write_all(body).await.is_ok()
}

/// Reads one request (head, and a body of `Content-Length` bytes).
async fn read_request(socket: &mut TcpStream) -> Option<RawRequest> {
    let mut raw = Vec::new();
    let mut buffer = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = socket.read(&mut buffer).await.ok().filter(|n| *n > 0)?;
        raw.extend_from_slice(&buffer[..n]);
        if raw.len() > 1 << 20 {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|line| line.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("content-length")))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    while raw.len() < head_end + length {
        let n = socket.read(&mut buffer).await.ok().filter(|n| *n > 0)?;
        raw.extend_from_slice(&buffer[..n]);
    }
    let line = head.lines().next().unwrap_or_default().to_string();
    let target = line.split(' ').nth(1).unwrap_or("/").to_string();
    Some(RawRequest { line, target, raw })
}

//! The UAA token endpoint, bearer-token checks and the health probe.

use super::CofenseSim;
use super::Shared;
use super::api::random_hex;
use crate::sim::{bearer, decode_query, json_response};
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Token lifetime (seconds) until a test changes it.
const DEFAULT_LIFETIME: u64 = 3600;

/// Issued tokens and the health status.
pub(crate) struct Auth {
    tokens: Mutex<Tokens>,
    health: Mutex<String>,
}

struct Tokens {
    lifetime: u64,
    issued: usize,
    live: HashMap<String, Issued>,
}

struct Issued {
    expires: Instant,
    revoked: bool,
}

/// What a presented token turned out to be.
enum Verdict {
    Valid,
    Expired,
    Unknown,
}

impl Default for Auth {
    fn default() -> Self {
        Self {
            tokens: Mutex::new(Tokens { lifetime: DEFAULT_LIFETIME, issued: 0, live: HashMap::new() }),
            health: Mutex::new("UP".into()),
        }
    }
}

impl Auth {
    /// Sets `expires_in` of tokens issued from now on.
    pub(crate) fn set_lifetime(&self, seconds: u64) {
        self.tokens.lock().expect("tokens lock").lifetime = seconds;
    }

    /// Revokes every token issued so far.
    pub(crate) fn expire_all(&self) {
        self.tokens.lock().expect("tokens lock").live.values_mut().for_each(|t| t.revoked = true);
    }

    /// How many tokens were issued.
    pub(crate) fn issued(&self) -> usize {
        self.tokens.lock().expect("tokens lock").issued
    }

    /// Sets what the health probe reports.
    pub(crate) fn set_health(&self, status: &str) {
        *self.health.lock().expect("health lock") = status.to_string();
    }

    /// Issues a token; returns it and its lifetime.
    fn issue(&self) -> (String, u64) {
        let token = random_hex(16);
        let mut tokens = self.tokens.lock().expect("tokens lock");
        let lifetime = tokens.lifetime;
        tokens.issued += 1;
        tokens
            .live
            .insert(token.clone(), Issued { expires: Instant::now() + Duration::from_secs(lifetime), revoked: false });
        (token, lifetime)
    }

    fn check(&self, token: &str) -> Verdict {
        match self.tokens.lock().expect("tokens lock").live.get(token) {
            None => Verdict::Unknown,
            Some(t) if t.revoked || Instant::now() >= t.expires => Verdict::Expired,
            Some(_) => Verdict::Valid,
        }
    }
}

/// `GET /actuator/health`: no authentication.
pub(crate) async fn health(State(shared): State<Arc<Shared>>) -> Response {
    let status = shared.auth.health.lock().expect("health lock").clone();
    json_response(StatusCode::OK, &json!({"status": status}))
}

/// `POST /uaa/oauth/token`: client credentials from the form body (or, as UAA
/// also allows, from HTTP Basic auth).
pub(crate) async fn token(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let form = decode_query(&String::from_utf8_lossy(&body));
    let field = |key: &str| form.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let (id, secret) = match (field("client_id"), field("client_secret")) {
        (Some(id), secret) => (id, secret.unwrap_or_default()),
        (None, _) => basic_credentials(&headers).unwrap_or_default(),
    };
    if id != CofenseSim::CLIENT_ID || secret != CofenseSim::CLIENT_SECRET {
        return oauth_error(StatusCode::UNAUTHORIZED, "unauthorized", "Bad credentials");
    }
    match field("grant_type").as_deref() {
        Some("client_credentials") => {}
        None => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "Missing grant type"),
        Some(other) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                &format!("Unsupported grant type: {other}"),
            );
        }
    }
    let (access_token, lifetime) = shared.auth.issue();
    let mut response = json_response(
        StatusCode::OK,
        &json!({
            "access_token": access_token,
            "token_type": "bearer",
            "expires_in": lifetime,
            "scope": "uaa.resource vision.api",
            "jti": access_token,
        }),
    );
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let encoded = headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

/// Middleware: every API route needs a live bearer token.
pub(crate) async fn require_token(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let Some(token) = bearer(request.headers()).map(str::trim).filter(|t| !t.is_empty()) else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Full authentication is required to access this resource",
        );
    };
    match shared.auth.check(token) {
        Verdict::Valid => next.run(request).await,
        Verdict::Expired => {
            oauth_error(StatusCode::UNAUTHORIZED, "invalid_token", &format!("Access token expired: {token}"))
        }
        Verdict::Unknown => {
            oauth_error(StatusCode::UNAUTHORIZED, "invalid_token", &format!("Invalid access token: {token}"))
        }
    }
}

/// A UAA/Spring Security error body; 401s also carry `WWW-Authenticate`.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut response = json_response(status, &json!({"error": error, "error_description": description}));
    if status == StatusCode::UNAUTHORIZED {
        let challenge = format!("Bearer realm=\"oauth\", error=\"{error}\", error_description=\"{description}\"");
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
        }
    }
    response
}

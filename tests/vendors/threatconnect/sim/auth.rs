//! ThreatConnect's HMAC request signing (API user access id + secret key).
//!
//! A client signs `"<path>?<query>:<METHOD>:<timestamp>"` with HMAC-SHA256 keyed by its secret key and sends
//! `Timestamp: <unix seconds>` and `Authorization: TC <access id>:<base64 signature>`. The path and query are
//! the request target exactly as sent (still percent-encoded): re-encoding it would reject clients whose
//! encoding differs from ours even though their signature is right.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use http::HeaderMap;
use sha2::Sha256;

/// How far (seconds) a request's `Timestamp` may be from the server's clock.
pub const TIMESTAMP_WINDOW_SECS: i64 = 300;

/// Why a request failed authentication; the message is the real API's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthError {
    /// A header is missing or malformed, or the access id is unknown.
    AccessDenied,
    /// `Timestamp` is more than [`TIMESTAMP_WINDOW_SECS`] from the server's clock.
    StaleTimestamp,
    /// The signature does not match the request.
    BadSignature,
}

impl AuthError {
    /// The `message` of the 401 error body.
    pub fn message(self) -> &'static str {
        match self {
            Self::AccessDenied => "Access Denied",
            Self::StaleTimestamp => "Timestamp out of acceptable time range",
            Self::BadSignature => "Signature data did not match expected result",
        }
    }
}

/// The text a client signs for a request.
pub fn signing_string(path_and_query: &str, method: &str, timestamp: &str) -> String {
    format!("{path_and_query}:{}:{timestamp}", method.to_ascii_uppercase())
}

/// Base64 of HMAC-SHA256(`secret`, `message`).
pub fn sign(secret: &str, message: &str) -> String {
    STANDARD.encode(mac(secret, message).finalize().into_bytes())
}

/// The `Authorization` header value a client sends.
pub fn authorization(access_id: &str, secret: &str, method: &str, path_and_query: &str, timestamp: i64) -> String {
    let signature = sign(secret, &signing_string(path_and_query, method, &timestamp.to_string()));
    format!("TC {access_id}:{signature}")
}

fn mac(secret: &str, message: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(message.as_bytes());
    mac
}

/// The credentials the simulated API accepts.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The API user's access id (the part before `:` in `Authorization: TC ...`).
    pub access_id: String,
    /// The HMAC key.
    pub secret_key: String,
}

impl Credentials {
    /// Checks a request's `Timestamp` and `Authorization` headers against `path_and_query` (raw, as received),
    /// `method` and the server's clock `now` (Unix seconds).
    pub fn verify(&self, headers: &HeaderMap, method: &str, path_and_query: &str, now: i64) -> Result<(), AuthError> {
        let timestamp = header(headers, "timestamp").ok_or(AuthError::AccessDenied)?;
        let authorization = header(headers, "authorization").ok_or(AuthError::AccessDenied)?;
        let (access_id, signature) = authorization
            .strip_prefix("TC ")
            .and_then(|credentials| credentials.split_once(':'))
            .ok_or(AuthError::AccessDenied)?;
        if access_id != self.access_id {
            return Err(AuthError::AccessDenied);
        }
        let seconds: i64 = timestamp.trim().parse().map_err(|_| AuthError::AccessDenied)?;
        if seconds.abs_diff(now) > TIMESTAMP_WINDOW_SECS.unsigned_abs() {
            return Err(AuthError::StaleTimestamp);
        }
        let claimed = STANDARD.decode(signature.trim()).map_err(|_| AuthError::BadSignature)?;
        // verify_slice compares in constant time.
        mac(&self.secret_key, &signing_string(path_and_query, method, timestamp))
            .verify_slice(&claimed)
            .map_err(|_| AuthError::BadSignature)
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name)?.to_str().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    /// The vectors of vendor-api-notes §2.2 (the first is also in the XSOAR unit tests).
    #[test]
    fn signs_the_documented_vectors() {
        assert_eq!(sign("test", "test:GET:1587340800"), "p5a/YiTRs7sNMp/PEDgZxky8lJDRLbza1pi8erjURrU=");
        assert_eq!(
            sign("test", &signing_string("/api/v3/security/owners", "GET", "1587340800")),
            "efZ2uBnp6BPcxWs9supRM4cp2GLrhgSciB/5j0qCy18="
        );
        assert_eq!(
            sign("test", &signing_string("/v3/security/owners", "get", "1587340800")),
            "vlYkheZ4aS5N0w8LVTcGLIJBRAIRqjAowMfCXkml1fQ="
        );
    }

    fn headers(timestamp: &str, authorization: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("timestamp", HeaderValue::from_str(timestamp).expect("header"));
        headers.insert("authorization", HeaderValue::from_str(authorization).expect("header"));
        headers
    }

    #[test]
    fn verifies_and_rejects() {
        let credentials = Credentials { access_id: "id".into(), secret_key: "secret".into() };
        let target = "/v3/indicators?tql=summary+CONTAINS+%27a%27";
        let good = authorization("id", "secret", "GET", target, 1_000_000);
        let verify = |headers: &HeaderMap, now| credentials.verify(headers, "GET", target, now);
        assert_eq!(verify(&headers("1000000", &good), 1_000_000 + 300), Ok(()));
        assert_eq!(verify(&headers("1000000", &good), 1_000_000 + 301), Err(AuthError::StaleTimestamp));
        assert_eq!(verify(&headers("1000001", &good), 1_000_000), Err(AuthError::BadSignature));
        let other_id = good.replacen("TC id:", "TC other:", 1);
        assert_eq!(verify(&headers("1000000", &other_id), 1_000_000), Err(AuthError::AccessDenied));
        assert_eq!(verify(&headers("soon", &good), 1_000_000), Err(AuthError::AccessDenied));
        assert_eq!(verify(&HeaderMap::new(), 1_000_000), Err(AuthError::AccessDenied));
        // The query is part of what is signed.
        let result = credentials.verify(&headers("1000000", &good), "GET", "/v3/indicators", 1_000_000);
        assert_eq!(result, Err(AuthError::BadSignature));
    }
}

//! ThreatConnect's request signature: `Authorization: TC <access id>:<signature>`
//! where the signature is the base64 HMAC-SHA256, keyed by the secret key, of
//! `<path and encoded query>:<METHOD>:<unix timestamp>`.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The signature of `path_with_query` sent with `method` at `timestamp`.
pub fn sign(secret_key: &str, path_with_query: &str, method: &str, timestamp: i64) -> String {
    signature(secret_key, &format!("{path_with_query}:{method}:{timestamp}"))
}

fn signature(secret_key: &str, message: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret_key.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(message.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The `Timestamp` and `Authorization` headers of a request.
pub fn headers(
    access_id: &str,
    secret_key: &str,
    path_with_query: &str,
    method: &str,
    timestamp: i64,
) -> [(String, String); 2] {
    [
        ("Timestamp".to_string(), timestamp.to_string()),
        (
            "Authorization".to_string(),
            format!("TC {access_id}:{}", sign(secret_key, path_with_query, method, timestamp)),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The three vectors of the vendor notes (§2.2).
    #[test]
    fn vendor_test_vectors() {
        assert_eq!(signature("test", "test:GET:1587340800"), "p5a/YiTRs7sNMp/PEDgZxky8lJDRLbza1pi8erjURrU=");
        assert_eq!(
            sign("test", "/api/v3/security/owners", "GET", 1587340800),
            "efZ2uBnp6BPcxWs9supRM4cp2GLrhgSciB/5j0qCy18="
        );
        assert_eq!(
            sign("test", "/v3/security/owners", "GET", 1587340800),
            "vlYkheZ4aS5N0w8LVTcGLIJBRAIRqjAowMfCXkml1fQ="
        );
    }

    #[test]
    fn headers_carry_the_access_id() {
        let [timestamp, authorization] = headers("1234", "test", "/v3/security/owners", "GET", 1587340800);
        assert_eq!(timestamp, ("Timestamp".to_string(), "1587340800".to_string()));
        assert_eq!(authorization.1, "TC 1234:vlYkheZ4aS5N0w8LVTcGLIJBRAIRqjAowMfCXkml1fQ=");
    }
}

//! URLs: the asset's base URL, and the encodings of queries and path segments.

use super::{Method, Request};
use std::fmt::Write as _;

/// A parsed `base_url`: scheme, authority and an optional path prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    pub(super) https: bool,
    pub(super) authority: String,
    pub(super) prefix: String,
}

impl BaseUrl {
    /// Parses `https://host[:port][/prefix]`; a trailing `/` is dropped.
    pub fn parse(url: &str) -> Result<Self, String> {
        let url = url.trim();
        if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("it must not contain spaces or control characters".into());
        }
        let (https, rest) = if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err("it must start with http:// or https://".into());
        };
        let (authority, prefix) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
        if authority.is_empty() || authority.contains(['?', '#', '@', ' ']) {
            return Err("it has no valid host".into());
        }
        if prefix.contains(['?', '#']) {
            return Err("it must not have a query or fragment".into());
        }
        let prefix = prefix.trim_end_matches('/');
        Ok(Self {
            https,
            authority: authority.to_string(),
            prefix: if prefix.is_empty() { String::new() } else { format!("/{prefix}") },
        })
    }

    /// The path prefix (`/api`), or empty.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Whether the URL contains `needle` (the host or prefix); for vendor rules
    /// that depend on the deployment, such as ThreatConnect's sandbox API root.
    pub fn contains(&self, needle: &str) -> bool {
        self.to_string().contains(needle)
    }

    /// A request for `path` (starting with `/`) under this base URL.
    pub fn request(&self, method: Method, path: &str) -> Request {
        Request::new(method, self, path)
    }
}

impl std::fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        write!(f, "{scheme}://{}{}", self.authority, self.prefix)
    }
}

/// Encodes a query (or form body) the way Python's `urlencode` does, because
/// vendors' servers and signatures were built against it: unreserved characters
/// (`A-Z a-z 0-9 - . _ ~`) stay, space becomes `+`, everything else is `%XX`.
pub fn encode_query(pairs: &[(String, String)]) -> String {
    let mut out = String::new();
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        push_encoded(&mut out, key, true);
        out.push('=');
        push_encoded(&mut out, value, true);
    }
    out
}

/// Encodes one path segment: everything but unreserved characters is `%XX`, so
/// an id cannot add path segments or a query.
pub fn encode_path_segment(segment: &str) -> String {
    let mut out = String::new();
    push_encoded(&mut out, segment, false);
    out
}

fn push_encoded(out: &mut String, text: &str, space_as_plus: bool) {
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(byte as char),
            b' ' if space_as_plus => out.push('+'),
            _ => {
                let _ = write!(out, "%{byte:02X}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode(text: &str) -> String {
        let bytes = text.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
                    i += 2;
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).unwrap()
    }

    proptest! {
        /// Any keys and values survive the query encoding, and none can add a
        /// pair, a fragment or a path.
        #[test]
        fn queries_round_trip_and_cannot_be_broken_out_of(pairs in proptest::collection::vec(("\\PC{0,12}", "\\PC{0,24}"), 0..5)) {
            let encoded = encode_query(&pairs);
            prop_assert!(encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%+=&".contains(&b)), "{}", encoded);
            let decoded: Vec<(String, String)> = if encoded.is_empty() { Vec::new() } else {
                encoded.split('&').map(|pair| {
                    let (key, value) = pair.split_once('=').unwrap();
                    (decode(key), decode(value))
                }).collect()
            };
            prop_assert_eq!(decoded, pairs);
        }

        /// A path segment never contains a separator.
        #[test]
        fn path_segments_stay_one_segment(segment in "\\PC{0,40}") {
            let encoded = encode_path_segment(&segment);
            prop_assert!(!encoded.contains(['/', '?', '#', '\\']));
            prop_assert_eq!(decode(&encoded.replace('+', "%2B")), segment);
        }
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn query_encoding_matches_python_urlencode() {
        assert_eq!(
            encode_query(&pairs(&[
                ("fields", "tags"),
                ("tql", "typeName IN ('Address') AND summary CONTAINS '1.2.3.4'")
            ])),
            "fields=tags&tql=typeName+IN+%28%27Address%27%29+AND+summary+CONTAINS+%271.2.3.4%27"
        );
        assert_eq!(
            encode_query(&pairs(&[("sort", "createdDate,desc"), ("sort", "id,asc")])),
            "sort=createdDate%2Cdesc&sort=id%2Casc"
        );
        assert_eq!(
            encode_query(&pairs(&[("internetMessageId", "<a.b@c>"), ("x", "~*")])),
            "internetMessageId=%3Ca.b%40c%3E&x=~%2A"
        );
    }

    #[test]
    fn path_segments_cannot_escape() {
        assert_eq!(encode_path_segment("../x?y=1"), "..%2Fx%3Fy%3D1");
        assert_eq!(encode_path_segment("41ecc26b"), "41ecc26b");
    }

    #[test]
    fn base_urls() {
        let base = BaseUrl::parse("https://x.threatconnect.com/api/").unwrap();
        assert_eq!(base.prefix(), "/api");
        assert_eq!(base.to_string(), "https://x.threatconnect.com/api");
        let request = base.request(Method::Get, "/v3/security/owners");
        assert_eq!(request.url(), "https://x.threatconnect.com/api/v3/security/owners");
        assert_eq!(BaseUrl::parse("http://127.0.0.1:8080").unwrap().prefix(), "");
        assert!(BaseUrl::parse("ftp://x").is_err());
        assert!(BaseUrl::parse("https://").is_err());
        assert!(BaseUrl::parse("https://x.example/a b").is_err());
    }
}

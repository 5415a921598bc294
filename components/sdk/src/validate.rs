//! Parameter validation in the forms users type, with messages that name the
//! parameter. Every check runs before anything is sent.

use crate::ActionError;
use std::net::IpAddr;

/// `value` must be one of `allowed` (surrounding spaces aside); returns it as
/// listed. `connector!` checks every parameter declared with `@values` so.
pub fn one_of(name: &str, value: &str, allowed: &[&str]) -> Result<String, ActionError> {
    let value = value.trim();
    match allowed.iter().find(|allowed| **allowed == value) {
        Some(allowed) => Ok(allowed.to_string()),
        None => Err(ActionError::invalid_parameter(
            name,
            format!(
                "Please provide a valid value for the {name} parameter. Allowed values are: {}",
                allowed.join(", ")
            ),
        )),
    }
}

/// `value` must be at least 1.
pub fn non_zero(name: &str, value: u64) -> Result<u64, ActionError> {
    if value == 0 {
        return Err(ActionError::invalid_parameter(
            name,
            format!("Please provide a non-zero positive integer value in the '{name}' parameter"),
        ));
    }
    Ok(value)
}

/// `value` must be in `1..=max`.
pub fn non_zero_at_most(name: &str, value: u64, max: u64) -> Result<u64, ActionError> {
    non_zero(name, value)?;
    if value > max {
        return Err(ActionError::invalid_parameter(
            name,
            format!("Please provide a non-zero positive integer value upto {max} in the '{name}' parameter"),
        ));
    }
    Ok(value)
}

/// A value that becomes one path segment (`/iocs/{id}`): besides being encoded,
/// it must not be empty, `.` or `..`, which servers resolve to another path.
pub fn path_segment(name: &str, value: &str) -> Result<String, ActionError> {
    let value = value.trim();
    if value.is_empty() || value == "." || value == ".." {
        return Err(ActionError::invalid_parameter(
            name,
            format!("Please provide a valid value in the '{name}' parameter: it cannot be empty, '.' or '..'"),
        ));
    }
    Ok(crate::http::encode_path_segment(value))
}

/// A value that becomes an HTTP header: control characters (CR and LF, which
/// would split the header, DEL, NUL...) are refused, before anything is sent.
pub fn header_value(name: &str, value: &str) -> Result<String, ActionError> {
    if let Some(bad) = value.chars().find(|c| is_forbidden_in_header(*c)) {
        return Err(ActionError::invalid_parameter(
            name,
            format!(
                "Please provide a valid value in the '{name}' parameter: it cannot contain control characters (found {})",
                bad.escape_unicode()
            ),
        ));
    }
    Ok(value.to_string())
}

/// Characters an HTTP field value cannot carry (RFC 9110 §5.5): controls other
/// than horizontal tab, and DEL.
pub(crate) fn is_forbidden_in_header(c: char) -> bool {
    c.is_ascii_control() && c != '\t'
}

/// Splits a comma-separated value: items trimmed, empty items dropped, duplicates
/// removed keeping the first.
pub fn comma_list(text: &str) -> Vec<String> {
    split_list(text, &[','])
}

/// Like [`comma_list`] with any of `separators`.
pub fn split_list(text: &str, separators: &[char]) -> Vec<String> {
    let mut items: Vec<String> = Vec::new();
    for item in text.split(separators).map(str::trim).filter(|item| !item.is_empty()) {
        if !items.iter().any(|seen| seen == item) {
            items.push(item.to_string());
        }
    }
    items
}

/// The hash algorithms recognised by their hex length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashKind {
    Md5,
    Sha1,
    Sha256,
}

impl HashKind {
    /// Which hash `text` is, by length, if it is hex.
    pub fn of(text: &str) -> Option<Self> {
        if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        match text.len() {
            32 => Some(Self::Md5),
            40 => Some(Self::Sha1),
            64 => Some(Self::Sha256),
            _ => None,
        }
    }

    /// The lower-case name, which is both the SOAR contains type of such a
    /// hash and the key vendors use for it ("md5", "sha1", "sha256").
    pub fn name(self) -> &'static str {
        match self {
            Self::Md5 => "md5",
            Self::Sha1 => "sha1",
            Self::Sha256 => "sha256",
        }
    }
}

/// An MD5 in hex.
pub fn is_md5(text: &str) -> bool {
    HashKind::of(text) == Some(HashKind::Md5)
}

/// A SHA-1 in hex.
pub fn is_sha1(text: &str) -> bool {
    HashKind::of(text) == Some(HashKind::Sha1)
}

/// A SHA-256 in hex.
pub fn is_sha256(text: &str) -> bool {
    HashKind::of(text) == Some(HashKind::Sha256)
}

/// An IPv4 or IPv6 address.
pub fn is_ip(text: &str) -> bool {
    text.trim().parse::<IpAddr>().is_ok()
}

/// An IPv4 address in dotted-quad form.
pub fn is_ipv4(text: &str) -> bool {
    matches!(text.trim().parse::<IpAddr>(), Ok(IpAddr::V4(_)))
}

/// An IPv6 address.
pub fn is_ipv6(text: &str) -> bool {
    matches!(text.trim().parse::<IpAddr>(), Ok(IpAddr::V6(_)))
}

/// An email address: `local@domain` with a valid domain.
pub fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.trim().rsplit_once('@') else { return false };
    !local.is_empty()
        && local.len() <= 64
        && local.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&b))
        && is_domain(domain)
        && domain.contains('.')
}

/// A DNS name: at least two dot-separated labels of letters, digits and inner
/// hyphens, the last one not numeric (so `1.2.3.4` and `localhost` are not
/// domains). A leading `*.` is allowed.
pub fn is_domain(text: &str) -> bool {
    let text = text.trim().trim_end_matches('.');
    let text = text.strip_prefix("*.").unwrap_or(text);
    if text.is_empty() || text.len() > 253 {
        return false;
    }
    let labels: Vec<&str> = text.split('.').collect();
    let valid_label = |label: &&str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    labels.len() >= 2
        && labels.iter().all(valid_label)
        && labels.last().is_some_and(|tld| !tld.bytes().all(|b| b.is_ascii_digit()))
}

/// A URL with a scheme and a host (`https://host/path`).
pub fn is_url(text: &str) -> bool {
    let text = text.trim();
    let Some((scheme, rest)) = text.split_once("://") else { return false };
    let scheme_ok = !scheme.is_empty()
        && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        && scheme.as_bytes()[0].is_ascii_alphabetic();
    let host_port = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = host_port.rsplit_once('@').map_or(host_port, |(_, host)| host);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => return scheme_ok && v6.split_once(']').is_some_and(|(ip, _)| is_ipv6(ip)),
        None => host_port
            .rsplit_once(':')
            .map_or(host_port, |(host, port)| if port.bytes().all(|b| b.is_ascii_digit()) { host } else { host_port }),
    };
    scheme_ok && !text.contains(char::is_whitespace) && (is_domain(host) || is_ipv4(host) || host == "localhost")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_values_are_exact_and_named() {
        assert_eq!(one_of("kind", " ALL ", &["ANY", "ALL"]).unwrap(), "ALL");
        for bad in ["any", "SOME", "ANY,ALL"] {
            assert_eq!(
                one_of("kind", bad, &["ANY", "ALL"]).unwrap_err().message(),
                "Please provide a valid value for the kind parameter. Allowed values are: ANY, ALL"
            );
        }
    }

    #[test]
    fn ranges_name_the_parameter() {
        assert!(non_zero_at_most("size", 2000, 2000).is_ok());
        let err = non_zero_at_most("size", 2001, 2000).unwrap_err();
        assert_eq!(err.message(), "Please provide a non-zero positive integer value upto 2000 in the 'size' parameter");
        let err = non_zero_at_most("size", 0, 2000).unwrap_err();
        assert_eq!(err.message(), "Please provide a non-zero positive integer value in the 'size' parameter");
    }

    #[test]
    fn lists_are_trimmed_and_deduplicated() {
        assert_eq!(comma_list("createdDate:desc  ,, ,id:asc,createdDate:desc"), vec!["createdDate:desc", "id:asc"]);
        assert_eq!(split_list("a; b,a", &[',', ';']), vec!["a", "b"]);
        assert!(comma_list(" , ").is_empty());
    }

    #[test]
    fn path_segments_and_headers() {
        assert_eq!(path_segment("id", " 41ecc26b ").unwrap(), "41ecc26b");
        assert_eq!(path_segment("id", "a/b").unwrap(), "a%2Fb");
        for bad in ["", " ", ".", "..", " .. "] {
            assert_eq!(
                path_segment("id", bad).unwrap_err().message(),
                "Please provide a valid value in the 'id' parameter: it cannot be empty, '.' or '..'"
            );
        }
        assert!(header_value("source", "Triage-1 \t ok").is_ok());
        for bad in ["a\rb", "a\nX-Evil: 1", "a\u{7f}", "a\0"] {
            assert!(header_value("source", bad).unwrap_err().message().contains("'source'"), "{bad:?}");
        }
    }

    #[test]
    fn recognisers() {
        assert!(is_md5("21b6b32fb4e526d594afe70ea56a0e0c"));
        assert!(is_sha1("31c194010afedb76694517e6250b5339d72ed518"));
        assert!(is_sha256("ef7247f075e010e7a9f4af6fa8f8dd4436b1cc12355226bbdc270a0fb1c885d0"));
        assert!(!is_md5("zz b6b32fb4e526d594afe70ea56a0e0c"));
        assert!(is_ip("1.2.3.4") && is_ip("::1") && !is_ip("1.2.3"));
        assert!(is_email("testuser@test.com") && !is_email("testuser@") && !is_email("a@b"));
        assert!(
            is_domain("test.com")
                && is_domain("*.test.com")
                && !is_domain("1.2.3.4")
                && !is_domain("-a.com")
                && !is_domain("localhost")
        );
        assert!(is_url("https://test.com/demo") && is_url("http://1.2.3.4:8080/x") && !is_url("test.com"));
    }
}

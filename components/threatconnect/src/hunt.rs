//! Hunts: TQL searches for one value among indicators of one type, every page.

use crate::client::ThreatConnect;
use soar_sdk::http::Method;
use soar_sdk::prelude::*;
use soar_sdk::validate;

/// What to hunt for.
pub struct Hunt {
    /// The indicator type (`Address`, `File`, ...).
    pub indicator_type: &'static str,
    pub value: String,
    pub owner: Option<String>,
    pub attribute: Option<bool>,
    pub tag: Option<bool>,
    pub security_label: Option<bool>,
}

/// Runs a hunt and returns every matching indicator, all pages merged.
pub fn hunt(hunt: Hunt) -> ActionOutcome {
    let tc = ThreatConnect::connect()?;
    let mut request = tc.request(Method::Get, "indicators");
    for (wanted, field) in [(hunt.security_label, "securityLabels"), (hunt.tag, "tags"), (hunt.attribute, "attributes")]
    {
        if wanted.unwrap_or(false) {
            request = request.query("fields", field);
        }
    }
    let request = request.query("tql", tql(hunt.indicator_type, hunt.value.trim(), hunt.owner.as_deref()));
    let data = tc.all_pages(&request)?;
    let total = data.len();
    // One object, as the reference connector added the whole response; the pages
    // are merged, so `next`/`prev` links no longer apply.
    Output::new()
        .data(json!({"data": data, "status": "Success", "count": total}))
        .summary("total_objects", total)
        .into()
}

/// `typeName IN ('Address') AND summary CONTAINS '1.2.3.4' and ownerName in ('A', 'B')`,
/// with every value escaped.
fn tql(indicator_type: &str, value: &str, owner: Option<&str>) -> String {
    let mut tql = format!("typeName IN ('{indicator_type}') AND summary CONTAINS '{}'", escape(value));
    let owners = owner.map(|owner| validate::split_list(owner, &[',', ';'])).unwrap_or_default();
    if !owners.is_empty() {
        let quoted: Vec<String> = owners.iter().map(|owner| format!("'{}'", escape(owner))).collect();
        tql.push_str(&format!(" and ownerName in ({})", quoted.join(", ")));
    }
    tql
}

/// Escapes a TQL string literal: `\`, `'`, `"` and `` ` ``.
fn escape(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\\' | '\'' | '"' | '`') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

pub fn hunt_ip(ip: &str) -> Result<&'static str, ActionError> {
    if !validate::is_ip(ip) {
        return Err(ActionError::invalid_parameter(
            "ip",
            "Parameter 'ip' failed validation: it is not an IPv4 or IPv6 address",
        ));
    }
    Ok("Address")
}

pub fn hunt_file(hash: &str) -> Result<&'static str, ActionError> {
    if validate::HashKind::of(hash.trim()).is_none() {
        return Err(ActionError::invalid_parameter(
            "hash",
            "Parameter 'hash' failed validation: it is not an MD5, SHA-1 or SHA-256 hash",
        ));
    }
    Ok("File")
}

pub fn hunt_email(email: &str) -> Result<&'static str, ActionError> {
    if !validate::is_email(email) {
        return Err(ActionError::invalid_parameter(
            "email",
            "Parameter 'email' failed validation: it is not an email address",
        ));
    }
    Ok("EmailAddress")
}

/// A domain is hunted among Host indicators, a URL among URL indicators.
pub fn hunt_domain(domain: &str) -> Result<&'static str, ActionError> {
    if validate::is_domain(domain) {
        Ok("Host")
    } else if validate::is_url(domain) {
        Ok("URL")
    } else {
        Err(ActionError::invalid_parameter(
            "domain",
            "Could not resolve parameter type: 'domain' is neither a domain nor a URL",
        ))
    }
}

pub fn hunt_url(url: &str) -> Result<&'static str, ActionError> {
    if !validate::is_url(url) {
        return Err(ActionError::invalid_parameter("url", "Parameter 'url' failed validation: it is not a URL"));
    }
    Ok("URL")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Reads a TQL string literal at the start of `text` the way a TQL parser
    /// does; returns its value and the rest of the text.
    fn read_literal(text: &str) -> Option<(String, &str)> {
        let mut chars = text.char_indices();
        let (_, '\'') = chars.next()? else { return None };
        let mut value = String::new();
        while let Some((at, c)) = chars.next() {
            match c {
                '\\' => value.push(chars.next()?.1),
                '\'' => return Some((value, &text[at + 1..])),
                c => value.push(c),
            }
        }
        None
    }

    proptest! {
        /// Whatever a user types, it stays one string literal: the query keeps
        /// its shape and the literal reads back as exactly what was typed.
        #[test]
        fn no_value_escapes_its_literal(value in "\\PC{0,40}", owner in "[^,;\\s][^,;]{0,19}") {
            let query = tql("Host", &value, Some(&owner));
            let rest = query.strip_prefix("typeName IN ('Host') AND summary CONTAINS ").unwrap();
            let (read, rest) = read_literal(rest).unwrap();
            prop_assert_eq!(read, value);
            let rest = rest.strip_prefix(" and ownerName in (").unwrap();
            let (read_owner, rest) = read_literal(rest).unwrap();
            prop_assert_eq!(read_owner, owner.trim());
            prop_assert_eq!(rest, ")");
        }
    }

    #[test]
    fn values_and_owners_are_escaped() {
        assert_eq!(tql("Address", "1.2.3.4", None), "typeName IN ('Address') AND summary CONTAINS '1.2.3.4'");
        assert_eq!(
            tql("Host", "it's\\\"`", Some("O'Brien; Acme,")),
            "typeName IN ('Host') AND summary CONTAINS 'it\\'s\\\\\\\"\\`' and ownerName in ('O\\'Brien', 'Acme')"
        );
    }

    #[test]
    fn inputs_are_classified_or_rejected() {
        assert_eq!(hunt_domain("evil.example.com").unwrap(), "Host");
        assert_eq!(hunt_domain("http://evil.example.com/x").unwrap(), "URL");
        assert!(hunt_domain("not a domain").is_err());
        assert!(hunt_ip("1.2.3.4").is_ok() && hunt_ip("::1").is_ok());
        assert_eq!(
            hunt_ip("1.2.3.256").unwrap_err().message(),
            "Parameter 'ip' failed validation: it is not an IPv4 or IPv6 address"
        );
        assert!(hunt_file("d41d8cd98f00b204e9800998ecf8427e").is_ok() && hunt_file("xyz").is_err());
    }
}

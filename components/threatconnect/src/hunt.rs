//! Hunts: TQL searches for one value among indicators of one type, every page.

use crate::client::ThreatConnect;
use crate::{HuntDomain, HuntEmail, HuntFile, HuntIp, HuntUrl};
use soar_sdk::http::Method;
use soar_sdk::prelude::*;
use soar_sdk::validate;

/// The hunt actions differ only in the parameter holding the value and in how
/// that value is checked and typed; each becomes an `Action` running [`hunt`].
macro_rules! hunts {
    ($($action:ident.$value:ident => $indicator_type:ident),* $(,)?) => {$(
        impl Action for $action {
            fn run(self) -> ActionOutcome {
                let indicator_type = $indicator_type(&self.$value)?;
                let fields = [(self.security_label, "securityLabels"), (self.tag, "tags"), (self.attribute, "attributes")];
                hunt(indicator_type, &self.$value, self.owner.as_deref(), fields)
            }
        }
    )*};
}

hunts! {
    HuntIp.ip => ip_type,
    HuntFile.hash => file_type,
    HuntEmail.email => email_type,
    HuntDomain.domain => domain_type,
    HuntUrl.url => url_type,
}

/// Runs a hunt for `value` among indicators of `indicator_type` (`Address`,
/// `File`, ...), with the wanted extra `fields`, and returns every matching
/// indicator, all pages merged.
fn hunt(indicator_type: &str, value: &str, owner: Option<&str>, fields: [(bool, &str); 3]) -> ActionOutcome {
    let tc = ThreatConnect::connect()?;
    let mut request = tc.request(Method::Get, "indicators");
    for (_, field) in fields.iter().filter(|(wanted, _)| *wanted) {
        request = request.query("fields", *field);
    }
    let request = request.query("tql", tql(indicator_type, value.trim(), owner));
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

fn ip_type(ip: &str) -> Result<&'static str, ActionError> {
    if !validate::is_ip(ip) {
        return Err(ActionError::invalid_parameter(
            "ip",
            "Parameter 'ip' failed validation: it is not an IPv4 or IPv6 address",
        ));
    }
    Ok("Address")
}

fn file_type(hash: &str) -> Result<&'static str, ActionError> {
    if validate::HashKind::of(hash.trim()).is_none() {
        return Err(ActionError::invalid_parameter(
            "hash",
            "Parameter 'hash' failed validation: it is not an MD5, SHA-1 or SHA-256 hash",
        ));
    }
    Ok("File")
}

fn email_type(email: &str) -> Result<&'static str, ActionError> {
    if !validate::is_email(email) {
        return Err(ActionError::invalid_parameter(
            "email",
            "Parameter 'email' failed validation: it is not an email address",
        ));
    }
    Ok("EmailAddress")
}

/// A domain is hunted among Host indicators, a URL among URL indicators.
fn domain_type(domain: &str) -> Result<&'static str, ActionError> {
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

fn url_type(url: &str) -> Result<&'static str, ActionError> {
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
        assert_eq!(domain_type("evil.example.com").unwrap(), "Host");
        assert_eq!(domain_type("http://evil.example.com/x").unwrap(), "URL");
        assert!(domain_type("not a domain").is_err());
        assert!(ip_type("1.2.3.4").is_ok() && ip_type("::1").is_ok());
        assert_eq!(
            ip_type("1.2.3.256").unwrap_err().message(),
            "Parameter 'ip' failed validation: it is not an IPv4 or IPv6 address"
        );
        assert!(file_type("d41d8cd98f00b204e9800998ecf8427e").is_ok() && file_type("xyz").is_err());
    }
}

//! `post data`: one indicator from a value whose type is recognised.

use crate::PostData;
use crate::client::{ThreatConnect, succeeded};
use soar_sdk::http::Method;
use soar_sdk::prelude::*;
use soar_sdk::validate::{self, HashKind};

const UNRESOLVED: &str =
    "Could not resolve primary_field parameter type. Please check provided value of primary_field parameter.";

impl Action for PostData {
    fn run(self) -> ActionOutcome {
        let body = indicator_body(&self)?;
        let tc = ThreatConnect::connect()?;
        let request = tc
            .request(Method::Post, "indicators")
            .query("fields", "securityLabels")
            .query("fields", "tags")
            .query("fields", "attributes")
            .json(&body);
        let response = tc.call(&request)?;
        if !succeeded(&response) {
            return Err(ActionError::vendor(None, format!("ThreatConnect did not accept the indicator: {response}")));
        }
        let attribute_added = body.get("attributes").is_some();
        Output::new()
            .data(&response)
            .summary("attribute_added", attribute_added)
            .summary("indicator_created/updated", true)
            .summary("total_objects", 1)
            .message("Data successfully posted to ThreatConnect")
            .into()
    }
}

/// The indicator to post, in the reference connector's shape.
fn indicator_body(post: &PostData) -> Result<Value, ActionError> {
    let mut body = classify(&post.primary_field)?;
    if let Some(rating) = post.rating {
        if !(0.0..=5.0).contains(&rating) {
            return Err(ActionError::invalid_parameter(
                "rating",
                "Please provide a rating between 0 and 5 in the 'rating' parameter",
            ));
        }
        body["rating"] = json!(rating);
    }
    if let Some(confidence) = post.confidence {
        if confidence > 100 {
            return Err(ActionError::invalid_parameter(
                "confidence",
                "Please provide a confidence between 0 and 100 in the 'confidence' parameter",
            ));
        }
        body["confidence"] = json!(confidence);
    }
    match body["type"].as_str() {
        // The reference connector sends these keys, null when not given.
        Some("Host") => {
            body["dnsActive"] = json!(post.dns_active);
            body["whoisActive"] = json!(post.whois_active);
        }
        Some("File") => body["size"] = json!(post.size),
        _ => {}
    }
    match (&post.attribute_name, &post.attribute_value) {
        (Some(name), Some(value)) => {
            body["attributes"] = json!({"data": [{"type": name, "value": value, "default": true}]});
        }
        (None, None) => {}
        (Some(_), None) => {
            return Err(ActionError::invalid_parameter(
                "attribute_value",
                "An attribute needs both 'attribute_name' and 'attribute_value'",
            ));
        }
        (None, Some(_)) => {
            return Err(ActionError::invalid_parameter(
                "attribute_name",
                "An attribute needs both 'attribute_name' and 'attribute_value'",
            ));
        }
    }
    if let Some(tag) = &post.tag {
        body["tags"] = json!({"data": [{"name": tag}]});
    }
    if let Some(label) = &post.security_label {
        body["securityLabels"] = json!({"data": [{"name": label}]});
    }
    Ok(body)
}

/// The indicator type and value field of `primary_field`; several values must
/// all be hashes and make one File indicator (the last hash of each kind wins).
fn classify(primary_field: &str) -> Result<Value, ActionError> {
    let unresolved = || ActionError::invalid_parameter("primary_field", UNRESOLVED);
    let values = validate::split_list(primary_field, &[',', ';']);
    match values.as_slice() {
        [] => Err(unresolved()),
        [value] => {
            let value = value.as_str();
            if validate::is_ip(value) {
                Ok(json!({"ip": value, "type": "Address"}))
            } else if validate::is_email(value) {
                Ok(json!({"address": value, "type": "EmailAddress"}))
            } else if let Some(kind) = HashKind::of(value) {
                Ok(json!({kind.name(): value, "type": "File"}))
            } else if validate::is_url(value) {
                Ok(json!({"text": value, "type": "URL"}))
            } else if validate::is_domain(value) && value.contains('.') {
                Ok(json!({"hostName": value, "type": "Host"}))
            } else {
                Err(unresolved())
            }
        }
        hashes => {
            let mut body = json!({"type": "File"});
            for hash in hashes {
                body[HashKind::of(hash).ok_or_else(unresolved)?.name()] = json!(hash);
            }
            Ok(body)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MD5: &str = "d41d8cd98f00b204e9800998ecf8427e";
    const SHA1: &str = "da39a3ee5e6b4b0d3255bfef95601890afd80709";

    #[test]
    fn primary_fields_are_classified() {
        assert_eq!(classify("1.2.3.4").unwrap(), json!({"ip": "1.2.3.4", "type": "Address"}));
        assert_eq!(classify("2001:db8::1").unwrap()["type"], "Address");
        assert_eq!(classify("a@b.com").unwrap(), json!({"address": "a@b.com", "type": "EmailAddress"}));
        assert_eq!(classify(MD5).unwrap(), json!({"md5": MD5, "type": "File"}));
        assert_eq!(classify("http://x.com/a").unwrap(), json!({"text": "http://x.com/a", "type": "URL"}));
        assert_eq!(classify("x.com").unwrap(), json!({"hostName": "x.com", "type": "Host"}));
        assert_eq!(classify(&format!("{MD5}; {SHA1}")).unwrap(), json!({"md5": MD5, "sha1": SHA1, "type": "File"}));
        for bad in ["", "hello", "localhost", &format!("{MD5},1.2.3.4")] {
            assert_eq!(classify(bad).unwrap_err().message(), UNRESOLVED, "{bad}");
        }
    }

    #[test]
    fn extras_follow_the_type_and_are_checked() {
        let post = |primary_field: &str, extras: PostData| {
            indicator_body(&PostData { primary_field: primary_field.into(), ..extras })
        };
        let host = post("x.com", PostData { dns_active: Some(true), rating: Some(0.0), ..Default::default() }).unwrap();
        assert_eq!(
            host,
            json!({"hostName": "x.com", "type": "Host", "rating": 0.0, "dnsActive": true, "whoisActive": null})
        );
        let file = post(MD5, PostData { tag: Some("t".into()), ..Default::default() }).unwrap();
        assert_eq!(file, json!({"md5": MD5, "type": "File", "size": null, "tags": {"data": [{"name": "t"}]}}));
        assert!(post(MD5, PostData { rating: Some(5.5), ..Default::default() }).is_err());
        assert!(post(MD5, PostData { confidence: Some(101), ..Default::default() }).is_err());
        assert!(post(MD5, PostData { attribute_name: Some("Description".into()), ..Default::default() }).is_err());
    }
}

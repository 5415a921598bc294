//! Indicators as containers and artifacts, with the CEF fields of the
//! specification's table.

use serde_json::{Map, Value, json};
use soar_sdk::ingest::{Artifact, Container};
use soar_sdk::validate::{self, HashKind};

/// One container per indicator, identified by `id` (see [`identifier`]).
pub fn container(indicator: &Value, id: &str) -> Container {
    Container {
        name: summary(indicator),
        description: "Ingested indicator from ThreatConnect".to_string(),
        source_data_identifier: id.to_string(),
        label: None,
        severity: None,
        data: Some(indicator.to_string()),
    }
}

/// The indicator id as the container's source data identifier, or why there is
/// no usable one. ThreatConnect ids are integers: a number is its decimal text.
/// A string id is taken as it is, except one that reads as a number (`"1"`),
/// which would be mistaken for the indicator whose id is that number, one that
/// is empty, and one that held invalid Unicode (a lone surrogate, read as
/// U+FFFD), which no longer says which indicator it was.
pub fn identifier(indicator: &Value) -> Result<String, &'static str> {
    match &indicator["id"] {
        Value::Number(id) => Ok(id.to_string()),
        Value::String(id) if id.trim().is_empty() => Err("its id is empty"),
        Value::String(id) if id.trim().parse::<f64>().is_ok() => {
            Err("its id is a string that reads as a number, and would be mistaken for that number's indicator")
        }
        Value::String(id) if id.contains('\u{FFFD}') => Err("its id is not valid Unicode"),
        Value::String(id) => Ok(id.clone()),
        Value::Null => Err("it has no id"),
        _ => Err("its id is neither a number nor a string"),
    }
}

/// The summary without Unicode format characters (zero-width spaces, direction
/// marks), which would make equal indicators look different.
fn summary(indicator: &Value) -> String {
    indicator["summary"].as_str().unwrap_or_default().chars().filter(|c| !is_format_character(*c)).collect()
}

/// Unicode general category Cf.
fn is_format_character(c: char) -> bool {
    matches!(c as u32,
        0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x890..=0x891 | 0x8E2 | 0x180E | 0x200B..=0x200F
        | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F | 0xFEFF | 0xFFF9..=0xFFFB | 0x110BD | 0x110CD
        | 0x13430..=0x1343F | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A | 0xE0001 | 0xE0020..=0xE007F)
}

/// The artifact of an indicator: its type's CEF fields plus dates, rating,
/// confidence and file hashes.
pub fn artifact(indicator: &Value, id: &str) -> Artifact {
    let summary = summary(indicator);
    let kind = indicator["type"].as_str().unwrap_or_default().to_ascii_lowercase();
    let mut cef = Map::new();
    let mut types = Map::new();
    cef.insert("deviceCustomDate1".into(), indicator["dateAdded"].clone());
    cef.insert("deviceCustomDate1Label".into(), json!("Date Created"));
    cef.insert("deviceCustomDate2".into(), indicator["lastModified"].clone());
    cef.insert("deviceCustomDate2Label".into(), json!("Last Modified"));
    if let Some(rating) = truthy(&indicator["rating"]) {
        cef.insert("rating".into(), json!(number_text(rating)));
    }
    for key in ["confidence", "threatAssessRating", "threatAssessConfidence"] {
        if let Some(value) = truthy(&indicator[key]) {
            cef.insert(key.into(), value.clone());
        }
    }
    for (key, field, kind) in
        [("md5", "fileHashMd5", "md5"), ("sha1", "fileHashSha1", "sha1"), ("sha256", "fileHashSha256", "sha256")]
    {
        if let Some(hash) = truthy(&indicator[key]) {
            cef.insert(field.into(), hash.clone());
            types.insert(field.into(), json!([kind]));
        }
    }
    let mut set = |field: &str, value: &str, kind: Option<&str>| {
        cef.insert(field.into(), json!(value));
        if let Some(kind) = kind {
            types.insert(field.into(), json!([kind]));
        }
    };
    let name = match kind.as_str() {
        "mutex" => {
            set("mutex", &summary, None);
            "Mutex Artifact"
        }
        "cidr" if let Some((address, prefix)) = cidr_parts(&summary) => {
            set("deviceAddress", address, None);
            set("cidrPrefix", prefix, None);
            set("cidr", &summary, None);
            types = Map::from_iter([("deviceAddress".into(), json!(["ip"])), ("cidr".into(), json!(["CIDR"]))]);
            "CIDR Artifact"
        }
        "registry key" if summary.split(" : ").count() == 3 => {
            let parts: Vec<&str> = summary.split(" : ").collect();
            set("registryKey", parts[0], None);
            set("registryValue", parts[1], None);
            set("registryType", parts[2], None);
            "Registry Key Artifact"
        }
        "asn" => {
            set("asn", &summary, None);
            "ASN Artifact"
        }
        "user agent" => {
            set("requestClientApplication", &summary, None);
            "User Agent Artifact"
        }
        _ if validate::is_email(&summary) => {
            set("emailAddress", &summary, Some("email"));
            "Email Address Artifact"
        }
        _ if let Some(hash) = HashKind::of(&summary) => {
            set("fileHash", &summary, Some(hash.name()));
            "File Artifact"
        }
        _ if validate::is_url(&summary) => {
            set("requestURL", &summary, Some("url"));
            "URL Artifact"
        }
        _ if validate::is_ipv4(&summary) => {
            set("deviceAddress", &summary, Some("ip"));
            "IP Artifact"
        }
        _ if validate::is_ipv6(&summary) => {
            set("deviceCustomIPv6Address1", &summary, Some("ipv6"));
            "IP Artifact"
        }
        _ if validate::is_domain(&summary) => {
            set("deviceDnsDomain", &summary, Some("domain"));
            "Domain Artifact"
        }
        // A file with several hashes ("MD5 : SHA1 : SHA256") has its fileHash* fields.
        "file" => {
            set("ioc", &summary, None);
            "File Artifact"
        }
        // Custom indicator types, and malformed CIDR or registry key values.
        _ => {
            set("ioc", &summary, None);
            "Indicator Artifact"
        }
    };
    Artifact {
        name: name.to_string(),
        label: "event".to_string(),
        type_: indicator["type"].as_str().unwrap_or("indicator").to_string(),
        source_data_identifier: id.to_string(),
        cef: Value::Object(cef).to_string(),
        cef_types: Value::Object(types).to_string(),
    }
}

/// `10.0.0.0/24` → (`10.0.0.0`, `24`), if it is an IPv4 CIDR block.
fn cidr_parts(summary: &str) -> Option<(&str, &str)> {
    let (address, prefix) = summary.split_once('/')?;
    let valid = validate::is_ip(address) && prefix.parse::<u8>().is_ok_and(|p| p <= 128);
    valid.then_some((address, prefix))
}

/// A value that Python would call true: not null, false, 0 or empty.
fn truthy(value: &Value) -> Option<&Value> {
    match value {
        Value::Null | Value::Bool(false) => None,
        Value::Number(n) if n.as_f64() == Some(0.0) => None,
        Value::String(s) if s.is_empty() => None,
        other => Some(other),
    }
}

/// A rating as the reference connector wrote it (`str(3.0)` → `3.0`). JSON's
/// own float form (shortest, with `.0` when whole) is Python's for ratings, and
/// it spares the component Rust's float formatting.
fn number_text(value: &Value) -> String {
    match value.as_f64().and_then(serde_json::Number::from_f64) {
        Some(n) => n.to_string(),
        None => value.as_str().map(str::to_string).unwrap_or_else(|| value.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_are_written_as_python_writes_them() {
        for (rating, text) in [(json!(3.0), "3.0"), (json!(4.5), "4.5"), (json!(0.25), "0.25"), (json!("2"), "2")] {
            assert_eq!(number_text(&rating), text, "{rating}");
        }
    }

    fn artifact_of(kind: &str, summary: &str) -> (String, Value, Value) {
        let indicator = json!({"id": 7, "type": kind, "summary": summary, "dateAdded": "2024-01-02T03:04:05Z",
            "lastModified": "2024-01-03T03:04:05Z", "rating": 3.0, "confidence": 0});
        let artifact = artifact(&indicator, &identifier(&indicator).unwrap());
        (
            artifact.name,
            serde_json::from_str(&artifact.cef).unwrap(),
            serde_json::from_str(&artifact.cef_types).unwrap(),
        )
    }

    #[test]
    fn every_type_of_the_table() {
        let cases = [
            ("Address", "1.2.3.4", "IP Artifact", "deviceAddress"),
            ("Address", "2001:db8::1", "IP Artifact", "deviceCustomIPv6Address1"),
            ("EmailAddress", "a@b.com", "Email Address Artifact", "emailAddress"),
            ("File", "d41d8cd98f00b204e9800998ecf8427e", "File Artifact", "fileHash"),
            ("Host", "evil.example.com", "Domain Artifact", "deviceDnsDomain"),
            ("URL", "http://evil.example.com/x", "URL Artifact", "requestURL"),
            ("CIDR", "10.0.0.0/24", "CIDR Artifact", "cidrPrefix"),
            ("Mutex", "Global\\evil", "Mutex Artifact", "mutex"),
            ("Registry Key", "HKEY_LOCAL_MACHINE\\Run : evil : REG_SZ", "Registry Key Artifact", "registryType"),
            ("ASN", "ASN204288", "ASN Artifact", "asn"),
            ("User Agent", "EvilBot/1.0", "User Agent Artifact", "requestClientApplication"),
            ("Custom", "something", "Indicator Artifact", "ioc"),
            ("CIDR", "not/a-cidr", "Indicator Artifact", "ioc"),
        ];
        for (kind, summary, name, field) in cases {
            let (got, cef, _) = artifact_of(kind, summary);
            assert_eq!(got, name, "{kind} {summary}");
            assert!(cef.get(field).is_some(), "{kind}: {cef}");
            assert_eq!(cef["deviceCustomDate1Label"], "Date Created");
            assert_eq!(cef["rating"], "3.0");
            assert!(cef.get("confidence").is_none(), "a zero confidence is left out");
        }
        let (_, cef, types) = artifact_of("CIDR", "10.0.0.0/24");
        assert_eq!(
            (cef["deviceAddress"].as_str(), cef["cidrPrefix"].as_str(), cef["cidr"].as_str()),
            (Some("10.0.0.0"), Some("24"), Some("10.0.0.0/24"))
        );
        assert_eq!(types, json!({"deviceAddress": ["ip"], "cidr": ["CIDR"]}));
    }

    #[test]
    fn files_carry_every_hash() {
        let indicator = json!({"id": 9, "type": "File", "summary": "A : B : C", "md5": "d41d8cd98f00b204e9800998ecf8427e",
            "sha1": "da39a3ee5e6b4b0d3255bfef95601890afd80709", "sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"});
        let artifact = artifact(&indicator, &identifier(&indicator).unwrap());
        let cef: Value = serde_json::from_str(&artifact.cef).unwrap();
        assert_eq!(artifact.name, "File Artifact");
        assert_eq!(cef["fileHashSha1"], "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(artifact.source_data_identifier, "9");
        let types: Value = serde_json::from_str(&artifact.cef_types).unwrap();
        assert_eq!(types["fileHashSha256"], json!(["sha256"]));
    }

    #[test]
    fn format_characters_are_stripped() {
        let indicator = json!({"id": 1, "type": "Host", "summary": "evil\u{200B}.example.com"});
        assert_eq!(container(&indicator, "1").name, "evil.example.com");
    }

    #[test]
    fn only_usable_ids_identify_containers() {
        assert_eq!(identifier(&json!({"id": 12})), Ok("12".to_string()));
        assert_eq!(identifier(&json!({"id": "abc-1"})), Ok("abc-1".to_string()));
        for bad in [
            json!({}),
            json!({"id": null}),
            json!({"id": ""}),
            json!({"id": "1"}),
            json!({"id": " 2.0"}),
            json!({"id": [1]}),
            json!({"id": "x\u{fffd}y"}),
        ] {
            assert!(identifier(&bad).is_err(), "{bad}");
        }
    }
}

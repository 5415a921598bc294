//! The data a fresh simulator holds, and bulk generation for benchmarks and polling tests.

use super::input::from_json;
use super::store::{Indicator, Owner, Store};
use super::tql::format_date;
use serde_json::{Map, Value, json};
use std::net::{Ipv4Addr, Ipv6Addr};

const INDICATORS_PAGE: &str =
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/vendors/threatconnect/fixtures/indicators_page.json"));
const INDICATOR_WITH_TAGS: &str =
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/vendors/threatconnect/fixtures/indicator_with_tags.json"));

const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;

/// Fills `store`: the documentation's example indicators (ids 4, 19, 27, from 2023, with their original
/// links), then one or more indicators of every type the connector maps to CEF, added over the last 30 days
/// (oldest first, so ids and dates agree), three of them in one second and one inactive.
pub fn seed(store: &mut Store, owners: &[Owner], now: i64) {
    for fixture in fixture_indicators() {
        let indicator = from_json(store, owners, fixture, now);
        store.insert(indicator);
    }
    for (seconds_ago, indicator) in recent_indicators() {
        let mut indicator = indicator;
        indicator["dateAdded"] = format_date(now - seconds_ago).into();
        let indicator = from_json(store, owners, indicator, now);
        store.insert(indicator);
    }
}

fn fixture_indicators() -> Vec<Value> {
    let page: Value = serde_json::from_str(INDICATORS_PAGE).expect("indicators_page.json is JSON");
    let single: Value = serde_json::from_str(INDICATOR_WITH_TAGS).expect("indicator_with_tags.json is JSON");
    let mut indicators = vec![single["data"].clone()];
    indicators.extend(page["data"].as_array().cloned().unwrap_or_default());
    indicators
}

/// (seconds before now, indicator) in the order they are added.
fn recent_indicators() -> Vec<(i64, Value)> {
    let same_second = DAY + 2 * HOUR;
    vec![
        (
            29 * DAY,
            json!({
                "type": "Address", "ip": "203.0.113.7", "ownerName": "Demo Organization",
                "rating": 4.0, "confidence": 80,
                "description": "C2 server seen in a phishing campaign",
                "tags": {"data": [{"name": "Botnet"}, {"name": "C2"}]},
                "attributes": {"data": [
                    {"type": "Description", "value": "C2 server seen in a phishing campaign", "default": true},
                    {"type": "Source", "value": "Internal SOC"}
                ]},
                "securityLabels": {"data": [{"name": "TLP:AMBER"}]}
            }),
        ),
        (
            26 * DAY,
            json!({
                "type": "Address", "ip": "2001:db8::dead:beef", "ownerName": "Demo Source",
                "rating": 3.0, "confidence": 60,
                "tags": {"data": [{"name": "Scanner"}]}
            }),
        ),
        (
            23 * DAY,
            json!({
                "type": "EmailAddress", "address": "phisher@evil-mail.example", "ownerName": "Demo Organization",
                "rating": 2.0, "confidence": 70,
                "tags": {"data": [{"name": "Phishing"}]},
                "attributes": {"data": [{"type": "Source", "value": "User report"}]},
                "securityLabels": {"data": [{"name": "TLP:GREEN"}]}
            }),
        ),
        (20 * DAY, json!({"type": "File", "md5": "0CC175B9C0F1B6A831C399E269772661", "ownerName": "Demo Community"})),
        (
            17 * DAY,
            json!({
                "type": "File", "md5": "900150983CD24FB0D6963F7D28E17F72",
                "sha1": "A9993E364706816ABA3E25717850C26C9CD0D89D",
                "sha256": "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD", "size": 4096,
                "ownerName": "Demo Organization", "rating": 5.0, "confidence": 95,
                "tags": {"data": [{"name": "Ransomware"}]},
                "attributes": {"data": [
                    {"type": "Additional Analysis and Context", "value": "Dropper of the 2024 campaign"}
                ]},
                "securityLabels": {"data": [{"name": "TLP:RED"}]}
            }),
        ),
        (
            14 * DAY,
            json!({
                "type": "Host", "hostName": "malware-c2.example.net", "dnsActive": true, "whoisActive": false,
                "ownerName": "Demo Source", "rating": 2.0, "confidence": 50,
                "description": "Resolves to the C2 address",
                "tags": {"data": [{"name": "C2"}, {"name": "Targeted Attack"}]},
                "attributes": {"data": [
                    {"type": "Description", "value": "Resolves to the C2 address", "default": true}
                ]},
                "securityLabels": {"data": [{"name": "TLP:AMBER"}]}
            }),
        ),
        (
            11 * DAY,
            json!({
                "type": "URL", "text": "http://malware-c2.example.net/gate.php?id=1", "ownerName": "Demo Organization",
                "rating": 1.0, "confidence": 60
            }),
        ),
        (8 * DAY, json!({"type": "CIDR", "Block": "10.0.0.0/24", "ownerName": "Demo Organization", "rating": 1.0})),
        (6 * DAY, json!({"type": "Mutex", "Mutex": "Global\\EvilMutex123", "ownerName": "Demo Source"})),
        (
            4 * DAY,
            json!({
                "type": "Registry Key", "Key Name": "HKEY_LOCAL_MACHINE\\Software\\Evil", "Value Name": "Run",
                "Value Type": "REG_SZ", "ownerName": "Demo Organization", "confidence": 40
            }),
        ),
        (3 * DAY, json!({"type": "ASN", "AS Number": "ASN204288", "ownerName": "Demo Community"})),
        (
            2 * DAY,
            json!({
                "type": "User Agent", "User Agent String": "Mozilla/5.0 (compatible; EvilBot/1.0)",
                "ownerName": "Demo Organization"
            }),
        ),
        (
            same_second,
            json!({
                "type": "Address", "ip": "198.51.100.23", "ownerName": "Demo Organization",
                "rating": 3.0, "confidence": 75
            }),
        ),
        (
            same_second,
            json!({
                "type": "Host", "hostName": "phish-login.example.org", "ownerName": "Demo Organization",
                "tags": {"data": [{"name": "Phishing"}]}
            }),
        ),
        (
            same_second,
            json!({
                "type": "URL", "text": "https://phish-login.example.org/o365/login", "ownerName": "Demo Source",
                "tags": {"data": [{"name": "Phishing"}]}
            }),
        ),
        (
            12 * HOUR,
            json!({
                "type": "Address", "ip": "192.0.2.200", "ownerName": "Demo Organization", "active": false,
                "description": "Retired sinkhole"
            }),
        ),
        // Quotes and a backslash, for TQL escaping.
        (
            5 * HOUR,
            json!({
                "type": "URL", "text": "http://evil.example/it's\"quoted\"\\path", "ownerName": "Demo Source",
                "rating": 4.0, "confidence": 90
            }),
        ),
    ]
}

/// The kinds `generate` cycles through.
const GENERATED_KINDS: usize = 12;

/// Adds `count` indicators of every type in turn (IPv4, IPv6, email, md5-only file, three-hash file, host, URL,
/// CIDR, mutex, registry key, ASN, user agent), spread over the owners, with
/// `dateAdded = start + i × step_millis`. Values derive from the id, so they are unique across calls.
pub fn generate(store: &mut Store, owners: &[Owner], count: usize, start_millis: i64, step_millis: i64) {
    for i in 0..count {
        let id = store.allocate_id();
        let owner = owners[(i / GENERATED_KINDS) % owners.len().max(1)].clone();
        let date_added = (start_millis + step_millis * i as i64).div_euclid(1000);
        let (type_name, specific) = generated_values(i % GENERATED_KINDS, id);
        let summary = summary_of(type_name, &specific);
        store.insert(Indicator {
            rating: (!i.is_multiple_of(6)).then_some((i % 6) as f64),
            confidence: (!i.is_multiple_of(4)).then_some((i * 7 % 101) as u64),
            ..Indicator::new(id, owner, type_name, summary, specific, date_added)
        });
    }
}

fn summary_of(type_name: &str, specific: &Map<String, Value>) -> String {
    let values = specific.iter().filter(|(key, _)| !matches!(key.as_str(), "dnsActive" | "whoisActive" | "size"));
    let parts: Vec<&str> = values.filter_map(|(_, value)| value.as_str()).collect();
    debug_assert!(!parts.is_empty(), "{type_name} has a value");
    parts.join(" : ")
}

/// The type and value fields of the `kind`-th generated type, unique for `id`.
fn generated_values(kind: usize, id: u64) -> (&'static str, Map<String, Value>) {
    let fields = |pairs: &[(&str, Value)]| pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    let hex = |bits: u128| format!("{:032X}", bits);
    // An odd multiplier is a bijection on u128: distinct ids give distinct, random-looking hashes.
    let mixed = (id as u128).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835);
    let (md5, sha1, sha256) = (hex(mixed), format!("{}{:08X}", hex(mixed), id as u32), hex(mixed).repeat(2));
    match kind {
        0 => ("Address", fields(&[("ip", Ipv4Addr::from(0x0B00_0000_u32.wrapping_add(id as u32)).to_string().into())])),
        1 => ("Address", fields(&[("ip", Ipv6Addr::from((0x2001_0db8_u128 << 96) | id as u128).to_string().into())])),
        2 => ("EmailAddress", fields(&[("address", format!("sender{id}@generated.example").into())])),
        3 => ("File", fields(&[("md5", md5.into())])),
        4 => (
            "File",
            fields(&[("md5", md5.into()), ("sha1", sha1.into()), ("sha256", sha256.into()), ("size", 1024.into())]),
        ),
        5 => (
            "Host",
            fields(&[
                ("hostName", format!("host-{id}.generated.example").into()),
                ("dnsActive", id.is_multiple_of(2).into()),
                ("whoisActive", false.into()),
            ]),
        ),
        6 => ("URL", fields(&[("text", format!("http://host-{id}.generated.example/gate.php").into())])),
        7 => (
            "CIDR",
            fields(&[(
                "Block",
                format!("{}/24", Ipv4Addr::from(0x6400_0000_u32.wrapping_add((id as u32) << 8))).into(),
            )]),
        ),
        8 => ("Mutex", fields(&[("Mutex", format!("Global\\GeneratedMutex{id}").into())])),
        9 => (
            "Registry Key",
            fields(&[
                ("Key Name", format!("HKEY_CURRENT_USER\\Software\\Generated{id}").into()),
                ("Value Name", "Run".into()),
                ("Value Type", "REG_SZ".into()),
            ]),
        ),
        10 => ("ASN", fields(&[("AS Number", format!("ASN{}", 64_512 + id).into())])),
        _ => ("User Agent", fields(&[("User Agent String", format!("GeneratedBot/{id}.0").into())])),
    }
}

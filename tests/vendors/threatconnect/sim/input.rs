//! Turning JSON into stored indicators: `POST indicators` bodies (validated strictly, as the API does) and the
//! indicators tests add directly (taken leniently, with the gaps filled in).

use super::store::{Indicator, IndicatorType, Owner, Store, indicator_type};
use super::tql::{format_date, parse_date};
use serde_json::{Map, Value, json};
use std::net::IpAddr;

/// Attribute types the simulator accepts on indicators; posting any other fails, as it does on a real
/// instance where the type does not exist.
const ATTRIBUTE_TYPES: [&str; 8] = [
    "Description",
    "Source",
    "Additional Analysis and Context",
    "Title",
    "Comment",
    "External ID",
    "External Date Created",
    "External Date Expires",
];

/// The system security labels: (id, name, color).
const SECURITY_LABELS: [(u64, &str, &str); 6] = [
    (1, "TLP:WHITE", "FFFFFF"),
    (2, "TLP:GREEN", "33FF00"),
    (3, "TLP:AMBER", "FFC000"),
    (4, "TLP:RED", "FF0033"),
    (5, "TLP:CLEAR", "FFFFFF"),
    (6, "TLP:AMBER+STRICT", "FFC000"),
];

/// The API user every attribute is created by.
fn api_user() -> Value {
    json!({
        "id": 3,
        "userName": "12345678901234567890",
        "firstName": "Simulated",
        "lastName": "API User",
        "pseudonym": "SimulatorAPI",
        "owner": "Demo Organization"
    })
}

/// An attribute to add.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAttribute {
    pub kind: String,
    pub value: String,
    pub default: bool,
}

/// A validated `POST indicators` body.
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    pub kind: &'static IndicatorType,
    /// The value fields given (`ip`, some of `md5`/`sha1`/`sha256`...), hashes upper-cased.
    pub values: Vec<(&'static str, String)>,
    pub rating: Option<f64>,
    pub confidence: Option<u64>,
    /// `dnsActive`/`whoisActive` (Host) and `size` (File), when given and not null.
    pub extras: Vec<(&'static str, Value)>,
    pub description: Option<String>,
    pub owner_name: Option<String>,
    pub tags: Vec<String>,
    pub attributes: Vec<NewAttribute>,
    pub security_labels: Vec<String>,
}

impl Submission {
    /// Validates a request body; the error is the 400 message.
    pub fn parse(body: &[u8]) -> Result<Self, String> {
        let body: Value = serde_json::from_slice(body).map_err(|e| format!("Invalid JSON body: {e}"))?;
        let body = body.as_object().ok_or("The request body must be a JSON object")?;
        let type_name = body.get("type").and_then(Value::as_str).ok_or("Field 'type' is required")?;
        let kind = indicator_type(type_name).ok_or_else(|| format!("Invalid indicator type: '{type_name}'"))?;
        Ok(Self {
            kind,
            values: values(kind, body)?,
            rating: bounded_number(body, "rating", 5.0)?,
            confidence: bounded_number(body, "confidence", 100.0)?.map(|c| c.round() as u64),
            extras: extras(kind, body)?,
            description: optional_string(body, "description")?,
            owner_name: optional_string(body, "ownerName")?,
            tags: names(body, "tags")?,
            attributes: attributes(body)?,
            security_labels: security_labels(body)?,
        })
    }

    /// The summary the values make (`MD5 : SHA1 : SHA256` for files).
    pub fn summary(&self) -> String {
        self.values.iter().map(|(_, value)| value.as_str()).collect::<Vec<_>>().join(" : ")
    }
}

fn values(kind: &'static IndicatorType, body: &Map<String, Value>) -> Result<Vec<(&'static str, String)>, String> {
    let mut values = Vec::new();
    for &field in kind.value_fields {
        let Some(value) = optional_string(body, field)? else { continue };
        let value = value.trim().to_string();
        values.push((field, validate_value(kind.name, field, value)?));
    }
    if kind.name == "File" && values.is_empty() {
        return Err("A File indicator needs at least one of 'md5', 'sha1' and 'sha256'".into());
    }
    // A file needs any one hash; a registry key needs its key name, the value name and type may be empty.
    let required: &[&str] = match kind.name {
        "File" => &[],
        "Registry Key" => &kind.value_fields[..1],
        _ => kind.value_fields,
    };
    match required.iter().find(|field| !values.iter().any(|(given, _)| given == *field)) {
        Some(missing) => Err(format!("Field '{missing}' is required for a {} indicator", kind.name)),
        None => Ok(values),
    }
}

fn validate_value(type_name: &str, field: &str, value: String) -> Result<String, String> {
    let invalid = || format!("Invalid {type_name} indicator: '{value}' is not a valid {field}");
    let hash_length = match field {
        "md5" => 32,
        "sha1" => 40,
        "sha256" => 64,
        _ => 0,
    };
    match field {
        _ if value.is_empty() => Err(format!("Field '{field}' of a {type_name} indicator must not be empty")),
        "ip" if value.parse::<IpAddr>().is_err() => Err(invalid()),
        "address" if !value.contains('@') => Err(invalid()),
        "md5" | "sha1" | "sha256" if value.len() != hash_length || !value.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Err(invalid())
        }
        "md5" | "sha1" | "sha256" => Ok(value.to_ascii_uppercase()),
        _ => Ok(value),
    }
}

fn extras(kind: &IndicatorType, body: &Map<String, Value>) -> Result<Vec<(&'static str, Value)>, String> {
    let mut extras = Vec::new();
    let fields: &[&'static str] = match kind.name {
        "Host" => &["dnsActive", "whoisActive"],
        "File" => &["size"],
        _ => &[],
    };
    for &field in fields {
        match body.get(field) {
            None | Some(Value::Null) => {}
            Some(value @ Value::Bool(_)) if field != "size" => extras.push((field, value.clone())),
            Some(value) if field == "size" && value.as_u64().is_some() => extras.push((field, value.clone())),
            Some(other) => return Err(format!("Invalid value for '{field}': {other}")),
        }
    }
    Ok(extras)
}

/// A number in `0..=max` (numeric strings too, as the API's JSON binding accepts them); null is absent.
fn bounded_number(body: &Map<String, Value>, field: &str, max: f64) -> Result<Option<f64>, String> {
    let number = match body.get(field) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(number)) => number.as_f64(),
        Some(Value::String(text)) => text.trim().parse().ok(),
        Some(_) => None,
    };
    match number {
        Some(number) if (0.0..=max).contains(&number) => Ok(Some(number)),
        _ => Err(format!("Invalid value for '{field}': it must be a number from 0 to {max}")),
    }
}

fn optional_string(body: &Map<String, Value>, field: &str) -> Result<Option<String>, String> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(other) => Err(format!("Invalid value for '{field}': {other} is not a string")),
    }
}

/// The items of a `{"data": [...]}` sub-collection.
fn collection<'a>(body: &'a Map<String, Value>, field: &str) -> Result<&'a [Value], String> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(&[]),
        Some(value) => value
            .get("data")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .ok_or_else(|| format!("Invalid value for '{field}': expected {{\"data\": [...]}}")),
    }
}

fn names(body: &Map<String, Value>, field: &str) -> Result<Vec<String>, String> {
    let name = |item: &Value| item.get("name").and_then(Value::as_str).map(str::to_string);
    collection(body, field)?
        .iter()
        .map(|item| name(item).ok_or_else(|| format!("Every item of '{field}' needs a 'name'")))
        .collect()
}

fn attributes(body: &Map<String, Value>) -> Result<Vec<NewAttribute>, String> {
    let attribute = |item: &Value| {
        let kind = item.get("type").and_then(Value::as_str).ok_or("Every attribute needs a 'type'")?;
        let value = item.get("value").and_then(Value::as_str).ok_or("Every attribute needs a 'value'")?;
        let kind = ATTRIBUTE_TYPES
            .iter()
            .find(|known| known.eq_ignore_ascii_case(kind))
            .ok_or_else(|| format!("Attribute type '{kind}' does not exist or does not apply to indicators"))?;
        let default = item.get("default").and_then(Value::as_bool).unwrap_or(false);
        Ok(NewAttribute { kind: kind.to_string(), value: value.to_string(), default })
    };
    collection(body, "attributes")?.iter().map(attribute).collect()
}

fn security_labels(body: &Map<String, Value>) -> Result<Vec<String>, String> {
    let known = |name: String| match SECURITY_LABELS.iter().find(|(_, label, _)| label.eq_ignore_ascii_case(&name)) {
        Some((_, label, _)) => Ok(label.to_string()),
        None => Err(format!("Security label '{name}' does not exist")),
    };
    names(body, "securityLabels")?.into_iter().map(known).collect()
}

/// Creates the indicator `submission` describes in `owner`, or updates the one that exists there already.
/// Returns its id and whether it was created.
pub fn apply(store: &mut Store, submission: Submission, owner: Owner, now: i64) -> (u64, bool) {
    let summary = submission.summary();
    let (id, created) = match store.find(submission.kind.name, owner.id, &summary) {
        Some(id) => (id, false),
        None => (create(store, &submission, owner, summary, now), true),
    };
    let tags: Vec<(String, u64)> = submission.tags.iter().map(|name| (name.clone(), store.tag_id(name))).collect();
    let attributes: Vec<(NewAttribute, u64)> =
        submission.attributes.iter().map(|attribute| (attribute.clone(), store.child_id())).collect();
    let Some(indicator) = store.get_mut(id) else { return (id, created) };
    if !created {
        update(indicator, &submission, now);
    }
    add_tags(indicator, tags, now);
    add_attributes(indicator, attributes, now);
    add_security_labels(indicator, &submission.security_labels);
    (id, created)
}

fn create(store: &mut Store, submission: &Submission, owner: Owner, summary: String, now: i64) -> u64 {
    let mut specific: Map<String, Value> =
        submission.values.iter().map(|(field, value)| (field.to_string(), value.clone().into())).collect();
    if submission.kind.name == "Host" {
        // The API always shows both flags on hosts.
        specific.insert("dnsActive".into(), false.into());
        specific.insert("whoisActive".into(), false.into());
    }
    specific.extend(submission.extras.iter().map(|(field, value)| (field.to_string(), value.clone())));
    let id = store.allocate_id();
    store.insert(Indicator {
        rating: submission.rating,
        confidence: submission.confidence,
        description: submission.description.clone(),
        ..Indicator::new(id, owner, submission.kind.name, summary, specific, now)
    });
    id
}

/// Posting an existing indicator overwrites what the body gives and keeps the rest; a file gains the hashes
/// it did not have.
fn update(indicator: &mut Indicator, submission: &Submission, now: i64) {
    for (field, value) in &submission.values {
        indicator.specific.insert(field.to_string(), value.clone().into());
    }
    for (field, value) in &submission.extras {
        indicator.specific.insert(field.to_string(), value.clone());
    }
    let parts: Vec<&str> = submission
        .kind
        .value_fields
        .iter()
        .filter_map(|field| indicator.specific.get(*field).and_then(Value::as_str))
        .collect();
    if !parts.is_empty() {
        indicator.summary = parts.join(" : ");
    }
    if submission.kind.name == "File" {
        sort_hashes(&mut indicator.specific);
    }
    indicator.rating = submission.rating.or(indicator.rating);
    indicator.confidence = submission.confidence.or(indicator.confidence);
    if submission.description.is_some() {
        indicator.description = submission.description.clone();
    }
    indicator.active = true;
    indicator.last_modified = now;
}

/// Keeps md5, sha1, sha256 in that order ahead of the other fields, as the API shows them.
fn sort_hashes(specific: &mut Map<String, Value>) {
    let mut sorted = Map::new();
    for hash in ["md5", "sha1", "sha256"] {
        if let Some(value) = specific.remove(hash) {
            sorted.insert(hash.into(), value);
        }
    }
    sorted.append(specific);
    *specific = sorted;
}

fn add_tags(indicator: &mut Indicator, tags: Vec<(String, u64)>, now: i64) {
    for (name, id) in tags {
        let existing = indicator.tags.iter_mut().find(|tag| tag.get("id").and_then(Value::as_u64) == Some(id));
        match existing {
            Some(tag) => tag["lastUsed"] = format_date(now).into(),
            None => indicator.tags.push(json!({"id": id, "name": name, "lastUsed": format_date(now)})),
        }
    }
}

fn add_attributes(indicator: &mut Indicator, attributes: Vec<(NewAttribute, u64)>, now: i64) {
    for (attribute, id) in attributes {
        // The default Description attribute is what the indicator's `description` shows.
        if attribute.default && attribute.kind == "Description" {
            indicator.description = Some(attribute.value.clone());
        }
        indicator.attributes.push(attribute_json(id, &attribute, now));
    }
}

fn attribute_json(id: u64, attribute: &NewAttribute, now: i64) -> Value {
    json!({
        "id": id,
        "type": attribute.kind,
        "value": attribute.value,
        "pinned": false,
        "default": attribute.default,
        "createdBy": api_user(),
        "dateAdded": format_date(now),
        "lastModified": format_date(now),
    })
}

fn add_security_labels(indicator: &mut Indicator, labels: &[String]) {
    for name in labels {
        let present =
            indicator.security_labels.iter().any(|label| label.get("name").and_then(Value::as_str) == Some(name));
        if !present {
            indicator.security_labels.push(security_label_json(name));
        }
    }
}

/// The full JSON of a security label (an unknown name gets a new id and no color).
pub fn security_label_json(name: &str) -> Value {
    let known = SECURITY_LABELS.iter().find(|(_, label, _)| label.eq_ignore_ascii_case(name));
    let (id, name, color) = known.copied().unwrap_or((100, name, "FFFFFF"));
    json!({
        "id": id,
        "name": name,
        "color": color,
        "owner": "System",
        "dateAdded": "2016-08-31T00:00:00Z",
        "description": format!("{name}: the Traffic Light Protocol sharing level of this information."),
    })
}

/// Turns the JSON a test gives into a stored indicator: `type` is required; `id`, `dateAdded`, `lastModified`,
/// owner, flags and the value fields (from `summary`) are filled in when absent, and sub-collection items get
/// ids. Anything else given is kept and shown.
///
/// # Panics
/// If `value` is not an object with a `type`, or neither a summary nor a value field: tests must be told.
pub fn from_json(store: &mut Store, owners: &[Owner], value: Value, now: i64) -> Indicator {
    let Value::Object(mut map) = value else { panic!("add_indicator takes a JSON object, got {value}") };
    let type_name = take_string(&mut map, "type").expect("add_indicator: the indicator needs a `type`");
    let kind = indicator_type(&type_name);
    let specific = value_fields(kind, &mut map);
    let summary = take_string(&mut map, "summary")
        .or_else(|| summary_of(kind, &specific))
        .expect("add_indicator: the indicator needs a `summary` or its type's value fields");
    let date_added = take_date(&mut map, "dateAdded").unwrap_or(now);
    let mut indicator = Indicator {
        id: map.remove("id").and_then(|id| id.as_u64()).unwrap_or_else(|| store.allocate_id()),
        owner: take_owner(&mut map, owners),
        date_added,
        last_modified: take_date(&mut map, "lastModified").unwrap_or(date_added),
        type_name: kind.map_or(type_name, |kind| kind.name.to_string()),
        rating: map.remove("rating").and_then(|rating| rating.as_f64()),
        confidence: map.remove("confidence").and_then(|confidence| confidence.as_u64()),
        description: take_string(&mut map, "description"),
        private_flag: take_bool(&mut map, "privateFlag").unwrap_or(false),
        active: take_bool(&mut map, "active").unwrap_or(true),
        active_locked: take_bool(&mut map, "activeLocked").unwrap_or(false),
        web_link: take_string(&mut map, "webLink"),
        legacy_link: take_string(&mut map, "legacyLink"),
        tags: take_collection(&mut map, "tags"),
        attributes: take_collection(&mut map, "attributes"),
        security_labels: take_collection(&mut map, "securityLabels"),
        associated_groups: take_collection(&mut map, "associatedGroups"),
        threat_assess: take_threat_assess(&mut map),
        specific: Map::new(),
        summary,
    };
    indicator.specific = fill_value_fields(kind, specific, &indicator.summary);
    indicator.specific.append(&mut map);
    if indicator.type_name == "Host" {
        // The API always shows both flags on hosts.
        for flag in ["dnsActive", "whoisActive"] {
            indicator.specific.entry(flag).or_insert(false.into());
        }
    }
    complete_children(store, &mut indicator);
    indicator
}

/// Removes the type's value fields from `map`, in the type's order.
fn value_fields(kind: Option<&IndicatorType>, map: &mut Map<String, Value>) -> Map<String, Value> {
    let fields = kind.map_or(&[][..], |kind| kind.value_fields);
    fields.iter().filter_map(|field| Some((field.to_string(), map.remove(*field)?))).collect()
}

fn summary_of(kind: Option<&IndicatorType>, specific: &Map<String, Value>) -> Option<String> {
    let fields = kind?.value_fields;
    let parts: Vec<&str> = fields.iter().filter_map(|field| specific.get(*field)?.as_str()).collect();
    (!parts.is_empty()).then(|| parts.join(" : "))
}

/// Derives the value fields a test left out from the summary (files by hash length, others by position).
fn fill_value_fields(kind: Option<&IndicatorType>, given: Map<String, Value>, summary: &str) -> Map<String, Value> {
    let Some(kind) = kind else { return given };
    if !given.is_empty() {
        return given;
    }
    let parts = summary.split(" : ");
    let mut specific = Map::new();
    if kind.name == "File" {
        for part in parts {
            let field = match part.len() {
                32 => "md5",
                40 => "sha1",
                _ => "sha256",
            };
            specific.insert(field.into(), part.into());
        }
        sort_hashes(&mut specific);
    } else if kind.value_fields.len() > 1 {
        specific.extend(kind.value_fields.iter().zip(parts).map(|(field, part)| (field.to_string(), part.into())));
    } else {
        specific.insert(kind.value_fields[0].into(), summary.into());
    }
    specific
}

fn take_owner(map: &mut Map<String, Value>, owners: &[Owner]) -> Owner {
    let by_id = map.remove("ownerId").and_then(|id| id.as_u64());
    let by_name = take_string(map, "ownerName");
    let found = owners.iter().find(|owner| by_id == Some(owner.id) || by_name.as_deref() == Some(owner.name.as_str()));
    match (found, by_id, by_name) {
        (Some(owner), _, _) => owner.clone(),
        // An owner the simulator does not list is kept as given, so fixtures from elsewhere load.
        (None, id, Some(name)) => Owner { id: id.unwrap_or(0), name },
        (None, _, None) => owners.first().cloned().unwrap_or(Owner { id: 1, name: "Demo Organization".into() }),
    }
}

fn take_string(map: &mut Map<String, Value>, key: &str) -> Option<String> {
    match map.remove(key)? {
        Value::String(text) => Some(text),
        other => Some(other.to_string()),
    }
}

fn take_bool(map: &mut Map<String, Value>, key: &str) -> Option<bool> {
    map.remove(key)?.as_bool()
}

fn take_date(map: &mut Map<String, Value>, key: &str) -> Option<i64> {
    parse_date(map.remove(key)?.as_str()?)
}

fn take_collection(map: &mut Map<String, Value>, key: &str) -> Vec<Value> {
    match map.remove(key) {
        Some(Value::Object(mut object)) => match object.remove("data") {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        },
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    }
}

fn take_threat_assess(map: &mut Map<String, Value>) -> Map<String, Value> {
    let keys: Vec<String> = map.keys().filter(|key| key.starts_with("threatAssess")).cloned().collect();
    keys.into_iter().filter_map(|key| Some((key.clone(), map.remove(&key)?))).collect()
}

/// Gives sub-collection items the fields the API always shows (ids, dates, creator).
fn complete_children(store: &mut Store, indicator: &mut Indicator) {
    let date = format_date(indicator.date_added);
    for tag in &mut indicator.tags {
        let name = tag.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
        let id = match tag.get("id").and_then(Value::as_u64) {
            Some(id) => store.register_tag(&name, id),
            None => store.tag_id(&name),
        };
        fill(tag, "id", id.into());
        fill(tag, "lastUsed", date.clone().into());
    }
    for attribute in &mut indicator.attributes {
        fill(attribute, "id", store.child_id().into());
        for (key, value) in [("pinned", false.into()), ("default", false.into()), ("createdBy", api_user())] {
            fill(attribute, key, value);
        }
        fill(attribute, "dateAdded", date.clone().into());
        fill(attribute, "lastModified", date.clone().into());
    }
    for label in &mut indicator.security_labels {
        let name = label.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
        if let (Value::Object(label), Value::Object(full)) = (label, security_label_json(&name)) {
            for (key, value) in full {
                label.entry(key).or_insert(value);
            }
        }
    }
}

fn fill(item: &mut Value, key: &str, value: Value) {
    if let Value::Object(object) = item {
        object.entry(key).or_insert(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: Value) -> Result<Submission, String> {
        Submission::parse(body.to_string().as_bytes())
    }

    #[test]
    fn accepts_what_the_connector_posts() {
        let submission = parse(json!({
            "hostName": "bad.example", "type": "Host", "dnsActive": null, "whoisActive": true, "rating": 3,
            "confidence": 50, "attributes": {"data": [{"type": "Description", "value": "v", "default": true}]},
            "tags": {"data": [{"name": "t"}]}, "securityLabels": {"data": [{"name": "TLP:AMBER"}]}
        }))
        .expect("valid");
        assert_eq!(submission.summary(), "bad.example");
        assert_eq!(submission.extras, vec![("whoisActive", Value::Bool(true))]);
        assert_eq!((submission.rating, submission.confidence), (Some(3.0), Some(50)));
        let file = parse(json!({"type": "File", "sha256": "a".repeat(64), "md5": "b".repeat(32), "size": null}))
            .expect("valid");
        assert_eq!(file.summary(), format!("{} : {}", "B".repeat(32), "A".repeat(64)));
    }

    #[test]
    fn rejects_invalid_bodies() {
        for body in [
            json!([]),
            json!({"ip": "1.2.3.4"}),
            json!({"type": "Hashtag", "value": "#x"}),
            json!({"type": "Address"}),
            json!({"type": "Address", "ip": "1.2.3.999"}),
            json!({"type": "Address", "ip": "1.2.3.4", "rating": 6}),
            json!({"type": "Address", "ip": "1.2.3.4", "rating": -1}),
            json!({"type": "Address", "ip": "1.2.3.4", "confidence": 101}),
            json!({"type": "File", "size": 3}),
            json!({"type": "File", "md5": "xyz"}),
            json!({"type": "Host", "hostName": "a.example", "dnsActive": "yes"}),
            json!({"type": "URL", "text": "http://a.example", "attributes": {"data": [{"type": "No", "value": "v"}]}}),
            json!({"type": "URL", "text": "http://a.example", "securityLabels": {"data": [{"name": "SECRET"}]}}),
            json!({"type": "URL", "text": "http://a.example", "tags": [{"name": "not wrapped in data"}]}),
        ] {
            assert!(parse(body.clone()).is_err(), "{body} should be rejected");
        }
        assert!(Submission::parse(b"{not json").is_err());
    }
}

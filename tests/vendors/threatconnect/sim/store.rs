//! Indicators as the simulator keeps them, how they are listed and how they render as v3 JSON.

use super::tql::{self, Field, FieldValue, Record};
use serde_json::{Map, Value, json};
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

/// One indicator type and the fields that hold its value.
#[derive(Debug, PartialEq, Eq)]
pub struct IndicatorType {
    /// The v3 `type` (and TQL `typeName`).
    pub name: &'static str,
    /// The fields whose values, joined with `" : "` in this order, make the summary.
    pub value_fields: &'static [&'static str],
    /// The legacy page of built-in types (`.../details/{page}.xhtml`); custom types have none.
    pub legacy_page: Option<&'static str>,
}

impl IndicatorType {
    /// Custom types (CIDR, ASN...) list their value fields after `legacyLink`, under their display names.
    pub fn is_custom(&self) -> bool {
        self.legacy_page.is_none()
    }
}

/// Every indicator type the simulator knows: the built-in ones and the custom ones the connector maps to CEF.
pub const TYPES: [IndicatorType; 10] = [
    IndicatorType { name: "Address", value_fields: &["ip"], legacy_page: Some("address") },
    IndicatorType { name: "EmailAddress", value_fields: &["address"], legacy_page: Some("emailaddress") },
    IndicatorType { name: "File", value_fields: &["md5", "sha1", "sha256"], legacy_page: Some("file") },
    IndicatorType { name: "Host", value_fields: &["hostName"], legacy_page: Some("host") },
    IndicatorType { name: "URL", value_fields: &["text"], legacy_page: Some("url") },
    IndicatorType { name: "CIDR", value_fields: &["Block"], legacy_page: None },
    IndicatorType { name: "ASN", value_fields: &["AS Number"], legacy_page: None },
    IndicatorType { name: "Mutex", value_fields: &["Mutex"], legacy_page: None },
    IndicatorType { name: "Registry Key", value_fields: &["Key Name", "Value Name", "Value Type"], legacy_page: None },
    IndicatorType { name: "User Agent", value_fields: &["User Agent String"], legacy_page: None },
];

/// The type named `name` (exact v3 spelling, any case).
pub fn indicator_type(name: &str) -> Option<&'static IndicatorType> {
    TYPES.iter().find(|kind| kind.name.eq_ignore_ascii_case(name))
}

/// An owner (organization, community or source).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub id: u64,
    pub name: String,
}

/// One stored indicator. Links and sub-collection details are rendered on the way out, so that
/// generating 100,000 indicators stays cheap.
#[derive(Debug, Clone)]
pub struct Indicator {
    pub id: u64,
    pub owner: Owner,
    /// Unix seconds.
    pub date_added: i64,
    /// Unix seconds.
    pub last_modified: i64,
    pub type_name: String,
    pub summary: String,
    pub rating: Option<f64>,
    pub confidence: Option<u64>,
    pub description: Option<String>,
    pub private_flag: bool,
    pub active: bool,
    pub active_locked: bool,
    /// Set only when the indicator was added with its own links (the fixtures' are app.threatconnect.com ones).
    pub web_link: Option<String>,
    pub legacy_link: Option<String>,
    /// Type-specific fields (`ip`, `hostName`, `size`, `AS Number`...) and any other field given, in order.
    pub specific: Map<String, Value>,
    pub tags: Vec<Value>,
    pub attributes: Vec<Value>,
    pub security_labels: Vec<Value>,
    pub associated_groups: Vec<Value>,
    /// `threatAssess*` fields given explicitly; otherwise they are derived from rating and confidence.
    pub threat_assess: Map<String, Value>,
}

impl Indicator {
    /// An active, public indicator added (and last modified) at `date_added`, with
    /// no rating, description, links or sub-collections.
    pub fn new(
        id: u64,
        owner: Owner,
        type_name: &str,
        summary: String,
        specific: Map<String, Value>,
        date_added: i64,
    ) -> Self {
        Self {
            id,
            owner,
            date_added,
            last_modified: date_added,
            type_name: type_name.to_string(),
            summary,
            rating: None,
            confidence: None,
            description: None,
            private_flag: false,
            active: true,
            active_locked: false,
            web_link: None,
            legacy_link: None,
            specific,
            tags: Vec::new(),
            attributes: Vec::new(),
            security_labels: Vec::new(),
            associated_groups: Vec::new(),
            threat_assess: Map::new(),
        }
    }
}

impl Record for Indicator {
    fn field(&self, field: Field) -> FieldValue<'_> {
        match field {
            Field::TypeName => FieldValue::Text(&self.type_name),
            Field::Summary => FieldValue::Text(&self.summary),
            Field::OwnerName => FieldValue::Text(&self.owner.name),
            Field::DateAdded => FieldValue::Number(self.date_added as f64),
            Field::LastModified => FieldValue::Number(self.last_modified as f64),
            Field::Rating => FieldValue::Number(self.rating.unwrap_or(0.0)),
            Field::Confidence => FieldValue::Number(self.confidence.unwrap_or(0) as f64),
            Field::Id => FieldValue::Number(self.id as f64),
            Field::Active => FieldValue::Flag(self.active),
        }
    }
}

/// The optional parts of an indicator a request asked for with `fields=`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FieldSet {
    pub tags: bool,
    pub attributes: bool,
    pub security_labels: bool,
    pub associated_groups: bool,
    pub threat_assess: bool,
}

/// `fields` values the v3 API accepts on indicators but the simulator has no data for; they are accepted and
/// add nothing.
const OTHER_FIELDS: [&str; 14] = [
    "associatedArtifacts",
    "associatedCases",
    "associatedIndicators",
    "associatedVictimAssets",
    "dnsResolution",
    "enrichment",
    "falsePositives",
    "fileActions",
    "fileOccurrences",
    "genericCustomIndicatorValues",
    "geoLocation",
    "investigationLinks",
    "observations",
    "trackedUsers",
];

impl FieldSet {
    /// Every optional part (what the Rust-side accessors return).
    pub fn all() -> Self {
        Self { tags: true, attributes: true, security_labels: true, associated_groups: true, threat_assess: true }
    }

    /// Reads repeated `fields` values; an unknown name is an error, as in the real API.
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        let mut set = Self::default();
        for name in names {
            // `associatedGroups.attributes` asks for a deeper level of a known field.
            let base = name.split('.').next().unwrap_or(name);
            match base {
                "tags" => set.tags = true,
                "attributes" => set.attributes = true,
                "securityLabels" => set.security_labels = true,
                "associatedGroups" => set.associated_groups = true,
                "threatAssess" => set.threat_assess = true,
                other if OTHER_FIELDS.contains(&other) => {}
                _ => return Err(format!("Invalid field: '{name}' is not a field of indicators")),
            }
        }
        Ok(set)
    }
}

impl Indicator {
    /// The v3 JSON of the indicator, with the optional parts in `fields`; links start with `origin`.
    pub fn to_json(&self, fields: FieldSet, origin: &str) -> Value {
        let mut out = Map::new();
        out.insert("id".into(), self.id.into());
        out.insert("ownerId".into(), self.owner.id.into());
        out.insert("ownerName".into(), self.owner.name.clone().into());
        out.insert("dateAdded".into(), tql::format_date(self.date_added).into());
        let web_link = self.web_link.clone();
        out.insert("webLink".into(), web_link.unwrap_or_else(|| self.default_web_link(origin)).into());
        insert_collection(&mut out, "tags", fields.tags, &self.tags);
        insert_collection(&mut out, "securityLabels", fields.security_labels, &self.security_labels);
        out.insert("type".into(), self.type_name.clone().into());
        out.insert("lastModified".into(), tql::format_date(self.last_modified).into());
        insert_some(&mut out, "rating", self.rating.map(Value::from));
        insert_some(&mut out, "confidence", self.confidence.map(Value::from));
        if fields.threat_assess {
            self.insert_threat_assess(&mut out);
        }
        insert_some(&mut out, "description", self.description.clone().map(Value::from));
        out.insert("summary".into(), self.summary.clone().into());
        out.insert("privateFlag".into(), self.private_flag.into());
        out.insert("active".into(), self.active.into());
        out.insert("activeLocked".into(), self.active_locked.into());
        insert_collection(&mut out, "attributes", fields.attributes, &self.attributes);
        insert_collection(&mut out, "associatedGroups", fields.associated_groups, &self.associated_groups);
        let custom = indicator_type(&self.type_name).is_some_and(IndicatorType::is_custom);
        if !custom {
            out.extend(self.specific.clone());
        }
        let legacy_link = self.legacy_link.clone();
        out.insert("legacyLink".into(), legacy_link.unwrap_or_else(|| self.default_legacy_link(origin)).into());
        if custom {
            out.extend(self.specific.clone());
        }
        Value::Object(out)
    }

    fn default_web_link(&self, origin: &str) -> String {
        format!("{origin}/#/details/indicators/{}/overview", self.id)
    }

    /// The old UI's link: `{page}.xhtml?{page}={value}` for built-in types, by id for URLs and custom types.
    fn default_legacy_link(&self, origin: &str) -> String {
        let owner = form_encode(&self.owner.name);
        let details = format!("{origin}/auth/indicators/details");
        match indicator_type(&self.type_name).and_then(|kind| kind.legacy_page) {
            Some("url") => format!("{details}/url.xhtml?orgid={}&owner={owner}", self.id),
            Some(page) => {
                // A file with several hashes is shown under its first one.
                let value = self.summary.split(" : ").next().unwrap_or(&self.summary);
                format!("{details}/{page}.xhtml?{page}={}&owner={owner}", form_encode(value))
            }
            None => format!("{details}/customIndicator.xhtml?id={}&owner={owner}", self.id),
        }
    }

    fn insert_threat_assess(&self, out: &mut Map<String, Value>) {
        if !self.threat_assess.is_empty() {
            out.extend(self.threat_assess.clone());
            return;
        }
        let rating = self.rating.unwrap_or(0.0);
        let confidence = self.confidence.unwrap_or(0) as f64;
        // ThreatAssess blends many signals; rating × confidence on a 0-1000 scale is a plausible stand-in.
        let score = (rating / 5.0 * confidence / 100.0 * 1000.0).round() as i64;
        out.insert("threatAssessRating".into(), rating.into());
        out.insert("threatAssessConfidence".into(), confidence.into());
        out.insert("threatAssessScore".into(), score.into());
        out.insert("threatAssessScoreObserved".into(), 0.into());
        out.insert("threatAssessScoreFalsePositive".into(), 0.into());
    }
}

fn insert_collection(out: &mut Map<String, Value>, key: &str, wanted: bool, items: &[Value]) {
    if wanted {
        out.insert(key.into(), json!({ "data": items }));
    }
}

fn insert_some(out: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(value) = value {
        out.insert(key.into(), value);
    }
}

/// Percent-encodes like Python's `urllib.parse.quote_plus` (space → `+`), as the real API's links and the
/// reference connector's queries are encoded.
pub fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => out.push(byte as char),
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// A sort key of `sorting=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortField {
    Id,
    DateAdded,
    LastModified,
    Summary,
    TypeName,
    OwnerName,
    Rating,
    Confidence,
}

/// One `sorting` key and its direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub field: SortField,
    pub descending: bool,
}

impl Sort {
    /// Reads `sorting` values such as `dateAdded desc` or `id ASC, summary` (direction defaults to ascending).
    pub fn parse_all<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<Vec<Self>, String> {
        let keys = values.into_iter().flat_map(|value| value.split(',')).filter(|key| !key.trim().is_empty());
        keys.map(Self::parse).collect()
    }

    fn parse(key: &str) -> Result<Self, String> {
        let mut words = key.split_whitespace();
        let name = words.next().unwrap_or_default();
        let field = match name.to_ascii_lowercase().as_str() {
            "id" => SortField::Id,
            "dateadded" => SortField::DateAdded,
            "lastmodified" => SortField::LastModified,
            "summary" => SortField::Summary,
            "type" | "typename" => SortField::TypeName,
            "ownername" => SortField::OwnerName,
            "rating" => SortField::Rating,
            "confidence" => SortField::Confidence,
            _ => return Err(format!("Invalid sorting field: '{name}'")),
        };
        let descending = match words.next().map(str::to_ascii_lowercase).as_deref() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(other) => return Err(format!("Invalid sorting direction: '{other}'")),
        };
        match words.next() {
            None => Ok(Self { field, descending }),
            Some(extra) => Err(format!("Invalid sorting: unexpected '{extra}'")),
        }
    }

    fn compare(self, a: &Indicator, b: &Indicator) -> Ordering {
        let ordering = match self.field {
            SortField::Id => a.id.cmp(&b.id),
            SortField::DateAdded => a.date_added.cmp(&b.date_added),
            SortField::LastModified => a.last_modified.cmp(&b.last_modified),
            SortField::Summary => a.summary.cmp(&b.summary),
            SortField::TypeName => a.type_name.cmp(&b.type_name),
            SortField::OwnerName => a.owner.name.cmp(&b.owner.name),
            SortField::Rating => a.rating.unwrap_or(0.0).total_cmp(&b.rating.unwrap_or(0.0)),
            SortField::Confidence => a.confidence.cmp(&b.confidence),
        };
        if self.descending { ordering.reverse() } else { ordering }
    }
}

/// What `GET indicators` selects.
#[derive(Debug, Default)]
pub struct Selection {
    pub tql: Option<tql::Query>,
    /// Owner name (`owner=`).
    pub owner: Option<String>,
    /// Empty: newest (highest id) first, the API's default.
    pub sort: Vec<Sort>,
}

/// Every indicator, by id.
#[derive(Debug)]
pub struct Store {
    indicators: BTreeMap<u64, Indicator>,
    next_id: u64,
    next_child_id: u64,
    /// Tags are shared by name across indicators, as in ThreatConnect.
    tag_ids: HashMap<String, u64>,
}

impl Default for Store {
    fn default() -> Self {
        Self { indicators: BTreeMap::new(), next_id: 1, next_child_id: 1000, tag_ids: HashMap::new() }
    }
}

impl Store {
    /// A fresh indicator id.
    pub fn allocate_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// A fresh id for an attribute or other child object.
    pub fn child_id(&mut self) -> u64 {
        let id = self.next_child_id;
        self.next_child_id += 1;
        id
    }

    /// The id of the tag named `name` (case-insensitive), created on first use.
    pub fn tag_id(&mut self, name: &str) -> u64 {
        if let Some(id) = self.tag_ids.get(&name.to_lowercase()) {
            return *id;
        }
        let id = self.child_id();
        self.tag_ids.insert(name.to_lowercase(), id);
        id
    }

    /// Records that the tag `name` has `id` (as given with an added indicator) unless the name is known;
    /// returns `id`.
    pub fn register_tag(&mut self, name: &str, id: u64) -> u64 {
        self.tag_ids.entry(name.to_lowercase()).or_insert(id);
        self.next_child_id = self.next_child_id.max(id + 1);
        id
    }

    /// Stores `indicator`, replacing any with the same id.
    pub fn insert(&mut self, indicator: Indicator) {
        self.next_id = self.next_id.max(indicator.id + 1);
        self.indicators.insert(indicator.id, indicator);
    }

    /// Removes every indicator; ids keep counting up.
    pub fn clear(&mut self) {
        self.indicators.clear();
    }

    /// The indicator with `id`.
    pub fn get(&self, id: u64) -> Option<&Indicator> {
        self.indicators.get(&id)
    }

    /// The indicator with `id`, to change it.
    pub fn get_mut(&mut self, id: u64) -> Option<&mut Indicator> {
        self.indicators.get_mut(&id)
    }

    /// Every indicator, oldest id first.
    pub fn all(&self) -> impl Iterator<Item = &Indicator> {
        self.indicators.values()
    }

    /// The indicator of `type_name` in `owner_id` that `summary` designates. Files match on any shared hash,
    /// so posting one hash of a known file updates it.
    pub fn find(&self, type_name: &str, owner_id: u64, summary: &str) -> Option<u64> {
        let is_file = type_name.eq_ignore_ascii_case("File");
        let same = |indicator: &&Indicator| {
            indicator.owner.id == owner_id
                && indicator.type_name.eq_ignore_ascii_case(type_name)
                && if is_file {
                    shares_hash(&indicator.summary, summary)
                } else {
                    indicator.summary.eq_ignore_ascii_case(summary)
                }
        };
        self.indicators.values().find(same).map(|indicator| indicator.id)
    }

    /// The indicators `selection` picks, in order. Only active ones unless the TQL tests `active`.
    pub fn select(&self, selection: &Selection) -> Vec<&Indicator> {
        let with_inactive = selection.tql.as_ref().is_some_and(|tql| tql.mentions(Field::Active));
        let mut hits: Vec<&Indicator> = self
            .indicators
            .values()
            .rev()
            .filter(|indicator| with_inactive || indicator.active)
            .filter(|indicator| selection.owner.as_deref().is_none_or(|owner| indicator.owner.name == owner))
            .filter(|indicator| selection.tql.as_ref().is_none_or(|tql| tql.matches(*indicator)))
            .collect();
        if let Some(last) = selection.sort.last() {
            // Ties (many indicators in one second) fall back to id, in the last key's direction, so that
            // pages never overlap or skip.
            let tie = Sort { field: SortField::Id, descending: last.descending };
            hits.sort_by(|a, b| {
                let keys = selection.sort.iter().chain(std::iter::once(&tie));
                keys.map(|key| key.compare(a, b)).find(|ordering| ordering.is_ne()).unwrap_or(Ordering::Equal)
            });
        }
        hits
    }
}

fn shares_hash(a: &str, b: &str) -> bool {
    a.split(" : ").any(|x| b.split(" : ").any(|y| x.trim().eq_ignore_ascii_case(y.trim())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_quote_plus() {
        assert_eq!(form_encode("Demo Organization"), "Demo+Organization");
        assert_eq!(form_encode("verybadguy@bad.com"), "verybadguy%40bad.com");
        assert_eq!(form_encode("typeName IN ('Address')"), "typeName+IN+%28%27Address%27%29");
    }

    #[test]
    fn sorting_and_fields_parse() {
        let sort = Sort::parse_all(["dateAdded desc", "id ASC, summary"]).expect("parses");
        assert_eq!(sort.len(), 3);
        assert!(sort[0].descending && !sort[1].descending && sort[2].field == SortField::Summary);
        assert!(Sort::parse_all(["colour desc"]).is_err());
        assert!(Sort::parse_all(["id sideways"]).is_err());
        let fields = FieldSet::parse(["tags", "associatedGroups.attributes", "observations"]).expect("parses");
        assert!(fields.tags && fields.associated_groups && !fields.attributes);
        assert!(FieldSet::parse(["tag"]).is_err());
    }

    #[test]
    fn files_match_on_any_hash() {
        assert!(shares_hash("AA : BB : CC", "bb"));
        assert!(!shares_hash("AA : BB", "CC"));
    }
}

//! The local IOC repository (`/iocrepository/v1/iocs`).

use crate::client::Vision;
use crate::paging::{Paging, python_bool};
use crate::{DeleteIoc, GetIoc, GetLastIoc, ListIocs, UpdateIoc, UpdateIocs};
use serde_json::Map;
use soar_sdk::dates;
use soar_sdk::http::{Method, Request};
use soar_sdk::prelude::*;
use soar_sdk::validate;

const IOCS: &str = "/iocrepository/v1/iocs";
const SOURCE_HEADER: &str = "X-Cofense-IOC-Source";
const SORT_FIELDS: &[&str] = &["updatedAt"];
const THREAT_TYPES: &[&str] = &["domain", "md5", "sender", "sha256", "subject", "url"];
const REQUIRED_FIELDS: &[&str] = &["threat_type", "threat_value", "threat_level", "created_at", "source_id"];

/// `/iocrepository/v1/iocs/{id}`: the id is one path segment, never `.` or `..`.
fn ioc_path(id: &str) -> Result<String, ActionError> {
    Ok(format!("{IOCS}/{}", validate::path_segment("id", id)?))
}

/// The IOC source, which travels in a header: checked before anything is sent.
fn source_header(source: &str) -> Result<impl Fn(Request) -> Request, ActionError> {
    let source = validate::header_value("source", source)?;
    Ok(move |request: Request| request.header(SOURCE_HEADER, source.clone()))
}

impl Action for GetIoc {
    fn run(self) -> ActionOutcome {
        let (path, source) = (ioc_path(&self.id)?, source_header(&self.source)?);
        let vision = Vision::connect()?;
        let response = vision.call(source(vision.request(Method::Get, &path)))?;
        Output::new().data(&response["data"]).message("Fetched IOC successfully").into()
    }
}

impl Action for ListIocs {
    fn run(self) -> ActionOutcome {
        let paging = Paging::new(self.page, self.size, self.sort.as_deref(), SORT_FIELDS)?;
        let since = self.since.map(|since| dates::parse("since", &since)).transpose()?;
        let source = source_header(&self.source)?;
        let vision = Vision::connect()?;
        let request = paging
            .page_and_size(vision.request(Method::Get, IOCS))
            .query("includeExpired", python_bool(self.include_expired))
            .query_opt("since", since.as_ref().map(dates::format_micros));
        let response = vision.call(source(paging.sort(request)))?;
        Output::new().data_items(response["data"].clone()).summary_count("total_iocs").into()
    }
}

impl Action for GetLastIoc {
    fn run(self) -> ActionOutcome {
        let source = source_header(&self.source)?;
        let vision = Vision::connect()?;
        let response = vision.call(source(vision.request(Method::Get, &format!("{IOCS}/last"))))?;
        let ioc = &response["data"];
        if ioc.is_null() || ioc.as_object().is_some_and(Map::is_empty) {
            return Err(ActionError::vendor(None, crate::client::EMPTY_RESPONSE));
        }
        let id = ioc["id"].as_str().unwrap_or_default().to_string();
        Output::new()
            .data(ioc)
            // The reference connector's key was "ioc_id " (trailing space); fixed.
            .summary("ioc_id", &id)
            .message(format!("Get Last IOC Action succeeded, MD5 ID of fetched IOC : {id}"))
            .into()
    }
}

impl Action for DeleteIoc {
    fn run(self) -> ActionOutcome {
        let DeleteIoc { id, source } = self;
        let (path, source) = (ioc_path(&id)?, source_header(&source)?);
        let vision = Vision::connect()?;
        let response = vision.call(source(vision.request(Method::Delete, &path)))?;
        let deleted = response["data"]["id"].as_str().unwrap_or(&id).to_string();
        Output::new()
            .data(&response["data"])
            .message(format!("Delete IOC action ran successfully and IOC with MD5 ID {deleted} is deleted"))
            .into()
    }
}

impl Action for UpdateIoc {
    fn run(self) -> ActionOutcome {
        let UpdateIoc { id, expires_at } = self;
        let expires_at = dates::format_micros(&dates::parse("expires_at", &expires_at)?);
        let path = ioc_path(&id)?;
        let vision = Vision::connect()?;
        let body = json!({"data": {"type": "ioc", "metadata": {"quarantine": {"expires_at": expires_at}}}});
        // As in the reference connector, this endpoint gets no source header.
        // As in the reference connector, an empty answer is an IOC without data.
        let response = vision.call_allowing_empty(vision.request(Method::Put, &path).json(&body))?;
        let ioc = if response["data"].is_null() { json!({}) } else { response["data"].clone() };
        Output::new().data(ioc).message("Updated the IOC successfully").into()
    }
}

impl Action for UpdateIocs {
    fn run(self) -> ActionOutcome {
        // The entries of `iocs_json` have the fields of the parameters.
        let source = self.source.clone();
        let entries = match self.iocs_json.as_deref().filter(|json| !json.trim().is_empty()) {
            Some(json) => parse_iocs_json(json)?,
            None => vec![self],
        };
        let now = dates::now();
        let data = entries.into_iter().map(|fields| ioc_body(fields, &now)).collect::<Result<Vec<_>, _>>()?;
        let source = source_header(&source)?;
        let vision = Vision::connect()?;
        let response = vision.call(source(vision.request(Method::Put, IOCS)).json(&json!({"data": data})))?;
        Output::new().data_items(response["data"].clone()).summary_count("total_iocs_updated").into()
    }
}

fn parse_iocs_json(json: &str) -> Result<Vec<UpdateIocs>, ActionError> {
    let value: Value = serde_json::from_str(json).map_err(|err| {
        ActionError::invalid_parameter("iocs_json", format!("Error occurred while parsing the provided JSON: {err}"))
    })?;
    let not_a_list =
        || ActionError::invalid_parameter("iocs_json", "The 'iocs_json' parameter must be a JSON list of IOC objects");
    let entries = value.as_array().filter(|entries| !entries.is_empty()).ok_or_else(not_a_list)?;
    entries
        .iter()
        .map(|entry| {
            let object = entry.as_object().ok_or_else(not_a_list)?;
            let text = |key: &str| match object.get(key) {
                Some(Value::String(text)) => Some(text.clone()),
                Some(Value::Null) | None => None,
                Some(other) => Some(other.to_string()),
            };
            Ok(UpdateIocs {
                threat_type: text("threat_type"),
                threat_value: text("threat_value"),
                threat_level: text("threat_level"),
                source_id: text("source_id"),
                created_at: text("created_at"),
                updated_at: text("updated_at"),
                requested_expiration: text("requested_expiration"),
                ..Default::default()
            })
        })
        .collect()
}

fn ioc_body(fields: UpdateIocs, now: &dates::DateTime<dates::Utc>) -> Result<Value, ActionError> {
    let present = |value: &Option<String>| value.as_deref().is_some_and(|v| !v.trim().is_empty());
    let required =
        [&fields.threat_type, &fields.threat_value, &fields.threat_level, &fields.created_at, &fields.source_id];
    if !required.iter().all(|value| present(value)) {
        return Err(ActionError::invalid_parameter(
            "threat_type",
            format!("Please provide all the required parameters: {}", REQUIRED_FIELDS.join(", ")),
        ));
    }
    let threat_type = fields.threat_type.unwrap_or_default();
    if !THREAT_TYPES.contains(&threat_type.trim().to_ascii_lowercase().as_str()) {
        return Err(ActionError::invalid_parameter(
            "threat_type",
            "Please provide a valid value for 'threat_type'. Valid values are: Domain, MD5, Sender, SHA256, Subject, URL",
        ));
    }
    let date = |name: &str, value: &str| dates::parse(name, value).map(|date| dates::format_micros(&date));
    let mut source = json!({
        "id": fields.source_id,
        "threat_level": fields.threat_level,
        "created_at": date("created_at", fields.created_at.as_deref().unwrap_or_default())?,
        "updated_at": match fields.updated_at.filter(|v| !v.trim().is_empty()) {
            Some(updated_at) => date("updated_at", &updated_at)?,
            None => dates::format_micros(now),
        },
    });
    if let Some(expiration) = fields.requested_expiration.filter(|v| !v.trim().is_empty()) {
        source["requested_expiration"] = Value::from(date("requested_expiration", &expiration)?);
    }
    Ok(json!({
        "type": "ioc",
        "attributes": {"threat_type": threat_type, "threat_value": fields.threat_value},
        "metadata": {"source": source},
    }))
}

//! Message searches (`/api/v4/searches`).

use crate::client::Vision;
use crate::paging::Paging;
use crate::quarantine::non_empty;
use crate::{CreateMessageSearch, GetMessageSearch, GetMessagesearchResults, ListMessageSearches};
use serde_json::Map;
use soar_sdk::http::Method;
use soar_sdk::prelude::*;
use soar_sdk::{dates, validate};

const SEARCHES: &str = "/api/v4/searches";
const SEARCH_SORT_FIELDS: &[&str] =
    &["id", "createdBy", "createdDate", "modifiedBy", "modifiedDate", "receivedAfterDate", "receivedBeforeDate"];
const RESULT_SORT_FIELDS: &[&str] =
    &["id", "subject", "createdOn", "sentOn", "processedOn", "htmlBody", "md5", "sha1", "sha256"];
/// The most values a search criterion takes.
const MAX_VALUES: usize = 3;

impl Action for ListMessageSearches {
    fn run(self) -> ActionOutcome {
        let paging = Paging::new(self.page, self.size, self.sort.as_deref(), SEARCH_SORT_FIELDS)?;
        let vision = Vision::connect()?;
        let request = paging.sort(paging.page_and_size(vision.request(Method::Get, SEARCHES)));
        let response = non_empty(vision.call(request)?)?;
        Output::new().data_items(response["searches"].clone()).summary_count("total_message_searches").into()
    }
}

impl Action for GetMessageSearch {
    fn run(self) -> ActionOutcome {
        let id = validate::non_zero("id", self.id)?;
        let vision = Vision::connect()?;
        let search = vision.call(vision.request(Method::Get, &format!("{SEARCHES}/{id}")))?;
        Output::new().data(search).message("Fetched message search successfully").into()
    }
}

impl Action for GetMessagesearchResults {
    fn run(self) -> ActionOutcome {
        let id = validate::non_zero("id", self.id)?;
        let paging = Paging::new(self.page, self.size, self.sort.as_deref(), RESULT_SORT_FIELDS)?;
        let vision = Vision::connect()?;
        let request = vision.request(Method::Get, &format!("{SEARCHES}/{id}/results"));
        let response = vision.call(paging.sort(paging.page_and_size(request)))?;
        // The response echoes the search too; only the messages are results.
        Output::new().data_items(response["messages"].clone()).summary_count("total_results").into()
    }
}

impl Action for CreateMessageSearch {
    fn run(self) -> ActionOutcome {
        let body = search_body(self)?;
        let vision = Vision::connect()?;
        let search = vision.call(vision.request(Method::Post, SEARCHES).json(&body))?;
        let id = search["id"].clone();
        Output::new().data(search).summary("search_id", id).into()
    }
}

/// The request body; a key is present only when its parameter was given (the
/// match criteria, which have defaults, only with the values they qualify).
/// The checks run in the reference connector's order.
fn search_body(criteria: CreateMessageSearch) -> Result<Value, ActionError> {
    let mut body = Map::new();
    let list = |body: &mut Map<String, Value>, name: &str, key: &str, value: &Option<String>| {
        if let Some(value) = value {
            body.insert(key.to_string(), json!(at_most_three(name, validate::comma_list(value))?));
        }
        Ok::<_, ActionError>(())
    };
    list(&mut body, "subjects", "subjects", &criteria.subjects)?;
    list(&mut body, "senders", "senders", &criteria.senders)?;
    list(&mut body, "attachment_names", "attachmentNames", &criteria.attachment_names)?;
    if let Some(hashes) = &criteria.attachment_hashes {
        body.insert(
            "attachmentHashCriteria".into(),
            json!({"type": criteria.attachment_hash_match_criteria, "attachmentHashes": attachment_hashes(hashes)?}),
        );
    }
    list(&mut body, "attachment_mime_types", "attachmentMimeTypes", &criteria.attachment_mime_types)?;
    list(
        &mut body,
        "attachment_exclude_mime_types",
        "attachmentExcludeMimeTypes",
        &criteria.attachment_exclude_mime_types,
    )?;
    if let Some(domains) = &criteria.domains {
        let domains = at_most_three("domains", validate::comma_list(domains))?;
        body.insert("domainCriteria".into(), json!({"type": criteria.domain_match_criteria, "domains": domains}));
    }
    if let Some(id) = criteria.internet_message_id {
        body.insert("internetMessageId".into(), json!(id));
    }
    if let Some(partial) = criteria.partial_ingest {
        body.insert("partialIngest".into(), json!(partial));
    }
    if let Some(recipient) = criteria.recipient {
        body.insert("recipient".into(), json!(recipient));
    }
    if let Some(url) = criteria.url {
        body.insert("url".into(), json!(url));
    }
    for (name, key, value) in [
        ("received_after_date", "receivedAfterDate", &criteria.received_after_date),
        ("received_before_date", "receivedBeforeDate", &criteria.received_before_date),
    ] {
        if let Some(value) = value {
            let date = dates::parse_utc(value).ok_or_else(|| {
                ActionError::invalid_parameter(
                    name,
                    format!("Please provide a value of {name} parameter in valid date format"),
                )
            })?;
            body.insert(key.into(), json!(dates::format_micros(&date)));
        }
    }
    if let Some(headers) = &criteria.headers {
        body.insert("headers".into(), json!(search_headers(headers)?));
    }
    Ok(Value::Object(body))
}

fn at_most_three(name: &str, values: Vec<String>) -> Result<Vec<String>, ActionError> {
    if values.len() > MAX_VALUES {
        return Err(ActionError::invalid_parameter(
            name,
            format!("The {name} parameter has more than 3 values. Please enter max 3 values to create a search."),
        ));
    }
    Ok(values)
}

/// `md5:<hex>,sha256:<hex>` → `[{"hashType": "MD5", "hashString": "<hex>"}, ...]`.
fn attachment_hashes(text: &str) -> Result<Vec<Value>, ActionError> {
    let invalid = |message: &str| ActionError::invalid_parameter("attachment_hashes", message);
    let items = at_most_three("attachment_hashes", validate::comma_list(text))?;
    items
        .iter()
        .map(|item| {
            let parts = validate::split_list(item, &[':']);
            let [kind, hash] = parts.as_slice() else {
                return Err(invalid("Please provide a valid value for attachment_hashes parameter. "));
            };
            let kind = kind.to_ascii_uppercase();
            match kind.as_str() {
                "MD5" if !validate::is_md5(hash) => {
                    Err(invalid("Please provide a valid value for MD5 Hash in the attachment_hashes parameter"))
                }
                "SHA256" if !validate::is_sha256(hash) => {
                    Err(invalid("Please provide a valid value for SHA256 Hash in the attachment_hashes parameter"))
                }
                "MD5" | "SHA256" => Ok(json!({"hashType": kind, "hashString": hash})),
                _ => Err(invalid(
                    "Please provide a valid hashType in attachment_hashes parameter. Allowed values are : SHA256, MD5 ",
                )),
            }
        })
        .collect()
}

/// `key:value1:value2,key2:value3` → `[{"key": "key", "values": ["value1", "value2"]}, ...]`.
fn search_headers(text: &str) -> Result<Vec<Value>, ActionError> {
    let items = at_most_three("headers", validate::comma_list(text))?;
    items
        .iter()
        .map(|item| match validate::split_list(item, &[':']).as_slice() {
            [key, values @ ..] if !values.is_empty() => Ok(json!({"key": key, "values": values})),
            _ => Err(ActionError::invalid_parameter("headers", "Please provide a valid value of headers parameter")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_given_criteria_are_sent() {
        let body = search_body(CreateMessageSearch {
            subjects: Some("a, b".into()),
            attachment_hashes: Some("md5:938c2cc0dcc05f2b68c4287040cfcf71".into()),
            domains: Some("test.com".into()),
            domain_match_criteria: "ALL".into(),
            partial_ingest: Some(false),
            received_after_date: Some("01 Mar 2021".into()),
            headers: Some("X-Key:v1:v2".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            body,
            json!({
                "subjects": ["a", "b"],
                "attachmentHashCriteria": {"type": "ANY", "attachmentHashes": [{"hashType": "MD5", "hashString": "938c2cc0dcc05f2b68c4287040cfcf71"}]},
                "domainCriteria": {"type": "ALL", "domains": ["test.com"]},
                "partialIngest": false,
                "receivedAfterDate": "2021-03-01T00:00:00.000000Z",
                "headers": [{"key": "X-Key", "values": ["v1", "v2"]}],
            })
        );
        assert_eq!(search_body(CreateMessageSearch::default()).unwrap(), json!({}));
    }

    #[test]
    fn every_rule_names_its_parameter() {
        let cases: Vec<(CreateMessageSearch, &str, &str)> = vec![
            (
                CreateMessageSearch { senders: Some("a,b,c,d".into()), ..Default::default() },
                "senders",
                "The senders parameter has more than 3 values. Please enter max 3 values to create a search.",
            ),
            (
                CreateMessageSearch { attachment_hashes: Some("md5:zz".into()), ..Default::default() },
                "attachment_hashes",
                "Please provide a valid value for MD5 Hash in the attachment_hashes parameter",
            ),
            (
                CreateMessageSearch { attachment_hashes: Some("sha256:abc".into()), ..Default::default() },
                "attachment_hashes",
                "Please provide a valid value for SHA256 Hash in the attachment_hashes parameter",
            ),
            (
                CreateMessageSearch { attachment_hashes: Some("sha1:abc".into()), ..Default::default() },
                "attachment_hashes",
                "Please provide a valid hashType in attachment_hashes parameter. Allowed values are : SHA256, MD5 ",
            ),
            (
                CreateMessageSearch { attachment_hashes: Some("md5:a:b".into()), ..Default::default() },
                "attachment_hashes",
                "Please provide a valid value for attachment_hashes parameter. ",
            ),
            (
                CreateMessageSearch { headers: Some("X-Key".into()), ..Default::default() },
                "headers",
                "Please provide a valid value of headers parameter",
            ),
            (
                CreateMessageSearch { received_before_date: Some("someday".into()), ..Default::default() },
                "received_before_date",
                "Please provide a value of received_before_date parameter in valid date format",
            ),
        ];
        for (criteria, name, message) in cases {
            match search_body(criteria).unwrap_err() {
                ActionError::InvalidParameter(invalid) => {
                    assert_eq!((invalid.name.as_str(), invalid.message.as_str()), (name, message))
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    /// The match criteria are the WIT's `@values`: the generated export
    /// refuses anything else before the action runs, whether or not the
    /// values they qualify are given.
    #[test]
    fn match_criteria_are_checked_before_the_action_runs() {
        use crate::__Connector;
        use crate::__soar_connector::exports::soar::cofense_vision::actions::Guest;
        let search = |hash_criteria: &str, domain_criteria: &str| {
            let (hash, domain) = (Some(hash_criteria.to_string()), Some(domain_criteria.to_string()));
            let (hashes, domains) = (Some("md5:938c2cc0dcc05f2b68c4287040cfcf71".to_string()), Some("a.com".into()));
            let none = || None;
            __Connector::create_message_search(
                none(),
                none(),
                none(),
                hash,
                hashes,
                none(),
                none(),
                domain,
                domains,
                none(),
                none(),
                None,
                none(),
                none(),
                none(),
                none(),
            )
        };
        for (outcome, name) in
            [(search("SOME", "ANY"), "attachment_hash_match_criteria"), (search("ALL", "any"), "domain_match_criteria")]
        {
            match outcome.unwrap_err() {
                ActionError::InvalidParameter(invalid) => assert_eq!(
                    (invalid.name.as_str(), invalid.message.as_str()),
                    (
                        name,
                        format!("Please provide a valid value for the {name} parameter. Allowed values are: ANY, ALL")
                            .as_str()
                    )
                ),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
}

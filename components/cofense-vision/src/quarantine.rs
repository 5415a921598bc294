//! Quarantine jobs (`/api/v4/quarantineJobs`).

use crate::client::Vision;
use crate::paging::{Paging, python_bool};
use soar_sdk::http::Method;
use soar_sdk::prelude::*;
use soar_sdk::{dates, validate};

const JOBS: &str = "/api/v4/quarantineJobs";
const SORT_FIELDS: &[&str] = &["id", "createdBy", "createdDate", "modifiedBy", "modifiedDate", "stopRequested"];
const STATUSES: &[&str] = &["NEW", "PENDING_APPROVAL", "QUEUED", "RUNNING", "COMPLETED", "FAILED"];

/// The filters of `list quarantine jobs`.
pub struct JobFilter {
    pub exclude_quarantine_emails: Option<bool>,
    pub include_status: Option<String>,
    pub exclude_status: Option<String>,
    pub iocs: Option<String>,
    pub sources: Option<String>,
    pub modified_date_after: Option<String>,
    pub auto_quarantine: Option<bool>,
}

fn job_path(id: u64, action: &str) -> Result<String, ActionError> {
    validate::non_zero("id", id)?;
    Ok(format!("{JOBS}/{id}{action}"))
}

pub fn list_quarantine_jobs(
    page: Option<u32>,
    size: Option<u32>,
    sort: Option<String>,
    filter: JobFilter,
) -> ActionOutcome {
    let paging = Paging::new(page, size, sort.as_deref(), SORT_FIELDS)?;
    let mut options = json!({"autoQuarantine": filter.auto_quarantine.unwrap_or(false)});
    if let Some(iocs) = &filter.iocs {
        options["iocs"] = json!(validate::comma_list(iocs));
    }
    if let Some(sources) = &filter.sources {
        options["sources"] = json!(validate::comma_list(sources));
    }
    if let Some(statuses) = &filter.include_status {
        options["includeStatus"] = json!(statuses_of(statuses, "include_status", "include status")?);
    }
    if let Some(statuses) = &filter.exclude_status {
        options["excludeStatus"] = json!(statuses_of(statuses, "exclude_status", "exclude status")?);
    }
    if let Some(date) = &filter.modified_date_after {
        let date = dates::parse_utc(date).ok_or_else(|| {
            ActionError::invalid_parameter(
                "modified_date_after",
                "Please provide valid value in the 'modified date after' parameter",
            )
        })?;
        options["modifiedDateAfter"] = json!(dates::format_micros(&date));
    }
    let vision = Vision::connect()?;
    let request = vision
        .request(Method::Post, &format!("{JOBS}/filter"))
        .query("excludeQuarantineEmails", python_bool(filter.exclude_quarantine_emails.unwrap_or(false)));
    let request = paging.sort(paging.page_and_size(request)).json(&json!({"filterOptions": options}));
    let response = non_empty(vision.call(request)?)?;
    Output::new().data_items(response["quarantineJobs"].clone()).summary_count("total_quarantine_jobs").into()
}

fn statuses_of(text: &str, name: &str, label: &str) -> Result<Vec<String>, ActionError> {
    let statuses = validate::comma_list(text);
    if statuses.is_empty() || statuses.iter().any(|status| !STATUSES.contains(&status.as_str())) {
        return Err(ActionError::invalid_parameter(
            name,
            format!("Please provide a valid value for '{label}' parameter. Valid values are: {}", STATUSES.join(", ")),
        ));
    }
    Ok(statuses)
}

/// An empty answer to a list request is an error, as in the reference connector.
pub fn non_empty(response: Value) -> Result<Value, ActionError> {
    if response.is_null() || response.as_object().is_some_and(|o| o.is_empty()) {
        return Err(ActionError::vendor(None, crate::client::EMPTY_RESPONSE));
    }
    Ok(response)
}

pub fn create_quarantine_job(quarantine_emails: String) -> ActionOutcome {
    let emails = parse_quarantine_emails(&quarantine_emails)?;
    let vision = Vision::connect()?;
    let job = vision.call(vision.request(Method::Post, JOBS).json(&json!({"quarantineEmails": emails})))?;
    Output::new().data(job).message("Created a quarantine job successfully").into()
}

/// `recipient:<id1>:<id2>,recipient2:<id3>` → one entry per (message id, recipient).
fn parse_quarantine_emails(text: &str) -> Result<Vec<Value>, ActionError> {
    let invalid = || {
        ActionError::invalid_parameter(
            "quarantine_emails",
            "Please provide valid value in the 'quarantine_emails' parameter",
        )
    };
    let mut emails = Vec::new();
    for item in validate::comma_list(text) {
        let parts = validate::split_list(&item, &[':']);
        let [recipient, message_ids @ ..] = parts.as_slice() else { return Err(invalid()) };
        if message_ids.is_empty() {
            return Err(invalid());
        }
        emails.extend(message_ids.iter().map(|id| json!({"internetMessageId": id, "recipientAddress": recipient})));
    }
    if emails.is_empty() {
        return Err(invalid());
    }
    Ok(emails)
}

pub fn get_quarantine_job(id: u64) -> ActionOutcome {
    let vision = Vision::connect()?;
    let job = vision.call(vision.request(Method::Get, &job_path(id, "")?))?;
    Output::new().data(job).message("Successfully retrieved the quarantine job information").into()
}

pub fn restore_quarantine_job(id: u64) -> ActionOutcome {
    let path = job_path(id, "/restore")?;
    let vision = Vision::connect()?;
    vision.call_allowing_empty(vision.request(Method::Put, &path))?;
    Output::new().message("Successfully initiated the restore process").into()
}

pub fn approve_quarantine_job(id: u64, message_count: Option<u32>) -> ActionOutcome {
    let path = job_path(id, "/approve")?;
    let message_count = message_count.map(|count| validate::non_zero("message_count", count.into())).transpose()?;
    let vision = Vision::connect()?;
    vision.call_allowing_empty(vision.request(Method::Put, &path).query_opt("messageCount", message_count))?;
    Output::new().message("The quarantine job has been approved successfully").into()
}

pub fn delete_quarantine_job(id: u64) -> ActionOutcome {
    let path = job_path(id, "")?;
    let vision = Vision::connect()?;
    vision.call_allowing_empty(vision.request(Method::Delete, &path))?;
    Output::new().message("Deleted the quarantine job successfully").into()
}

pub fn stop_quarantine_job(id: u64) -> ActionOutcome {
    let path = job_path(id, "/stop")?;
    let vision = Vision::connect()?;
    let job = vision.call(vision.request(Method::Put, &path))?;
    Output::new().data(job).message("Successfully stopped the quarantine job").into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarantine_emails_pair_each_message_with_its_recipient() {
        let emails = parse_quarantine_emails("a@x.com:<1@x>:<2@x>, b@x.com:<3@x>,,").unwrap();
        assert_eq!(
            emails,
            vec![
                json!({"internetMessageId": "<1@x>", "recipientAddress": "a@x.com"}),
                json!({"internetMessageId": "<2@x>", "recipientAddress": "a@x.com"}),
                json!({"internetMessageId": "<3@x>", "recipientAddress": "b@x.com"}),
            ]
        );
        for bad in ["", "a@x.com", "a@x.com:, b@x.com", " , "] {
            assert!(parse_quarantine_emails(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn statuses_are_case_sensitive() {
        assert_eq!(statuses_of("NEW, FAILED,NEW", "include_status", "include status").unwrap(), vec!["NEW", "FAILED"]);
        let err = statuses_of("new", "exclude_status", "exclude status").unwrap_err();
        assert_eq!(
            err.message(),
            "Please provide a valid value for 'exclude status' parameter. Valid values are: NEW, PENDING_APPROVAL, QUEUED, RUNNING, COMPLETED, FAILED"
        );
    }
}

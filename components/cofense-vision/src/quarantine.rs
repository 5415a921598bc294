//! Quarantine jobs (`/api/v4/quarantineJobs`).

use crate::client::Vision;
use crate::paging::{Paging, python_bool};
use crate::{
    ApproveQuarantineJob, CreateQuarantineJob, DeleteQuarantineJob, GetQuarantineJob, ListQuarantineJobs,
    RestoreQuarantineJob, StopQuarantineJob,
};
use soar_sdk::http::Method;
use soar_sdk::prelude::*;
use soar_sdk::{dates, validate};

const JOBS: &str = "/api/v4/quarantineJobs";
const SORT_FIELDS: &[&str] = &["id", "createdBy", "createdDate", "modifiedBy", "modifiedDate", "stopRequested"];
const STATUSES: &[&str] = &["NEW", "PENDING_APPROVAL", "QUEUED", "RUNNING", "COMPLETED", "FAILED"];

fn job_path(id: u64, action: &str) -> Result<String, ActionError> {
    validate::non_zero("id", id)?;
    Ok(format!("{JOBS}/{id}{action}"))
}

impl Action for ListQuarantineJobs {
    fn run(self) -> ActionOutcome {
        let paging = Paging::new(self.page, self.size, self.sort.as_deref(), SORT_FIELDS)?;
        let mut options = json!({"autoQuarantine": self.auto_quarantine});
        if let Some(iocs) = &self.iocs {
            options["iocs"] = json!(validate::comma_list(iocs));
        }
        if let Some(sources) = &self.sources {
            options["sources"] = json!(validate::comma_list(sources));
        }
        if let Some(statuses) = &self.include_status {
            options["includeStatus"] = json!(statuses_of(statuses, "include_status", "include status")?);
        }
        if let Some(statuses) = &self.exclude_status {
            options["excludeStatus"] = json!(statuses_of(statuses, "exclude_status", "exclude status")?);
        }
        if let Some(date) = &self.modified_date_after {
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
            .query("excludeQuarantineEmails", python_bool(self.exclude_quarantine_emails));
        let request = paging.sort(paging.page_and_size(request)).json(&json!({"filterOptions": options}));
        let response = non_empty(vision.call(request)?)?;
        Output::new().data_items(response["quarantineJobs"].clone()).summary_count("total_quarantine_jobs").into()
    }
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

impl Action for CreateQuarantineJob {
    fn run(self) -> ActionOutcome {
        let emails = parse_quarantine_emails(&self.quarantine_emails)?;
        let vision = Vision::connect()?;
        let job = vision.call(vision.request(Method::Post, JOBS).json(&json!({"quarantineEmails": emails})))?;
        Output::new().data(job).message("Created a quarantine job successfully").into()
    }
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

impl Action for GetQuarantineJob {
    fn run(self) -> ActionOutcome {
        let vision = Vision::connect()?;
        let job = vision.call(vision.request(Method::Get, &job_path(self.id, "")?))?;
        Output::new().data(job).message("Successfully retrieved the quarantine job information").into()
    }
}

impl Action for RestoreQuarantineJob {
    fn run(self) -> ActionOutcome {
        let path = job_path(self.id, "/restore")?;
        let vision = Vision::connect()?;
        vision.call_allowing_empty(vision.request(Method::Put, &path))?;
        Output::new().message("Successfully initiated the restore process").into()
    }
}

impl Action for ApproveQuarantineJob {
    fn run(self) -> ActionOutcome {
        let path = job_path(self.id, "/approve")?;
        let count = self.message_count.map(|count| validate::non_zero("message_count", count.into())).transpose()?;
        let vision = Vision::connect()?;
        vision.call_allowing_empty(vision.request(Method::Put, &path).query_opt("messageCount", count))?;
        Output::new().message("The quarantine job has been approved successfully").into()
    }
}

impl Action for DeleteQuarantineJob {
    fn run(self) -> ActionOutcome {
        let path = job_path(self.id, "")?;
        let vision = Vision::connect()?;
        vision.call_allowing_empty(vision.request(Method::Delete, &path))?;
        Output::new().message("Deleted the quarantine job successfully").into()
    }
}

impl Action for StopQuarantineJob {
    fn run(self) -> ActionOutcome {
        let path = job_path(self.id, "/stop")?;
        let vision = Vision::connect()?;
        let job = vision.call(vision.request(Method::Put, &path))?;
        Output::new().data(job).message("Successfully stopped the quarantine job").into()
    }
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

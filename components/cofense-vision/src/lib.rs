//! The Cofense Vision connector: quarantine emails, manage IOCs, search messages,
//! download messages and their attachments.
//!
//! Every action follows the wire protocol of the reference SOAR connector
//! (paths, headers, query and body encodings, messages); the deliberate
//! differences are listed in the repository README.

mod client;
mod iocs;
mod messages;
mod paging;

use soar_sdk::prelude::*;

/// The connector.
pub struct CofenseVision;

soar_sdk::connector! {
    implementation: CofenseVision,
    world: "soar:cofense-vision/connector",
    wit: ["../../wit/connector", "../../wit/cofense-vision"],
}

impl Actions for CofenseVision {
    fn test_connectivity() -> ActionOutcome {
        messages::test_connectivity()
    }

    fn get_message_metadata(_internet_message_id: String, _recipient_address: String) -> ActionOutcome {
        Err(ActionError::not_implemented("get message metadata"))
    }

    fn get_message(
        _internet_message_id: String,
        _recipient_address: String,
        _password: Option<String>,
    ) -> ActionOutcome {
        Err(ActionError::not_implemented("get message"))
    }

    fn get_message_attachment(md5: Option<String>, sha256: Option<String>, filename: String) -> ActionOutcome {
        messages::get_message_attachment(md5, sha256, filename)
    }

    fn list_quarantine_jobs(
        _page: Option<u32>,
        _size: Option<u32>,
        _sort: Option<String>,
        _exclude_quarantine_emails: Option<bool>,
        _include_status: Option<String>,
        _exclude_status: Option<String>,
        _iocs: Option<String>,
        _sources: Option<String>,
        _modified_date_after: Option<String>,
        _auto_quarantine: Option<bool>,
    ) -> ActionOutcome {
        Err(ActionError::not_implemented("list quarantine jobs"))
    }

    fn create_quarantine_job(_quarantine_emails: String) -> ActionOutcome {
        Err(ActionError::not_implemented("create quarantine job"))
    }

    fn restore_quarantine_job(_id: u64) -> ActionOutcome {
        Err(ActionError::not_implemented("restore quarantine job"))
    }

    fn list_message_searches(_page: Option<u32>, _size: Option<u32>, _sort: Option<String>) -> ActionOutcome {
        Err(ActionError::not_implemented("list message searches"))
    }

    fn get_message_search(_id: u64) -> ActionOutcome {
        Err(ActionError::not_implemented("get message search"))
    }

    fn get_quarantine_job(_id: u64) -> ActionOutcome {
        Err(ActionError::not_implemented("get quarantine job"))
    }

    fn approve_quarantine_job(_id: u64, _message_count: Option<u32>) -> ActionOutcome {
        Err(ActionError::not_implemented("approve quarantine job"))
    }

    fn delete_quarantine_job(_id: u64) -> ActionOutcome {
        Err(ActionError::not_implemented("delete quarantine job"))
    }

    fn get_messagesearch_results(
        _id: u64,
        _page: Option<u32>,
        _size: Option<u32>,
        _sort: Option<String>,
    ) -> ActionOutcome {
        Err(ActionError::not_implemented("get messagesearch results"))
    }

    fn delete_ioc(_id: String, _source: String) -> ActionOutcome {
        Err(ActionError::not_implemented("delete ioc"))
    }

    fn stop_quarantine_job(_id: u64) -> ActionOutcome {
        Err(ActionError::not_implemented("stop quarantine job"))
    }

    fn create_message_search(
        _subjects: Option<String>,
        _senders: Option<String>,
        _attachment_names: Option<String>,
        _attachment_hash_match_criteria: Option<String>,
        _attachment_hashes: Option<String>,
        _attachment_mime_types: Option<String>,
        _attachment_exclude_mime_types: Option<String>,
        _domain_match_criteria: Option<String>,
        _domains: Option<String>,
        _headers: Option<String>,
        _internet_message_id: Option<String>,
        _partial_ingest: Option<bool>,
        _received_after_date: Option<String>,
        _received_before_date: Option<String>,
        _recipient: Option<String>,
        _url: Option<String>,
    ) -> ActionOutcome {
        Err(ActionError::not_implemented("create message search"))
    }

    fn get_last_ioc(_source: String) -> ActionOutcome {
        Err(ActionError::not_implemented("get last ioc"))
    }

    fn update_iocs(
        _source: String,
        _iocs_json: Option<String>,
        _threat_type: Option<String>,
        _threat_value: Option<String>,
        _threat_level: Option<String>,
        _source_id: Option<String>,
        _created_at: Option<String>,
        _updated_at: Option<String>,
        _requested_expiration: Option<String>,
    ) -> ActionOutcome {
        Err(ActionError::not_implemented("update iocs"))
    }

    fn update_ioc(_id: String, _expires_at: String) -> ActionOutcome {
        Err(ActionError::not_implemented("update ioc"))
    }

    fn list_iocs(
        source: String,
        since: Option<String>,
        page: Option<u32>,
        size: Option<u32>,
        sort: Option<String>,
        include_expired: Option<bool>,
    ) -> ActionOutcome {
        iocs::list_iocs(source, since, page, size, sort, include_expired)
    }

    fn get_ioc(id: String, source: String) -> ActionOutcome {
        iocs::get_ioc(id, source)
    }

    fn list_searchable_headers() -> ActionOutcome {
        Err(ActionError::not_implemented("list searchable headers"))
    }

    fn download_logs() -> ActionOutcome {
        Err(ActionError::not_implemented("download logs"))
    }
}

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
mod quarantine;
mod searches;

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

    fn get_message_metadata(internet_message_id: String, recipient_address: String) -> ActionOutcome {
        messages::get_message_metadata(internet_message_id, recipient_address)
    }

    fn get_message(internet_message_id: String, recipient_address: String, password: Option<String>) -> ActionOutcome {
        messages::get_message(internet_message_id, recipient_address, password)
    }

    fn get_message_attachment(md5: Option<String>, sha256: Option<String>, filename: String) -> ActionOutcome {
        messages::get_message_attachment(md5, sha256, filename)
    }

    fn list_quarantine_jobs(
        page: Option<u32>,
        size: Option<u32>,
        sort: Option<String>,
        exclude_quarantine_emails: Option<bool>,
        include_status: Option<String>,
        exclude_status: Option<String>,
        iocs: Option<String>,
        sources: Option<String>,
        modified_date_after: Option<String>,
        auto_quarantine: Option<bool>,
    ) -> ActionOutcome {
        let filter = quarantine::JobFilter {
            exclude_quarantine_emails,
            include_status,
            exclude_status,
            iocs,
            sources,
            modified_date_after,
            auto_quarantine,
        };
        quarantine::list_quarantine_jobs(page, size, sort, filter)
    }

    fn create_quarantine_job(quarantine_emails: String) -> ActionOutcome {
        quarantine::create_quarantine_job(quarantine_emails)
    }

    fn restore_quarantine_job(id: u64) -> ActionOutcome {
        quarantine::restore_quarantine_job(id)
    }

    fn list_message_searches(page: Option<u32>, size: Option<u32>, sort: Option<String>) -> ActionOutcome {
        searches::list_message_searches(page, size, sort)
    }

    fn get_message_search(id: u64) -> ActionOutcome {
        searches::get_message_search(id)
    }

    fn get_quarantine_job(id: u64) -> ActionOutcome {
        quarantine::get_quarantine_job(id)
    }

    fn approve_quarantine_job(id: u64, message_count: Option<u32>) -> ActionOutcome {
        quarantine::approve_quarantine_job(id, message_count)
    }

    fn delete_quarantine_job(id: u64) -> ActionOutcome {
        quarantine::delete_quarantine_job(id)
    }

    fn get_messagesearch_results(id: u64, page: Option<u32>, size: Option<u32>, sort: Option<String>) -> ActionOutcome {
        searches::get_message_search_results(id, page, size, sort)
    }

    fn delete_ioc(id: String, source: String) -> ActionOutcome {
        iocs::delete_ioc(id, source)
    }

    fn stop_quarantine_job(id: u64) -> ActionOutcome {
        quarantine::stop_quarantine_job(id)
    }

    fn create_message_search(
        subjects: Option<String>,
        senders: Option<String>,
        attachment_names: Option<String>,
        attachment_hash_match_criteria: Option<String>,
        attachment_hashes: Option<String>,
        attachment_mime_types: Option<String>,
        attachment_exclude_mime_types: Option<String>,
        domain_match_criteria: Option<String>,
        domains: Option<String>,
        headers: Option<String>,
        internet_message_id: Option<String>,
        partial_ingest: Option<bool>,
        received_after_date: Option<String>,
        received_before_date: Option<String>,
        recipient: Option<String>,
        url: Option<String>,
    ) -> ActionOutcome {
        searches::create_message_search(searches::SearchCriteria {
            subjects,
            senders,
            attachment_names,
            attachment_hash_match_criteria,
            attachment_hashes,
            attachment_mime_types,
            attachment_exclude_mime_types,
            domain_match_criteria,
            domains,
            headers,
            internet_message_id,
            partial_ingest,
            received_after_date,
            received_before_date,
            recipient,
            url,
        })
    }

    fn get_last_ioc(source: String) -> ActionOutcome {
        iocs::get_last_ioc(source)
    }

    fn update_iocs(
        source: String,
        iocs_json: Option<String>,
        threat_type: Option<String>,
        threat_value: Option<String>,
        threat_level: Option<String>,
        source_id: Option<String>,
        created_at: Option<String>,
        updated_at: Option<String>,
        requested_expiration: Option<String>,
    ) -> ActionOutcome {
        let fields = iocs::IocFields {
            threat_type,
            threat_value,
            threat_level,
            source_id,
            created_at,
            updated_at,
            requested_expiration,
        };
        iocs::update_iocs(source, iocs_json, fields)
    }

    fn update_ioc(id: String, expires_at: String) -> ActionOutcome {
        iocs::update_ioc(id, expires_at)
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
        messages::list_searchable_headers()
    }

    fn download_logs() -> ActionOutcome {
        messages::download_logs()
    }
}

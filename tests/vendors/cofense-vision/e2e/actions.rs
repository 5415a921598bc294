//! Each action's happy path: the documented data paths are in the result, and the
//! simulator received exactly the request the reference connector sends.

use super::{VENDOR, Vision};
use serde_json::{Value, json};
use soar_tests::harness::assert_documented_paths;

/// Creates an IOC through `update iocs` and returns its id.
async fn create_ioc(vision: &Vision, source: &str, value: &str) -> String {
    let run = vision
        .invoke(
            "update-iocs",
            &[
                ("source", source),
                ("threat_type", "URL"),
                ("threat_value", value),
                ("threat_level", "Malicious"),
                ("source_id", "sid-1"),
                ("created_at", "4/10/2022"),
                ("requested_expiration", "2030-10-30"),
            ],
        )
        .await
        .success();
    run.data()[0]["id"].as_str().expect("an IOC id").to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn test_connectivity_checks_health_then_gets_a_new_token() {
    let vision = Vision::start().await;
    let run = vision.invoke("test-connectivity", &[]).await.success();
    assert_eq!(run.json["message"], "Test Connectivity Passed");
    let requests = vision.sim.server().requests();
    assert_eq!(requests.len(), 2, "{requests:#?}");
    assert_eq!((requests[0].method.as_str(), requests[0].path.as_str()), ("GET", "/actuator/health"));
    assert_eq!(requests[0].header("authorization"), None, "the health check is unauthenticated");
    assert_eq!((requests[1].method.as_str(), requests[1].path.as_str()), ("POST", "/uaa/oauth/token"));
    assert_eq!(requests[1].header("content-type"), Some("application/x-www-form-urlencoded"));
    let form = requests[1].form();
    assert_eq!(
        form,
        vec![
            ("client_id".into(), "soar-client".into()),
            ("client_secret".into(), "vision-secret-0123".into()),
            ("grant_type".into(), "client_credentials".into())
        ]
    );
    // A second test connectivity always asks for a new token, ignoring the cached one.
    vision.invoke("test-connectivity", &[]).await.success();
    assert_eq!(vision.sim.tokens_issued(), 2);

    vision.sim.set_health("DOWN");
    let run = vision.invoke("test-connectivity", &[]).await;
    assert_eq!(run.failure("vendor", 1), "Error message: Server status is DOWN");
}

#[tokio::test(flavor = "multi_thread")]
async fn get_ioc() {
    let vision = Vision::start().await;
    let id = create_ioc(&vision, "Triage-1", "http://test.com/demo").await;
    vision.clear();
    let run = vision.invoke("get-ioc", &[("id", &id), ("source", "Triage-1")]).await.success();
    assert_documented_paths(VENDOR, "get ioc", &run.json);
    assert_eq!(run.data()[0]["id"], id.as_str());
    assert_eq!(run.json["message"], "Fetched IOC successfully");
    assert_eq!(run.json["parameter"], json!({"id": id, "source": "Triage-1"}));
    let request = vision.single_request_to("GET", &format!("/iocrepository/v1/iocs/{id}"));
    assert_eq!(request.header("x-cofense-ioc-source"), Some("Triage-1"));
    assert_eq!(request.header("accept"), Some("application/json"));
}

#[tokio::test(flavor = "multi_thread")]
async fn list_iocs() {
    let vision = Vision::start().await;
    create_ioc(&vision, "Triage-1", "http://a.example/1").await;
    create_ioc(&vision, "Triage-1", "http://a.example/2").await;
    vision.clear();
    let run = vision
        .invoke(
            "list-iocs",
            &[
                ("source", "Triage-1"),
                ("page", "0"),
                ("size", "10"),
                ("since", "01 Mar 2021"),
                ("sort", "updatedAt:desc"),
                ("include_expired", "true"),
            ],
        )
        .await
        .success();
    assert_documented_paths(VENDOR, "list iocs", &run.json);
    assert_eq!(run.json["summary"]["total_iocs"], 2);
    assert_eq!(run.json["message"], "Total iocs: 2");
    let request = vision.single_request_to("GET", "/iocrepository/v1/iocs");
    assert_eq!(
        request.raw_query.as_deref(),
        Some("page=0&size=10&includeExpired=True&since=2021-03-01T00%3A00%3A00.000000Z&sort=updatedAt%2Cdesc")
    );
    assert_eq!(request.header("x-cofense-ioc-source"), Some("Triage-1"));

    vision.clear();
    let run = vision.invoke("list-iocs", &[("source", "Triage-1")]).await.success();
    assert_eq!(run.json["summary"]["total_iocs"], 2);
    assert_eq!(vision.single_request().raw_query.as_deref(), Some("page=0&size=50&includeExpired=False"));
}

#[tokio::test(flavor = "multi_thread")]
async fn get_last_ioc() {
    let vision = Vision::start().await;
    create_ioc(&vision, "Triage-2", "http://first.example").await;
    let last = create_ioc(&vision, "Triage-2", "http://last.example").await;
    vision.clear();
    let run = vision.invoke("get-last-ioc", &[("source", "Triage-2")]).await.success();
    assert_documented_paths(VENDOR, "get last ioc", &run.json);
    assert_eq!(run.json["summary"], json!({"ioc_id": last}), "the key has no trailing space");
    assert_eq!(run.json["message"], format!("Get Last IOC Action succeeded, MD5 ID of fetched IOC : {last}"));
    let request = vision.single_request_to("GET", "/iocrepository/v1/iocs/last");
    assert_eq!(request.header("x-cofense-ioc-source"), Some("Triage-2"));

    let run = vision.invoke("get-last-ioc", &[("source", "Empty-Source")]).await;
    assert_eq!(run.failure("vendor", 1), "The server returned an unexpected empty response");
}

#[tokio::test(flavor = "multi_thread")]
async fn update_iocs_from_parameters_and_from_json() {
    let vision = Vision::start().await;
    let run = vision
        .invoke(
            "update-iocs",
            &[
                ("source", "Vision-UI"),
                ("threat_type", "URL"),
                ("threat_value", "https://domain.com"),
                ("threat_level", "Malicious"),
                ("source_id", "test_source_id"),
                ("created_at", "4/10/2022"),
                ("updated_at", "4/11/2022"),
                ("requested_expiration", "4/12/2022"),
            ],
        )
        .await
        .success();
    assert_documented_paths(VENDOR, "update iocs", &run.json);
    assert_eq!(run.json["summary"]["total_iocs_updated"], 1);
    assert_eq!(run.json["message"], "Total iocs updated: 1");
    let request = vision.single_request_to("PUT", "/iocrepository/v1/iocs");
    assert_eq!(request.header("x-cofense-ioc-source"), Some("Vision-UI"));
    assert_eq!(
        request.json(),
        json!({"data": [{"type": "ioc", "attributes": {"threat_type": "URL", "threat_value": "https://domain.com"},
            "metadata": {"source": {"id": "test_source_id", "threat_level": "Malicious",
                "created_at": "2022-04-10T00:00:00.000000Z", "updated_at": "2022-04-11T00:00:00.000000Z",
                "requested_expiration": "2022-04-12T00:00:00.000000Z"}}}]})
    );

    vision.clear();
    let iocs_json = r#"[{"threat_type": "Domain","threat_value": "test1.com","threat_level": "Malicious","created_at": "20/08/2032","source_id": "test_source_1","updated_at": "20/08/2032","requested_expiration": "30/08/2032"},{"threat_type": "Domain","threat_value": "test2.com","threat_level": "Malicious","created_at": "20/08/2032","source_id": "test_source_2"}]"#;
    let run = vision
        .invoke("update-iocs", &[("source", "Vision-UI"), ("iocs_json", iocs_json), ("threat_type", "ignored")])
        .await
        .success();
    assert_eq!(run.json["summary"]["total_iocs_updated"], 2);
    let body = vision.single_request().json();
    assert_eq!(body["data"][0]["metadata"]["source"]["requested_expiration"], "2032-08-30T00:00:00.000000Z");
    assert_eq!(body["data"][1]["attributes"]["threat_value"], "test2.com");
    assert!(
        body["data"][1]["metadata"]["source"]["updated_at"].as_str().unwrap().ends_with('Z'),
        "updated_at defaults to now"
    );
    assert_eq!(
        vision.sim.iocs("Vision-UI").iter().filter(|ioc| ioc["attributes"]["threat_value"] == "test1.com").count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn update_ioc_sends_no_source_header() {
    let vision = Vision::start().await;
    let id = create_ioc(&vision, "Vision-UI", "https://test.com").await;
    vision.clear();
    let run = vision.invoke("update-ioc", &[("id", &id), ("expires_at", "2080-05-15")]).await.success();
    assert_documented_paths(VENDOR, "update ioc", &run.json);
    assert_eq!(run.json["message"], "Updated the IOC successfully");
    assert!(run.data()[0]["metadata"]["quarantine"]["expires_at"].as_str().unwrap().starts_with("2080-05-15"));
    let request = vision.single_request_to("PUT", &format!("/iocrepository/v1/iocs/{id}"));
    assert_eq!(request.header("x-cofense-ioc-source"), None);
    assert_eq!(
        request.json(),
        json!({"data": {"type": "ioc", "metadata": {"quarantine": {"expires_at": "2080-05-15T00:00:00.000000Z"}}}})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_ioc() {
    let vision = Vision::start().await;
    let id = create_ioc(&vision, "Triage-1", "http://gone.example").await;
    vision.clear();
    let run = vision.invoke("delete-ioc", &[("id", &id), ("source", "Triage-1")]).await.success();
    assert_documented_paths(VENDOR, "delete ioc", &run.json);
    assert_eq!(run.json["message"], format!("Delete IOC action ran successfully and IOC with MD5 ID {id} is deleted"));
    let request = vision.single_request_to("DELETE", &format!("/iocrepository/v1/iocs/{id}"));
    assert_eq!(request.header("x-cofense-ioc-source"), Some("Triage-1"));
    assert!(vision.sim.iocs("Triage-1").iter().all(|ioc| ioc["id"] != id.as_str()));
    // Ids are escaped into one path segment.
    vision.clear();
    vision.invoke("get-ioc", &[("id", "../../api/v4/x"), ("source", "Triage-1")]).await;
    assert_eq!(vision.single_request().path, "/iocrepository/v1/iocs/..%2F..%2Fapi%2Fv4%2Fx");
}

#[tokio::test(flavor = "multi_thread")]
async fn list_quarantine_jobs() {
    let vision = Vision::start().await;
    let run = vision
        .invoke(
            "list-quarantine-jobs",
            &[
                ("page", "0"),
                ("size", "10"),
                ("sort", "createdBy:desc,id:asc"),
                ("exclude_quarantine_emails", "false"),
                ("include_status", "NEW,FAILED,COMPLETED"),
                ("iocs", "b93cba4829a00dabef96036bb6765d20"),
                ("sources", "Vision-UI"),
                ("modified_date_after", "01 Feb 2021 04:45:33"),
                ("auto_quarantine", "false"),
            ],
        )
        .await
        .success();
    let request = vision.single_request_to("POST", "/api/v4/quarantineJobs/filter");
    assert_eq!(
        request.raw_query.as_deref(),
        Some("excludeQuarantineEmails=False&page=0&size=10&sort=createdBy%2Cdesc&sort=id%2Casc")
    );
    assert_eq!(
        request.json(),
        json!({"filterOptions": {"autoQuarantine": false, "iocs": ["b93cba4829a00dabef96036bb6765d20"], "sources": ["Vision-UI"],
            "includeStatus": ["NEW", "FAILED", "COMPLETED"], "modifiedDateAfter": "2021-02-01T04:45:33.000000Z"}})
    );
    assert!(run.json["summary"]["total_quarantine_jobs"].is_u64());

    // Without filters every seeded job comes back, with every documented field.
    let run = vision.invoke("list-quarantine-jobs", &[]).await.success();
    assert_documented_paths(VENDOR, "list quarantine jobs", &run.json);
    let total = run.data().len();
    assert!(total >= 2);
    assert_eq!(run.json["message"], format!("Total quarantine jobs: {total}"));
}

#[tokio::test(flavor = "multi_thread")]
async fn quarantine_job_lifecycle() {
    let vision = Vision::start().await;
    let (message_id, recipient) = vision.sim.sample_message();
    let emails = format!("{recipient}:{message_id}");
    let run = vision.invoke("create-quarantine-job", &[("quarantine_emails", &emails)]).await.success();
    assert_documented_paths(VENDOR, "create quarantine job", &run.json);
    assert_eq!(run.json["message"], "Created a quarantine job successfully");
    let id = run.data()[0]["id"].as_u64().unwrap();
    let request = vision.api_requests().pop().unwrap();
    assert_eq!((request.method.as_str(), request.path.as_str()), ("POST", "/api/v4/quarantineJobs"));
    assert_eq!(
        request.json(),
        json!({"quarantineEmails": [{"internetMessageId": message_id, "recipientAddress": recipient}]})
    );

    vision.clear();
    let run = vision.invoke("get-quarantine-job", &[("id", &id.to_string())]).await.success();
    assert_eq!(run.json["message"], "Successfully retrieved the quarantine job information");
    vision.single_request_to("GET", &format!("/api/v4/quarantineJobs/{id}"));

    for _ in 0..3 {
        vision.sim.advance_jobs();
    }
    vision.clear();
    let run = vision.invoke("restore-quarantine-job", &[("id", &id.to_string())]).await.success();
    assert_documented_paths(VENDOR, "restore quarantine job", &run.json);
    assert_eq!(run.json["message"], "Successfully initiated the restore process");
    let request = vision.single_request();
    assert_eq!(
        (request.method.as_str(), request.path.clone(), request.body.len()),
        ("PUT", format!("/api/v4/quarantineJobs/{id}/restore"), 0)
    );
    let runs = vision.sim.quarantine_job(id).unwrap()["quarantineJobRuns"].clone();
    assert!(runs.as_array().unwrap().iter().any(|run| run["jobRunType"] == "RESTORE"), "{runs}");

    vision.clear();
    let run = vision.invoke("delete-quarantine-job", &[("id", &id.to_string())]).await.success();
    assert_documented_paths(VENDOR, "delete quarantine job", &run.json);
    assert_eq!(run.json["message"], "Deleted the quarantine job successfully");
    vision.single_request_to("DELETE", &format!("/api/v4/quarantineJobs/{id}"));
    assert!(vision.sim.quarantine_job(id).is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn get_and_stop_a_seeded_quarantine_job() {
    let vision = Vision::start().await;
    let listed = vision.invoke("list-quarantine-jobs", &[]).await.success();
    let id = listed.data().iter().find(|job| job["matchingIocInfo"].as_array().is_some_and(|m| !m.is_empty())).unwrap()
        ["id"]
        .as_u64()
        .unwrap()
        .to_string();
    let run = vision.invoke("get-quarantine-job", &[("id", &id)]).await.success();
    assert_documented_paths(VENDOR, "get quarantine job", &run.json);
    vision.clear();
    let run = vision.invoke("stop-quarantine-job", &[("id", &id)]).await.success();
    assert_documented_paths(VENDOR, "stop quarantine job", &run.json);
    assert_eq!(run.json["message"], "Successfully stopped the quarantine job");
    assert_eq!(run.data()[0]["stopRequested"], true);
    vision.single_request_to("PUT", &format!("/api/v4/quarantineJobs/{id}/stop"));
}

#[tokio::test(flavor = "multi_thread")]
async fn approve_quarantine_job() {
    let vision = Vision::start().await;
    let (message_id, recipient) = vision.sim.sample_message();
    let id = vision.sim.add_auto_quarantine_job(&[(&message_id, &recipient)]).to_string();
    let run = vision.invoke("approve-quarantine-job", &[("id", &id), ("message_count", "3")]).await.success();
    assert_documented_paths(VENDOR, "approve quarantine job", &run.json);
    assert_eq!(run.json["message"], "The quarantine job has been approved successfully");
    let request = vision.single_request();
    assert_eq!(
        (request.method.as_str(), request.path.clone()),
        ("PUT", format!("/api/v4/quarantineJobs/{id}/approve"))
    );
    assert_eq!(request.raw_query.as_deref(), Some("messageCount=3"));
    // Approving again fails: the job is no longer pending approval.
    vision.clear();
    let run = vision.invoke("approve-quarantine-job", &[("id", &id)]).await;
    assert!(run.failure("vendor", 1).starts_with("Error from server. Status code: 400"));
    assert_eq!(vision.single_request().raw_query, None, "messageCount is sent only when given");
}

#[tokio::test(flavor = "multi_thread")]
async fn message_searches() {
    let vision = Vision::start().await;
    let run = vision
        .invoke(
            "create-message-search",
            &[
                ("subjects", "This is a test subject"),
                ("senders", "fname.lname@phishme.com"),
                ("attachment_names", "test.png"),
                ("attachment_hash_match_criteria", "ANY"),
                ("attachment_hashes", "md5:938c2cc0dcc05f2b68c4287040cfcf71"),
                ("attachment_mime_types", "image/png"),
                ("attachment_exclude_mime_types", "image/gif"),
                ("domain_match_criteria", "ANY"),
                ("domains", "test.com"),
                ("headers", "X-MS-Exchange-Organization-AuthSource:DM6PR19MB3772.namprd19.prod.test.com"),
                ("internet_message_id", "<1C626FCE-6749-4DE9-884C-C025173F80BB@phishme.com>"),
                ("partial_ingest", "true"),
                ("received_after_date", "2022-12-22T12:27:29.768"),
                ("received_before_date", "2023-01-03T12:27:29.768"),
                ("recipient", "fname.lname@phishme.com"),
                ("url", "https://test.com"),
            ],
        )
        .await
        .success();
    assert_documented_paths(VENDOR, "create message search", &run.json);
    let id = run.data()[0]["id"].as_u64().unwrap();
    assert_eq!(run.json["summary"], json!({"search_id": id}));
    assert_eq!(run.json["message"], format!("Search id: {id}"));
    let request = vision.single_request_to("POST", "/api/v4/searches");
    assert_eq!(
        request.json(),
        json!({
            "subjects": ["This is a test subject"], "senders": ["fname.lname@phishme.com"], "attachmentNames": ["test.png"],
            "attachmentHashCriteria": {"type": "ANY", "attachmentHashes": [{"hashType": "MD5", "hashString": "938c2cc0dcc05f2b68c4287040cfcf71"}]},
            "attachmentMimeTypes": ["image/png"], "attachmentExcludeMimeTypes": ["image/gif"],
            "domainCriteria": {"type": "ANY", "domains": ["test.com"]},
            "internetMessageId": "<1C626FCE-6749-4DE9-884C-C025173F80BB@phishme.com>", "partialIngest": true,
            "recipient": "fname.lname@phishme.com", "url": "https://test.com",
            "receivedAfterDate": "2022-12-22T12:27:29.768000Z", "receivedBeforeDate": "2023-01-03T12:27:29.768000Z",
            "headers": [{"key": "X-MS-Exchange-Organization-AuthSource", "values": ["DM6PR19MB3772.namprd19.prod.test.com"]}],
        })
    );

    vision.clear();
    let run = vision.invoke("get-message-search", &[("id", &id.to_string())]).await.success();
    assert_documented_paths(VENDOR, "get message search", &run.json);
    assert_eq!(run.json["message"], "Fetched message search successfully");
    assert_eq!(vision.single_request().path, format!("/api/v4/searches/{id}"));

    vision.clear();
    let run =
        vision.invoke("list-message-searches", &[("page", "0"), ("size", "50"), ("sort", "id:desc")]).await.success();
    assert_documented_paths(VENDOR, "list message searches", &run.json);
    let total = run.data().len();
    assert_eq!(run.json["message"], format!("Total message searches: {total}"));
    let request = vision.single_request_to("GET", "/api/v4/searches");
    assert_eq!(request.raw_query.as_deref(), Some("page=0&size=50&sort=id%2Cdesc"));
}

#[tokio::test(flavor = "multi_thread")]
async fn get_messagesearch_results() {
    let vision = Vision::start().await;
    let run = vision.invoke("create-message-search", &[]).await.success();
    let id = run.data()[0]["id"].as_u64().unwrap().to_string();
    vision.clear();
    let run = vision
        .invoke("get-messagesearch-results", &[("id", &id), ("size", "20"), ("sort", "sentOn:asc")])
        .await
        .success();
    assert_documented_paths(VENDOR, "get messagesearch results", &run.json);
    let total = run.data().len();
    assert!(total > 0, "an empty search matches every message");
    assert_eq!(run.json["summary"], json!({"total_results": total}));
    let request = vision.single_request_to("GET", &format!("/api/v4/searches/{id}/results"));
    assert_eq!(request.raw_query.as_deref(), Some("page=0&size=20&sort=sentOn%2Casc"));
}

#[tokio::test(flavor = "multi_thread")]
async fn get_message_metadata() {
    let vision = Vision::start().await;
    let (message_id, recipient) = vision.sim.sample_message();
    let run = vision
        .invoke("get-message-metadata", &[("internet_message_id", &message_id), ("recipient_address", &recipient)])
        .await
        .success();
    assert_documented_paths(VENDOR, "get message metadata", &run.json);
    assert_eq!(run.json["message"], "Retrieved message metadata successfully");
    assert_eq!(run.data()[0]["internetMessageId"], message_id.as_str());
    let request = vision.single_request_to("GET", "/api/v4/messages/metadata");
    assert_eq!(
        request.query(),
        vec![("internetMessageId".to_string(), message_id.clone()), ("recipientAddress".to_string(), recipient)]
    );
    assert!(
        request.raw_query.as_deref().unwrap().starts_with("internetMessageId=%3C"),
        "< > and @ are percent-encoded"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn list_searchable_headers() {
    let vision = Vision::start().await;
    let run = vision.invoke("list-searchable-headers", &[]).await.success();
    assert_documented_paths(VENDOR, "list searchable headers", &run.json);
    assert_eq!(run.json["message"], "Fetched searchable headers successfully");
    assert!(run.data().iter().all(|item| item["header"].is_string()));
    vision.single_request_to("GET", "/api/v4/config/searchableHeaders");
}

/// The vault item of a download result: present, and the file in the vault has
/// the bytes, SHA-1 and SHA-256 the result reports.
fn assert_vault_item(vision: &Vision, run: &soar_tests::harness::Run, expected_name_prefix: &str) -> Value {
    let item = run.data()[0].clone();
    let vault_id = item["vault_id"].as_str().unwrap();
    assert_eq!(run.json["summary"], json!({"vault_id": vault_id}));
    assert_eq!(run.json["message"], format!("Vault id: {vault_id}"));
    assert!(item["name"].as_str().unwrap().starts_with(expected_name_prefix), "{item}");
    let contents = std::fs::read(item["path"].as_str().unwrap()).unwrap();
    assert_eq!(item["size"], contents.len());
    assert_eq!(hex::encode(<sha1::Sha1 as sha1::Digest>::digest(&contents)), vault_id);
    assert_eq!(
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&contents)),
        item["metadata"]["sha256"].as_str().unwrap()
    );
    assert!(item["path"].as_str().unwrap().starts_with(vision.env.data_dir().to_str().unwrap()));
    item
}

#[tokio::test(flavor = "multi_thread")]
async fn get_message_attachment_into_the_vault() {
    let vision = Vision::start().await;
    let contents: Vec<u8> = (0..300_000u32).flat_map(|i| i.to_le_bytes()).collect();
    let attachment = vision.sim.add_attachment("test.txt", contents.clone());
    let run =
        vision.invoke("get-message-attachment", &[("md5", &attachment.md5), ("filename", "test.txt")]).await.success();
    assert_documented_paths(VENDOR, "get message attachment", &run.json);
    let item = assert_vault_item(&vision, &run, "test.txt");
    assert_eq!(
        (item["vault_id"].as_str(), item["size"].as_u64()),
        (Some(attachment.sha1.as_str()), Some(attachment.size))
    );
    assert_eq!(item["metadata"]["sha256"], attachment.sha256.as_str());
    assert_eq!(item["mime_type"], "text/plain");
    assert_eq!(std::fs::read(item["path"].as_str().unwrap()).unwrap(), contents);
    let request = vision.single_request_to("GET", "/api/v4/attachment");
    assert_eq!(request.query(), vec![("md5".to_string(), attachment.md5.clone())]);
    assert_eq!(request.header("accept"), None, "downloads are sent without Accept");

    // By SHA-256 too; the same contents are one vault document with two names.
    vision.clear();
    let run = vision
        .invoke("get-message-attachment", &[("sha256", &attachment.sha256), ("filename", "copy.bin")])
        .await
        .success();
    let again = &run.data()[0];
    assert_eq!((again["vault_id"].clone(), again["id"].clone()), (item["vault_id"].clone(), item["id"].clone()));
    assert_eq!(again["aka"], json!(["test.txt", "copy.bin"]));
    assert_eq!(vision.single_request().query(), vec![("sha256".to_string(), attachment.sha256.clone())]);
}

#[tokio::test(flavor = "multi_thread")]
async fn get_message_zip_into_the_vault() {
    let vision = Vision::start().await;
    let (message_id, recipient) = vision.sim.sample_message();
    let run = vision
        .invoke(
            "get-message",
            &[("internet_message_id", &message_id), ("recipient_address", &recipient), ("password", "test")],
        )
        .await
        .success();
    assert_documented_paths(VENDOR, "get message", &run.json);
    let item = assert_vault_item(&vision, &run, "message_");
    assert_eq!(item["mime_type"], "application/zip");
    let contents = std::fs::read(item["path"].as_str().unwrap()).unwrap();
    assert_eq!(&contents[..2], b"PK", "a zip archive");
    let requests = vision.api_requests();
    assert_eq!(requests.len(), 2, "{requests:#?}");
    assert_eq!((requests[0].method.as_str(), requests[0].path.as_str()), ("POST", "/api/v4/messages"));
    assert_eq!(
        requests[0].json(),
        json!({"internetMessageId": message_id, "recipientAddress": recipient, "password": "test"})
    );
    assert_eq!((requests[1].method.as_str(), requests[1].path.as_str()), ("GET", "/api/v4/messages"));
    assert_eq!(requests[1].query_values("token").len(), 1);
    assert_eq!(requests[1].header("accept"), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn download_logs_into_the_vault() {
    let vision = Vision::start().await;
    let run = vision.invoke("download-logs", &[]).await.success();
    assert_documented_paths(VENDOR, "download logs", &run.json);
    let item = assert_vault_item(&vision, &run, "logfile_");
    assert_eq!(item["mime_type"], "application/zip");
    vision.single_request_to("GET", "/api/v4/download/logs");
}

//! Every validation rule of the specification: a clear error naming the
//! parameter, exit code 2, and not a single request to the vendor.

use super::Vision;
use soar_host::exit;
use soar_tests::harness::Rejection;

const MD5: &str = "938c2cc0dcc05f2b68c4287040cfcf71";

fn cases() -> Vec<Rejection> {
    let source = ("source", "Vision-UI");
    vec![
        // Integers and ranges.
        (
            "list-iocs",
            vec![source, ("size", "0")],
            "size",
            "Please provide a non-zero positive integer value in the 'size' parameter",
        ),
        (
            "list-iocs",
            vec![source, ("size", "2001")],
            "size",
            "Please provide a non-zero positive integer value upto 2000 in the 'size' parameter",
        ),
        (
            "list-iocs",
            vec![source, ("page", "-1")],
            "page",
            "Please provide a valid non-negative integer value in the 'page' parameter",
        ),
        (
            "list-iocs",
            vec![source, ("page", "1.5")],
            "page",
            "Please provide a valid integer value in the 'page' parameter",
        ),
        (
            "list-message-searches",
            vec![("size", "2001")],
            "size",
            "Please provide a non-zero positive integer value upto 2000",
        ),
        ("list-quarantine-jobs", vec![("size", "0")], "size", "Please provide a non-zero positive integer value"),
        (
            "get-messagesearch-results",
            vec![("id", "1"), ("size", "5000")],
            "size",
            "Please provide a non-zero positive integer value upto 2000",
        ),
        (
            "get-quarantine-job",
            vec![("id", "0")],
            "id",
            "Please provide a non-zero positive integer value in the 'id' parameter",
        ),
        (
            "restore-quarantine-job",
            vec![("id", "0")],
            "id",
            "Please provide a non-zero positive integer value in the 'id' parameter",
        ),
        (
            "stop-quarantine-job",
            vec![("id", "-3")],
            "id",
            "Please provide a valid non-negative integer value in the 'id' parameter",
        ),
        (
            "delete-quarantine-job",
            vec![("id", "x")],
            "id",
            "Please provide a valid integer value in the 'id' parameter",
        ),
        (
            "approve-quarantine-job",
            vec![("id", "5"), ("message_count", "0")],
            "message_count",
            "Please provide a non-zero positive integer value in the 'message_count' parameter",
        ),
        (
            "get-message-search",
            vec![("id", "0")],
            "id",
            "Please provide a non-zero positive integer value in the 'id' parameter",
        ),
        (
            "get-messagesearch-results",
            vec![("id", "0")],
            "id",
            "Please provide a non-zero positive integer value in the 'id' parameter",
        ),
        // Sort fields per action.
        (
            "list-iocs",
            vec![source, ("sort", "createdAt:asc")],
            "sort",
            "Please provide a valid value in the 'sort' parameter",
        ),
        (
            "list-iocs",
            vec![source, ("sort", "updatedAt:up")],
            "sort",
            "Please provide a valid value in the 'sort' parameter",
        ),
        (
            "list-iocs",
            vec![source, ("sort", "updatedAt:asc:x")],
            "sort",
            "Please provide a valid value in the 'sort' parameter",
        ),
        (
            "list-quarantine-jobs",
            vec![("sort", "subject")],
            "sort",
            "Please provide a valid value in the 'sort' parameter",
        ),
        (
            "list-message-searches",
            vec![("sort", "stopRequested")],
            "sort",
            "Please provide a valid value in the 'sort' parameter",
        ),
        (
            "get-messagesearch-results",
            vec![("id", "1"), ("sort", "createdBy")],
            "sort",
            "Please provide a valid value in the 'sort' parameter",
        ),
        // Status values (case-sensitive) and dates.
        (
            "list-quarantine-jobs",
            vec![("include_status", "NEW,new")],
            "include_status",
            "Please provide a valid value for 'include status' parameter. Valid values are: NEW, PENDING_APPROVAL, QUEUED, RUNNING, COMPLETED, FAILED",
        ),
        (
            "list-quarantine-jobs",
            vec![("exclude_status", "DONE")],
            "exclude_status",
            "Please provide a valid value for 'exclude status' parameter. Valid values are: NEW, PENDING_APPROVAL, QUEUED, RUNNING, COMPLETED, FAILED",
        ),
        (
            "list-quarantine-jobs",
            vec![("modified_date_after", "last tuesday")],
            "modified_date_after",
            "Please provide valid value in the 'modified date after' parameter",
        ),
        (
            "list-iocs",
            vec![source, ("since", "1 hour ago")],
            "since",
            "Please provide a valid date in the 'since' parameter",
        ),
        (
            "update-ioc",
            vec![("id", MD5), ("expires_at", "31/31/2031")],
            "expires_at",
            "Please provide a valid date in the 'expires_at' parameter",
        ),
        (
            "create-message-search",
            vec![("received_after_date", "soon")],
            "received_after_date",
            "Please provide a value of received_after_date parameter in valid date format",
        ),
        (
            "create-message-search",
            vec![("received_before_date", "2022-13-01")],
            "received_before_date",
            "Please provide a value of received_before_date parameter in valid date format",
        ),
        // quarantine_emails format.
        (
            "create-quarantine-job",
            vec![("quarantine_emails", "user@test.com")],
            "quarantine_emails",
            "Please provide valid value in the 'quarantine_emails' parameter",
        ),
        (
            "create-quarantine-job",
            vec![("quarantine_emails", " , ,")],
            "quarantine_emails",
            "Please provide valid value in the 'quarantine_emails' parameter",
        ),
        // Max 3 values.
        (
            "create-message-search",
            vec![("subjects", "a,b,c,d")],
            "subjects",
            "The subjects parameter has more than 3 values. Please enter max 3 values to create a search.",
        ),
        (
            "create-message-search",
            vec![("senders", "a,b,c,d")],
            "senders",
            "The senders parameter has more than 3 values.",
        ),
        (
            "create-message-search",
            vec![("attachment_names", "a,b,c,d")],
            "attachment_names",
            "The attachment_names parameter has more than 3 values.",
        ),
        (
            "create-message-search",
            vec![("attachment_mime_types", "a,b,c,d")],
            "attachment_mime_types",
            "The attachment_mime_types parameter has more than 3 values.",
        ),
        (
            "create-message-search",
            vec![("attachment_exclude_mime_types", "a,b,c,d")],
            "attachment_exclude_mime_types",
            "The attachment_exclude_mime_types parameter has more than 3 values.",
        ),
        (
            "create-message-search",
            vec![("domains", "a.com,b.com,c.com,d.com")],
            "domains",
            "The domains parameter has more than 3 values.",
        ),
        (
            "create-message-search",
            vec![("headers", "a:1,b:2,c:3,d:4")],
            "headers",
            "The headers parameter has more than 3 values.",
        ),
        (
            "create-message-search",
            vec![(
                "attachment_hashes",
                "md5:938c2cc0dcc05f2b68c4287040cfcf71,md5:938c2cc0dcc05f2b68c4287040cfcf72,md5:938c2cc0dcc05f2b68c4287040cfcf73,md5:938c2cc0dcc05f2b68c4287040cfcf74",
            )],
            "attachment_hashes",
            "The attachment_hashes parameter has more than 3 values.",
        ),
        // Hash formats and match criteria.
        (
            "create-message-search",
            vec![("attachment_hashes", "md5:12345")],
            "attachment_hashes",
            "Please provide a valid value for MD5 Hash in the attachment_hashes parameter",
        ),
        (
            "create-message-search",
            vec![("attachment_hashes", "sha256:938c2cc0dcc05f2b68c4287040cfcf71")],
            "attachment_hashes",
            "Please provide a valid value for SHA256 Hash in the attachment_hashes parameter",
        ),
        (
            "create-message-search",
            vec![("attachment_hashes", "sha1:938c2cc0dcc05f2b68c4287040cfcf71")],
            "attachment_hashes",
            "Please provide a valid hashType in attachment_hashes parameter. Allowed values are : SHA256, MD5 ",
        ),
        (
            "create-message-search",
            vec![("attachment_hashes", "938c2cc0dcc05f2b68c4287040cfcf71")],
            "attachment_hashes",
            "Please provide a valid value for attachment_hashes parameter. ",
        ),
        (
            "create-message-search",
            vec![
                ("attachment_hashes", "md5:938c2cc0dcc05f2b68c4287040cfcf71"),
                ("attachment_hash_match_criteria", "SOME"),
            ],
            "attachment_hash_match_criteria",
            "Please provide a valid value for the attachment_hash_match_criteria parameter. Allowed values are: ANY, ALL",
        ),
        (
            "create-message-search",
            vec![("domains", "a.com"), ("domain_match_criteria", "any")],
            "domain_match_criteria",
            "Please provide a valid value for the domain_match_criteria parameter. Allowed values are: ANY, ALL",
        ),
        (
            "create-message-search",
            vec![("headers", "X-Key")],
            "headers",
            "Please provide a valid value of headers parameter",
        ),
        (
            "get-message-attachment",
            vec![("filename", "x.txt")],
            "md5",
            "Please provide a value for at least one of the hash parameters",
        ),
        (
            "get-message-attachment",
            vec![("md5", "xyz"), ("filename", "x.txt")],
            "md5",
            "Please provide a valid MD5 hash in the 'md5' parameter",
        ),
        (
            "get-message-attachment",
            vec![("sha256", MD5), ("filename", "x.txt")],
            "sha256",
            "Please provide a valid SHA256 hash in the 'sha256' parameter",
        ),
        // File names.
        (
            "get-message-attachment",
            vec![("md5", MD5), ("filename", "report")],
            "filename",
            "Please provide a valid file name including the extension in the 'filename' parameter",
        ),
        (
            "get-message-attachment",
            vec![("md5", MD5), ("filename", "report.")],
            "filename",
            "Please provide a valid file name including the extension in the 'filename' parameter",
        ),
        (
            "get-message-attachment",
            vec![("md5", MD5), ("filename", "../etc/x.txt")],
            "filename",
            "Please provide a valid file name including the extension in the 'filename' parameter",
        ),
        // update iocs.
        (
            "update-iocs",
            vec![("source", "s"), ("threat_type", "URL"), ("threat_value", "v")],
            "threat_type",
            "Please provide all the required parameters: threat_type, threat_value, threat_level, created_at, source_id",
        ),
        (
            "update-iocs",
            vec![
                ("source", "s"),
                ("threat_type", "IP"),
                ("threat_value", "v"),
                ("threat_level", "l"),
                ("created_at", "2020-08-31"),
                ("source_id", "x"),
            ],
            "threat_type",
            "Please provide a valid value for 'threat_type'. Valid values are: Domain, MD5, Sender, SHA256, Subject, URL",
        ),
        (
            "update-iocs",
            vec![
                ("source", "s"),
                ("threat_type", "URL"),
                ("threat_value", "v"),
                ("threat_level", "l"),
                ("created_at", "yesterday"),
                ("source_id", "x"),
            ],
            "created_at",
            "Please provide a valid date in the 'created_at' parameter",
        ),
        (
            "update-iocs",
            vec![
                ("source", "s"),
                ("threat_type", "URL"),
                ("threat_value", "v"),
                ("threat_level", "l"),
                ("created_at", "2020-08-31"),
                ("source_id", "x"),
                ("requested_expiration", "never"),
            ],
            "requested_expiration",
            "Please provide a valid date in the 'requested_expiration' parameter",
        ),
        (
            "update-iocs",
            vec![("source", "s"), ("iocs_json", "[{\"threat_type\": ")],
            "iocs_json",
            "Error occurred while parsing the provided JSON",
        ),
        (
            "update-iocs",
            vec![("source", "s"), ("iocs_json", "{\"threat_type\": \"URL\"}")],
            "iocs_json",
            "The 'iocs_json' parameter must be a JSON list of IOC objects",
        ),
        (
            "update-iocs",
            vec![("source", "s"), ("iocs_json", "[{\"threat_type\": \"URL\", \"threat_value\": \"v\"}]")],
            "threat_type",
            "Please provide all the required parameters: threat_type, threat_value, threat_level, created_at, source_id",
        ),
        // Required parameters.
        ("get-ioc", vec![("id", MD5)], "source", "The required parameter 'source' is missing"),
        (
            "get-message",
            vec![("internet_message_id", "<a@b>")],
            "recipient_address",
            "The required parameter 'recipient_address' is missing",
        ),
        ("update-ioc", vec![("id", MD5)], "expires_at", "The required parameter 'expires_at' is missing"),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn every_rule_rejects_before_sending() {
    Vision::start().await.rejects_before_sending(cases()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn dates_in_every_documented_form_are_accepted() {
    let vision = Vision::start().await;
    let forms = [
        ("01 Mar 2021", "2021-03-01T00:00:00.000000Z"),
        ("01 Feb 2021 04:45:33", "2021-02-01T04:45:33.000000Z"),
        ("2022-04-17T14:05:44Z", "2022-04-17T14:05:44.000000Z"),
        ("15/09/2022", "2022-09-15T00:00:00.000000Z"),
        ("2020-08-31", "2020-08-31T00:00:00.000000Z"),
        ("4/10/2022", "2022-04-10T00:00:00.000000Z"),
        ("2022-04-17T14:05:44+05:30", "2022-04-17T08:35:44.000000Z"),
    ];
    for (typed, sent) in forms {
        vision.clear();
        vision.invoke("list-iocs", &[("source", "Vision-UI"), ("since", typed)]).await.success();
        assert_eq!(vision.single_request().query_values("since"), vec![sent.to_string()], "{typed}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_names_and_bad_assets_send_nothing() {
    let vision = Vision::start().await;
    let run = vision.invoke("get-iocs", &[("id", MD5), ("source", "s")]).await;
    assert!(run.failure("unknown-action", exit::INVALID_INPUT).contains("'get-iocs'"));
    let run = vision.env.invoke("cofense-vision", "get-ioc", &vision.asset, &[("id", MD5), ("source", "s")]).await;
    assert!(run.failure("unknown-connector", exit::CONNECTOR).contains("'cofense-vision'"));
    let broken = vision
        .env
        .asset("broken", &vision.sim.asset_toml().replace("client_secret", "client_secret = \"x\"\nclient_secert"));
    let run = vision.env.invoke("cofense", "get-ioc", &broken, &[("id", MD5), ("source", "s")]).await;
    assert!(run.failure("invalid-config", exit::INVALID_INPUT).contains("broken.toml"));
    assert!(vision.sim.server().requests().is_empty(), "{:#?}", vision.sim.server().requests());
}

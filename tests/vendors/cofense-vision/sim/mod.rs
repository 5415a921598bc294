//! A Cofense Vision API simulator: the wire protocol of
//! `shared/spec/vendor-api-notes.md` §1, seeded from the captured responses in
//! `tests/vendors/cofense-vision/fixtures/`.
//!
//! ```text
//! GET    /actuator/health                          {"status": "UP"} (no auth)
//! POST   /uaa/oauth/token                          client-credentials form → bearer token (no auth)
//! GET    /iocrepository/v1/iocs                    list (X-Cofense-IOC-Source; page, size, includeExpired,
//!                                                  since, sort)
//! PUT    /iocrepository/v1/iocs                    create/update IOCs of the source
//! GET    /iocrepository/v1/iocs/last               the source's last updated IOC ({"data": null} if none)
//! GET    /iocrepository/v1/iocs/{id}               one IOC of the source
//! PUT    /iocrepository/v1/iocs/{id}               set expires_at (no source header)
//! DELETE /iocrepository/v1/iocs/{id}               remove from the source, answer with it
//! POST   /api/v4/quarantineJobs/filter             filtered, paged jobs
//! POST   /api/v4/quarantineJobs                    new job
//! GET    /api/v4/quarantineJobs/{id}               one job
//! DELETE /api/v4/quarantineJobs/{id}               empty 200
//! PUT    /api/v4/quarantineJobs/{id}/restore       empty 200; COMPLETED jobs only
//! PUT    /api/v4/quarantineJobs/{id}/approve       empty 200; PENDING_APPROVAL jobs only
//! PUT    /api/v4/quarantineJobs/{id}/stop          the stopped job
//! GET    /api/v4/searches                          paged searches
//! POST   /api/v4/searches                          new search
//! GET    /api/v4/searches/{id}                     one search
//! GET    /api/v4/searches/{id}/results             matching messages and the search
//! GET    /api/v4/messages/metadata                 a message by internet message id and recipient
//! POST   /api/v4/messages                          one-time download token (bare text, labelled JSON)
//! GET    /api/v4/messages?token=                   the zipped message (AES-encrypted with a password)
//! GET    /api/v4/attachment?md5=|sha256=           the attachment, streamed
//! GET    /api/v4/config/searchableHeaders          header keys
//! GET    /api/v4/download/logs                     a zip of log files
//! ```
//!
//! Everything except the first two routes needs a live bearer token.

/// Loads a fixture body; the fixtures are part of the repository, so a broken one is a bug here.
macro_rules! fixture {
    ($name:literal) => {
        serde_json::from_str::<Value>(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/vendors/cofense-vision/fixtures/",
            $name
        )))
        .expect(concat!("fixture ", $name, " is valid JSON"))
    };
}

mod api;
mod auth;
mod blobs;
mod iocs;
mod jobs;
mod mail;
mod searches;
#[cfg(test)]
mod tests;

use super::{Server, Simulator, Transport};
use axum::Router;
use axum::middleware;
use axum::routing::{get, post, put};
use serde_json::Value;
use std::sync::{Arc, Mutex};

/// The state every route shares. Each part has its own lock, and no handler
/// holds two at once.
pub(crate) struct Shared {
    auth: auth::Auth,
    iocs: Mutex<iocs::Store>,
    jobs: Mutex<jobs::Store>,
    searches: Mutex<searches::Store>,
    mail: mail::Mail,
}

/// A servable attachment's name, hashes (lower-case hex) and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub filename: String,
    pub md5: String,
    pub sha256: String,
    pub sha1: String,
    pub size: u64,
}

/// A running Cofense Vision simulator; it stops when dropped.
pub struct CofenseSim {
    server: Server,
    shared: Arc<Shared>,
}

/// The IOC the seeded auto-quarantine job matched (from get_last_ioc.json).
const AUTO_JOB_IOC: &str = "1db1468c0d7166ab43fd8a9ec4b920b0";

impl Shared {
    fn seeded() -> Self {
        let mut iocs = iocs::Store::default();
        for body in [fixture!("list_iocs.json"), fixture!("get_last_ioc.json"), fixture!("update_iocs.json")] {
            iocs.seed(&body);
        }
        let mut jobs = jobs::Store::default();
        let listed = fixture!("list_quarantine_jobs.json");
        listed["quarantineJobs"].as_array().into_iter().flatten().for_each(|job| jobs.seed(job.clone()));
        jobs.seed(fixture!("stop_quarantine_job.json"));
        // The fixtures hold no job waiting for approval; one makes `approve` testable.
        let matching = jobs::Matching {
            iocs: iocs.sourceless(AUTO_JOB_IOC).into_iter().collect(),
            sources: vec!["Vision-UI".into()],
        };
        jobs.create(&[("<test1-id>".into(), "pqr@xyz.com".into())], "system", Some(matching));

        let mut searches = searches::Store::default();
        let results = fixture!("get_message_search_results.json");
        let listed = fixture!("list_message_searches.json");
        listed["searches"].as_array().into_iter().flatten().for_each(|s| searches.seed(s.clone()));
        searches.seed(fixture!("create_message_search.json"));
        searches.seed(results["search"].clone());

        let mail = mail::Mail::default();
        mail.seed(fixture!("get_message_metadata.json"));
        results["messages"].as_array().into_iter().flatten().for_each(|m| mail.seed(m.clone()));

        Self {
            auth: auth::Auth::default(),
            iocs: Mutex::new(iocs),
            jobs: Mutex::new(jobs),
            searches: Mutex::new(searches),
            mail,
        }
    }
}

/// Every route; the API routes (and unknown paths) behind the token check.
fn router(shared: Arc<Shared>) -> Router {
    let protected = Router::new()
        .route("/iocrepository/v1/iocs", get(iocs::list).put(iocs::update_many))
        .route("/iocrepository/v1/iocs/last", get(iocs::last))
        .route("/iocrepository/v1/iocs/{id}", get(iocs::get).put(iocs::update_one).delete(iocs::delete))
        .route("/api/v4/quarantineJobs", post(jobs::create))
        .route("/api/v4/quarantineJobs/filter", post(jobs::filter))
        .route("/api/v4/quarantineJobs/{id}", get(jobs::get).delete(jobs::delete))
        .route("/api/v4/quarantineJobs/{id}/restore", put(jobs::restore))
        .route("/api/v4/quarantineJobs/{id}/approve", put(jobs::approve))
        .route("/api/v4/quarantineJobs/{id}/stop", put(jobs::stop))
        .route("/api/v4/searches", get(searches::list).post(searches::create))
        .route("/api/v4/searches/{id}", get(searches::get))
        .route("/api/v4/searches/{id}/results", get(searches::results))
        .route("/api/v4/messages/metadata", get(mail::metadata))
        .route("/api/v4/messages", get(mail::download).post(mail::request_download))
        .route("/api/v4/attachment", get(mail::attachment))
        .route("/api/v4/config/searchableHeaders", get(mail::searchable_headers))
        .route("/api/v4/download/logs", get(mail::logs))
        .method_not_allowed_fallback(api::method_not_allowed)
        .fallback(api::unknown_path)
        .layer(middleware::from_fn_with_state(shared.clone(), auth::require_token));
    Router::new()
        .route("/actuator/health", get(auth::health))
        .route("/uaa/oauth/token", post(auth::token))
        .method_not_allowed_fallback(api::method_not_allowed)
        .merge(protected)
        .with_state(shared)
}

/// This vendor's simulator, for the registry.
pub type Sim = CofenseSim;

impl Simulator for CofenseSim {
    const CONNECTOR: &'static str = "cofense";
    const PRODUCT: &'static str = "Cofense Vision";

    async fn start_on(port: u16, transport: Transport) -> std::io::Result<Self> {
        Self::start_with(port, transport).await
    }

    fn server(&self) -> &Server {
        &self.server
    }

    fn asset_toml(&self) -> String {
        self.asset_toml()
    }
}

impl CofenseSim {
    /// The client id the simulator accepts.
    pub const CLIENT_ID: &'static str = "soar-client";
    /// The client secret the simulator accepts.
    pub const CLIENT_SECRET: &'static str = "vision-secret-0123";

    /// Starts a seeded simulator on a free port.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_on(0).await
    }

    /// Starts a seeded simulator on `port` (0: a free one).
    pub async fn start_on(port: u16) -> std::io::Result<Self> {
        Self::start_with(port, Transport::Http).await
    }

    /// Starts a seeded simulator on `port` over `transport` (HTTPS, say).
    pub async fn start_with(port: u16, transport: Transport) -> std::io::Result<Self> {
        let shared = Arc::new(Shared::seeded());
        let server = Server::start_with(router(shared.clone()), port, transport).await?;
        Ok(Self { server, shared })
    }

    /// The underlying server: recorded requests and fault injection.
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// An asset file for the host: base_url, client_id, client_secret (TOML text).
    pub fn asset_toml(&self) -> String {
        format!(
            "base_url = \"{}\"\nclient_id = \"{}\"\nclient_secret = \"{}\"\n",
            self.base_url(),
            Self::CLIENT_ID,
            Self::CLIENT_SECRET
        )
    }

    /// `expires_in` (seconds) of tokens issued from now on (default 3600); they
    /// really expire after that long.
    pub fn set_token_lifetime(&self, seconds: u64) {
        self.shared.auth.set_lifetime(seconds);
    }

    /// Invalidates every token issued so far (they then get 401 invalid_token).
    pub fn expire_tokens(&self) {
        self.shared.auth.expire_all();
    }

    /// How many tokens /uaa/oauth/token has issued.
    pub fn tokens_issued(&self) -> usize {
        self.shared.auth.issued()
    }

    /// The health status /actuator/health reports (default "UP").
    pub fn set_health(&self, status: &str) {
        self.shared.auth.set_health(status);
    }

    /// Adds an attachment servable by /api/v4/attachment; returns its hashes.
    pub fn add_attachment(&self, filename: &str, contents: Vec<u8>) -> Attachment {
        self.shared.mail.add(blobs::in_memory(filename, contents.into()))
    }

    /// Adds an attachment of `size` bytes of deterministic pseudo-random content,
    /// generated while it streams. Hashing reads the content once, here (a few
    /// seconds per GiB).
    pub fn add_generated_attachment(&self, filename: &str, size: u64) -> Attachment {
        self.shared.mail.add(blobs::generated(filename, size))
    }

    /// Every IOC of `source` (expired ones included), as the API renders them.
    pub fn iocs(&self, source: &str) -> Vec<Value> {
        self.shared.iocs.lock().expect("iocs lock").of_source(source)
    }

    /// A quarantine job as the API renders it.
    pub fn quarantine_job(&self, id: u64) -> Option<Value> {
        self.shared.jobs.lock().expect("jobs lock").get(id)
    }

    /// Every message search.
    pub fn searches(&self) -> Vec<Value> {
        self.shared.searches.lock().expect("searches lock").all()
    }

    /// Every message's metadata (with the true hashes of what is served).
    pub fn messages(&self) -> Vec<Value> {
        self.shared.mail.messages()
    }

    /// Moves every quarantine job that is not stopped one step along its
    /// lifecycle: NEW → QUEUED → RUNNING → COMPLETED/FAILED (PENDING_APPROVAL
    /// waits for an approval).
    pub fn advance_jobs(&self) {
        self.shared.jobs.lock().expect("jobs lock").advance();
    }

    /// Adds an auto-quarantine job (PENDING_APPROVAL) for `emails`
    /// (internet message id, recipient); returns its id.
    pub fn add_auto_quarantine_job(&self, emails: &[(&str, &str)]) -> u64 {
        let emails: Vec<(String, String)> = emails.iter().map(|(m, r)| (m.to_string(), r.to_string())).collect();
        let matching = jobs::Matching {
            iocs: self.shared.iocs.lock().expect("iocs lock").sourceless(AUTO_JOB_IOC).into_iter().collect(),
            sources: vec!["Vision-UI".into()],
        };
        let job = self.shared.jobs.lock().expect("jobs lock").create(&emails, "system", Some(matching));
        job["id"].as_u64().unwrap_or_default()
    }

    /// The internet message id and recipient of a seeded message that has attachments.
    pub fn sample_message(&self) -> (String, String) {
        self.shared.mail.sample().expect("a seeded message has attachments")
    }
}

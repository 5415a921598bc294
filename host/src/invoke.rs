//! Running one action in a fresh sandbox and turning its outcome into a
//! SOAR-shaped action result.

use crate::asset::Asset;
use crate::bindings::soar::connector::types::{ActionError, ActionResult};
use crate::context::Capabilities;
use crate::error::{Error, FailureKind};
use crate::exit;
use crate::outcome;
use crate::params::BoundParams;
use crate::platform::ingest::OnSaved;
use crate::platform::log::OnProgress;
use crate::platform::vault::Progress;
use crate::plugin::{Action, Plugin};
use crate::redact::{Redactor, printable};
use crate::runtime::Runtime;
use crate::sandbox::outbound::OutboundPolicy;
use crate::storage::assets::{self, ClaimError};
use crate::storage::{DiskStores, Stores};
use serde::Serialize;
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::Val;

/// Extra time the outer timeout allows beyond the epoch deadline, so that a
/// guest spinning on the CPU is stopped by the epoch (the precise mechanism) and
/// the outer timeout catches only a guest blocked in a host call.
const OUTER_GRACE: Duration = Duration::from_millis(500);

/// The longest error message an action result carries, in bytes: a vendor that
/// echoes a huge request cannot flood the output.
pub const MAX_QUOTED: usize = 16 * 1024;

/// Appended to the error of an action that met a certificate it does not trust.
const CERTIFICATE_HINT: &str = " (the server's certificate is not signed by a CA the host trusts: add the CA's certificate with --ca-bundle FILE or SOAR_CA_BUNDLE, or, only for a server you trust, set verify_server_cert = false in the asset)";

/// Where an action's files and state go, and who runs it. Cheap to clone: make
/// one and pass it to every call.
#[derive(Clone)]
pub struct InvokeOptions {
    /// The data directory: which asset files use each asset name, and the
    /// stores, unless `stores` is replaced.
    pub data_dir: PathBuf,
    /// Where the asset's state, the vault and the containers are kept: the disk
    /// under `data_dir` ([`DiskStores`]), or another backend's [`Stores`].
    pub stores: Arc<dyn Stores>,
    /// The container the action runs for (id and name), if any.
    pub container: Option<(u64, String)>,
    /// Who runs the action (recorded in the vault).
    pub user: String,
    /// Receives the connector's progress messages.
    pub progress: Option<OnProgress>,
    /// Receives download progress (bytes so far, expected total).
    pub download_progress: Option<Progress>,
    /// Receives the number of containers saved so far.
    pub ingest_progress: Option<OnSaved>,
}

impl InvokeOptions {
    /// Options with everything under `data_dir`, run by the current user.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        let data_dir = data_dir.into();
        Self {
            stores: Arc::new(DiskStores::new(data_dir.clone())),
            data_dir,
            container: None,
            user: current_user(),
            progress: None,
            download_progress: None,
            ingest_progress: None,
        }
    }
}

impl InvokeOptions {
    /// What `plugin`'s actions have stored for `asset` in these options' stores
    /// (empty before the first write). It holds whatever the connector keeps
    /// there: checkpoints, and cached credentials such as access tokens, so
    /// treat it as secret.
    pub fn state_of(&self, plugin: &Plugin, asset: &Asset) -> Result<Map<String, Value>, Error> {
        let store = self
            .stores
            .state(&plugin.info.name, asset.name())
            .map_err(|err| Error::Host(format!("asset state: {err}")))?;
        store.load().map_err(|err| Error::Host(format!("asset state {}: {err}", store.location())))
    }
}

/// The user running the host, as the environment names them.
pub fn current_user() -> String {
    user_in(&|name| std::env::var(name).ok())
}

/// The user an environment names (`USER`, else `LOGNAME`).
pub fn user_in(env: &dyn Fn(&str) -> Option<String>) -> String {
    env("USER").or_else(|| env("LOGNAME")).unwrap_or_else(|| "unknown".into())
}

/// Whether the action succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Success,
    Failed,
}

/// Why an action failed.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub kind: FailureKind,
    /// The parameter or configuration variable at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
    /// The vendor's HTTP status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    pub message: String,
}

impl Failure {
    /// A failure that names no parameter and no HTTP status.
    pub fn new(kind: FailureKind, message: String) -> Self {
        Self { kind, parameter: None, http_status: None, message }
    }
}

/// A SOAR-compatible action result.
#[derive(Debug, Clone, Serialize)]
pub struct ActionReport {
    pub status: Status,
    pub message: String,
    /// `action_result.parameter`.
    pub parameter: Map<String, Value>,
    /// `action_result.data`.
    pub data: Vec<Value>,
    /// `action_result.summary`.
    pub summary: Value,
    /// Present when the action failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Failure>,
}

impl ActionReport {
    /// A failed result.
    pub fn failed(failure: Failure, parameter: Map<String, Value>) -> Self {
        Self {
            status: Status::Failed,
            message: failure.message.clone(),
            parameter,
            data: Vec::new(),
            summary: Value::Object(Map::new()),
            error: Some(failure),
        }
    }

    /// The result for a host error that kept the action from running.
    pub fn from_error(error: &Error, parameter: Map<String, Value>) -> Self {
        let failure = Failure {
            parameter: error.parameter().map(str::to_string),
            ..Failure::new(error.failure_kind(), error.to_string())
        };
        Self::failed(failure, parameter)
    }

    /// The process exit code for this result.
    pub fn exit_code(&self) -> i32 {
        self.error.as_ref().map_or(exit::SUCCESS, |failure| failure.kind.exit_code())
    }
}

impl Runtime {
    /// Runs the action of `plugin` called `action` (`get ioc`, `get-ioc` or
    /// `get_ioc`) for `asset`, with `params` given as text as on the command line
    /// (`[("id", "41ec…"), ("source", "Triage-1")]`): the common case.
    ///
    /// An unknown action or a parameter that does not bind is a failed report
    /// naming it (as [`Runtime::invoke_action`] reports everything else), and
    /// nothing is sent.
    pub async fn invoke<N: AsRef<str>, V: AsRef<str>>(
        &self,
        plugin: &Plugin,
        action: &str,
        params: &[(N, V)],
        asset: Arc<Asset>,
        options: &InvokeOptions,
    ) -> ActionReport {
        let bound = plugin.action(action).and_then(|action| Ok((action, crate::params::bind(&action.params, params)?)));
        match bound {
            Ok((action, bound)) => self.invoke_action(plugin, action, bound, asset, options).await,
            Err(err) => {
                let redactor = asset.redactor();
                let echo = params
                    .iter()
                    .map(|(name, value)| (name.as_ref().to_string(), Value::from(redactor.text(value.as_ref()))))
                    .collect();
                ActionReport::from_error(&err, echo)
            }
        }
    }

    /// Runs `action` of `plugin` for `asset` with parameters already bound, in a
    /// fresh store, within the runtime's limits.
    pub async fn invoke_action(
        &self,
        plugin: &Plugin,
        action: &Action,
        params: BoundParams,
        asset: Arc<Asset>,
        options: &InvokeOptions,
    ) -> ActionReport {
        let redactor = Arc::new(asset.redactor());
        let echo = match redactor.json(Value::Object(params.echo.clone()), &[]) {
            Value::Object(echo) => echo,
            _ => Map::new(),
        };
        let failed = |kind, message: String| {
            ActionReport::failed(Failure::new(kind, printable(&redactor.text(&message), MAX_QUOTED)), echo.clone())
        };
        let connector = plugin.info.name.as_str();
        if let Some(file) = asset.source()
            && let Err(err) = assets::claim(&options.data_dir, connector, asset.name(), file, asset.origins())
        {
            let kind =
                if matches!(err, ClaimError::Io(_)) { FailureKind::Platform } else { FailureKind::InvalidConfig };
            return failed(kind, err.to_string());
        }
        // The capability contract: the origins the connector declares, as this
        // asset sets them; none declared or set is no network at all.
        let origins = asset.origin_urls();
        let outbound = if origins.is_empty() {
            None
        } else {
            match OutboundPolicy::for_origins(&origins, asset.verify_tls(), self.tls.clone()) {
                Ok(policy) => {
                    // Connections are reused by later actions of this asset only.
                    let tenant = format!("{}\0{connector}\0{}", options.data_dir.display(), asset.name());
                    Some(Arc::new(policy.reusing(self.connections.clone(), &tenant)))
                }
                Err(message) => return failed(FailureKind::InvalidConfig, message),
            }
        };
        let capabilities = Capabilities::builder(connector, asset.clone(), redactor.clone())
            .outbound(outbound)
            .on_behalf_of(options.user.clone(), options.container.clone())
            .max_download(self.limits.max_download)
            .progress(options.progress.clone(), options.download_progress.clone(), options.ingest_progress.clone())
            .stores(options.stores.clone());
        let capabilities = match capabilities {
            Ok(capabilities) => capabilities.build(),
            // A name that cannot be stored under is the asset's configuration at
            // fault; anything else, the store's.
            Err(err) if err.kind() == std::io::ErrorKind::InvalidInput => {
                return failed(FailureKind::InvalidConfig, err.to_string());
            }
            Err(err) => return failed(FailureKind::Platform, err.to_string()),
        };
        // The slot outlives the store (declared first, dropped last).
        let _slot = match self.slot().await {
            Ok(slot) => slot,
            Err(err) => return failed(FailureKind::HostBusy, err.to_string()),
        };
        let mut store = self.new_store(capabilities);

        let mut results = [Val::Bool(false)];
        let run = async {
            let instance = plugin.pre.instantiate_async(&mut store).await?;
            let func = instance
                .get_func(&mut store, action.export)
                .ok_or_else(|| wasmtime::Error::msg("the action's export disappeared"))?;
            func.call_async(&mut store, &params.values, &mut results).await
        };
        let outcome = tokio::time::timeout(self.limits.time + OUTER_GRACE, run).await;

        // Whatever the action saved stays saved, however it ended.
        let committed = store.data_mut().commit_ingest();
        let denied = store.data().hooks.denied();
        let untrusted_certificate = store.data().hooks.untrusted_certificate();
        let produced: Vec<&str> = store.data().produced().iter().map(String::as_str).collect();
        let report = match outcome {
            Err(_elapsed) => failed(FailureKind::TimeLimit, self.time_limit_message()),
            Ok(Err(_)) if store.data().memory.exceeded() => failed(
                FailureKind::MemoryLimit,
                format!(
                    "The action was stopped: it needed more than the {} MiB memory limit",
                    self.limits.memory >> 20
                ),
            ),
            Ok(Err(trap)) if matches!(trap.downcast_ref::<wasmtime::Trap>(), Some(wasmtime::Trap::Interrupt)) => {
                failed(FailureKind::TimeLimit, self.time_limit_message())
            }
            Ok(Err(trap)) => {
                let stderr = store.data().stderr();
                let detail = if stderr.is_empty() { String::new() } else { format!("; it wrote: {stderr}") };
                failed(FailureKind::Crashed, format!("The connector crashed: {}{detail}", root_cause(&trap)))
            }
            Ok(Ok(())) => {
                report_from(&results[0], echo.clone(), &Redaction { redactor: &redactor, protected: &produced })
            }
        };
        if let Err(message) = committed {
            return failed(FailureKind::Platform, message);
        }
        if !denied.is_empty() && report.status == Status::Failed {
            tracing::warn!("requests denied by the sandbox: {}", printable(&denied.join(", "), MAX_QUOTED));
        }
        let mut report = report;
        if untrusted_certificate && let Some(failure) = &mut report.error {
            failure.message.push_str(CERTIFICATE_HINT);
            report.message = failure.message.clone();
        }
        report
    }

    fn time_limit_message(&self) -> String {
        format!("The action was stopped: it ran longer than the {} s time limit", self.limits.time.as_secs_f64())
    }
}

fn root_cause(error: &wasmtime::Error) -> String {
    error.chain().last().map(|cause| cause.to_string()).unwrap_or_else(|| error.to_string())
}

/// How an action's result is redacted: the secrets, and the values the host
/// produced (vault ids, hashes, paths), which are never rewritten.
struct Redaction<'a> {
    redactor: &'a Redactor,
    protected: &'a [&'a str],
}

impl Redaction<'_> {
    fn text(&self, text: &str) -> String {
        self.redactor.text_protecting(text, self.protected)
    }

    /// A JSON document from the connector, redacted value by value so that its
    /// structure survives; text that is not JSON stays text.
    fn json(&self, text: &str) -> Value {
        match serde_json::from_str(text) {
            Ok(value) => self.redactor.json(value, self.protected),
            Err(_) => Value::String(self.text(text)),
        }
    }
}

/// Converts what the guest returned (see [`crate::outcome`]).
fn report_from(result: &Val, parameter: Map<String, Value>, redaction: &Redaction) -> ActionReport {
    match outcome::decode(result) {
        Ok(Ok(ActionResult { data, summary, message })) => ActionReport {
            status: Status::Success,
            message: redaction.text(&message),
            parameter,
            data: data.iter().map(|item| redaction.json(item)).collect(),
            summary: redaction.json(&summary),
            error: None,
        },
        Ok(Err(error)) => ActionReport::failed(failure_from(error, redaction), parameter),
        Err(shape) => {
            ActionReport::failed(Failure::new(FailureKind::BadConnector, capitalized(&shape.to_string())), parameter)
        }
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

fn failure_from(error: ActionError, redaction: &Redaction) -> Failure {
    let parameter = |name: &str| Some(printable(&redaction.text(name), 256));
    let (kind, parameter, http_status, message) = match error {
        ActionError::InvalidParameter(value) => {
            (FailureKind::InvalidParameter, parameter(&value.name), None, value.message)
        }
        ActionError::InvalidConfig(value) => (FailureKind::InvalidConfig, parameter(&value.name), None, value.message),
        ActionError::Vendor(vendor) => (FailureKind::Vendor, None, vendor.status, vendor.message),
        ActionError::Connection(message) => (FailureKind::Connection, None, None, message),
        ActionError::HttpRequestDenied(url) => {
            (FailureKind::HttpRequestDenied, None, None, format!("HttpRequestDenied: {url}"))
        }
        ActionError::Platform(message) => (FailureKind::Platform, None, None, message),
        ActionError::NotImplemented(message) => (FailureKind::NotImplemented, None, None, message),
    };
    Failure { kind, parameter, http_status, message: printable(&redaction.text(&message), MAX_QUOTED) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Any value a hostile component could return, nested a few levels deep.
    fn any_val() -> impl Strategy<Value = Val> {
        let leaf = prop_oneof![
            any::<bool>().prop_map(Val::Bool),
            any::<u16>().prop_map(Val::U16),
            any::<u64>().prop_map(Val::U64),
            "\\PC{0,30}".prop_map(Val::String),
            Just(Val::Option(None)),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            let names =
                prop_oneof![Just("data"), Just("summary"), Just("message"), Just("name"), Just("status"), Just("x")];
            let cases =
                prop_oneof![Just("vendor"), Just("invalid-parameter"), Just("http-request-denied"), Just("unheard-of")];
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Val::List),
                proptest::collection::vec((names, inner.clone()), 0..4)
                    .prop_map(|fields| Val::Record(fields.into_iter().map(|(n, v)| (n.to_string(), v)).collect())),
                (cases, proptest::option::of(inner.clone()))
                    .prop_map(|(case, payload)| Val::Variant(case.to_string(), payload.map(Box::new))),
                proptest::option::of(inner.clone()).prop_map(|v| Val::Option(v.map(Box::new))),
                proptest::option::of(inner.clone()).prop_map(|v| Val::Result(Ok(v.map(Box::new)))),
                proptest::option::of(inner).prop_map(|v| Val::Result(Err(v.map(Box::new)))),
            ]
        })
    }

    proptest! {
        /// Whatever shape comes back, the host turns it into a report without
        /// panicking: a success only for a well-formed `ok`, a failure of a known
        /// kind otherwise, with a bounded message.
        #[test]
        fn any_result_shape_becomes_a_report(result in any_val()) {
            let redactor = Redactor::new(["a-secret-value"]);
            let redaction = Redaction { redactor: &redactor, protected: &[] };
            let report = report_from(&result, Map::new(), &redaction);
            match outcome::decode(&result) {
                Ok(Ok(_)) => prop_assert_eq!(report.status, Status::Success),
                Ok(Err(_)) => prop_assert_eq!(report.status, Status::Failed),
                Err(_) => prop_assert_eq!(report.error.as_ref().map(|e| e.kind), Some(FailureKind::BadConnector)),
            }
            prop_assert!(report.message.len() <= MAX_QUOTED + 64);
        }
    }
}

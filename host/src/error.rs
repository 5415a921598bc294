//! Errors at the library boundary. Each names what it is about (file, connector,
//! action, parameter) and maps to a documented exit code.

use crate::asset::AssetError;
use crate::distribution::lock::LockError;
use crate::distribution::reference::ReferenceError;
use crate::exit;
use crate::params::ParamError;
use serde::Serialize;
use std::path::PathBuf;

/// Why the host could not run an action. (An action that runs and fails is not
/// an error here but an [`ActionReport`](crate::ActionReport) with status
/// `failed`.)
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No such connector in the plugin directory.
    #[error("unknown connector '{name}': there is no {name}.wasm in {dir} (installed: {})", list(installed))]
    ConnectorNotFound { name: String, dir: PathBuf, installed: Vec<String> },
    /// The component file cannot be read.
    #[error("cannot read connector {path}: {source}")]
    ReadPlugin { path: PathBuf, source: std::io::Error },
    /// The component is unsigned, tampered with, or signed by untrusted keys.
    #[error(
        "refusing connector {path}: {reason} (trust a publisher's key in the trusted-keys directory, or pass --allow-unsigned while developing)"
    )]
    Untrusted { path: PathBuf, reason: crate::signing::SignatureError },
    /// The component is not valid WebAssembly or cannot be compiled.
    #[error("cannot compile connector: {0}")]
    Compile(String),
    /// The component imports something the host does not provide.
    #[error("connector {path} cannot be linked: {message}")]
    Link { path: PathBuf, message: String },
    /// The component does not follow the connector contract.
    #[error("{path} is not a usable connector: {message}")]
    BadPlugin { path: PathBuf, message: String },
    /// Installing would replace a connector signed by other keys.
    #[error(
        "connector '{name}' is installed signed by {installed}, and the new component is signed by {new}; pass --replace to replace it"
    )]
    Replace { name: String, installed: String, new: String },
    /// The trusted keys cannot be used (another user could change them).
    #[error("{0}")]
    TrustStore(String),
    /// No such action.
    #[error("unknown action '{action}' for connector '{connector}'; its actions are: {}", list(known))]
    UnknownAction { connector: String, action: String, known: Vec<String> },
    /// A parameter is missing, unknown or has the wrong type.
    #[error(transparent)]
    Param(#[from] ParamError),
    /// The asset file cannot be used.
    #[error(transparent)]
    Asset(#[from] AssetError),
    /// The engine could not be set up.
    #[error("cannot set up the WebAssembly engine: {0}")]
    Engine(String),
    /// A failure of the host itself (disk, runtime).
    #[error("{0}")]
    Host(String),
    /// The command line or environment is used wrongly.
    #[error("{0}")]
    Usage(String),
    /// A registry reference cannot be used.
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    /// A lock file cannot be used.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// What a registry, bundle or lock file offers is not the connector it
    /// should be: missing, not a wasm component, or not matching its digests.
    #[error("refusing {origin}: {message}")]
    Artifact { origin: String, message: String },
    /// A registry cannot be reached or refuses the request.
    #[error("registry {registry}: {message}")]
    Registry { registry: String, message: String },
    /// Every instance slot is taken and the queue for one is full, or the wait
    /// for one was too long (see [`crate::slots`]).
    #[error("{0}")]
    Busy(String),
}

fn list(items: &[String]) -> String {
    if items.is_empty() { "none".to_string() } else { items.join(", ") }
}

impl Error {
    pub(crate) fn engine(err: impl std::fmt::Display) -> Self {
        Self::Engine(format!("{err:#}"))
    }

    pub(crate) fn compile(err: impl std::fmt::Display) -> Self {
        Self::Compile(format!("{err:#}"))
    }

    /// What kind of failure this is, as action results name it.
    pub fn failure_kind(&self) -> FailureKind {
        match self {
            Error::ConnectorNotFound { .. } => FailureKind::UnknownConnector,
            Error::ReadPlugin { .. } | Error::Compile(_) | Error::Link { .. } | Error::BadPlugin { .. } => {
                FailureKind::BadConnector
            }
            Error::Untrusted { .. } | Error::TrustStore(_) | Error::Replace { .. } | Error::Artifact { .. } => {
                FailureKind::UntrustedConnector
            }
            Error::UnknownAction { .. } => FailureKind::UnknownAction,
            Error::Param(_) | Error::Usage(_) | Error::Reference(_) => FailureKind::InvalidParameter,
            Error::Asset(_) | Error::Lock(_) => FailureKind::InvalidConfig,
            Error::Registry { .. } => FailureKind::Connection,
            Error::Engine(_) | Error::Host(_) => FailureKind::HostError,
            Error::Busy(_) => FailureKind::HostBusy,
        }
    }

    /// The process exit code for this error (see [`crate::exit`]).
    pub fn exit_code(&self) -> i32 {
        self.failure_kind().exit_code()
    }

    /// The parameter the error is about, if any.
    pub fn parameter(&self) -> Option<&str> {
        match self {
            Error::Param(err) => Some(&err.name),
            _ => None,
        }
    }
}

/// What kind of failure ended an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    /// A parameter was rejected before anything was sent.
    InvalidParameter,
    /// The asset configuration was rejected before anything was sent.
    InvalidConfig,
    /// The vendor answered with an error.
    Vendor,
    /// The vendor could not be reached.
    Connection,
    /// The sandbox refused an outbound request outside the asset's origins.
    HttpRequestDenied,
    /// A platform service (vault, state, ingest) failed.
    Platform,
    /// The action is declared but not implemented by this connector build.
    NotImplemented,
    /// The action ran longer than the time limit and was stopped.
    TimeLimit,
    /// The action needed more memory than the limit and was stopped.
    MemoryLimit,
    /// The connector crashed (trapped).
    Crashed,
    /// No such connector.
    UnknownConnector,
    /// The connector cannot be loaded.
    BadConnector,
    /// The connector is unsigned, tampered with, or signed by untrusted keys.
    UntrustedConnector,
    /// No such action.
    UnknownAction,
    /// The host itself failed.
    HostError,
    /// The host had no instance slot free in time: retry later, or give the
    /// runtime a larger pool.
    HostBusy,
}

impl FailureKind {
    /// The process exit code for this failure (see [`crate::exit`]).
    pub fn exit_code(self) -> i32 {
        use FailureKind::*;
        match self {
            InvalidParameter | InvalidConfig | UnknownAction => exit::INVALID_INPUT,
            Vendor | Connection | Platform | NotImplemented => exit::ACTION_FAILED,
            HttpRequestDenied | TimeLimit | MemoryLimit | Crashed => exit::SANDBOX,
            UnknownConnector | BadConnector | UntrustedConnector => exit::CONNECTOR,
            HostError | HostBusy => exit::HOST,
        }
    }
}

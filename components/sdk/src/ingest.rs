//! Containers and artifacts for ingestion actions (`on poll`).
//!
//! Saves return the host's [`IngestError`] as it is, so that a connector can
//! skip an item the host refuses as invalid and fail only when storage itself
//! fails ([`error`] makes an action error of it).

use crate::ActionError;
use crate::bindings::soar::connector::ingest as host;
pub use crate::bindings::soar::connector::ingest::{Artifact, Container, IngestError, Saved};

/// Saves a container (or finds the one with the same source data identifier).
pub fn save_container(container: &Container) -> Result<Saved, IngestError> {
    host::save_container(container)
}

/// Saves an artifact into container `container_id`.
pub fn save_artifact(container_id: u64, artifact: &Artifact) -> Result<Saved, IngestError> {
    host::save_artifact(container_id, artifact)
}

/// The action error for a failed save.
pub fn error(error: IngestError) -> ActionError {
    ActionError::platform(match error {
        IngestError::Invalid(message) => format!("ingest rejected an item: {message}"),
        IngestError::UnknownContainer(id) => format!("ingest: container {id} does not exist"),
        IngestError::Storage(message) => format!("ingest storage failed: {message}"),
    })
}

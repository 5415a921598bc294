//! Containers and artifacts for ingestion actions (`on poll`).

use crate::ActionError;
use crate::bindings::soar::connector::ingest::{self as host, IngestError};
pub use crate::bindings::soar::connector::ingest::{Artifact, Container, Saved};

/// Saves a container (or finds the one with the same source data identifier).
pub fn save_container(container: &Container) -> Result<Saved, ActionError> {
    host::save_container(container).map_err(ingest_error)
}

/// Saves an artifact into container `container_id`.
pub fn save_artifact(container_id: u64, artifact: &Artifact) -> Result<Saved, ActionError> {
    host::save_artifact(container_id, artifact).map_err(ingest_error)
}

fn ingest_error(error: IngestError) -> ActionError {
    ActionError::platform(match error {
        IngestError::Invalid(message) => format!("ingest rejected an item: {message}"),
        IngestError::UnknownContainer(id) => format!("ingest: container {id} does not exist"),
        IngestError::Storage(message) => format!("ingest storage failed: {message}"),
    })
}

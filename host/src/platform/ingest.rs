//! `soar:connector/ingest`: containers and artifacts from ingestion actions,
//! saved durably in the data directory's container store.

use crate::bindings::soar::connector::ingest::{self, Artifact, Container, Host, IngestError, Saved};
use crate::storage::ingest::{IngestStore, NewArtifact, NewContainer};
use std::path::PathBuf;
use wasmtime::component::{HasData, Linker};

/// Reports each new container (its count so far), for progress displays.
pub type OnSaved = std::sync::Arc<dyn Fn(u64) + Send + Sync>;

/// Where an action's containers go: the store of the data directory, under the
/// action's connector and asset. The store is opened on the first save, so
/// actions that ingest nothing never touch it.
#[derive(Default)]
pub struct IngestCtx {
    target: Option<Target>,
    store: Option<IngestStore>,
    created: u64,
    on_saved: Option<OnSaved>,
}

struct Target {
    data_dir: PathBuf,
    connector: String,
    asset: String,
}

impl IngestCtx {
    /// Saves into the store under `data_dir` for `asset` of `connector`.
    pub fn new(data_dir: PathBuf, connector: &str, asset: &str, on_saved: Option<OnSaved>) -> Self {
        let target = Target { data_dir, connector: connector.to_string(), asset: asset.to_string() };
        Self { target: Some(target), store: None, created: 0, on_saved }
    }

    fn store(&mut self) -> Result<(&mut IngestStore, &Target), IngestError> {
        let target =
            self.target.as_ref().ok_or_else(|| IngestError::Storage("no container store outside an action".into()))?;
        if self.store.is_none() {
            let store = IngestStore::open(&target.data_dir).map_err(|err| IngestError::Storage(err.to_string()))?;
            self.store = Some(store);
        }
        Ok((self.store.as_mut().expect("opened above"), target))
    }

    /// Makes the saves so far durable. The host calls this before every write of
    /// the asset's state and when the action ends (see [`IngestStore`]).
    pub fn commit(&mut self) -> Result<(), String> {
        match &mut self.store {
            Some(store) => store.commit().map_err(|err| format!("cannot commit saved containers: {err}")),
            None => Ok(()),
        }
    }
}

/// Access to an [`IngestCtx`] in the store's data.
pub trait IngestView: Send {
    fn ingest(&mut self) -> &mut IngestCtx;
}

struct HasIngest;

impl HasData for HasIngest {
    type Data<'a> = &'a mut IngestCtx;
}

/// Adds `soar:connector/ingest` to `linker`.
pub fn add_to_linker<T: IngestView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    ingest::add_to_linker::<T, HasIngest>(linker, T::ingest)
}

fn is_json_object(text: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(text).is_ok_and(|value| value.is_object())
}

impl Host for IngestCtx {
    fn save_container(&mut self, container: Container) -> wasmtime::Result<Result<Saved, IngestError>> {
        if container.name.trim().is_empty() || container.source_data_identifier.is_empty() {
            return Ok(Err(IngestError::Invalid("a container needs a name and a source data identifier".into())));
        }
        let saved = self.store().and_then(|(store, target)| {
            let new = NewContainer {
                source_data_identifier: &container.source_data_identifier,
                name: &container.name,
                description: &container.description,
                label: container.label.as_deref().unwrap_or("events"),
                severity: container.severity.as_deref(),
                data: container.data.as_deref(),
            };
            store
                .save_container(&target.connector, &target.asset, &new)
                .map_err(|err| IngestError::Storage(err.to_string()))
        });
        Ok(saved.map(|saved| {
            if !saved.duplicate {
                self.created += 1;
                if let Some(on_saved) = &self.on_saved {
                    on_saved(self.created);
                }
            }
            Saved { id: saved.id, duplicate: saved.duplicate }
        }))
    }

    fn save_artifact(&mut self, container_id: u64, artifact: Artifact) -> wasmtime::Result<Result<Saved, IngestError>> {
        if !is_json_object(&artifact.cef) || !is_json_object(&artifact.cef_types) {
            return Ok(Err(IngestError::Invalid("an artifact's cef and cef-types must be JSON objects".into())));
        }
        let saved = self.store().and_then(|(store, _)| {
            let new = NewArtifact {
                source_data_identifier: &artifact.source_data_identifier,
                name: &artifact.name,
                label: &artifact.label,
                kind: &artifact.type_,
                cef: &artifact.cef,
                cef_types: &artifact.cef_types,
            };
            match store.save_artifact(container_id, &new) {
                Ok(Some(saved)) => Ok(Saved { id: saved.id, duplicate: saved.duplicate }),
                Ok(None) => Err(IngestError::UnknownContainer(container_id)),
                Err(err) => Err(IngestError::Storage(err.to_string())),
            }
        });
        Ok(saved)
    }
}

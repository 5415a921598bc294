//! `soar:connector/ingest`: containers and artifacts from ingestion actions.

use super::bindings::soar::connector::ingest::{self, Artifact, Container, Host, IngestError, Saved};
use wasmtime::component::{HasData, Linker};

/// Where an ingestion action's containers go.
#[derive(Default)]
pub struct IngestCtx {}

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

impl Host for IngestCtx {
    fn save_container(&mut self, _container: Container) -> wasmtime::Result<Result<Saved, IngestError>> {
        Ok(Err(IngestError::Storage("ingestion is not available to this action".into())))
    }

    fn save_artifact(
        &mut self,
        _container_id: u64,
        _artifact: Artifact,
    ) -> wasmtime::Result<Result<Saved, IngestError>> {
        Ok(Err(IngestError::Storage("ingestion is not available to this action".into())))
    }
}

//! `soar:connector/state`: the asset's key-value state.

use super::ingest::IngestCtx;
use crate::bindings::soar::connector::state::{self, Host, StateError};
use crate::storage::state::StateStore;
use wasmtime::component::{HasData, Linker};

/// The state of the asset an action runs for.
pub struct StateCtx {
    store: Option<StateStore>,
}

impl StateCtx {
    /// Serves `store`.
    pub fn new(store: StateStore) -> Self {
        Self { store: Some(store) }
    }

    /// No state: every call fails (while a connector describes itself).
    pub fn none() -> Self {
        Self { store: None }
    }

    fn store(&self) -> Result<&StateStore, StateError> {
        self.store.as_ref().ok_or_else(|| StateError::Unavailable("no asset state outside an action".into()))
    }
}

/// Access to a [`StateCtx`] in the store's data.
pub trait StateView: Send {
    fn state(&mut self) -> StateCtxView<'_>;
}

/// The state, with the action's pending ingest saves: they are committed before
/// the state changes, so a checkpoint a connector stores after saving
/// containers is never durable before those containers are.
pub struct StateCtxView<'a> {
    pub ctx: &'a mut StateCtx,
    pub ingest: &'a mut IngestCtx,
}

struct HasState;

impl HasData for HasState {
    type Data<'a> = StateCtxView<'a>;
}

/// Adds `soar:connector/state` to `linker`.
pub fn add_to_linker<T: StateView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    state::add_to_linker::<T, HasState>(linker, T::state)
}

fn unavailable(err: std::io::Error) -> StateError {
    StateError::Unavailable(err.to_string())
}

impl StateCtxView<'_> {
    fn store(&mut self) -> Result<&StateStore, StateError> {
        self.ctx.store()
    }

    /// Before a write: the ingest saves it may record progress over.
    fn commit_ingest(&mut self) -> Result<(), StateError> {
        self.ingest.commit().map_err(StateError::Unavailable)
    }
}

impl Host for StateCtxView<'_> {
    fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<String>, StateError>> {
        Ok(self
            .store()
            .and_then(|store| store.get(&key).map(|value| value.map(|v| v.to_string())).map_err(unavailable)))
    }

    fn set(&mut self, key: String, value: String) -> wasmtime::Result<Result<(), StateError>> {
        let value = match serde_json::from_str(&value) {
            Ok(value) => value,
            Err(err) => return Ok(Err(StateError::InvalidValue(format!("'{key}' is not JSON: {err}")))),
        };
        if let Err(err) = self.commit_ingest() {
            return Ok(Err(err));
        }
        Ok(self.store().and_then(|store| store.set(&key, value).map_err(unavailable)))
    }

    fn remove(&mut self, key: String) -> wasmtime::Result<Result<(), StateError>> {
        if let Err(err) = self.commit_ingest() {
            return Ok(Err(err));
        }
        Ok(self.store().and_then(|store| store.remove(&key).map_err(unavailable)))
    }
}

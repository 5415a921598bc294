//! `soar:connector/state`: the asset's key-value state.

use crate::bindings::soar::connector::state::{self, Host, StateError};
use crate::storage::state::StateStore;
use wasmtime::component::{HasData, Linker};

/// The state of the asset an action runs for.
pub struct StateCtx {
    store: Option<Box<dyn StateStore>>,
}

impl StateCtx {
    /// Serves `store`.
    pub fn new(store: Box<dyn StateStore>) -> Self {
        Self { store: Some(store) }
    }

    /// No state: every call fails (while a connector describes itself).
    pub fn none() -> Self {
        Self { store: None }
    }

    fn store(&self) -> Result<&dyn StateStore, StateError> {
        self.store.as_deref().ok_or_else(|| StateError::Unavailable("no asset state outside an action".into()))
    }
}

/// Access to a [`StateCtx`] in the store's data.
pub trait StateView: Send {
    fn state(&mut self) -> StateCtxView<'_>;
}

/// What must be durable before the state changes. A connector records its
/// progress (a checkpoint) in its state after it has saved data through other
/// capabilities; the checkpoint must never be durable while that data is not.
/// The action's context says what is pending (its ingest saves); the state
/// capability knows only that something may be.
pub trait WriteBarrier: Send {
    /// Makes everything pending durable, or says why it cannot.
    fn make_durable(&mut self) -> Result<(), String>;
}

/// Nothing is ever pending.
pub struct NothingPending;

impl WriteBarrier for NothingPending {
    fn make_durable(&mut self) -> Result<(), String> {
        Ok(())
    }
}

/// The state, and the barrier passed before every write.
pub struct StateCtxView<'a> {
    pub ctx: &'a mut StateCtx,
    pub before_write: &'a mut dyn WriteBarrier,
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
    fn store(&mut self) -> Result<&dyn StateStore, StateError> {
        self.ctx.store()
    }

    /// Before a write: what it may record progress over.
    fn barrier(&mut self) -> Result<(), StateError> {
        self.before_write.make_durable().map_err(StateError::Unavailable)
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
        if let Err(err) = self.barrier() {
            return Ok(Err(err));
        }
        Ok(self.store().and_then(|store| store.set(&key, value).map_err(unavailable)))
    }

    fn remove(&mut self, key: String) -> wasmtime::Result<Result<(), StateError>> {
        if let Err(err) = self.barrier() {
            return Ok(Err(err));
        }
        Ok(self.store().and_then(|store| store.remove(&key).map_err(unavailable)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::memory::MemoryStores;
    use crate::storage::{DiskStores, Stores};

    /// Records each barrier and fails when told to.
    struct Recording {
        calls: usize,
        fail: bool,
    }

    impl WriteBarrier for Recording {
        fn make_durable(&mut self) -> Result<(), String> {
            self.calls += 1;
            if self.fail { Err("the disk is full".into()) } else { Ok(()) }
        }
    }

    /// The disk stores and the in-memory ones: the capability serves either alike.
    fn backends(dir: &std::path::Path) -> [(&'static str, Box<dyn Stores>); 2] {
        [("disk", Box::new(DiskStores::new(dir))), ("memory", Box::new(MemoryStores::default()))]
    }

    #[test]
    fn every_write_passes_the_barrier_first_and_none_happens_if_it_fails() {
        let dir = tempfile::tempdir().unwrap();
        for (backend, stores) in backends(dir.path()) {
            let mut ctx = StateCtx::new(stores.state("probe", "asset").unwrap());
            let mut barrier = Recording { calls: 0, fail: false };
            let mut view = StateCtxView { ctx: &mut ctx, before_write: &mut barrier };
            view.set("checkpoint".into(), "1".into()).unwrap().unwrap();
            assert_eq!(view.get("checkpoint".into()).unwrap().unwrap().as_deref(), Some("1"), "{backend}");
            view.remove("checkpoint".into()).unwrap().unwrap();
            assert_eq!(barrier.calls, 2, "{backend}: reads pass no barrier; each write one");

            let mut failing = Recording { calls: 0, fail: true };
            let mut view = StateCtxView { ctx: &mut ctx, before_write: &mut failing };
            let refused = view.set("checkpoint".into(), "2".into()).unwrap();
            assert!(
                matches!(refused, Err(StateError::Unavailable(ref why)) if why.contains("disk is full")),
                "{backend}: {refused:?}"
            );
            assert_eq!(
                view.get("checkpoint".into()).unwrap().unwrap(),
                None,
                "{backend}: the checkpoint was not written"
            );
        }
    }

    #[test]
    fn values_are_json_kept_per_asset_in_whichever_store_serves_them() {
        let dir = tempfile::tempdir().unwrap();
        for (backend, stores) in backends(dir.path()) {
            let mut ctx = StateCtx::new(stores.state("probe", "prod").unwrap());
            let mut view = StateCtxView { ctx: &mut ctx, before_write: &mut NothingPending };
            view.set("checkpoint".into(), r#"{"since": 5}"#.into()).unwrap().unwrap();
            let refused = view.set("token".into(), "not json".into()).unwrap();
            assert!(
                matches!(&refused, Err(StateError::InvalidValue(why)) if why.contains("'token'")),
                "{backend}: {refused:?}"
            );
            // What the next action of the asset finds, and what another asset does not.
            let kept = stores.state("probe", "prod").unwrap().load().unwrap();
            assert_eq!(serde_json::Value::Object(kept), serde_json::json!({"checkpoint": {"since": 5}}), "{backend}");
            assert!(stores.state("probe", "staging").unwrap().load().unwrap().is_empty(), "{backend}");
            let invalid = stores.state("probe", "../prod").err().map(|err| err.kind());
            assert_eq!(invalid, Some(std::io::ErrorKind::InvalidInput), "{backend}");
        }
    }

    #[test]
    fn outside_an_action_there_is_no_state() {
        let mut ctx = StateCtx::none();
        let mut view = StateCtxView { ctx: &mut ctx, before_write: &mut NothingPending };
        assert!(matches!(view.get("x".into()).unwrap(), Err(StateError::Unavailable(_))));
    }
}

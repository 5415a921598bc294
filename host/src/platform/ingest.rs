//! `soar:connector/ingest`: containers and artifacts from ingestion actions,
//! saved durably in the host's container store.

use crate::bindings::soar::connector::ingest::{self, Artifact, Container, Host, IngestError, Saved};
use crate::storage::Stores;
use crate::storage::ingest::{ContainerStore, NewArtifact, NewContainer};
use std::sync::Arc;
use wasmtime::component::{HasData, Linker};

/// Reports each new container (its count so far), for progress displays.
pub type OnSaved = std::sync::Arc<dyn Fn(u64) + Send + Sync>;

/// Where an action's containers go: the container store of `stores`, under the
/// action's connector and asset. The store is opened on the first save, so
/// actions that ingest nothing never touch it.
#[derive(Default)]
pub struct IngestCtx {
    target: Option<Target>,
    store: Option<Box<dyn ContainerStore>>,
    created: u64,
    on_saved: Option<OnSaved>,
}

struct Target {
    stores: Arc<dyn Stores>,
    connector: String,
    asset: String,
}

impl IngestCtx {
    /// Saves into the container store of `stores` for `asset` of `connector`.
    pub fn new(stores: Arc<dyn Stores>, connector: &str, asset: &str, on_saved: Option<OnSaved>) -> Self {
        let target = Target { stores, connector: connector.to_string(), asset: asset.to_string() };
        Self { target: Some(target), store: None, created: 0, on_saved }
    }

    fn store(&mut self) -> Result<(&mut dyn ContainerStore, &Target), IngestError> {
        let target =
            self.target.as_ref().ok_or_else(|| IngestError::Storage("no container store outside an action".into()))?;
        if self.store.is_none() {
            let store = target.stores.containers().map_err(|err| IngestError::Storage(err.to_string()))?;
            self.store = Some(store);
        }
        Ok((self.store.as_deref_mut().expect("opened above"), target))
    }

    /// Makes the saves so far durable. The host calls this before every write of
    /// the asset's state and when the action ends (see [`ContainerStore`]).
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::DiskStores;
    use crate::storage::memory::MemoryStores;
    use std::sync::atomic::{AtomicU64, Ordering};

    fn container(id: &str) -> Container {
        Container {
            name: format!("indicator {id}"),
            description: "from the vendor".into(),
            source_data_identifier: id.into(),
            label: None,
            severity: Some("high".into()),
            data: Some("{\"id\": 1}".into()),
        }
    }

    fn artifact(cef: &str) -> Artifact {
        Artifact {
            name: "IP Artifact".into(),
            label: "event".into(),
            type_: "ip".into(),
            source_data_identifier: "203.0.113.7".into(),
            cef: cef.into(),
            cef_types: "{}".into(),
        }
    }

    /// The disk stores and the in-memory ones: the capability serves either alike.
    fn backends(dir: &std::path::Path) -> [(&'static str, Arc<dyn Stores>); 2] {
        [("disk", Arc::new(DiskStores::new(dir))), ("memory", Arc::new(MemoryStores::default()))]
    }

    #[test]
    fn saves_are_kept_once_counted_and_durable_after_commit() {
        let dir = tempfile::tempdir().unwrap();
        for (backend, stores) in backends(dir.path()) {
            let counted = Arc::new(AtomicU64::new(0));
            let count = counted.clone();
            let on_saved: OnSaved = Arc::new(move |n| count.store(n, Ordering::SeqCst));
            let mut ctx = IngestCtx::new(stores.clone(), "probe", "asset", Some(on_saved));
            let first = ctx.save_container(container("a")).unwrap().unwrap();
            let again = ctx.save_container(container("a")).unwrap().unwrap();
            assert!(!first.duplicate && again.duplicate && again.id == first.id, "{backend}: {first:?} {again:?}");
            ctx.save_container(container("b")).unwrap().unwrap();
            assert_eq!(counted.load(Ordering::SeqCst), 2, "{backend}: duplicates are not counted");
            let saved = ctx.save_artifact(first.id, artifact("{\"sourceAddress\": \"203.0.113.7\"}")).unwrap().unwrap();
            assert!(!saved.duplicate, "{backend}");
            let elsewhere = stores.containers().unwrap();
            assert!(elsewhere.containers(None, None, None).unwrap().is_empty(), "{backend}: not yet committed");
            ctx.commit().unwrap();
            drop(ctx);
            let store = stores.containers().unwrap();
            let kept = store.containers(Some("probe"), Some("asset"), None).unwrap();
            assert_eq!(kept.len(), 2, "{backend}");
            assert_eq!(store.artifacts(first.id).unwrap().len(), 1, "{backend}");
            assert_eq!(kept[0].data, Some(serde_json::json!({"id": 1})), "{backend}");
        }
    }

    #[test]
    fn malformed_items_and_unknown_containers_are_refused_and_nothing_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        for (backend, stores) in backends(dir.path()) {
            let mut ctx = IngestCtx::new(stores.clone(), "probe", "asset", None);
            let nameless = Container { name: " ".into(), ..container("a") };
            assert!(matches!(ctx.save_container(nameless).unwrap(), Err(IngestError::Invalid(_))), "{backend}");
            let first = ctx.save_container(container("a")).unwrap().unwrap();
            let listed = ctx.save_artifact(first.id, artifact("[1, 2]")).unwrap();
            assert!(matches!(listed, Err(IngestError::Invalid(_))), "{backend}");
            assert!(
                matches!(
                    ctx.save_artifact(first.id + 99, artifact("{}")).unwrap(),
                    Err(IngestError::UnknownContainer(_))
                ),
                "{backend}"
            );
            ctx.commit().unwrap();
            let store = stores.containers().unwrap();
            assert_eq!(store.containers(None, None, None).unwrap().len(), 1, "{backend}");
            assert!(store.artifacts(first.id).unwrap().is_empty(), "{backend}");
        }
    }

    #[test]
    fn an_action_that_saves_nothing_never_opens_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let mut ctx = IngestCtx::new(Arc::new(DiskStores::new(dir.path())), "probe", "asset", None);
        ctx.commit().unwrap();
        assert!(!dir.path().join("ingest.sqlite").exists());
    }

    #[test]
    fn outside_an_action_nothing_can_be_saved() {
        let mut ctx = IngestCtx::default();
        assert!(matches!(ctx.save_container(container("a")).unwrap(), Err(IngestError::Storage(_))));
    }
}

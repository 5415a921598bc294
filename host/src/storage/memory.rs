//! Stores kept in memory: a second backend, which the in-process tests of the
//! capabilities run on to show that they need nothing of the disk. It keeps the
//! contracts of the store traits for one writer at a time, which is all the
//! tests need; it is not built outside tests.

use super::Stores;
use super::ingest::{
    ContainerStore, NewArtifact, NewContainer, Saved, StoredArtifact, StoredContainer, json_column, now,
};
use super::state::StateStore;
use super::vault::{VaultDocument, VaultStore, VaultUpload, check_name, mime_type};
use crate::names::{check_asset_name, check_connector_name};
use bytes::Bytes;
use serde_json::{Map, Value};
use sha1::{Digest, Sha1};
use sha2::Sha256;
use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard};

/// Every store of a host, in memory; clones share them.
#[derive(Clone, Default)]
pub struct MemoryStores {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    states: Mutex<HashMap<(String, String), Map<String, Value>>>,
    vault: Mutex<Vault>,
    containers: Mutex<Tables>,
}

fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl MemoryStores {
    /// The contents of the vault document `vault_id`.
    pub fn contents(&self, vault_id: &str) -> Option<Bytes> {
        locked(&self.shared.vault).contents.get(vault_id).cloned()
    }
}

impl Stores for MemoryStores {
    fn state(&self, connector: &str, asset: &str) -> io::Result<Box<dyn StateStore>> {
        let invalid = |reason| io::Error::new(io::ErrorKind::InvalidInput, reason);
        check_connector_name(connector).map_err(invalid)?;
        check_asset_name(asset).map_err(invalid)?;
        Ok(Box::new(MemoryState { shared: self.shared.clone(), key: (connector.into(), asset.into()) }))
    }

    fn vault(&self) -> io::Result<Arc<dyn VaultStore>> {
        Ok(Arc::new(self.clone()))
    }

    fn containers(&self) -> io::Result<Box<dyn ContainerStore>> {
        Ok(Box::new(MemoryContainers { shared: self.shared.clone(), pending: Tables::default() }))
    }
}

struct MemoryState {
    shared: Arc<Shared>,
    key: (String, String),
}

impl StateStore for MemoryState {
    fn load(&self) -> io::Result<Map<String, Value>> {
        Ok(locked(&self.shared.states).get(&self.key).cloned().unwrap_or_default())
    }

    fn update(&self, change: &mut dyn FnMut(&mut Map<String, Value>)) -> io::Result<()> {
        change(locked(&self.shared.states).entry(self.key.clone()).or_default());
        Ok(())
    }

    fn location(&self) -> String {
        format!("memory:state/{}/{}", self.key.0, self.key.1)
    }
}

#[derive(Default)]
struct Vault {
    documents: Vec<VaultDocument>,
    contents: HashMap<String, Bytes>,
}

impl VaultStore for MemoryStores {
    fn begin(&self, _expected_size: Option<u64>, _limit: u64) -> io::Result<Box<dyn VaultUpload>> {
        Ok(Box::new(MemoryUpload { shared: self.shared.clone(), bytes: Vec::new() }))
    }

    fn get(&self, vault_id: &str) -> io::Result<Option<VaultDocument>> {
        let vault_id = vault_id.to_ascii_lowercase();
        Ok(locked(&self.shared.vault).documents.iter().find(|document| document.vault_id == vault_id).cloned())
    }

    fn list(&self) -> io::Result<Vec<VaultDocument>> {
        Ok(locked(&self.shared.vault).documents.clone())
    }

    fn location(&self, vault_id: &str) -> String {
        format!("memory:vault/{vault_id}")
    }
}

struct MemoryUpload {
    shared: Arc<Shared>,
    bytes: Vec<u8>,
}

impl VaultUpload for MemoryUpload {
    fn write(&mut self, bytes: Bytes) -> io::Result<()> {
        self.bytes.extend_from_slice(&bytes);
        Ok(())
    }

    fn size(&self) -> u64 {
        self.bytes.len() as u64
    }

    fn commit(self: Box<Self>, name: &str, mime_hint: Option<&str>, user: &str) -> io::Result<VaultDocument> {
        check_name(name)?;
        let vault_id = hex::encode(Sha1::digest(&self.bytes));
        let mut vault = locked(&self.shared.vault);
        if let Some(document) = vault.documents.iter_mut().find(|document| document.vault_id == vault_id) {
            if !document.names.iter().any(|n| n == name) {
                document.names.push(name.to_string());
            }
            return Ok(document.clone());
        }
        let document = VaultDocument {
            id: vault.documents.len() as u64 + 1,
            vault_id: vault_id.clone(),
            sha256: hex::encode(Sha256::digest(&self.bytes)),
            size: self.bytes.len() as u64,
            mime_type: mime_type(name, mime_hint),
            names: vec![name.to_string()],
            create_time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            user: user.to_string(),
        };
        vault.documents.push(document.clone());
        vault.contents.insert(vault_id, Bytes::from(self.bytes));
        Ok(document)
    }
}

/// Containers and artifacts (their `artifact_count` is counted when read).
#[derive(Default, Clone)]
struct Tables {
    containers: Vec<StoredContainer>,
    artifacts: Vec<StoredArtifact>,
}

impl Tables {
    fn extend(&mut self, other: Tables) {
        self.containers.extend(other.containers);
        self.artifacts.extend(other.artifacts);
    }

    fn counted(&self, container: &StoredContainer) -> StoredContainer {
        let count = self.artifacts.iter().filter(|artifact| artifact.container_id == container.id).count();
        StoredContainer { artifact_count: count as u64, ..container.clone() }
    }

    fn next_id(&self) -> u64 {
        let last = self.containers.iter().map(|c| c.id).chain(self.artifacts.iter().map(|a| a.id)).max();
        last.unwrap_or(0) + 1
    }
}

/// A handle: its saves are pending, seen by it alone, until it commits.
struct MemoryContainers {
    shared: Arc<Shared>,
    pending: Tables,
}

impl MemoryContainers {
    /// What this handle sees: the committed tables and its own saves.
    fn view(&self) -> Tables {
        let mut tables = locked(&self.shared.containers).clone();
        tables.extend(self.pending.clone());
        tables
    }

    fn matching(&self, connector: Option<&str>, asset: Option<&str>) -> Vec<(StoredContainer, Vec<StoredArtifact>)> {
        let view = self.view();
        view.containers
            .iter()
            .filter(|c| connector.is_none_or(|name| c.connector == name) && asset.is_none_or(|name| c.asset == name))
            .map(|c| (view.counted(c), view.artifacts.iter().filter(|a| a.container_id == c.id).cloned().collect()))
            .collect()
    }
}

impl ContainerStore for MemoryContainers {
    fn save_container(&mut self, connector: &str, asset: &str, container: &NewContainer) -> io::Result<Saved> {
        let view = self.view();
        let same = |c: &&StoredContainer| {
            c.connector == connector && c.asset == asset && c.source_data_identifier == container.source_data_identifier
        };
        if let Some(existing) = view.containers.iter().find(same) {
            return Ok(Saved { id: existing.id, duplicate: true });
        }
        let id = view.next_id();
        self.pending.containers.push(StoredContainer {
            id,
            connector: connector.into(),
            asset: asset.into(),
            source_data_identifier: container.source_data_identifier.into(),
            name: container.name.into(),
            description: container.description.into(),
            label: container.label.into(),
            severity: container.severity.map(str::to_string),
            data: container.data.map(|data| json_column(data.to_string())),
            create_time: now(),
            artifact_count: 0,
        });
        Ok(Saved { id, duplicate: false })
    }

    fn save_artifact(&mut self, container_id: u64, artifact: &NewArtifact) -> io::Result<Option<Saved>> {
        let view = self.view();
        if !view.containers.iter().any(|c| c.id == container_id) {
            return Ok(None);
        }
        let same = |a: &&StoredArtifact| {
            a.container_id == container_id && a.source_data_identifier == artifact.source_data_identifier
        };
        if let Some(existing) = view.artifacts.iter().find(same) {
            return Ok(Some(Saved { id: existing.id, duplicate: true }));
        }
        let id = view.next_id();
        self.pending.artifacts.push(StoredArtifact {
            id,
            container_id,
            source_data_identifier: artifact.source_data_identifier.into(),
            name: artifact.name.into(),
            label: artifact.label.into(),
            kind: artifact.kind.into(),
            cef: json_column(artifact.cef.to_string()),
            cef_types: json_column(artifact.cef_types.to_string()),
            create_time: now(),
        });
        Ok(Some(Saved { id, duplicate: false }))
    }

    fn commit(&mut self) -> io::Result<()> {
        locked(&self.shared.containers).extend(std::mem::take(&mut self.pending));
        Ok(())
    }

    fn container(&self, id: u64) -> io::Result<Option<StoredContainer>> {
        let view = self.view();
        Ok(view.containers.iter().find(|c| c.id == id).map(|c| view.counted(c)))
    }

    fn artifacts(&self, container_id: u64) -> io::Result<Vec<StoredArtifact>> {
        Ok(self.view().artifacts.into_iter().filter(|a| a.container_id == container_id).collect())
    }

    fn containers(
        &self,
        connector: Option<&str>,
        asset: Option<&str>,
        limit: Option<u64>,
    ) -> io::Result<Vec<StoredContainer>> {
        let limit = limit.map_or(usize::MAX, |limit| usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(self.matching(connector, asset).into_iter().map(|(c, _)| c).take(limit).collect())
    }

    fn for_each_container(
        &self,
        connector: Option<&str>,
        asset: Option<&str>,
        each: &mut dyn FnMut(StoredContainer, Vec<StoredArtifact>) -> io::Result<()>,
    ) -> io::Result<()> {
        self.matching(connector, asset).into_iter().try_for_each(|(c, a)| each(c, a))
    }
}

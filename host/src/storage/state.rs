//! Per-asset state: one JSON object per asset, each key updated atomically
//! under a lock so that concurrent actions on the asset never lose or tear it.

use super::fs::{Lock, write_atomic};
use crate::names::{check_asset_name, check_connector_name};
use serde_json::{Map, Value};
use std::io;
use std::path::{Path, PathBuf};

/// The state of one asset of one connector.
#[derive(Debug, Clone)]
pub struct StateStore {
    path: PathBuf,
}

impl StateStore {
    /// The state kept at `path` (created on first write, mode 0600).
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }

    /// The state of `asset` of `connector` under `data_dir`; both names must be
    /// valid (one path component each).
    pub fn for_asset(data_dir: &Path, connector: &str, asset: &str) -> io::Result<Self> {
        let invalid = |reason| io::Error::new(io::ErrorKind::InvalidInput, reason);
        check_connector_name(connector).map_err(invalid)?;
        check_asset_name(asset).map_err(invalid)?;
        Ok(Self::new(data_dir.join("state").join(connector).join(format!("{asset}.json"))))
    }

    /// Where the state lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The whole state object (empty if nothing was stored yet).
    pub fn load(&self) -> io::Result<Map<String, Value>> {
        let _lock = Lock::shared(&self.path)?;
        self.read()
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> io::Result<Option<Value>> {
        Ok(self.load()?.remove(key))
    }

    /// Stores `value` under `key`.
    pub fn set(&self, key: &str, value: Value) -> io::Result<()> {
        self.update(|state| {
            state.insert(key.to_string(), value);
        })
    }

    /// Removes `key`.
    pub fn remove(&self, key: &str) -> io::Result<()> {
        self.update(|state| {
            state.remove(key);
        })
    }

    fn update(&self, change: impl FnOnce(&mut Map<String, Value>)) -> io::Result<()> {
        let _lock = Lock::exclusive(&self.path)?;
        let mut state = self.read()?;
        change(&mut state);
        write_atomic(&self.path, &serde_json::to_vec_pretty(&state)?)
    }

    fn read(&self) -> io::Result<Map<String, Value>> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|err| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{} is not a JSON object: {err}", self.path.display()),
                )
            }),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(Map::new()),
            Err(err) => Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn keys_survive_and_the_file_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::for_asset(dir.path(), "cofense", "prod").unwrap();
        assert_eq!(store.get("token").unwrap(), None);
        store.set("token", serde_json::json!({"access_token": "x"})).unwrap();
        store.set("other", Value::from(1)).unwrap();
        store.remove("other").unwrap();
        let again = StateStore::for_asset(dir.path(), "cofense", "prod").unwrap();
        assert_eq!(again.get("token").unwrap().unwrap()["access_token"], "x");
        assert_eq!(again.get("other").unwrap(), None);
        let mode = std::fs::metadata(store.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn concurrent_writers_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        std::thread::scope(|scope| {
            for writer in 0..8 {
                let store = StateStore::new(path.clone());
                scope.spawn(move || {
                    for i in 0..20 {
                        store.set(&format!("w{writer}-{i}"), Value::from(i)).unwrap();
                    }
                });
            }
        });
        assert_eq!(StateStore::new(path).load().unwrap().len(), 160);
    }
}

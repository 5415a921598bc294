//! Per-asset state: one JSON object per asset. [`StateStore`] is what every
//! backend keeps; [`DiskState`] keeps it in a file, each key updated atomically
//! under a lock so that concurrent actions on the asset never lose or tear it.

use super::fs::{Lock, write_atomic};
use crate::names::{check_asset_name, check_connector_name};
use serde_json::{Map, Value};
use std::io;
use std::path::{Path, PathBuf};

/// The state of one asset of one connector: a JSON object of keys and values.
///
/// What a backend must keep:
/// * **Not found is empty.** A key never set (or removed) is `Ok(None)`; a state
///   nothing was written to loads as an empty object, and reading it creates
///   nothing.
/// * **Atomic, isolated writes.** Each `set` and `remove` changes one key and
///   leaves every other as it was, even when other actions (in this process or
///   another) write other keys of the same asset at the same time: no write is
///   lost, and no reader sees a torn object.
/// * **Durable on return.** When `set` or `remove` returns `Ok`, the change
///   survives a crash of the host.
/// * **No size bound** of its own: values are whatever JSON the connector
///   stores (the action's memory limit bounds them).
/// * **Errors** are [`io::Error`]s: `InvalidData` when what is stored is not a
///   JSON object; anything else means the store could not be reached or
///   written, and nothing was changed.
pub trait StateStore: Send + Sync {
    /// The whole state object (empty if nothing was stored yet).
    fn load(&self) -> io::Result<Map<String, Value>>;

    /// The value under `key`.
    fn get(&self, key: &str) -> io::Result<Option<Value>> {
        Ok(self.load()?.remove(key))
    }

    /// Applies `change` to the state as one atomic read-modify-write: no other
    /// writer's change is lost, and a reader sees the state before or after.
    fn update(&self, change: &mut dyn FnMut(&mut Map<String, Value>)) -> io::Result<()>;

    /// Stores `value` under `key`.
    fn set(&self, key: &str, value: Value) -> io::Result<()> {
        let mut value = Some(value);
        self.update(&mut |state| {
            if let Some(value) = value.take() {
                state.insert(key.to_string(), value);
            }
        })
    }

    /// Removes `key` (nothing happens if it is not there).
    fn remove(&self, key: &str) -> io::Result<()> {
        self.update(&mut |state| {
            state.remove(key);
        })
    }

    /// Where the state lives, as messages name it (a path for the disk).
    fn location(&self) -> String;
}

/// The state of one asset of one connector, in a file.
#[derive(Debug, Clone)]
pub struct DiskState {
    path: PathBuf,
}

impl DiskState {
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

impl StateStore for DiskState {
    fn load(&self) -> io::Result<Map<String, Value>> {
        // No lock: the file is only ever replaced whole (written beside it and
        // renamed into place by a writer holding the lock), so a read sees the
        // state before or after any write. A state never written reads as
        // empty and nothing is created.
        self.read()
    }

    fn update(&self, change: &mut dyn FnMut(&mut Map<String, Value>)) -> io::Result<()> {
        let _lock = Lock::exclusive(&self.path)?;
        let mut state = self.read()?;
        change(&mut state);
        write_atomic(&self.path, &serde_json::to_vec_pretty(&state)?)
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn keys_survive_and_the_file_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let store = DiskState::for_asset(dir.path(), "cofense", "prod").unwrap();
        assert_eq!(store.get("token").unwrap(), None);
        store.set("token", serde_json::json!({"access_token": "x"})).unwrap();
        store.set("other", Value::from(1)).unwrap();
        store.remove("other").unwrap();
        let again = DiskState::for_asset(dir.path(), "cofense", "prod").unwrap();
        assert_eq!(again.get("token").unwrap().unwrap()["access_token"], "x");
        assert_eq!(again.get("other").unwrap(), None);
        let mode = std::fs::metadata(store.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn reading_a_state_never_written_creates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = DiskState::for_asset(dir.path(), "cofense", "prod").unwrap();
        assert!(store.load().unwrap().is_empty());
        assert_eq!(store.get("checkpoint").unwrap(), None);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "no directory, no lock file");
    }

    #[test]
    fn concurrent_writers_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        std::thread::scope(|scope| {
            for writer in 0..8 {
                let store = DiskState::new(path.clone());
                scope.spawn(move || {
                    for i in 0..20 {
                        store.set(&format!("w{writer}-{i}"), Value::from(i)).unwrap();
                    }
                });
            }
        });
        assert_eq!(DiskState::new(path).load().unwrap().len(), 160);
    }
}

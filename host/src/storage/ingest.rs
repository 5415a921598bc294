//! Containers and artifacts saved by ingestion actions. [`ContainerStore`] is
//! what every backend keeps; [`DiskContainers`] keeps them in one SQLite
//! database per data directory (`ingest.sqlite`).
//!
//! A container is a duplicate when its connector and asset already have one with
//! the same source data identifier; an artifact, when its container already has
//! one with the same identifier.
//!
//! Saves are grouped into transactions: the first save opens one and
//! [`ContainerStore::commit`] ends it. The host commits before every write of the
//! asset's state and when the action ends, so a polling checkpoint is never
//! stored ahead of the containers it covers, and a poll of 100,000 indicators
//! does not pay for 200,000 separate commits. The database runs in WAL mode with
//! `synchronous = NORMAL`: committed items survive a crash of the host; a power
//! failure can lose the last transaction, whose items the next poll ingests
//! again (never twice: the checkpoint was not advanced past them).

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde_json::Value;
use std::io;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// A container as stored.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StoredContainer {
    pub id: u64,
    pub connector: String,
    pub asset: String,
    pub source_data_identifier: String,
    pub name: String,
    pub description: String,
    pub label: String,
    pub severity: Option<String>,
    /// The vendor object the container was made from.
    pub data: Option<Value>,
    pub create_time: String,
    pub artifact_count: u64,
}

/// An artifact as stored.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StoredArtifact {
    pub id: u64,
    pub container_id: u64,
    pub source_data_identifier: String,
    pub name: String,
    pub label: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub cef: Value,
    pub cef_types: Value,
    pub create_time: String,
}

/// What a save did: the id, and whether an equal item existed already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Saved {
    pub id: u64,
    pub duplicate: bool,
}

/// A container to save.
pub struct NewContainer<'a> {
    pub source_data_identifier: &'a str,
    pub name: &'a str,
    pub description: &'a str,
    pub label: &'a str,
    pub severity: Option<&'a str>,
    pub data: Option<&'a str>,
}

/// An artifact to save.
pub struct NewArtifact<'a> {
    pub source_data_identifier: &'a str,
    pub name: &'a str,
    pub label: &'a str,
    pub kind: &'a str,
    pub cef: &'a str,
    pub cef_types: &'a str,
}

/// The containers and artifacts of every connector and asset of a host.
///
/// What a backend must keep:
/// * **One of each.** Saving a container whose connector, asset and source data
///   identifier match a saved one stores nothing and answers that one's id with
///   `duplicate: true`; likewise an artifact whose container and source data
///   identifier match. Ids are positive, unique, and grow with each new item.
/// * **Durable on commit.** Saves are grouped into a transaction: the first save
///   after a commit begins it, [`commit`](Self::commit) makes everything saved
///   through this handle durable at once. Until then other handles may not see
///   the saves, and a handle dropped without committing may lose them (never
///   part of them); this handle's own reads see them.
/// * **Not found** is `Ok(None)`: a container that does not exist, or an artifact
///   saved into one.
/// * **Order.** Listings are oldest first (by id); `limit` caps the count.
/// * **Size.** Nothing is bounded here: the capability checks what it saves.
/// * **Errors** are [`io::Error`]s; a save that fails stores nothing.
pub trait ContainerStore: Send + Sync {
    /// Saves a container of `asset` of `connector`, or finds the existing one.
    fn save_container(&mut self, connector: &str, asset: &str, container: &NewContainer) -> io::Result<Saved>;

    /// Saves an artifact into container `container_id`, or finds the existing one.
    /// `None` if the container does not exist.
    fn save_artifact(&mut self, container_id: u64, artifact: &NewArtifact) -> io::Result<Option<Saved>>;

    /// Makes every save so far durable.
    fn commit(&mut self) -> io::Result<()>;

    /// The container with `id`.
    fn container(&self, id: u64) -> io::Result<Option<StoredContainer>>;

    /// The artifacts of container `container_id`, oldest first.
    fn artifacts(&self, container_id: u64) -> io::Result<Vec<StoredArtifact>>;

    /// Containers, oldest first, optionally of one connector and asset; `limit`
    /// caps the count.
    fn containers(
        &self,
        connector: Option<&str>,
        asset: Option<&str>,
        limit: Option<u64>,
    ) -> io::Result<Vec<StoredContainer>>;

    /// Calls `each` with every matching container and its artifacts, oldest first,
    /// one at a time (exports do not hold everything in memory); an error of
    /// `each` ends the walk and is returned.
    fn for_each_container(
        &self,
        connector: Option<&str>,
        asset: Option<&str>,
        each: &mut dyn FnMut(StoredContainer, Vec<StoredArtifact>) -> io::Result<()>,
    ) -> io::Result<()>;
}

/// The containers and artifacts of a data directory, in `ingest.sqlite`.
pub struct DiskContainers {
    /// One connection, locked only to be shared: each handle writes alone.
    db: Mutex<Connection>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS containers (
    id INTEGER PRIMARY KEY,
    connector TEXT NOT NULL,
    asset TEXT NOT NULL,
    source_data_identifier TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    label TEXT NOT NULL,
    severity TEXT,
    data TEXT,
    create_time TEXT NOT NULL,
    UNIQUE (connector, asset, source_data_identifier)
);
CREATE TABLE IF NOT EXISTS artifacts (
    id INTEGER PRIMARY KEY,
    container_id INTEGER NOT NULL REFERENCES containers (id),
    source_data_identifier TEXT NOT NULL,
    name TEXT NOT NULL,
    label TEXT NOT NULL,
    type TEXT NOT NULL,
    cef TEXT NOT NULL,
    cef_types TEXT NOT NULL,
    create_time TEXT NOT NULL,
    UNIQUE (container_id, source_data_identifier)
);
";

/// SQLite's error as the stores' (its message unchanged).
fn sqlite(err: rusqlite::Error) -> io::Error {
    io::Error::other(err)
}

impl DiskContainers {
    /// Opens (creating) the store of `data_dir`.
    pub fn open(data_dir: &Path) -> io::Result<Self> {
        let path = data_dir.join("ingest.sqlite");
        // SQLite would create the file with the umask's mode (0644); created here
        // first it is 0600, and SQLite gives its journal files the same mode.
        super::fs::private_dir(data_dir)?;
        super::fs::create_private_file(&path)?;
        let db = Connection::open(&path).map_err(sqlite)?;
        let setup = || -> rusqlite::Result<()> {
            db.busy_timeout(Duration::from_secs(30))?;
            db.pragma_update(None, "journal_mode", "WAL")?;
            db.pragma_update(None, "synchronous", "NORMAL")?;
            db.pragma_update(None, "foreign_keys", "ON")?;
            db.execute_batch(SCHEMA)
        };
        setup().map_err(sqlite)?;
        Ok(Self { db: Mutex::new(db) })
    }

    /// The connection, to write: no lock is needed to reach it.
    fn writer(&mut self) -> &mut Connection {
        self.db.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The connection, to read.
    fn reader(&self) -> MutexGuard<'_, Connection> {
        self.db.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Opens a write transaction unless one is open. IMMEDIATE takes the write lock
/// now, so a concurrent writer waits here (busy timeout) instead of failing
/// half-way.
fn write_transaction(db: &Connection) -> rusqlite::Result<()> {
    if in_transaction(db) { Ok(()) } else { db.execute_batch("BEGIN IMMEDIATE") }
}

/// Asked of SQLite rather than remembered: SQLite rolls a transaction back by
/// itself after some errors (a full disk, for one).
fn in_transaction(db: &Connection) -> bool {
    !db.is_autocommit()
}

impl ContainerStore for DiskContainers {
    fn save_container(&mut self, connector: &str, asset: &str, container: &NewContainer) -> io::Result<Saved> {
        let db = self.writer();
        write_transaction(db).map_err(sqlite)?;
        let inserted: Option<u64> = db
            .prepare_cached(
                "INSERT INTO containers (connector, asset, source_data_identifier, name, description, label, severity, data, create_time)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (connector, asset, source_data_identifier) DO NOTHING RETURNING id",
            )
            .and_then(|mut insert| {
                insert
                    .query_row(
                        params![
                            connector,
                            asset,
                            container.source_data_identifier,
                            container.name,
                            container.description,
                            container.label,
                            container.severity,
                            container.data,
                            now()
                        ],
                        |row| row.get(0),
                    )
                    .optional()
            })
            .map_err(sqlite)?;
        if let Some(id) = inserted {
            return Ok(Saved { id, duplicate: false });
        }
        let id = db
            .prepare_cached(
                "SELECT id FROM containers WHERE connector = ?1 AND asset = ?2 AND source_data_identifier = ?3",
            )
            .and_then(|mut select| {
                select.query_row(params![connector, asset, container.source_data_identifier], |row| row.get(0))
            })
            .map_err(sqlite)?;
        Ok(Saved { id, duplicate: true })
    }

    fn save_artifact(&mut self, container_id: u64, artifact: &NewArtifact) -> io::Result<Option<Saved>> {
        let db = self.writer();
        let exists = db
            .prepare_cached("SELECT 1 FROM containers WHERE id = ?1")
            .and_then(|mut select| select.exists([container_id]))
            .map_err(sqlite)?;
        if !exists {
            return Ok(None);
        }
        write_transaction(db).map_err(sqlite)?;
        let inserted: Option<u64> = db
            .prepare_cached(
                "INSERT INTO artifacts (container_id, source_data_identifier, name, label, type, cef, cef_types, create_time)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (container_id, source_data_identifier) DO NOTHING RETURNING id",
            )
            .and_then(|mut insert| {
                insert
                    .query_row(
                        params![
                            container_id,
                            artifact.source_data_identifier,
                            artifact.name,
                            artifact.label,
                            artifact.kind,
                            artifact.cef,
                            artifact.cef_types,
                            now()
                        ],
                        |row| row.get(0),
                    )
                    .optional()
            })
            .map_err(sqlite)?;
        if let Some(id) = inserted {
            return Ok(Some(Saved { id, duplicate: false }));
        }
        let id = db
            .prepare_cached("SELECT id FROM artifacts WHERE container_id = ?1 AND source_data_identifier = ?2")
            .and_then(|mut select| {
                select.query_row(params![container_id, artifact.source_data_identifier], |row| row.get(0))
            })
            .map_err(sqlite)?;
        Ok(Some(Saved { id, duplicate: true }))
    }

    fn commit(&mut self) -> io::Result<()> {
        let db = self.writer();
        if in_transaction(db) {
            db.execute_batch("COMMIT").map_err(sqlite)?;
        }
        Ok(())
    }

    fn container(&self, id: u64) -> io::Result<Option<StoredContainer>> {
        self.reader()
            .query_row(&format!("{CONTAINER_QUERY} WHERE c.id = ?1 GROUP BY c.id"), [id], container_row)
            .optional()
            .map_err(sqlite)
    }

    fn artifacts(&self, container_id: u64) -> io::Result<Vec<StoredArtifact>> {
        let db = self.reader();
        let mut query = db.prepare(ARTIFACT_QUERY).map_err(sqlite)?;
        query.query_map([container_id], artifact_row).and_then(Iterator::collect).map_err(sqlite)
    }

    fn containers(
        &self,
        connector: Option<&str>,
        asset: Option<&str>,
        limit: Option<u64>,
    ) -> io::Result<Vec<StoredContainer>> {
        let db = self.reader();
        let mut query = db
            .prepare(&format!(
                "{CONTAINER_QUERY} WHERE (?1 IS NULL OR c.connector = ?1) AND (?2 IS NULL OR c.asset = ?2)
                 GROUP BY c.id ORDER BY c.id LIMIT ?3"
            ))
            .map_err(sqlite)?;
        let limit = limit.map_or(-1, |limit| i64::try_from(limit).unwrap_or(i64::MAX));
        query.query_map(params![connector, asset, limit], container_row).and_then(Iterator::collect).map_err(sqlite)
    }

    fn for_each_container(
        &self,
        connector: Option<&str>,
        asset: Option<&str>,
        each: &mut dyn FnMut(StoredContainer, Vec<StoredArtifact>) -> io::Result<()>,
    ) -> io::Result<()> {
        let db = self.reader();
        let mut containers = db
            .prepare(&format!(
                "{CONTAINER_QUERY} WHERE (?1 IS NULL OR c.connector = ?1) AND (?2 IS NULL OR c.asset = ?2) GROUP BY c.id ORDER BY c.id"
            ))
            .map_err(sqlite)?;
        let mut artifacts = db.prepare(ARTIFACT_QUERY).map_err(sqlite)?;
        for container in containers.query_map(params![connector, asset], container_row).map_err(sqlite)? {
            let container = container.map_err(sqlite)?;
            let items = artifacts
                .query_map([container.id], artifact_row)
                .and_then(Iterator::collect::<Result<Vec<_>, _>>)
                .map_err(sqlite)?;
            each(container, items)?;
        }
        Ok(())
    }
}

const ARTIFACT_QUERY: &str = "SELECT id, container_id, source_data_identifier, name, label, type, cef, cef_types,
    create_time FROM artifacts WHERE container_id = ?1 ORDER BY id";

const CONTAINER_QUERY: &str =
    "SELECT c.id, c.connector, c.asset, c.source_data_identifier, c.name, c.description, c.label,
    c.severity, c.data, c.create_time, COUNT(a.id) FROM containers c LEFT JOIN artifacts a ON a.container_id = c.id";

fn container_row(row: &rusqlite::Row) -> rusqlite::Result<StoredContainer> {
    let data: Option<String> = row.get(8)?;
    Ok(StoredContainer {
        id: row.get(0)?,
        connector: row.get(1)?,
        asset: row.get(2)?,
        source_data_identifier: row.get(3)?,
        name: row.get(4)?,
        description: row.get(5)?,
        label: row.get(6)?,
        severity: row.get(7)?,
        data: data.map(json_column),
        create_time: row.get(9)?,
        artifact_count: row.get(10)?,
    })
}

fn artifact_row(row: &rusqlite::Row) -> rusqlite::Result<StoredArtifact> {
    Ok(StoredArtifact {
        id: row.get(0)?,
        container_id: row.get(1)?,
        source_data_identifier: row.get(2)?,
        name: row.get(3)?,
        label: row.get(4)?,
        kind: row.get(5)?,
        cef: json_column(row.get(6)?),
        cef_types: json_column(row.get(7)?),
        create_time: row.get(8)?,
    })
}

/// A JSON column's value; text the store did not write as JSON stays text.
pub(super) fn json_column(text: String) -> Value {
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

/// When an item is saved: RFC 3339 with milliseconds, UTC.
pub(super) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(sdi: &str) -> NewContainer<'_> {
        NewContainer {
            source_data_identifier: sdi,
            name: "n",
            description: "d",
            label: "events",
            severity: None,
            data: Some("{\"id\":1}"),
        }
    }

    fn artifact(sdi: &str) -> NewArtifact<'_> {
        NewArtifact {
            source_data_identifier: sdi,
            name: "IP Artifact",
            label: "event",
            kind: "Address",
            cef: "{\"deviceAddress\":\"1.2.3.4\"}",
            cef_types: "{}",
        }
    }

    #[test]
    fn duplicates_are_suppressed_per_asset() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = DiskContainers::open(dir.path()).unwrap();
        let first = store.save_container("tc", "prod", &container("7")).unwrap();
        assert!(!first.duplicate);
        assert_eq!(
            store.save_container("tc", "prod", &container("7")).unwrap(),
            Saved { id: first.id, duplicate: true }
        );
        assert!(!store.save_container("tc", "staging", &container("7")).unwrap().duplicate);
        let saved = store.save_artifact(first.id, &artifact("7")).unwrap().unwrap();
        assert!(!saved.duplicate);
        assert!(store.save_artifact(first.id, &artifact("7")).unwrap().unwrap().duplicate);
        assert_eq!(store.save_artifact(999, &artifact("7")).unwrap(), None);
        // Uncommitted saves are invisible to other connections...
        assert!(DiskContainers::open(dir.path()).unwrap().containers(None, None, None).unwrap().is_empty());
        store.commit().unwrap();

        let reopened = DiskContainers::open(dir.path()).unwrap();
        let listed = reopened.containers(Some("tc"), Some("prod"), None).unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!((listed[0].artifact_count, listed[0].data.clone()), (1, Some(serde_json::json!({"id": 1}))));
        let mut exported = Vec::new();
        reopened
            .for_each_container(None, None, &mut |c, a| {
                exported.push((c.id, a.len()));
                Ok(())
            })
            .unwrap();
        assert_eq!(exported.len(), 2);
    }
}

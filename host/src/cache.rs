//! The compile cache: native code compiled from verified components, kept on
//! disk so that a CLI invoke does not run Cranelift again.
//!
//! # Threat model
//! A cache entry is loaded with `Component::deserialize_file`, which maps it as
//! native code and runs it without any further check: whoever can write an entry
//! the host loads can run code as the host's user, bypassing signatures. So an
//! entry is used only when all of these hold:
//!
//! * the cache directory is owned by this user and not writable by its group or
//!   by others, and so is every directory above it up to one owned by root (or a
//!   sticky one such as `/tmp`), so nobody else can add, replace or rename
//!   entries. A directory that fails this is not used at all: the host warns,
//!   compiles in memory and writes nothing there;
//! * the entry is a regular file (not a symlink) owned by this user, mode 0600;
//! * the entry is the very file this host wrote when it compiled the component:
//!   at compile time a private index beside it records the component's identity
//!   (`signing::identity`, computed over the bytes whose signature was just
//!   verified) and the file's identity (device, inode, size, modification and
//!   change times). The entry is opened once; that open file's identity must
//!   match the index, and it is that open file that is mapped (through
//!   `/proc/self/fd`), so it cannot be swapped between the check and the load.
//!   A file copied, moved or renamed into place, or rewritten afterwards, has
//!   another inode or change time, which user space cannot set back.
//!
//! What it does not protect against: this user (or root), who can change the
//! host binary itself anyway. wasmtime also refuses entries compiled by another
//! engine version or configuration.
//!
//! The index also keeps what the component said of itself (its `describe`
//! export, as the JSON of the record it returned), recorded after the first
//! load, so that a later one need not instantiate the component to ask again,
//! and the SHA-256 of the component file, so that a later load need not hash
//! the file a second time. Both are trusted as the compiled code is, and bound
//! to the same component identity.

use crate::storage::fs::{current_uid, parent_of, private_dir, staged, sync_dir, writable_by_others};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::fs::{File, Metadata};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// A compile cache directory that passed the ownership checks.
#[derive(Debug, Clone)]
pub struct CompileCache {
    dir: PathBuf,
}

/// What the index records about the entry it vouches for.
#[derive(Debug, Serialize, Deserialize)]
struct Index {
    component_identity: String,
    component_sha256: String,
    identity: Identity,
    /// The component's description, once it has been asked for: JSON kept as
    /// it is inside the index (not as a string of JSON), so that reading the
    /// index only steps over it and it is parsed once, by whoever uses it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<Box<RawValue>>,
}

/// A cache entry vouched for by its index: the open compiled code, the
/// SHA-256 of the component file, and its description if it was recorded.
#[derive(Debug)]
pub struct Entry {
    pub file: File,
    pub component_sha256: String,
    pub description: Option<String>,
}

/// The identity of a file on disk, as `fstat` reports it.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct Identity {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

impl Identity {
    fn of(meta: &Metadata) -> Self {
        let nanos = |secs: i64, nsecs: i64| i128::from(secs) * 1_000_000_000 + i128::from(nsecs);
        Self {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.len(),
            mtime_ns: nanos(meta.mtime(), meta.mtime_nsec()),
            ctime_ns: nanos(meta.ctime(), meta.ctime_nsec()),
        }
    }
}

impl CompileCache {
    /// The cache in `dir` (created 0700 if missing), or why it cannot be trusted.
    pub fn open(dir: &Path) -> Result<Self, String> {
        private_dir(dir).map_err(|err| format!("cannot create it: {err}"))?;
        let dir = dir.canonicalize().map_err(|err| format!("cannot resolve it: {err}"))?;
        let meta = std::fs::metadata(&dir).map_err(|err| err.to_string())?;
        if meta.uid() != current_uid() {
            return Err(format!("it is owned by another user (uid {})", meta.uid()));
        }
        if let Some(reason) = writable_by_others(&meta, false) {
            return Err(reason);
        }
        check_ancestors(&dir)?;
        Ok(Self { dir })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn paths(&self, key: &str) -> (PathBuf, PathBuf) {
        (self.dir.join(format!("{key}.cwasm")), self.dir.join(format!("{key}.index")))
    }

    /// The entry for `key` if it is the file this host wrote for the component
    /// whose identity is `component_identity`, opened and ready to map.
    pub fn open_entry(&self, key: &str, component_identity: &str) -> Result<Option<Entry>, String> {
        let (entry, index) = self.paths(key);
        let Some(index) = read_index(&index)? else {
            return if entry.exists() { Err("it has no index".into()) } else { Ok(None) };
        };
        let file = match std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW).open(&entry) {
            Ok(file) => file,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(format!("cannot open it: {err}")),
        };
        let meta = file.metadata().map_err(|err| err.to_string())?;
        if !meta.is_file() || meta.uid() != current_uid() || meta.mode() & 0o077 != 0 {
            return Err("it is not a private file of this user".into());
        }
        if index.component_identity != component_identity || index.identity != Identity::of(&meta) {
            return Err("it is not the file this host compiled for this component".into());
        }
        let description = index.description.map(|json| String::from(Box::<str>::from(json)));
        Ok(Some(Entry { file, component_sha256: index.component_sha256, description }))
    }

    /// Stores `compiled` as the entry for `key`, with its index: the component's
    /// identity and the SHA-256 of its file.
    pub fn store(
        &self,
        key: &str,
        component_identity: &str,
        component_sha256: &str,
        compiled: &[u8],
    ) -> std::io::Result<()> {
        let (entry, index) = self.paths(key);
        staged(&entry, compiled, 0o600)?.persist(&entry).map_err(|err| err.error)?;
        // Taken after the rename, which may change the change time.
        let identity = Identity::of(&std::fs::symlink_metadata(&entry)?);
        let record = Index {
            component_identity: component_identity.to_string(),
            component_sha256: component_sha256.to_string(),
            identity,
            description: None,
        };
        write_index(&index, &record)?;
        sync_dir(parent_of(&entry))
    }

    /// Records the description of the component whose identity is
    /// `component_identity` in the index of entry `key` (which must be that
    /// component's).
    pub fn describe(&self, key: &str, component_identity: &str, description: &str) -> Result<(), String> {
        let (_, path) = self.paths(key);
        let mut index = read_index(&path)?.ok_or("the entry has no index")?;
        if index.component_identity != component_identity {
            return Err("the entry is another component's".into());
        }
        index.description = Some(RawValue::from_string(description.to_string()).map_err(|err| err.to_string())?);
        write_index(&path, &index).map_err(|err| format!("cannot write its index: {err}"))
    }
}

/// The index at `path`; `None` if there is none.
fn read_index(path: &Path) -> Result<Option<Index>, String> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|_| "its index is unreadable".to_string()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(format!("cannot read its index: {err}")),
    }
}

/// Replaces the index at `path` with `index`, atomically.
fn write_index(path: &Path, index: &Index) -> std::io::Result<()> {
    staged(path, &serde_json::to_vec(index)?, 0o600)?.persist(path).map_err(|err| err.error)?;
    Ok(())
}

/// Every directory above `dir` must be owned by this user or root and not
/// writable by others, unless it is sticky (as `/tmp` is), so that nobody else
/// can rename `dir` away and put another in its place.
fn check_ancestors(dir: &Path) -> Result<(), String> {
    let mut current = dir.parent();
    while let Some(ancestor) = current {
        let meta =
            std::fs::metadata(ancestor).map_err(|err| format!("cannot inspect {}: {err}", ancestor.display()))?;
        let sticky = meta.mode() & 0o1000 != 0;
        if !sticky && let Some(reason) = writable_by_others(&meta, true) {
            return Err(format!("{} above it: {reason}", ancestor.display()));
        }
        current = ancestor.parent();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn private_tempdir() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }

    #[test]
    fn an_entry_written_here_is_found_and_nothing_else() {
        let dir = private_tempdir();
        let cache = CompileCache::open(&dir.path().join("c")).unwrap();
        assert!(cache.open_entry("k", "aa").unwrap().is_none());
        cache.store("k", "aa", "f", b"code").unwrap();
        assert_eq!(cache.open_entry("k", "aa").unwrap().unwrap().component_sha256, "f");
        assert!(cache.open_entry("k", "bb").is_err(), "another component's digest");

        // The same bytes copied into place are another file.
        let (entry, _) = cache.paths("k");
        std::fs::copy(&entry, dir.path().join("copy")).unwrap();
        std::fs::rename(dir.path().join("copy"), &entry).unwrap();
        assert!(cache.open_entry("k", "aa").unwrap_err().contains("not the file this host compiled"));
    }

    #[test]
    fn a_description_is_kept_with_its_components_entry_only() {
        let dir = private_tempdir();
        let cache = CompileCache::open(dir.path()).unwrap();
        cache.store("k", "aa", "f", b"code").unwrap();
        assert_eq!(cache.open_entry("k", "aa").unwrap().unwrap().description, None);
        cache.describe("k", "aa", r#"{"name":"x"}"#).unwrap();
        assert_eq!(cache.open_entry("k", "aa").unwrap().unwrap().description.as_deref(), Some(r#"{"name":"x"}"#));
        assert!(cache.describe("k", "bb", "{}").unwrap_err().contains("another component's"));
        assert!(cache.describe("missing", "aa", "{}").is_err());
        // Compiling again (another engine's code, say) starts without one.
        cache.store("k", "aa", "f", b"code").unwrap();
        assert_eq!(cache.open_entry("k", "aa").unwrap().unwrap().description, None);
        let mode = std::fs::metadata(cache.paths("k").1).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_description_is_kept_as_json_and_an_older_string_of_json_is_not_taken_for_one() {
        let dir = private_tempdir();
        let cache = CompileCache::open(dir.path()).unwrap();
        cache.store("k", "aa", "f", b"code").unwrap();
        let description = r#"{"name":"x","actions":[{"name":"a \"b\""}]}"#;
        cache.describe("k", "aa", description).unwrap();
        let index = std::fs::read_to_string(cache.paths("k").1).unwrap();
        assert!(index.contains(&format!(r#""description":{description}"#)), "{index}");
        assert_eq!(cache.open_entry("k", "aa").unwrap().unwrap().description.as_deref(), Some(description));
        // An index written when descriptions were kept as strings of JSON still
        // opens; what it holds is a string, which no loader reads as a
        // description, so the component is asked again.
        let older = index.replace(&format!(r#""description":{description}"#), r#""description":"{\"name\":\"x\"}""#);
        std::fs::write(cache.paths("k").1, older).unwrap();
        let kept = cache.open_entry("k", "aa").unwrap().unwrap().description.unwrap();
        assert!(serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&kept).is_err(), "{kept}");
        assert!(cache.describe("k", "aa", "not json").is_err());
    }

    #[test]
    fn an_entry_without_index_or_rewritten_is_refused() {
        let dir = private_tempdir();
        let cache = CompileCache::open(dir.path()).unwrap();
        std::fs::write(dir.path().join("planted.cwasm"), b"x").unwrap();
        assert!(cache.open_entry("planted", "aa").unwrap_err().contains("no index"));
        cache.store("k", "aa", "f", b"code").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(10));
        std::fs::write(cache.paths("k").0, b"evil").unwrap();
        assert!(cache.open_entry("k", "aa").is_err());
    }

    #[test]
    fn a_shared_directory_is_not_used() {
        let dir = private_tempdir();
        let shared = dir.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(CompileCache::open(&shared).unwrap_err().contains("writable by every user"));
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o770)).unwrap();
        assert!(CompileCache::open(&shared).unwrap_err().contains("writable by its group"));
        // Below a directory others can write to (and that is not sticky).
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(CompileCache::open(&shared.join("mine")).unwrap_err().contains("above it"));
    }
}

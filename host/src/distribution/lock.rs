//! `plugins.lock`: what is installed, exactly, so that `host plugin sync` can
//! reproduce it on another machine. It lives in the plugin directory and is
//! rewritten (atomically) by every install and removal.

use crate::storage::fs::{read_regular_file, write_atomic};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The lock file's name in the plugin directory.
pub const FILE_NAME: &str = "plugins.lock";
const FORMAT_VERSION: u32 = 1;
const MAX_LOCK_FILE: u64 = 4 << 20;

/// The installed connectors.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockFile {
    version: u32,
    #[serde(default, rename = "plugin")]
    plugins: Vec<Locked>,
}

/// One installed connector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Locked {
    pub name: String,
    pub version: String,
    /// Where it came from: `oci://REGISTRY/REPOSITORY:TAG`, a bundle
    /// (`bundle:PATH`) or a file (`file:PATH`).
    pub source: String,
    /// The manifest digest (registries and bundles): what a sync pulls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_digest: Option<String>,
    /// `sha256:` of the component file: what a sync insists on.
    pub content_digest: String,
    /// The ids of the trusted keys that signed it.
    #[serde(default)]
    pub signers: Vec<String>,
}

/// Why a lock file cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("cannot use the lock file {path}: {reason}")]
pub struct LockError {
    pub path: PathBuf,
    pub reason: String,
}

impl LockFile {
    /// The lock file at `path`; none yet is an empty one. A malformed file is
    /// an error naming its line, never quoting it.
    pub fn load(path: &Path) -> Result<Self, LockError> {
        let fail = |reason: String| LockError { path: path.to_path_buf(), reason };
        let bytes = match read_regular_file(path, MAX_LOCK_FILE) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self { version: FORMAT_VERSION, plugins: Vec::new() });
            }
            Err(err) => return Err(fail(err.to_string())),
        };
        let text = String::from_utf8(bytes).map_err(|_| fail("it is not UTF-8 text".into()))?;
        let lock: Self = toml::from_str(&text).map_err(|err| {
            let line = err.span().map(|span| text[..span.start].lines().count().max(1));
            fail(match line {
                Some(line) => format!("line {line}: {}", err.message()),
                None => err.message().to_string(),
            })
        })?;
        if lock.version != FORMAT_VERSION {
            return Err(fail(format!(
                "it is of format version {}; this host reads version {FORMAT_VERSION}",
                lock.version
            )));
        }
        for locked in &lock.plugins {
            crate::names::check_connector_name(&locked.name)
                .map_err(|reason| fail(format!("connector name '{}' {reason}", locked.name.escape_debug())))?;
            super::reference::check_digest(&locked.content_digest)
                .map_err(|reason| fail(format!("connector {}: {reason}", locked.name)))?;
            if let Some(digest) = &locked.manifest_digest {
                super::reference::check_digest(digest)
                    .map_err(|reason| fail(format!("connector {}: {reason}", locked.name)))?;
            }
        }
        Ok(lock)
    }

    /// Writes the lock file to `path`, atomically.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let mut text = String::from(
            "# The installed connectors, written by `host plugin`.\n# `host plugin sync --lock FILE` installs exactly these on another machine.\n\n",
        );
        text.push_str(&toml::to_string(self).map_err(std::io::Error::other)?);
        write_atomic(path, text.as_bytes())
    }

    /// The locked connectors, by name.
    pub fn plugins(&self) -> &[Locked] {
        &self.plugins
    }

    /// The entry for connector `name`.
    pub fn get(&self, name: &str) -> Option<&Locked> {
        self.plugins.iter().find(|locked| locked.name == name)
    }

    /// Records `locked`, replacing the entry of the same name.
    pub fn insert(&mut self, locked: Locked) {
        self.remove(&locked.name);
        self.plugins.push(locked);
        self.plugins.sort_by(|a, b| a.name.cmp(&b.name));
    }

    /// Forgets connector `name`.
    pub fn remove(&mut self, name: &str) {
        self.plugins.retain(|locked| locked.name != name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locked(name: &str) -> Locked {
        Locked {
            name: name.into(),
            version: "1.0.0".into(),
            source: format!("oci://127.0.0.1:5000/soar/{name}:1.0.0"),
            manifest_digest: Some(format!("sha256:{}", "a".repeat(64))),
            content_digest: format!("sha256:{}", "b".repeat(64)),
            signers: vec!["ab12".into()],
        }
    }

    #[test]
    fn round_trips_sorted_and_replacing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let mut lock = LockFile::load(&path).unwrap();
        assert!(lock.plugins().is_empty());
        lock.insert(locked("threatconnect"));
        lock.insert(locked("cofense"));
        let mut newer = locked("cofense");
        newer.version = "1.1.0".into();
        lock.insert(newer);
        lock.save(&path).unwrap();
        let read = LockFile::load(&path).unwrap();
        assert_eq!(read, lock);
        assert_eq!(read.plugins().iter().map(|l| l.name.as_str()).collect::<Vec<_>>(), ["cofense", "threatconnect"]);
        assert_eq!(read.get("cofense").unwrap().version, "1.1.0");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("[[plugin]]"), "{text}");
    }

    #[test]
    fn hostile_lock_files_are_refused_by_line_without_quoting() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let digest = format!("sha256:{}", "b".repeat(64));
        for (text, why) in [
            ("version = 1\n[[plugin]]\nname = \"x\"\nsecret-looking = \"hunter2-secret\"\n".to_string(), "line"),
            ("version = 2\n".to_string(), "format version 2"),
            (
                format!(
                    "version = 1\n[[plugin]]\nname = \"../x\"\nversion = \"1\"\nsource = \"s\"\ncontent_digest = \"{digest}\"\n"
                ),
                "connector name",
            ),
            (
                "version = 1\n[[plugin]]\nname = \"x\"\nversion = \"1\"\nsource = \"s\"\ncontent_digest = \"md5:00\"\n"
                    .into(),
                "not a digest",
            ),
        ] {
            std::fs::write(&path, &text).unwrap();
            let err = LockFile::load(&path).unwrap_err().to_string();
            assert!(err.contains(why), "{why}: {err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
    }
}

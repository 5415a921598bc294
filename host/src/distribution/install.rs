//! Installing connectors into a plugin directory, from a file, a bundle or a
//! registry, and reproducing a lock file's installs.
//!
//! Installing is two steps: [`Installer::check`] verifies a component (its
//! signature against the trust store, that it loads and describes itself,
//! the replacement rule) without writing anything; [`Installer::commit`] then
//! puts every checked component in place atomically and records it in the
//! lock file. A failure at any check leaves the plugin directory as it was.

use super::Source;
use super::artifact::{MAX_COMPONENT, digest_of};
use super::bundle;
use super::lock::{self, LockFile, Locked};
use super::reference::OciReference;
use super::registry::Registry;
use crate::error::Error;
use crate::plugin::{Plugin, PluginDir};
use crate::runtime::Runtime;
use crate::signing;
use crate::storage::fs::{Lock, private_dir, read_regular_file, write_atomic};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// A component offered for installation, not yet checked.
#[derive(Debug)]
pub struct Offered {
    pub component: Vec<u8>,
    /// What the lock file records as its source.
    pub source: String,
    pub manifest_digest: Option<String>,
}

/// A component that passed every check and can be committed.
pub struct Checked {
    plugin: Plugin,
    offered: Offered,
    target: PathBuf,
    replaced_version: Option<String>,
}

/// What was installed.
#[derive(Debug, Clone, Serialize)]
pub struct Installed {
    pub name: String,
    pub version: String,
    pub product: String,
    pub path: PathBuf,
    /// SHA-256 of the component file (hex), as `plugin list` and `verify` print it.
    pub digest: String,
    pub signers: Vec<Signer>,
    pub source: String,
    pub manifest_digest: Option<String>,
    pub replaced_version: Option<String>,
}

/// A trusted key that signed a connector.
#[derive(Debug, Clone, Serialize)]
pub struct Signer {
    pub key_id: String,
    /// The key file's name in the trust directory.
    pub name: String,
}

/// The trusted signers of `plugin`.
pub fn signers_of(plugin: &Plugin) -> Vec<Signer> {
    plugin.signers().iter().map(|key| Signer { key_id: key.key_id.clone(), name: key.name.clone() }).collect()
}

/// Fetches what `source` offers: one component for a file or a registry,
/// every connector of a bundle. Registry content is checked against its
/// digests while it streams; nothing is written.
pub async fn fetch(source: &Source, registry: &Registry) -> Result<Vec<Offered>, Error> {
    match source {
        Source::File(path) => {
            // Bounded, and regular files only: a lock file may name any path.
            let component = read_regular_file(path, MAX_COMPONENT)
                .map_err(|source| Error::ReadPlugin { path: path.clone(), source })?;
            Ok(vec![Offered { component, source: format!("file:{}", absolute(path).display()), manifest_digest: None }])
        }
        Source::Bundle(path) => {
            let items = bundle::read(path)
                .map_err(|message| Error::Artifact { origin: path.display().to_string(), message })?;
            let source = format!("bundle:{}", absolute(path).display());
            Ok(items
                .into_iter()
                .map(|item| Offered {
                    component: item.component,
                    source: source.clone(),
                    manifest_digest: Some(item.manifest_digest),
                })
                .collect())
        }
        Source::Registry(reference) => {
            let pulled = registry.pull(reference).await?;
            Ok(vec![Offered {
                component: pulled.component,
                source: without_digest(reference),
                manifest_digest: Some(pulled.manifest_digest),
            }])
        }
    }
}

/// The reference as people wrote it, without a digest the lock records apart.
fn without_digest(reference: &OciReference) -> String {
    match reference.tag() {
        Some(_) => reference.to_string().split('@').next().unwrap_or_default().to_string(),
        None => reference.to_string(),
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Installs into one plugin directory with one runtime's trust.
pub struct Installer<'a> {
    runtime: &'a Runtime,
    plugins: &'a PluginDir,
}

impl<'a> Installer<'a> {
    pub fn new(runtime: &'a Runtime, plugins: &'a PluginDir) -> Self {
        Self { runtime, plugins }
    }

    fn lock_path(&self) -> PathBuf {
        self.plugins.path().join(lock::FILE_NAME)
    }

    /// Held while the plugin directory and its lock file change, so that
    /// concurrent installs do not lose each other's lock entries.
    fn exclusive(&self) -> std::io::Result<Lock> {
        Lock::exclusive(&self.plugins.path().join(".install"))
    }

    /// The lock file of the plugin directory.
    pub fn lock(&self) -> Result<LockFile, Error> {
        Ok(LockFile::load(&self.lock_path())?)
    }

    /// Verifies and loads `offered` (the signature first: an untrusted
    /// component is not compiled). A connector signed by other keys than the
    /// installed one of the same name replaces it only with `replace`: a
    /// trusted key of one publisher must not silently take over another
    /// publisher's connector.
    pub async fn check(&self, offered: Offered, replace: bool) -> Result<Checked, Error> {
        let label = PathBuf::from(&offered.source);
        let plugin = self.runtime.load_bytes(&offered.component, &label).await?;
        let name = plugin.info().name.clone();
        let target = self.plugins.path_of(&name).ok_or_else(|| Error::BadPlugin {
            path: label.clone(),
            message: format!("its declared name '{}' is not a valid connector name", name.escape_debug()),
        })?;
        let mut replaced_version = None;
        if let Ok(installed) = std::fs::read(&target) {
            let key_ids = |bytes: &[u8]| signing::summarize(bytes).map(|summary| summary.key_ids).unwrap_or_default();
            let (old_signers, new_signers) = (key_ids(&installed), key_ids(&offered.component));
            let shared = old_signers.iter().any(|key| new_signers.contains(key));
            if !shared && !replace {
                return Err(Error::Replace {
                    name,
                    installed: signer_list(&old_signers),
                    new: signer_list(&new_signers),
                });
            }
            replaced_version =
                self.runtime.load_bytes(&installed, &target).await.ok().map(|old| old.info().version.clone());
        }
        Ok(Checked { plugin, offered, target, replaced_version })
    }

    /// Puts every checked component in place (each file replaced atomically)
    /// and records them in the lock file.
    pub fn commit(&self, checked: Vec<Checked>) -> Result<Vec<Installed>, Error> {
        let dir = self.plugins.path();
        let host_error = |err: std::io::Error| Error::Host(format!("cannot install into {}: {err}", dir.display()));
        private_dir(dir).map_err(host_error)?;
        let _guard = self.exclusive().map_err(host_error)?;
        let mut lock = self.lock()?;
        let mut installed = Vec::new();
        for Checked { plugin, offered, target, replaced_version } in checked {
            write_atomic(&target, &offered.component).map_err(host_error)?;
            let entry = Installed {
                name: plugin.info().name.clone(),
                version: plugin.info().version.clone(),
                product: plugin.info().product.clone(),
                path: target,
                digest: plugin.digest().to_string(),
                signers: signers_of(&plugin),
                source: offered.source,
                manifest_digest: offered.manifest_digest,
                replaced_version,
            };
            lock.insert(Locked {
                name: entry.name.clone(),
                version: entry.version.clone(),
                source: entry.source.clone(),
                manifest_digest: entry.manifest_digest.clone(),
                content_digest: format!("sha256:{}", entry.digest),
                signers: entry.signers.iter().map(|signer| signer.key_id.clone()).collect(),
            });
            installed.push(entry);
        }
        lock.save(&self.lock_path()).map_err(host_error)?;
        Ok(installed)
    }

    /// Fetches, checks and commits everything `source` offers: all or nothing
    /// is checked before anything is written.
    pub async fn install(&self, source: &Source, registry: &Registry, replace: bool) -> Result<Vec<Installed>, Error> {
        let mut checked = Vec::new();
        for offered in fetch(source, registry).await? {
            checked.push(self.check(offered, replace).await?);
        }
        self.commit(checked)
    }

    /// Removes connector `name` and its lock entry; returns its path.
    pub fn remove(&self, name: &str) -> Result<PathBuf, Error> {
        let path = self.plugins.find(name)?;
        let host_error = |err: std::io::Error| Error::Host(format!("cannot remove {}: {err}", path.display()));
        let _guard = self.exclusive().map_err(host_error)?;
        std::fs::remove_file(&path).map_err(host_error)?;
        let mut lock = self.lock()?;
        if lock.get(name).is_some() {
            lock.remove(name);
            lock.save(&self.lock_path()).map_err(host_error)?;
        }
        Ok(path)
    }

    /// Installs exactly what `wanted` records: each connector from its source,
    /// pinned by its manifest digest, and only if its content digest is the
    /// recorded one. Connectors already installed with that content are kept
    /// as they are. Everything is fetched and checked before anything is
    /// written.
    pub async fn sync(&self, wanted: &LockFile, registry: &Registry, replace: bool) -> Result<Synced, Error> {
        let mut checked = Vec::new();
        let mut unchanged = Vec::new();
        for locked in wanted.plugins() {
            let current = self.plugins.path_of(&locked.name).and_then(|path| std::fs::read(path).ok());
            if current.is_some_and(|bytes| digest_of(&bytes) == locked.content_digest) {
                unchanged.push(locked.name.clone());
                continue;
            }
            let offered = self.fetch_locked(locked, registry).await?;
            let plugin = self.check(offered, replace).await?;
            if plugin.plugin.info().name != locked.name {
                return Err(Error::Artifact {
                    origin: locked.source.clone(),
                    message: format!("it is connector '{}', not '{}'", plugin.plugin.info().name, locked.name),
                });
            }
            checked.push(plugin);
        }
        let installed = self.commit(checked)?;
        let not_in_lock =
            self.plugins.names().into_iter().filter(|name| wanted.get(name).is_none()).collect::<Vec<_>>();
        Ok(Synced { installed, unchanged, not_in_lock })
    }

    async fn fetch_locked(&self, locked: &Locked, registry: &Registry) -> Result<Offered, Error> {
        let mismatch = |what: &str| Error::Artifact {
            origin: locked.source.clone(),
            message: format!("its {what} is not the one the lock file records for '{}'", locked.name),
        };
        let source = if let Some(path) = locked.source.strip_prefix("bundle:") {
            Source::Bundle(PathBuf::from(path))
        } else if let Some(path) = locked.source.strip_prefix("file:") {
            Source::File(PathBuf::from(path))
        } else {
            let reference: OciReference = locked.source.parse()?;
            // A registry is asked for the manifest the lock pins, never a tag
            // that may have moved.
            let digest =
                locked.manifest_digest.as_deref().ok_or_else(|| mismatch("manifest digest (none recorded)"))?;
            Source::Registry(reference.pinned(digest))
        };
        let offered = fetch(&source, registry).await?;
        let mut offered = offered
            .into_iter()
            .find(|offered| digest_of(&offered.component) == locked.content_digest)
            .ok_or_else(|| mismatch("content digest"))?;
        offered.source = locked.source.clone();
        Ok(offered)
    }
}

/// What a sync did.
#[derive(Debug, Clone, Serialize)]
pub struct Synced {
    pub installed: Vec<Installed>,
    /// Already installed with the recorded content.
    pub unchanged: Vec<String>,
    /// Installed here but not in the lock file: left alone.
    pub not_in_lock: Vec<String>,
}

fn signer_list(key_ids: &[String]) -> String {
    if key_ids.is_empty() { "no key (unsigned)".into() } else { format!("key {}", key_ids.join(", key ")) }
}

//! Distribution: connectors published to OCI registries as signed wasm
//! artifacts, installed from registries, bundles or files, pinned in a lock
//! file, and exported into offline bundles.
//!
//! Every way in goes through the same checks: content against its digests
//! while it streams, then the signature against the trust store, before
//! anything is written into the plugin directory.

pub mod artifact;
pub mod bundle;
pub mod install;
pub mod lock;
mod publish;
pub mod reference;
pub mod registry;

pub use install::{Installed, Installer, Synced};
pub use publish::{Exported, Pushed, export, push};
pub use reference::OciReference;
pub use registry::{Credentials, Registry, RegistryOptions};

use std::path::PathBuf;

/// Where connectors come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A signed component file.
    File(PathBuf),
    /// An offline bundle (an OCI image layout in a tar file).
    Bundle(PathBuf),
    /// A registry: `oci://REGISTRY/REPOSITORY:TAG` or `...@sha256:DIGEST`.
    Registry(OciReference),
}

impl Source {
    /// `oci://...` is a registry; a tar file a bundle; anything else a
    /// component file.
    pub fn parse(text: &str) -> Result<Self, crate::Error> {
        if text.starts_with(reference::SCHEME) {
            return Ok(Self::Registry(text.parse()?));
        }
        let path = PathBuf::from(text);
        Ok(if bundle::is_bundle(&path) { Self::Bundle(path) } else { Self::File(path) })
    }
}

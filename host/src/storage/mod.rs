//! What the host keeps for actions: per-asset state, the vault and ingested
//! containers. Each store is a trait stating what any backend must keep
//! ([`state::StateStore`], [`vault::VaultStore`], [`ingest::ContainerStore`]),
//! and [`Stores`] opens the three; the local disk ([`DiskStores`]) is the
//! backend the host ships. The capabilities hold only the traits, so another
//! backend is a new implementation of these, not a change to them.
//!
//! On disk every write is atomic (a temporary file renamed into place) and every
//! file is readable by the owner only; which asset files and origins use each
//! asset name ([`assets`]) is kept on disk whatever the backend.

pub mod assets;
pub mod fs;
pub mod ingest;
pub mod state;
pub mod vault;

use ingest::{ContainerStore, DiskContainers};
use state::{DiskState, StateStore};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use vault::{DiskVault, VaultStore};

/// Opens the stores of a host's actions: where an embedder plugs in another
/// backend (see `InvokeOptions::stores`).
///
/// Opening is cheap and may be done for every action: what is expensive to set
/// up (a database connection, say) is opened by `containers`, which the host
/// calls only when an action first saves a container.
pub trait Stores: Send + Sync {
    /// The state of `asset` of `connector`. Both names are checked as
    /// [`crate::names`] checks them; one that is not valid is refused with
    /// `InvalidInput`.
    fn state(&self, connector: &str, asset: &str) -> io::Result<Box<dyn StateStore>>;

    /// The vault, shared by every connector and asset.
    fn vault(&self) -> io::Result<Arc<dyn VaultStore>>;

    /// The containers and artifacts of every connector and asset.
    fn containers(&self) -> io::Result<Box<dyn ContainerStore>>;
}

/// The stores under a data directory: `state/<connector>/<asset>.json`,
/// `vault/` and `ingest.sqlite`.
#[derive(Debug, Clone)]
pub struct DiskStores {
    data_dir: PathBuf,
}

impl DiskStores {
    /// The stores under `data_dir` (created as they are first written).
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self { data_dir: data_dir.into() }
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }
}

impl Stores for DiskStores {
    fn state(&self, connector: &str, asset: &str) -> io::Result<Box<dyn StateStore>> {
        Ok(Box::new(DiskState::for_asset(&self.data_dir, connector, asset)?))
    }

    fn vault(&self) -> io::Result<Arc<dyn VaultStore>> {
        Ok(Arc::new(DiskVault::new(&self.data_dir)))
    }

    fn containers(&self) -> io::Result<Box<dyn ContainerStore>> {
        Ok(Box::new(DiskContainers::open(&self.data_dir)?))
    }
}

// Last in the file: nothing after it is production code.
#[cfg(test)]
pub mod memory;

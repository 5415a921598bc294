//! What the host keeps on disk: per-asset state, the vault and ingested
//! containers. Every write is atomic (a temporary file renamed into place) and
//! every file is readable by the owner only.

pub mod assets;
pub mod fs;
pub mod ingest;
pub mod state;
pub mod vault;

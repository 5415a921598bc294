//! Which asset files each asset name stands for, so that two tenants can never
//! share state by accident.
//!
//! An asset's name keys its state (where an OAuth token is cached), its vault
//! attribution and its containers. Two asset files called `vision.toml` in
//! different directories would get the same name; if they point at different
//! servers they are different tenants, and sharing state would send one
//! tenant's token to the other's server. So the host records, per connector and
//! asset name, the asset files that used the name and the origins they point
//! at (`assets/<connector>/<asset>.json` in the data directory), and refuses a
//! second file that claims the name for other origins.
//!
//! One file may change its origins (the operator moved the server): its cached
//! credentials are bound to the origin they were issued for, so nothing leaks.
//! A file that no longer exists gives up its claim.

use super::fs::{Lock, write_atomic};
use crate::names::{check_asset_name, check_connector_name};
use serde::{Deserialize, Serialize};
use std::io;
use std::path::{Path, PathBuf};

/// The asset files and origins recorded for one asset name.
#[derive(Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
struct Claim {
    files: Vec<PathBuf>,
    origins: Vec<String>,
}

/// Why a claim was refused.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    /// Another asset file uses the name for other servers.
    #[error("{0}")]
    Collision(Box<Collision>),
    /// A name that cannot be a file name.
    #[error("{0}")]
    Name(String),
    /// The record cannot be read or written.
    #[error("cannot record the asset's identity: {0}")]
    Io(#[from] io::Error),
}

/// Two asset files that claim one name for different servers.
#[derive(Debug, thiserror::Error)]
#[error(
    "asset file {file} and asset file {other} both name the asset '{asset}' of connector {connector}, but point at different servers ({origins} and {other_origins}); they would share state and credentials: give each its own `name = \"...\"`"
)]
pub struct Collision {
    connector: String,
    asset: String,
    file: PathBuf,
    other: PathBuf,
    origins: String,
    other_origins: String,
}

/// Records that asset file `file` uses the name `asset` of `connector` for
/// `origins`, or refuses it if another existing file uses that name for other
/// origins.
pub fn claim(data_dir: &Path, connector: &str, asset: &str, file: &Path, origins: &[String]) -> Result<(), ClaimError> {
    check_connector_name(connector).map_err(ClaimError::Name)?;
    check_asset_name(asset).map_err(ClaimError::Name)?;
    let path = data_dir.join("assets").join(connector).join(format!("{asset}.json"));
    let read = |path: &Path| -> io::Result<Claim> {
        match std::fs::read(path) {
            Ok(bytes) => Ok(serde_json::from_slice(&bytes).unwrap_or_default()),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(Claim::default()),
            Err(err) => Err(err),
        }
    };
    // The common case, an unchanged claim, needs no lock and no write.
    let recorded = read(&path)?;
    if recorded.files == [file] && recorded.origins == origins {
        return Ok(());
    }
    let _lock = Lock::exclusive(&path)?;
    let mut recorded = read(&path)?;
    recorded.files.retain(|known| known == file || known.exists());
    if let Some(other) = recorded.files.iter().find(|known| *known != file)
        && recorded.origins != origins
    {
        return Err(ClaimError::Collision(Box::new(Collision {
            connector: connector.to_string(),
            asset: asset.to_string(),
            file: file.to_path_buf(),
            other: other.clone(),
            origins: list(origins),
            other_origins: list(&recorded.origins),
        })));
    }
    if !recorded.files.iter().any(|known| known == file) {
        recorded.files.push(file.to_path_buf());
    }
    recorded.origins = origins.to_vec();
    write_atomic(&path, &serde_json::to_vec_pretty(&recorded).map_err(io::Error::other)?)?;
    Ok(())
}

fn list(origins: &[String]) -> String {
    if origins.is_empty() { "no server".into() } else { origins.join(", ") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_name_two_files_two_servers_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a/vision.toml"), dir.path().join("b/vision.toml"));
        for file in [&a, &b] {
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, "").unwrap();
        }
        let data = dir.path().join("data");
        let tenant_a = vec!["https://a.example".to_string()];
        let tenant_b = vec!["https://b.example".to_string()];
        claim(&data, "cofense", "vision", &a, &tenant_a).unwrap();
        claim(&data, "cofense", "vision", &a, &tenant_a).unwrap();
        let err = claim(&data, "cofense", "vision", &b, &tenant_b).unwrap_err().to_string();
        assert!(err.contains("a/vision.toml") && err.contains("b.example") && err.contains("name = "), "{err}");
        // The same tenant from a second file, and a file that moved servers, are fine.
        claim(&data, "cofense", "vision", &b, &tenant_a).unwrap();
        std::fs::remove_file(&b).unwrap();
        claim(&data, "cofense", "vision", &a, &tenant_b).unwrap();
        assert!(claim(&data, "../x", "vision", &a, &tenant_a).is_err());
    }
}

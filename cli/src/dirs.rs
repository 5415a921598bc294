//! Default directories, after the XDG base directory conventions.

use std::path::PathBuf;

fn home() -> PathBuf {
    std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."))
}

fn xdg(variable: &str, fallback: &str) -> PathBuf {
    std::env::var_os(variable).map(PathBuf::from).filter(|p| p.is_absolute()).unwrap_or_else(|| home().join(fallback))
}

/// `$XDG_DATA_HOME/soar` (`~/.local/share/soar`): state, vault, containers.
pub fn data() -> PathBuf {
    xdg("XDG_DATA_HOME", ".local/share").join("soar")
}

/// `$XDG_DATA_HOME/soar/plugins`: installed connectors.
pub fn plugins() -> PathBuf {
    data().join("plugins")
}

/// `$XDG_CACHE_HOME/soar/compiled`: compiled connector code.
pub fn cache() -> PathBuf {
    xdg("XDG_CACHE_HOME", ".cache").join("soar").join("compiled")
}

/// `$XDG_CONFIG_HOME/soar/assets`: where `<connector>.toml` is the default asset.
pub fn assets() -> PathBuf {
    xdg("XDG_CONFIG_HOME", ".config").join("soar").join("assets")
}

/// `$XDG_CONFIG_HOME/soar/trusted-keys`: public keys of trusted publishers.
pub fn trusted_keys() -> PathBuf {
    xdg("XDG_CONFIG_HOME", ".config").join("soar").join("trusted-keys")
}

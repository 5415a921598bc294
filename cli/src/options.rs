//! The options that say where things are and whose signatures count, each
//! defined once, with its environment variable and default, and flattened
//! into exactly the commands whose behaviour it changes.

use super::dirs;
use clap::Args;
use serde::{Deserialize, Serialize};
use soar_host::sandbox::outbound::TlsSettings;
use soar_host::signing::TrustStore;
use soar_host::{Compiler, Error, Limits, PluginDir, Runtime, RuntimeOptions, Trust};
use std::path::{Path, PathBuf};

/// Where installed connectors are.
#[derive(Args)]
pub struct PluginDirArgs {
    /// Directory of installed connectors (`<name>.wasm`) [default: ~/.local/share/soar/plugins]
    #[arg(long, env = "SOAR_PLUGIN_DIR", value_name = "DIR")]
    plugin_dir: Option<PathBuf>,
}

impl PluginDirArgs {
    pub fn plugins(&self) -> PluginDir {
        PluginDir::new(self.path())
    }

    /// The directory, absolute.
    pub fn path(&self) -> PathBuf {
        absolute(self.plugin_dir.clone().unwrap_or_else(dirs::plugins))
    }
}

/// Where asset state, the vault and ingested containers are.
#[derive(Args)]
pub struct DataDirArgs {
    /// Directory for asset state, the vault and ingested containers [default: ~/.local/share/soar]
    #[arg(long, env = "SOAR_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

impl DataDirArgs {
    pub fn data_dir(&self) -> PathBuf {
        absolute(self.data_dir.clone().unwrap_or_else(dirs::data))
    }
}

/// Where compiled connector code is kept between runs.
#[derive(Args)]
pub struct CacheArgs {
    /// Directory for compiled connector code [default: ~/.cache/soar/compiled]
    #[arg(long, env = "SOAR_CACHE_DIR", value_name = "DIR")]
    cache_dir: Option<PathBuf>,
}

/// Whose signatures are trusted.
#[derive(Args)]
pub struct TrustArgs {
    /// Trusted public keys: a key file or a directory of them [default: ~/.config/soar/trusted-keys]
    #[arg(long, env = "SOAR_TRUST", value_name = "PATH")]
    trust: Option<PathBuf>,
    /// Accept signatures that cover only part of a component (wasmsign2 extensions)
    #[arg(long, env = "SOAR_ALLOW_PARTIAL_SIGNATURES", value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = parse_flag, action = clap::ArgAction::Set, default_value = "false")]
    allow_partial_signatures: bool,
}

impl TrustArgs {
    pub fn trust_store(&self) -> Result<TrustStore, Error> {
        trust_store(&self.trust.clone().unwrap_or_else(dirs::trusted_keys), self.allow_partial_signatures)
    }
}

/// The trusted keys at `path`, as they are now on disk.
fn trust_store(path: &Path, allow_partial_signatures: bool) -> Result<TrustStore, Error> {
    TrustStore::load(path)
        .map(|store| store.allow_partial_signatures(allow_partial_signatures))
        .map_err(Error::TrustStore)
}

/// How connectors are loaded: whose signatures count (or none, while
/// developing), and where their compiled code is cached.
#[derive(Args)]
pub struct LoadArgs {
    #[command(flatten)]
    trust: TrustArgs,
    /// Load connectors without checking their signatures. For developing connectors only
    #[arg(long, env = "SOAR_ALLOW_UNSIGNED", value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = parse_flag, action = clap::ArgAction::Set, default_value = "false")]
    allow_unsigned: bool,
    #[command(flatten)]
    cache: CacheArgs,
    /// Compiler of connectors: optimizing (the default), or baseline, which compiles about four times faster into slower code, for hosts that keep no compile cache
    #[arg(long, env = "SOAR_COMPILER", value_name = "COMPILER", default_value = "optimizing", value_parser = str::parse::<Compiler>)]
    compiler: Compiler,
}

impl LoadArgs {
    /// Every default filled in from this process's environment, every path
    /// made absolute.
    pub fn settings(&self) -> LoadSettings {
        LoadSettings {
            trust: absolute(self.trust.trust.clone().unwrap_or_else(dirs::trusted_keys)),
            allow_partial_signatures: self.trust.allow_partial_signatures,
            allow_unsigned: self.allow_unsigned,
            cache_dir: absolute(self.cache.cache_dir.clone().unwrap_or_else(dirs::cache)),
            compiler: self.compiler,
        }
    }

    /// A runtime for one command: it runs at most one action, so without an
    /// instance pool (see `RuntimeOptions::instance_pool`).
    pub fn runtime(&self, limits: Limits, tls: TlsSettings) -> Result<Runtime, Error> {
        let settings = self.settings();
        settings.warn();
        Runtime::new(settings.options(settings.trust()?, limits, tls, None))
    }

    /// A runtime that loads connectors and runs none of their actions: it
    /// reaches no vendor, so it needs no TLS settings.
    pub fn loader(&self) -> Result<Runtime, Error> {
        self.runtime(Limits::default(), TlsSettings::default())
    }
}

/// How connectors are loaded, resolved: what a runtime is made of, in this
/// process or in a resident host (`host serve`), which never looks at its own
/// environment for these.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadSettings {
    pub trust: PathBuf,
    pub allow_partial_signatures: bool,
    pub allow_unsigned: bool,
    pub cache_dir: PathBuf,
    pub compiler: Compiler,
}

impl LoadSettings {
    /// Warns, on this process's stderr, of what a person must not miss.
    pub fn warn(&self) {
        if self.allow_unsigned {
            eprintln!(
                "WARNING: --allow-unsigned: connector signatures are NOT checked. Use this only while developing connectors."
            );
        }
    }

    /// Whose components load: the trusted keys as they are now on disk.
    pub fn trust(&self) -> Result<Trust, Error> {
        if self.allow_unsigned {
            return Ok(Trust::AllowUnsigned);
        }
        trust_store(&self.trust, self.allow_partial_signatures).map(Trust::Signed)
    }

    /// The options of a runtime trusting `trust`.
    pub fn options(&self, trust: Trust, limits: Limits, tls: TlsSettings, pool: Option<u32>) -> RuntimeOptions {
        RuntimeOptions {
            trust,
            cache_dir: Some(self.cache_dir.clone()),
            limits,
            tls,
            instance_pool: pool,
            compiler: self.compiler,
            ..Default::default()
        }
    }
}

/// `path`, relative to the working directory if it is relative.
pub fn absolute(path: PathBuf) -> PathBuf {
    std::path::absolute(&path).unwrap_or(path)
}

/// Which certificate authorities vouch for vendors and registries.
#[derive(Args)]
pub struct TlsArgs {
    /// Trust the CA certificates in this PEM file, besides the system's, for vendors and registries
    #[arg(long, env = "SOAR_CA_BUNDLE", value_name = "FILE")]
    ca_bundle: Option<PathBuf>,
}

impl TlsArgs {
    pub fn settings(&self) -> TlsSettings {
        TlsSettings { ca_bundle: self.ca_bundle.clone().map(absolute) }
    }
}

/// A boolean as environment variables spell it: 1/true/yes/on or 0/false/no/off.
fn parse_flag(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        _ => Err(format!("'{text}' is not a boolean: use 1, true or yes, or 0, false or no")),
    }
}

//! The sandboxed wasmtime host for security-automation connectors.
//!
//! Connectors are WebAssembly components (`wasm32-wasip2`) whose actions are
//! typed WIT functions. The host loads them, supplies an asset's configuration,
//! a vault and a state store, enforces the sandbox (outbound requests only to the
//! asset's `base_url`, memory and time limits, no filesystem, sockets or
//! environment), and runs actions:
//!
//! ```no_run
//! # async fn run() -> Result<(), soar_host::Error> {
//! use soar_host::signing::TrustStore;
//! use soar_host::{Asset, InvokeOptions, PluginDir, Runtime, RuntimeOptions, Trust, params};
//! use std::sync::Arc;
//!
//! let trust = Trust::Signed(TrustStore::load("trusted-keys".as_ref()).map_err(soar_host::Error::Host)?);
//! let runtime = Runtime::new(RuntimeOptions { trust, ..Default::default() })?;
//! let plugin = runtime.load(&PluginDir::new("plugins").find("cofense")?).await?;
//! let asset = Arc::new(Asset::load("cofense.toml".as_ref(), &plugin.info().configuration)?);
//! let action = plugin.action("get ioc")?;
//! let given = [("id".to_string(), "41ecc26bd356dd706cc1a0cd839cad2c".to_string()), ("source".into(), "Triage-1".into())];
//! let params = params::bind(&action.params, &given)?;
//! let report = runtime.invoke(&plugin, action, params, asset, InvokeOptions::new("data")).await;
//! println!("{}", serde_json::to_string_pretty(&report).unwrap());
//! # Ok(()) }
//! ```
//!
//! One [`Runtime`] (engine and linker) serves a whole process; each [`Plugin`] is
//! verified against the trusted keys before anything is compiled, compiled once
//! (and cached on disk); each action gets a fresh store and instance.

pub mod asset;
pub mod bindings;
pub mod cache;
mod context;
pub mod distribution;
mod error;
pub mod exit;
mod invoke;
pub mod manifest;
pub mod names;
pub mod outcome;
pub mod params;
pub mod platform;
mod plugin;
pub mod redact;
mod runtime;
pub mod sandbox;
pub mod signing;
pub mod storage;

pub use asset::{Asset, AssetError};
pub use error::{Error, FailureKind};
pub use invoke::{ActionReport, Failure, InvokeOptions, Status, current_user};
pub use manifest::ConnectorInfo;
pub use plugin::{Action, Plugin, PluginDir};
pub use runtime::{Runtime, RuntimeOptions, Trust};
pub use sandbox::Limits;

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
//! use soar_host::{Asset, InvokeOptions, PluginDir, Runtime, RuntimeOptions, Trust};
//! use std::sync::Arc;
//!
//! let trust = Trust::Signed(TrustStore::load("trusted-keys".as_ref()).map_err(soar_host::Error::TrustStore)?);
//! let runtime = Runtime::new(RuntimeOptions { trust, ..Default::default() })?;
//! let plugin = runtime.plugin(&PluginDir::new("plugins"), "cofense").await?;
//! let asset = Arc::new(Asset::load("cofense.toml".as_ref(), &plugin.info().configuration)?);
//! let options = InvokeOptions::new("data");
//! let params = [("id", "41ecc26bd356dd706cc1a0cd839cad2c"), ("source", "Triage-1")];
//! let report = runtime.invoke(&plugin, "get ioc", &params, asset, &options).await;
//! println!("{}", serde_json::to_string_pretty(&report).unwrap());
//! # Ok(()) }
//! ```
//!
//! One [`Runtime`] (engine and linker) serves a whole process and is shared
//! between tasks (`Runtime` and [`Plugin`] are `Send + Sync`); each plugin is
//! verified against the trusted keys before anything is compiled, compiled once
//! (and cached on disk); each action gets a fresh store and instance. More
//! actions than the instance pool holds wait for a slot, up to a bound, past
//! which they fail as `host-busy` ([`slots`]). `examples/embed.rs` is a whole
//! program, run by the tests.

pub mod asset;
pub mod bindings;
pub mod cache;
mod context;
pub mod distribution;
mod error;
pub mod exit;
mod invoke;
mod load;
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
pub mod slots;
pub mod storage;

pub use asset::{Asset, AssetError};
pub use error::{Error, FailureKind};
pub use invoke::{ActionReport, Failure, InvokeOptions, Status, current_user, user_in};
pub use manifest::ConnectorInfo;
pub use plugin::{Action, FileStamp, Plugin, PluginDir};
pub use runtime::{Compiler, Runtime, RuntimeOptions, Trust};
pub use sandbox::Limits;

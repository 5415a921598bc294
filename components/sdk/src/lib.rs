//! The guest SDK: everything a connector needs besides its vendor's API.
//!
//! A connector is one type implementing the [`Actions`](crate#registering-a-connector)
//! trait generated from its WIT, registered with [`connector!`]:
//!
//! ```ignore
//! use soar_sdk::prelude::*;
//!
//! struct Vision;
//!
//! soar_sdk::connector! {
//!     implementation: Vision,
//!     world: "soar:cofense-vision/connector",
//!     wit: ["../../wit/connector", "../../wit/cofense-vision"],
//! }
//!
//! impl Actions for Vision {
//!     fn get_ioc(id: String, source: String) -> ActionOutcome {
//!         // ...
//!     }
//! }
//! ```
//!
//! # Registering a connector
//! `connector!` reads the connector's WIT at build time, generates the bindings and
//! a trait named `Actions` with one method per action, and generates the
//! `describe` export from the WIT doc tags (`@kind`, `@read-only`, `@param`,
//! `@contains`, and `@name`, `@product`, `@config` on the world). `wit` lists WIT
//! package directories relative to the crate, dependencies first.
//!
//! # What the SDK provides
//! - [`Output`]: the action result builder (data, summary, message);
//! - [`ActionError`] constructors for each failure kind;
//! - [`http`]: JSON over `wasi:http` with timeouts, retries and request encodings;
//! - [`oauth2`]: client-credentials tokens cached in the asset's state;
//! - [`validate`] and [`dates`]: parameter validation in the forms users type;
//! - [`config`], [`state`], [`vault`], [`ingest`] and [`log`]: the platform services.

#[doc(hidden)]
pub mod bindings;
pub mod config;
pub mod dates;
mod error;
pub mod http;
pub mod ingest;
pub mod log;
pub mod oauth2;
mod output;
pub mod state;
pub mod validate;
pub mod vault;

pub use bindings::soar::connector::types::{ActionError, ActionResult, InvalidValue, VendorError};
pub use error::ActionOutcome;
pub use output::Output;
pub use soar_sdk_macros::connector;

/// The names almost every connector uses.
pub mod prelude {
    pub use crate::{ActionError, ActionOutcome, ActionResult, Output};
    pub use serde_json::{Value, json};
}

/// Used by the code `connector!` generates; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::bindings;
    pub use wasi;
    pub use wit_bindgen;
}

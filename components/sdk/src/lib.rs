//! The guest SDK: everything a connector needs besides its vendor's API.
//!
//! A connector registers its WIT with [`connector!`] and implements [`Action`]
//! for the parameter struct the macro generates for each action:
//!
//! ```ignore
//! use soar_sdk::prelude::*;
//!
//! soar_sdk::connector! {
//!     world: "soar:cofense-vision/connector",
//!     wit: ["../../wit/connector", "../../wit/cofense-vision"],
//! }
//!
//! impl Action for GetIoc {
//!     fn run(self) -> ActionOutcome {
//!         // self.id, self.source ...
//!     }
//! }
//! ```
//!
//! # Registering a connector
//! `connector!` reads the connector's WIT at build time and generates the
//! bindings, one public struct per action (`get-ioc` → `GetIoc`) whose fields are
//! the action's parameters, typed from the WIT, and the component's exports:
//! `describe`, built from the WIT doc tags (`@kind`, `@read-only`, `@param`,
//! `@contains`, `@default`, `@values`, and `@name`, `@product`, `@config`,
//! `@default`, `@origin`, `@verify-tls` on the world), and one function per
//! action that fills the struct and calls its [`Action::run`]. An optional
//! parameter is an `Option` field, unless it has a `@default`: then it is a
//! plain field holding the default when no value was given. A value outside a
//! parameter's `@values` is refused, naming the parameter, before `run` is
//! called. `wit` lists WIT package directories relative to the crate,
//! dependencies first. The action implementations may live in any module.
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

/// One action of a connector, implemented on the parameter struct that
/// [`connector!`] generates for it from the WIT.
#[diagnostic::on_unimplemented(
    message = "the action `{Self}` has no implementation",
    label = "the WIT declares this action",
    note = "implement it: `impl soar_sdk::Action for {Self} {{ fn run(self) -> ActionOutcome {{ ... }} }}`"
)]
pub trait Action {
    /// Runs the action with these parameters.
    fn run(self) -> ActionOutcome;
}

/// The names almost every connector uses.
pub mod prelude {
    pub use crate::{Action, ActionError, ActionOutcome, ActionResult, Output};
    pub use serde_json::{Value, json};
}

/// Used by the code `connector!` generates; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::bindings;
    pub use wasi;
    pub use wit_bindgen;
}

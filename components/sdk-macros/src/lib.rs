//! The `connector!` registration macro of the guest SDK.
//!
//! A connector's WIT is the single source of truth for its actions: names, typed
//! parameters and, in doc-comment tags, the facts WIT cannot express (action kind,
//! read-only, `contains` types, defaults, allowed values, configuration
//! variables). This macro reads that WIT at build time and generates, in the
//! connector crate:
//!
//! - the bindings (through `wit-bindgen`, reusing the SDK's platform bindings),
//! - one parameter struct per action, which the connector implements
//!   `soar_sdk::Action` for,
//! - the component's exports: each action function fills its struct (defaults
//!   applied, `@values` checked) and runs it, and `describe` is built from the
//!   doc tags.
//!
//! Mistakes in the WIT or its tags are compile errors pointing at the macro input.

mod docs;
mod emit;
mod input;
mod model;
mod scalar;

use proc_macro::TokenStream;

/// Registers a connector. See the `soar_sdk` crate documentation for usage.
#[proc_macro]
pub fn connector(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as input::ConnectorInput);
    match model::load(&input) {
        Ok(model) => emit::connector(&input, &model).into(),
        Err(message) => syn::Error::new(input.world.span(), message).to_compile_error().into(),
    }
}

//! The `connector!` registration macro of the guest SDK.
//!
//! A connector's WIT is the single source of truth for its actions: names, typed
//! parameters and, in doc-comment tags, the facts WIT cannot express (action kind,
//! read-only, `contains` types, configuration variables). This macro reads that WIT
//! at build time and generates, in the connector crate:
//!
//! - the bindings (through `wit-bindgen`, reusing the SDK's platform bindings),
//! - the `soar:connector/metadata` export (`describe`) built from the doc tags,
//! - the component exports for the connector's implementation type.
//!
//! Mistakes in the WIT or its tags are compile errors pointing at the macro input.

mod docs;
mod emit;
mod input;
mod model;

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

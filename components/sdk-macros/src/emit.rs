//! Token generation: bindings, the `describe` export and the component exports.

use crate::input::ConnectorInput;
use crate::model::{Action, Config, Model, Param};
use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

pub fn connector(input: &ConnectorInput, model: &Model) -> TokenStream {
    let world = &input.world;
    let paths = &input.wit;
    let with = model.imports.iter().map(|(key, module)| {
        let module: syn::Path = syn::parse_str(module).expect("module paths are generated valid");
        quote!(#key: #module,)
    });
    let implementation = &input.implementation;
    let actions_module = idents(&model.actions_module);
    let metadata = quote!(__soar_connector::exports::soar::connector::metadata);
    let describe = describe(model);
    quote! {
        #[doc(hidden)]
        #[allow(clippy::all, missing_docs, unsafe_op_in_unsafe_fn)]
        mod __soar_connector {
            ::soar_sdk::__private::wit_bindgen::generate!({
                world: #world,
                path: [#(#paths),*],
                runtime_path: "::soar_sdk::__private::wit_bindgen::rt",
                with: { #(#with)* },
            });
        }

        /// The connector's actions: one method per function of its WIT `actions` interface.
        pub use __soar_connector::exports::#(#actions_module)::*::Guest as Actions;

        impl #metadata::Guest for #implementation {
            fn describe() -> #metadata::ConnectorInfo {
                use #metadata::*;
                #describe
            }
        }

        // Component exports exist only in the WebAssembly build; native builds
        // (unit tests of the connector's logic) have nothing to export.
        #[cfg(target_arch = "wasm32")]
        __soar_connector::export!(#implementation with_types_in __soar_connector);
    }
}

fn describe(model: &Model) -> TokenStream {
    let Model { name, product, description, actions_interface, .. } = model;
    let config = model.config.iter().map(config);
    let actions = model.actions.iter().map(action);
    quote! {
        ConnectorInfo {
            name: #name.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: #description.into(),
            product: #product.into(),
            actions_interface: #actions_interface.into(),
            configuration: vec![#(#config),*],
            actions: vec![#(#actions),*],
        }
    }
}

fn config(config: &Config) -> TokenStream {
    let Config { name, description, ty, required, role } = config;
    let (ty, role) = (variant(ty), variant(role));
    quote! {
        ConfigInfo {
            name: #name.into(),
            description: #description.into(),
            type_: ConfigType::#ty,
            required: #required,
            role: ConfigRole::#role,
        }
    }
}

fn action(action: &Action) -> TokenStream {
    let Action { name, identifier, description, kind, read_only, params } = action;
    let kind = variant(kind);
    let params = params.iter().map(param);
    quote! {
        ActionInfo {
            name: #name.into(),
            identifier: #identifier.into(),
            description: #description.into(),
            kind: ActionKind::#kind,
            read_only: #read_only,
            parameters: vec![#(#params),*],
        }
    }
}

fn param(param: &Param) -> TokenStream {
    let Param { name, description, ty, required, contains } = param;
    quote! {
        ParameterInfo {
            name: #name.into(),
            description: #description.into(),
            type_: #ty.into(),
            required: #required,
            contains: vec![#(#contains.into()),*],
        }
    }
}

/// `investigate` → `Investigate`, as wit-bindgen names enum cases.
/// The Rust name of a WIT enum case: `tls-verification` is `TlsVerification`.
fn variant(name: &str) -> Ident {
    let camel: String = name
        .split('-')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map(|c| c.to_ascii_uppercase()).into_iter().chain(chars).collect::<String>()
        })
        .collect();
    Ident::new(&camel, Span::call_site())
}

fn idents(parts: &[String]) -> Vec<Ident> {
    parts.iter().map(|part| Ident::new(part, Span::call_site())).collect()
}

//! Token generation: bindings, the parameter structs, and the component's
//! exports (the actions and `describe`).

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
    let actions_module = idents(&model.actions_module);
    let metadata = quote!(__soar_connector::exports::soar::connector::metadata);
    let describe = describe(model);
    let structs = model.actions.iter().map(parameter_struct);
    let functions = model.actions.iter().map(action_function);
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

        /// The type the component's exports are implemented on.
        #[doc(hidden)]
        pub struct __Connector;

        #(#structs)*

        impl __soar_connector::exports::#(#actions_module)::*::Guest for __Connector {
            #(#functions)*
        }

        impl #metadata::Guest for __Connector {
            fn describe() -> #metadata::ConnectorInfo {
                use #metadata::*;
                #describe
            }
        }

        // Component exports exist only in the WebAssembly build; native builds
        // (unit tests of the connector's logic) have nothing to export.
        #[cfg(target_arch = "wasm32")]
        __soar_connector::export!(__Connector with_types_in __soar_connector);
    }
}

/// `pub struct GetIoc { pub id: String, pub source: String }`: the action's
/// parameters as the connector's code reads them. A defaulted parameter is a
/// plain field; `Default` gives every default (and empty values elsewhere).
fn parameter_struct(action: &Action) -> TokenStream {
    let name = struct_name(action);
    let doc = format!("The parameters of `{}`: {}", action.name, action.description);
    let fields = action.params.iter().map(|param| {
        let (field, ty, doc) = (field_name(param), field_type(param), &param.description);
        quote!(#[doc = #doc] pub #field: #ty,)
    });
    let defaults = action.params.iter().map(|param| {
        let field = field_name(param);
        match &param.default {
            Some(default) => {
                let value = param.scalar.literal(default).expect("defaults are checked by the model");
                quote!(#field: #value,)
            }
            None => quote!(#field: ::core::default::Default::default(),),
        }
    });
    quote! {
        #[doc = #doc]
        #[derive(Debug, Clone, PartialEq)]
        pub struct #name { #(#fields)* }

        impl ::core::default::Default for #name {
            fn default() -> Self {
                Self { #(#defaults)* }
            }
        }
    }
}

/// The exported function of one action: checks `@values`, fills in defaults,
/// and runs the connector's `Action` implementation of the struct.
fn action_function(action: &Action) -> TokenStream {
    let function = Ident::new(&action.wit_name.replace('-', "_"), Span::call_site());
    let name = struct_name(action);
    let arguments = action.params.iter().map(|param| {
        let (field, ty) = (field_name(param), param.scalar.rust_type());
        if param.required { quote!(#field: #ty) } else { quote!(#field: ::core::option::Option<#ty>) }
    });
    let checks = action.params.iter().filter(|param| !param.values.is_empty()).map(|param| {
        let (field, spec_name, values) = (field_name(param), &param.name, &param.values);
        let check = quote!(::soar_sdk::validate::one_of(#spec_name, &#field, &[#(#values),*]));
        if param.required {
            quote!(let #field = #check?;)
        } else {
            quote!(let #field = #field.map(|#field| #check).transpose()?;)
        }
    });
    let fields = action.params.iter().map(|param| {
        let field = field_name(param);
        match &param.default {
            Some(default) => {
                let value = param.scalar.literal(default).expect("defaults are checked by the model");
                quote!(#field: #field.unwrap_or_else(|| #value),)
            }
            None => quote!(#field,),
        }
    });
    quote! {
        fn #function(#(#arguments),*) -> ::soar_sdk::ActionOutcome {
            #(#checks)*
            ::soar_sdk::Action::run(#name { #(#fields)* })
        }
    }
}

/// The body of `describe`: the connector's description as constant tables,
/// turned into the WIT records by one loop per table. Building each record in
/// straight-line code instead would cost a few hundred bytes of code per
/// parameter, the largest single function of a connector.
fn describe(model: &Model) -> TokenStream {
    let Model { name, product, description, actions_interface, .. } = model;
    let config = model.config.iter().map(config);
    let actions = model.actions.iter().map(action);
    quote! {
        struct ConfigRow {
            name: &'static str,
            description: &'static str,
            type_: ConfigType,
            required: bool,
            role: ConfigRole,
            default: Option<&'static str>,
        }
        struct ActionRow {
            name: &'static str,
            identifier: &'static str,
            description: &'static str,
            kind: ActionKind,
            read_only: bool,
            parameters: &'static [ParamRow],
        }
        struct ParamRow {
            name: &'static str,
            description: &'static str,
            type_: &'static str,
            required: bool,
            contains: &'static [&'static str],
            default: Option<&'static str>,
            values: &'static [&'static str],
        }
        const CONFIGURATION: &[ConfigRow] = &[#(#config),*];
        const ACTIONS: &[ActionRow] = &[#(#actions),*];
        fn texts(texts: &[&str]) -> Vec<String> {
            texts.iter().map(|text| text.to_string()).collect()
        }
        ConnectorInfo {
            name: #name.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: #description.into(),
            product: #product.into(),
            actions_interface: #actions_interface.into(),
            configuration: CONFIGURATION
                .iter()
                .map(|config| ConfigInfo {
                    name: config.name.into(),
                    description: config.description.into(),
                    type_: config.type_,
                    required: config.required,
                    role: config.role,
                    default: config.default.map(Into::into),
                })
                .collect(),
            actions: ACTIONS
                .iter()
                .map(|action| ActionInfo {
                    name: action.name.into(),
                    identifier: action.identifier.into(),
                    description: action.description.into(),
                    kind: action.kind,
                    read_only: action.read_only,
                    parameters: action
                        .parameters
                        .iter()
                        .map(|param| ParameterInfo {
                            name: param.name.into(),
                            description: param.description.into(),
                            type_: param.type_.into(),
                            required: param.required,
                            contains: texts(param.contains),
                            default: param.default.map(Into::into),
                            values: texts(param.values),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

fn config(config: &Config) -> TokenStream {
    let Config { name, description, ty, required, role, default } = config;
    let (ty, role, default) = (variant(ty), variant(role), optional_text(default));
    quote! {
        ConfigRow {
            name: #name,
            description: #description,
            type_: ConfigType::#ty,
            required: #required,
            role: ConfigRole::#role,
            default: #default,
        }
    }
}

fn action(action: &Action) -> TokenStream {
    let Action { name, identifier, description, kind, read_only, params, .. } = action;
    let kind = variant(kind);
    let params = params.iter().map(param);
    quote! {
        ActionRow {
            name: #name,
            identifier: #identifier,
            description: #description,
            kind: ActionKind::#kind,
            read_only: #read_only,
            parameters: &[#(#params),*],
        }
    }
}

fn param(param: &Param) -> TokenStream {
    let Param { name, description, ty, required, contains, default, values, .. } = param;
    let default = optional_text(default);
    quote! {
        ParamRow {
            name: #name,
            description: #description,
            type_: #ty,
            required: #required,
            contains: &[#(#contains),*],
            default: #default,
            values: &[#(#values),*],
        }
    }
}

fn optional_text(text: &Option<String>) -> TokenStream {
    match text {
        Some(text) => quote!(Some(#text)),
        None => quote!(None),
    }
}

/// `get-messagesearch-results` → `GetMessagesearchResults`.
fn struct_name(action: &Action) -> Ident {
    variant(&action.wit_name)
}

/// The field (and argument) for a parameter; a Rust keyword becomes a raw
/// identifier (`r#type`).
fn field_name(param: &Param) -> Ident {
    syn::parse_str::<Ident>(&param.name).unwrap_or_else(|_| Ident::new_raw(&param.name, Span::call_site()))
}

/// The field's type: a defaulted parameter always has a value.
fn field_type(param: &Param) -> TokenStream {
    let ty = param.scalar.rust_type();
    if param.required || param.default.is_some() { ty } else { quote!(::core::option::Option<#ty>) }
}

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

//! The platform interfaces a connector imports (`soar:connector`), one module per
//! capability, each shaped like wasmtime's own: a context type, a `*View` trait, a
//! `HasData` marker and an `add_to_linker` function.

pub mod config;
pub mod ingest;
pub mod log;
pub mod state;
pub mod vault;

/// Bindings for the `soar:connector/connector` world: the platform imports and the
/// `metadata` export. WASI types are wasmtime-wasi's own, so a `wasi:http` body
/// stream can be handed to the vault.
pub mod bindings {
    wasmtime::component::bindgen!({
        world: "soar:connector/connector",
        path: "../wit/connector",
        imports: {
            "soar:connector/vault.add-stream": async | trappable,
            default: trappable,
        },
        exports: { default: async },
        with: {
            "wasi:io": wasmtime_wasi_io::bindings::wasi::io,
            "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
            "wasi:random": wasmtime_wasi::p2::bindings::random,
            "wasi:http": wasmtime_wasi_http::p2::bindings::http,
        },
    });
}

pub use bindings::soar::connector::types::{ActionError, ActionResult};

/// Adds every platform interface to `linker`.
pub fn add_to_linker<T>(linker: &mut wasmtime::component::Linker<T>) -> wasmtime::Result<()>
where
    T: config::ConfigView + state::StateView + vault::VaultView + ingest::IngestView + log::LogView + 'static,
{
    config::add_to_linker(linker)?;
    state::add_to_linker(linker)?;
    vault::add_to_linker(linker)?;
    ingest::add_to_linker(linker)?;
    log::add_to_linker(linker)?;
    Ok(())
}

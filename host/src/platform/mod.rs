//! The platform interfaces a connector imports (`soar:connector`), one module per
//! capability, each shaped like wasmtime's own: a context type, a `*View` trait, a
//! `HasData` marker and an `add_to_linker` function.

pub mod config;
pub mod ingest;
pub mod log;
pub mod state;
pub mod vault;

pub use crate::bindings::soar::connector::types::{ActionError, ActionResult};

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

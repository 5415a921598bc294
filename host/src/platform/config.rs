//! `soar:connector/config`: the asset's configuration values.

use crate::asset::Asset;
use crate::bindings::soar::connector::config::{self, Host};
use std::sync::Arc;
use wasmtime::component::{HasData, Linker};

/// What `config.get` answers from.
pub struct ConfigCtx {
    asset: Arc<Asset>,
}

impl ConfigCtx {
    /// Serves `asset`'s values.
    pub fn new(asset: Arc<Asset>) -> Self {
        Self { asset }
    }
}

/// Access to a [`ConfigCtx`] in the store's data.
pub trait ConfigView: Send {
    fn config(&mut self) -> &mut ConfigCtx;
}

struct HasConfig;

impl HasData for HasConfig {
    type Data<'a> = &'a mut ConfigCtx;
}

/// Adds `soar:connector/config` to `linker`.
pub fn add_to_linker<T: ConfigView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    config::add_to_linker::<T, HasConfig>(linker, T::config)
}

impl Host for ConfigCtx {
    fn get(&mut self, name: String) -> wasmtime::Result<Option<String>> {
        Ok(self.asset.value(&name).map(str::to_string))
    }
}

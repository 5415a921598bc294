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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connector_reads_exactly_its_assets_values() {
        let values = [("base_url", "https://vision.example.com"), ("client_secret", "s3cret-value-123")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut ctx = ConfigCtx::new(Arc::new(Asset::from_values("vision", values, &[])));
        assert_eq!(ctx.get("base_url".into()).unwrap().as_deref(), Some("https://vision.example.com"));
        // The connector needs its credentials; keeping them out of output is the redactor's work.
        assert_eq!(ctx.get("client_secret".into()).unwrap().as_deref(), Some("s3cret-value-123"));
        assert_eq!(ctx.get("HOME".into()).unwrap(), None, "nothing but the asset: no environment");
        assert_eq!(ctx.get("".into()).unwrap(), None);
    }
}

//! Loading a connector: its signature verified before anything is compiled, its
//! code compiled (or taken from the compile cache) and pre-linked, its actions
//! described and checked against their exports; by path, or by name, shared.

use crate::bindings::Connector;
use crate::bindings::exports::soar::connector::metadata as wit;
use crate::context::{ActionContext, Capabilities};
use crate::error::Error;
use crate::manifest::ConnectorInfo;
use crate::names::check_connector_name;
use crate::params::ParamSignature;
use crate::plugin::{Action, FileStamp, Loaded, Plugin, PluginDir};
use crate::runtime::{Compiled, Runtime, Trust};
use std::path::Path;
use std::sync::Arc;
use wasmtime::component::InstancePre;
use wasmtime::component::types::ComponentItem;

impl Runtime {
    /// The installed connector `name` of `plugins`, shared: the first call
    /// verifies and loads it, later ones return the same plugin for as long as
    /// its file is unchanged (a replaced or rewritten file is verified and
    /// loaded again).
    pub async fn plugin(&self, plugins: &PluginDir, name: &str) -> Result<Arc<Plugin>, Error> {
        let path = plugins.find(name)?;
        let read_error = |source| Error::ReadPlugin { path: path.clone(), source };
        let mut file = std::fs::File::open(&path).map_err(read_error)?;
        let stamp = FileStamp::of(&file.metadata().map_err(read_error)?);
        if let Some(loaded) = self.loaded.lock().ok().and_then(|loaded| {
            loaded.get(&path).filter(|loaded| loaded.stamp == stamp).map(|loaded| loaded.plugin.clone())
        }) {
            return Ok(loaded);
        }
        let plugin = Arc::new(self.load_file(&mut file, &path).await?);
        if let Ok(mut loaded) = self.loaded.lock() {
            loaded.insert(path, Loaded { stamp, plugin: plugin.clone() });
        }
        Ok(plugin)
    }

    /// Loads the component at `path`: compiles it (or reuses cached code),
    /// links it, and asks it to describe itself.
    ///
    /// The signature is checked first: a component that is not signed by a
    /// trusted key is refused before any of it is compiled.
    pub async fn load(&self, path: &Path) -> Result<Plugin, Error> {
        let mut file =
            std::fs::File::open(path).map_err(|source| Error::ReadPlugin { path: path.to_path_buf(), source })?;
        self.load_file(&mut file, path).await
    }

    /// [`Runtime::load`] of an open file. When the file verifies and its code is
    /// in the compile cache, the file is read once in small chunks and hashed
    /// once, for its signature and its identity, and never held whole (the
    /// cache recorded its digest); otherwise it is read whole, and what is
    /// verified is what is compiled.
    async fn load_file(&self, file: &mut std::fs::File, path: &Path) -> Result<Plugin, Error> {
        let read_error = |source| Error::ReadPlugin { path: path.to_path_buf(), source };
        if let Trust::Signed(store) = &self.trust
            && let Some((signers, identity)) = store.verify_file(file)
            && let Some(compiled) = self.cached(&identity)
        {
            return self.ready(compiled, &identity, signers, path).await;
        }
        use std::io::{Read, Seek};
        file.rewind().map_err(read_error)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(read_error)?;
        self.load_bytes(&bytes, path).await
    }

    /// [`Runtime::load`] of a component already in memory (pulled from a
    /// registry, read from a bundle); `path` names it in errors.
    pub async fn load_bytes(&self, bytes: &[u8], path: &Path) -> Result<Plugin, Error> {
        let signers = match &self.trust {
            Trust::Signed(store) => {
                store.verify(bytes).map_err(|reason| Error::Untrusted { path: path.to_path_buf(), reason })?
            }
            Trust::AllowUnsigned => {
                tracing::warn!(
                    "signature checks are OFF (--allow-unsigned): loading {} without verifying it",
                    path.display()
                );
                Vec::new()
            }
        };
        let identity = crate::signing::identity(bytes);
        let compiled = self.compile(bytes, &identity)?;
        self.ready(compiled, &identity, signers, path).await
    }

    /// Links the compiled component (verified, of `identity`), asks it to
    /// describe itself unless the cache kept its description, and checks its
    /// actions against their exports.
    async fn ready(
        &self,
        Compiled { component, sha256, description }: Compiled,
        identity: &str,
        signers: Vec<crate::signing::TrustedKey>,
        path: &Path,
    ) -> Result<Plugin, Error> {
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|err| Error::Link { path: path.to_path_buf(), message: format!("{err:#}") })?;

        // What was kept is checked below exactly as a fresh answer would be.
        let kept = description.and_then(|json| serde_json::from_str::<wit::ConnectorInfo>(&json).ok());
        let info: ConnectorInfo = match kept {
            Some(info) => info.into(),
            None => {
                let info = describe(self, &pre, path).await?;
                if let Ok(json) = serde_json::to_string(&info) {
                    self.remember_description(identity, &json);
                }
                info.into()
            }
        };
        let bad_plugin = |message: String| Error::BadPlugin { path: path.to_path_buf(), message };
        // The name becomes file and directory names (plugin, state): it must be one
        // safe path component.
        check_connector_name(&info.name).map_err(|reason| bad_plugin(format!("it declares a name that {reason}")))?;
        let interface = component.get_export_index(None, &info.actions_interface).ok_or_else(|| {
            bad_plugin(format!("it does not export its actions interface {}", info.actions_interface))
        })?;
        let ComponentItem::ComponentInstance(instance_type) = component
            .component_type()
            .exports(&self.engine)
            .find(|(name, _)| *name == info.actions_interface)
            .map(|(_, export)| export.ty)
            .ok_or_else(|| bad_plugin(format!("no type for {}", info.actions_interface)))?
        else {
            return Err(bad_plugin(format!("{} is not an interface", info.actions_interface)));
        };
        let mut actions = Vec::new();
        for (function, item) in instance_type.exports(&self.engine) {
            let ComponentItem::ComponentFunc(func_type) = item.ty else { continue };
            let action_info = info
                .actions
                .iter()
                .find(|a| a.wit_name() == function)
                .cloned()
                .ok_or_else(|| bad_plugin(format!("its describe export does not describe action {function}")))?;
            let export = component
                .get_export_index(Some(&interface), function)
                .ok_or_else(|| bad_plugin(format!("no export index for {function}")))?;
            let results: Vec<_> = func_type.results().collect();
            let [result] = results.as_slice() else {
                return Err(bad_plugin(format!(
                    "action {function} returns {} values, not one action result",
                    results.len()
                )));
            };
            crate::outcome::check_type(result).map_err(|reason| bad_plugin(format!("action {function}: {reason}")))?;
            let params =
                func_type.params().map(|(name, ty)| ParamSignature { name: name.replace('-', "_"), ty }).collect();
            let aliases =
                [crate::manifest::normalize(&action_info.name), crate::manifest::normalize(&action_info.identifier)];
            actions.push(Action { info: action_info, params, export, aliases });
        }
        Ok(Plugin { info, pre, actions, digest: sha256, signers, path: path.to_path_buf() })
    }
}

/// Calls the component's `describe` export in a store that grants nothing.
async fn describe(
    runtime: &Runtime,
    pre: &InstancePre<ActionContext>,
    path: &Path,
) -> Result<wit::ConnectorInfo, Error> {
    let _slot = runtime.slot().await?;
    let mut store = runtime.new_store(Capabilities::inert("describe"));
    let bad_plugin = |message: String| Error::BadPlugin { path: path.to_path_buf(), message };
    let instance =
        pre.instantiate_async(&mut store).await.map_err(|err| bad_plugin(format!("cannot instantiate it: {err:#}")))?;
    let connector = Connector::new(&mut store, &instance)
        .map_err(|err| bad_plugin(format!("it does not export soar:connector/metadata: {err:#}")))?;
    let info = connector
        .soar_connector_metadata()
        .call_describe(&mut store)
        .await
        .map_err(|err| bad_plugin(format!("its describe export failed: {err:#}")))?;
    Ok(info)
}

//! Plugins: connector components found by name in a plugin directory, compiled
//! (or loaded from the compile cache), pre-linked, and described.

use crate::bindings::Connector;
use crate::context::{ActionContext, Capabilities};
use crate::error::Error;
use crate::manifest::{ActionInfo, ActionKind, ConnectorInfo};
use crate::names::check_connector_name;
use crate::params::ParamSignature;
use crate::runtime::{Runtime, Trust};
use crate::signing::TrustedKey;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{ComponentExportIndex, InstancePre};

/// The file extension of connector components.
pub const EXTENSION: &str = "wasm";

/// A directory of connector components, `<name>.wasm` each.
#[derive(Debug, Clone)]
pub struct PluginDir {
    dir: PathBuf,
}

impl PluginDir {
    /// The plugins in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Where connector `name` is (or would be) installed; `None` for a name that
    /// is not a valid connector name (and so could point outside the directory).
    pub fn path_of(&self, name: &str) -> Option<PathBuf> {
        check_connector_name(name).ok()?;
        Some(self.dir.join(format!("{name}.{EXTENSION}")))
    }

    /// The installed connector `name`.
    pub fn find(&self, name: &str) -> Result<PathBuf, Error> {
        match self.path_of(name) {
            Some(path) if path.is_file() => Ok(path),
            _ => {
                Err(Error::ConnectorNotFound { name: name.to_string(), dir: self.dir.clone(), installed: self.names() })
            }
        }
    }

    /// The names of the installed connectors, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let path = entry.path();
                (path.extension()? == EXTENSION).then(|| path.file_stem()?.to_str().map(str::to_string))?
            })
            .filter(|name| check_connector_name(name).is_ok())
            .collect();
        names.sort();
        names
    }
}

/// A loaded connector, ready to run actions.
pub struct Plugin {
    pub(crate) info: ConnectorInfo,
    pub(crate) pre: InstancePre<ActionContext>,
    actions: Vec<Action>,
    digest: String,
    signers: Vec<TrustedKey>,
    path: PathBuf,
}

/// One action: what the connector says about it, and its reflected signature.
pub struct Action {
    /// The action's description.
    pub info: ActionInfo,
    /// The parameters with their WIT types, in call order.
    pub params: Vec<ParamSignature>,
    pub(crate) export: ComponentExportIndex,
}

impl Runtime {
    /// Loads the component at `path`: compiles it (or reuses cached code),
    /// links it, and asks it to describe itself.
    ///
    /// The signature is checked first: a component that is not signed by a
    /// trusted key is refused before any of it is compiled.
    pub async fn load(&self, path: &Path) -> Result<Plugin, Error> {
        let bytes = std::fs::read(path).map_err(|source| Error::ReadPlugin { path: path.to_path_buf(), source })?;
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
        let digest = hex::encode(Sha256::digest(bytes));
        let component = self.compile(bytes, &digest)?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|err| Error::Link { path: path.to_path_buf(), message: format!("{err:#}") })?;

        let info = describe(self, &pre, path).await?;
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
            actions.push(Action { info: action_info, params, export });
        }
        Ok(Plugin { info, pre, actions, digest, signers, path: path.to_path_buf() })
    }
}

/// Calls the component's `describe` export in a store that grants nothing.
async fn describe(runtime: &Runtime, pre: &InstancePre<ActionContext>, path: &Path) -> Result<ConnectorInfo, Error> {
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
    Ok(info.into())
}

impl Plugin {
    /// What the connector says about itself.
    pub fn info(&self) -> &ConnectorInfo {
        &self.info
    }

    /// The SHA-256 of the component file (hex).
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// The trusted keys that signed the component (none with `--allow-unsigned`).
    pub fn signers(&self) -> &[TrustedKey] {
        &self.signers
    }

    /// Where the component was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The names of the component's imports and exports (its world), as the
    /// wasm OCI artifact's config lists them.
    pub fn world(&self) -> (Vec<String>, Vec<String>) {
        let component = self.pre.component();
        let ty = component.component_type();
        let engine = component.engine();
        (
            ty.imports(engine).map(|(name, _)| name.to_string()).collect(),
            ty.exports(engine).map(|(name, _)| name.to_string()).collect(),
        )
    }

    /// The actions, in WIT order.
    pub fn actions(&self) -> &[Action] {
        &self.actions
    }

    /// The action called `name` (`get ioc`, `get-ioc`, `get_ioc` or its identifier).
    pub fn action(&self, name: &str) -> Result<&Action, Error> {
        self.find_action(|action| action.info.answers_to(name), name.to_string())
    }

    /// The connector's action of `kind` (`on poll` is its `ingest` action).
    pub fn action_of_kind(&self, kind: ActionKind) -> Result<&Action, Error> {
        self.find_action(|action| action.info.kind == kind, format!("(an action of kind {kind:?})").to_lowercase())
    }

    fn find_action(&self, wanted: impl Fn(&Action) -> bool, asked_for: String) -> Result<&Action, Error> {
        self.actions.iter().find(|action| wanted(action)).ok_or_else(|| Error::UnknownAction {
            connector: self.info.name.clone(),
            action: asked_for,
            known: self.actions.iter().map(|action| action.info.wit_name()).collect(),
        })
    }
}

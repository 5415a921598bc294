//! Plugins: connector components found by name in a plugin directory, and what
//! a loaded one is (loading one is `load.rs`).

use crate::context::ActionContext;
use crate::error::Error;
use crate::manifest::{ActionInfo, ActionKind, ConnectorInfo};
use crate::names::check_connector_name;
use crate::params::ParamSignature;
use crate::signing::TrustedKey;
use std::path::{Path, PathBuf};
use std::sync::Arc;
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
///
/// A `Plugin` is `Send` and `Sync` and is meant to be shared (an `Arc<Plugin>`,
/// as `Runtime::plugin` hands out): it holds compiled, pre-linked code, and
/// every action gets a fresh instance of it.
pub struct Plugin {
    pub(crate) info: ConnectorInfo,
    pub(crate) pre: InstancePre<ActionContext>,
    pub(crate) actions: Vec<Action>,
    pub(crate) digest: String,
    pub(crate) signers: Vec<TrustedKey>,
    pub(crate) path: PathBuf,
}

/// One action: what the connector says about it, and its reflected signature.
pub struct Action {
    /// The action's description.
    pub info: ActionInfo,
    /// The parameters with their WIT types, in call order.
    pub params: Vec<ParamSignature>,
    pub(crate) export: ComponentExportIndex,
    /// Its name and identifier, normalized (see [`crate::manifest::normalize`]):
    /// what `Plugin::action` compares with.
    pub(crate) aliases: [String; 2],
}

/// A plugin loaded by name, and the identity of its file then.
pub(crate) struct Loaded {
    pub stamp: FileStamp,
    pub plugin: Arc<Plugin>,
}

/// What changes when a file is replaced or written to: its device and inode,
/// size, and modification and change times (the change time cannot be set back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl FileStamp {
    /// The stamp of the file `meta` describes.
    pub fn of(meta: &std::fs::Metadata) -> Self {
        use std::os::unix::fs::MetadataExt;
        Self {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }
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
        let wanted = crate::manifest::normalize(name);
        self.find_action(|action| action.aliases.contains(&wanted), name.to_string())
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

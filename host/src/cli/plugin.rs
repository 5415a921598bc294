//! `host plugin install|list|remove`: the connectors in the plugin directory.

use super::{Global, report_error};
use clap::{Args, Subcommand};
use soar_host::storage::fs::{private_dir, write_atomic};
use soar_host::{Error, Limits, Plugin, exit, signing};
use std::path::{Path, PathBuf};

/// Arguments of `host plugin`.
#[derive(Args)]
pub struct PluginArgs {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Verify a component and install it under its connector name (replacing an older one)
    Install {
        /// The signed component
        file: PathBuf,
        /// Replace an installed connector of the same name even if other keys signed it
        #[arg(long)]
        replace: bool,
    },
    /// List installed connectors: name, version, digest, signers (JSON)
    List,
    /// Remove an installed connector
    Remove {
        /// The connector's name
        name: String,
    },
}

/// Runs `host plugin`; returns the exit code.
pub async fn run(global: &Global, args: PluginArgs) -> i32 {
    let result = match args.command {
        Command::Install { file, replace } => install(global, &file, replace).await,
        Command::List => list(global).await,
        Command::Remove { name } => remove(global, &name),
    };
    match result {
        Ok(()) => exit::SUCCESS,
        Err(err) => {
            report_error(&err.to_string());
            err.exit_code()
        }
    }
}

fn summary(plugin: &Plugin) -> serde_json::Value {
    let signers: Vec<_> =
        plugin.signers().iter().map(|key| serde_json::json!({"key_id": key.key_id, "name": key.name})).collect();
    serde_json::json!({
        "name": plugin.info().name,
        "version": plugin.info().version,
        "product": plugin.info().product,
        "digest": plugin.digest(),
        "signers": signers,
        "path": plugin.path(),
    })
}

/// Verifies (and loads, to learn its name and version) before copying: an
/// untrusted component never reaches the plugin directory. A connector signed by
/// other keys than the installed one of the same name replaces it only with
/// `--replace`: a trusted key of one publisher must not silently take over
/// another publisher's connector.
async fn install(global: &Global, file: &Path, replace: bool) -> Result<(), Error> {
    let runtime = global.runtime(Limits::default())?;
    let plugin = runtime.load(file).await?;
    let plugins = global.plugin_dir();
    let name = plugin.info().name.clone();
    let target = plugins.path_of(&name).ok_or_else(|| Error::BadPlugin {
        path: file.to_path_buf(),
        message: format!("its declared name '{}' is not a valid connector name", name.escape_debug()),
    })?;
    let bytes = std::fs::read(file).map_err(|source| Error::ReadPlugin { path: file.to_path_buf(), source })?;
    let mut replaced = None;
    if let Ok(installed) = std::fs::read(&target) {
        let old_signers = signing::summarize(&installed).map(|summary| summary.key_ids).unwrap_or_default();
        let new_signers = signing::summarize(&bytes).map(|summary| summary.key_ids).unwrap_or_default();
        let shared = old_signers.iter().any(|key| new_signers.contains(key));
        if !shared && !replace {
            return Err(Error::Replace { name, installed: signer_list(&old_signers), new: signer_list(&new_signers) });
        }
        replaced = runtime.load(&target).await.ok().map(|old| old.info().version.clone());
    }
    private_dir(plugins.path())
        .and_then(|()| write_atomic(&target, &bytes))
        .map_err(|err| Error::Host(format!("cannot install into {}: {err}", plugins.path().display())))?;
    let mut installed = summary(&plugin);
    installed["path"] = serde_json::json!(target);
    installed["replaced_version"] = serde_json::json!(replaced);
    println!("{}", serde_json::to_string_pretty(&installed).unwrap_or_default());
    Ok(())
}

fn signer_list(key_ids: &[String]) -> String {
    if key_ids.is_empty() { "no key (unsigned)".into() } else { format!("key {}", key_ids.join(", key ")) }
}

async fn list(global: &Global) -> Result<(), Error> {
    let runtime = global.runtime(Limits::default())?;
    let plugins = global.plugin_dir();
    let mut listed = Vec::new();
    for name in plugins.names() {
        let Some(path) = plugins.path_of(&name) else { continue };
        listed.push(match runtime.load(&path).await {
            Ok(plugin) => summary(&plugin),
            Err(err) => serde_json::json!({"name": name, "path": path, "error": err.to_string()}),
        });
    }
    println!("{}", serde_json::to_string_pretty(&listed).unwrap_or_default());
    Ok(())
}

fn remove(global: &Global, name: &str) -> Result<(), Error> {
    let path = global.plugin_dir().find(name)?;
    std::fs::remove_file(&path).map_err(|err| Error::Host(format!("cannot remove {}: {err}", path.display())))?;
    println!("{}", serde_json::json!({"removed": name, "path": path}));
    Ok(())
}

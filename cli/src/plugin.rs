//! `host plugin`: the connectors in the plugin directory, and how they get
//! there: from files, registries (`oci://`) and offline bundles, pinned by a
//! lock file.

use super::options::{LoadArgs, PluginDirArgs, TlsArgs};
use super::report_error;
use clap::{Args, Subcommand};
use soar_host::distribution::lock::{self, LockFile};
use soar_host::distribution::{self, Credentials, Installer, OciReference, Registry, RegistryOptions, Source};
use soar_host::{Error, Plugin, PluginDir, Runtime, RuntimeOptions, exit};
use std::path::PathBuf;

/// Arguments of `host plugin`.
#[derive(Args)]
pub struct PluginArgs {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Verify and install connectors from a signed component, an offline bundle (.tar), or a registry
    Install {
        /// A component file, a bundle, or oci://REGISTRY/REPOSITORY:TAG (or @sha256:DIGEST)
        source: String,
        /// Replace an installed connector of the same name even if other keys signed it
        #[arg(long)]
        replace: bool,
        #[command(flatten)]
        registry: RegistryArgs,
        #[command(flatten)]
        plugins: PluginDirArgs,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// List installed connectors: name, version, digest, signers, source (JSON)
    List {
        #[command(flatten)]
        plugins: PluginDirArgs,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Remove an installed connector
    Remove {
        /// The connector's name
        name: String,
        #[command(flatten)]
        plugins: PluginDirArgs,
    },
    /// Push a signed component to a registry as a wasm OCI artifact; prints the manifest digest
    Push {
        /// The signed component
        file: PathBuf,
        /// oci://REGISTRY/REPOSITORY:TAG, the tag a semantic version
        reference: String,
        #[command(flatten)]
        registry: RegistryArgs,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Install exactly what a lock file records (each connector pinned by its digests)
    Sync {
        /// The lock file [default: plugins.lock in the plugin directory]
        #[arg(long, value_name = "FILE")]
        lock: Option<PathBuf>,
        /// Replace installed connectors even if other keys signed them
        #[arg(long)]
        replace: bool,
        #[command(flatten)]
        registry: RegistryArgs,
        #[command(flatten)]
        plugins: PluginDirArgs,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Write installed connectors into an offline bundle (an OCI image layout in a tar file)
    Export {
        /// The bundle to write
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
        /// Add the public keys of the connectors' trusted signers (never trusted by installing)
        #[arg(long)]
        with_keys: bool,
        /// The connectors
        #[arg(required = true)]
        names: Vec<String>,
        #[command(flatten)]
        plugins: PluginDirArgs,
        #[command(flatten)]
        load: LoadArgs,
    },
}

/// How registries are reached. Credentials come from `SOAR_REGISTRY_USERNAME`
/// and `SOAR_REGISTRY_PASSWORD`, or else from the Docker configuration
/// (`$DOCKER_CONFIG/config.json` or `~/.docker/config.json`).
#[derive(Args)]
struct RegistryArgs {
    /// Allow plain HTTP when the registry does not answer over HTTPS (loopback registries always may)
    #[arg(long)]
    insecure_registry: bool,
    #[command(flatten)]
    tls: TlsArgs,
}

/// Runs `host plugin`; returns the exit code.
pub async fn run(args: PluginArgs) -> i32 {
    let result = match args.command {
        Command::Install { source, replace, registry, plugins, load } => {
            install(&load, &plugins.plugins(), &source, replace, &registry).await
        }
        Command::List { plugins, load } => list(&load, &plugins.plugins()).await,
        Command::Remove { name, plugins } => remove(&plugins.plugins(), &name),
        Command::Push { file, reference, registry, load } => push(&load, file, &reference, &registry).await,
        Command::Sync { lock, replace, registry, plugins, load } => {
            sync(&load, &plugins.plugins(), lock, replace, &registry).await
        }
        Command::Export { output, with_keys, names, plugins, load } => {
            export(&load, &plugins.plugins(), output, with_keys, &names).await
        }
    };
    match result {
        Ok(()) => exit::SUCCESS,
        Err(err) => {
            report_error(&err.to_string());
            err.exit_code()
        }
    }
}

fn registry(args: &RegistryArgs) -> Result<Registry, Error> {
    let username = std::env::var("SOAR_REGISTRY_USERNAME").ok().filter(|value| !value.is_empty());
    let password = std::env::var("SOAR_REGISTRY_PASSWORD").ok().filter(|value| !value.is_empty());
    let credentials = match (username, password) {
        (Some(username), Some(password)) => Some(Credentials::Basic { username, password }),
        (None, None) => None,
        _ => return Err(Error::Usage("set both SOAR_REGISTRY_USERNAME and SOAR_REGISTRY_PASSWORD, or neither".into())),
    };
    Registry::new(RegistryOptions {
        insecure: args.insecure_registry,
        ca_bundle: args.tls.settings().ca_bundle,
        credentials,
    })
}

fn print(value: &impl serde::Serialize) {
    println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
}

/// A file or a registry reference installs one connector and prints it; a
/// bundle prints the list of what it installed.
async fn install(
    load: &LoadArgs,
    plugins: &PluginDir,
    source: &str,
    replace: bool,
    args: &RegistryArgs,
) -> Result<(), Error> {
    let source = Source::parse(source)?;
    let runtime = load.loader()?;
    let installed = Installer::new(&runtime, plugins).install(&source, &registry(args)?, replace).await?;
    match (&source, installed.as_slice()) {
        (Source::Bundle(_), _) => print(&installed),
        (_, [one]) => print(one),
        _ => print(&installed),
    }
    Ok(())
}

fn summary(plugin: &Plugin, locked: Option<&lock::Locked>) -> serde_json::Value {
    serde_json::json!({
        "name": plugin.info().name,
        "version": plugin.info().version,
        "product": plugin.info().product,
        "digest": plugin.digest(),
        "signers": distribution::install::signers_of(plugin),
        "path": plugin.path(),
        "source": locked.map(|locked| &locked.source),
        "manifest_digest": locked.and_then(|locked| locked.manifest_digest.as_ref()),
    })
}

async fn list(load: &LoadArgs, plugins: &PluginDir) -> Result<(), Error> {
    let runtime = load.loader()?;
    let lock = Installer::new(&runtime, plugins).lock()?;
    let mut listed = Vec::new();
    for name in plugins.names() {
        let Some(path) = plugins.path_of(&name) else { continue };
        listed.push(match runtime.load(&path).await {
            Ok(plugin) => {
                // The lock's source is the installed file's only if the content is the locked one.
                let locked =
                    lock.get(&name).filter(|locked| locked.content_digest == format!("sha256:{}", plugin.digest()));
                summary(&plugin, locked)
            }
            Err(err) => serde_json::json!({"name": name, "path": path, "error": err.to_string()}),
        });
    }
    print(&listed);
    Ok(())
}

fn remove(plugins: &PluginDir, name: &str) -> Result<(), Error> {
    // Removing loads nothing: the runtime trusts no key and caches nothing.
    let runtime = Runtime::new(RuntimeOptions { instance_pool: None, ..Default::default() })?;
    let path = Installer::new(&runtime, plugins).remove(name)?;
    println!("{}", serde_json::json!({"removed": name, "path": path}));
    Ok(())
}

async fn push(load: &LoadArgs, file: PathBuf, reference: &str, args: &RegistryArgs) -> Result<(), Error> {
    let reference: OciReference = reference.parse()?;
    let registry = registry(args)?;
    let runtime = load.loader()?;
    print(&distribution::push(&runtime, &registry, &file, &reference).await?);
    Ok(())
}

async fn sync(
    load: &LoadArgs,
    plugins: &PluginDir,
    lock: Option<PathBuf>,
    replace: bool,
    args: &RegistryArgs,
) -> Result<(), Error> {
    let lock = lock.unwrap_or_else(|| plugins.path().join(lock::FILE_NAME));
    let wanted = LockFile::load(&lock)?;
    let registry = registry(args)?;
    let runtime = load.loader()?;
    print(&Installer::new(&runtime, plugins).sync(&wanted, &registry, replace).await?);
    Ok(())
}

async fn export(
    load: &LoadArgs,
    plugins: &PluginDir,
    output: PathBuf,
    with_keys: bool,
    names: &[String],
) -> Result<(), Error> {
    let runtime = load.loader()?;
    let connectors = distribution::export(&runtime, plugins, names, with_keys, &output).await?;
    print(&serde_json::json!({"bundle": output, "connectors": connectors}));
    Ok(())
}

//! Publishing: pushing a signed connector to a registry, and exporting
//! installed connectors into an offline bundle.

use super::artifact::{Artifact, ComponentWorld, Described};
use super::bundle;
use super::reference::OciReference;
use super::registry::Registry;
use crate::error::Error;
use crate::plugin::{Plugin, PluginDir};
use crate::runtime::Runtime;
use serde::Serialize;
use std::path::Path;

/// What was pushed.
#[derive(Debug, Clone, Serialize)]
pub struct Pushed {
    pub reference: String,
    pub manifest_digest: String,
    pub content_digest: String,
    pub name: String,
    pub version: String,
    pub signers: Vec<String>,
}

fn described(plugin: &Plugin) -> Described {
    let (imports, exports) = plugin.world();
    Described {
        name: plugin.info().name.clone(),
        version: plugin.info().version.clone(),
        product: plugin.info().product.clone(),
        signers: plugin.signers().iter().map(|key| key.key_id.clone()).collect(),
        world: ComponentWorld { exports, imports, target: None },
    }
}

/// Pushes the component at `file` to `reference` (a tag). The component is
/// verified against the runtime's trust first (unsigned ones pass only with
/// `--allow-unsigned`), so a registry never receives what the host would
/// refuse to run.
pub async fn push(
    runtime: &Runtime,
    registry: &Registry,
    file: &Path,
    reference: &OciReference,
) -> Result<Pushed, Error> {
    let Some(tag) = reference.tag().filter(|_| reference.digest().is_none()) else {
        return Err(Error::Usage(format!(
            "cannot push to {reference}: push to a version tag (oci://REGISTRY/REPOSITORY:1.2.0), not a digest"
        )));
    };
    let component = std::fs::read(file).map_err(|source| Error::ReadPlugin { path: file.to_path_buf(), source })?;
    let plugin = runtime.load_bytes(&component, file).await?;
    if tag.to_string() != plugin.info().version {
        tracing::warn!("the tag {tag} differs from the connector's version {}", plugin.info().version);
    }
    let described = described(&plugin);
    let artifact = Artifact::new(component, &described);
    let manifest_digest = registry.push(reference, &artifact).await?;
    Ok(Pushed {
        reference: reference.to_string(),
        manifest_digest,
        content_digest: super::artifact::digest_of(&artifact.component),
        name: described.name,
        version: described.version,
        signers: described.signers,
    })
}

/// A connector written into a bundle.
#[derive(Debug, Clone, Serialize)]
pub struct Exported {
    pub name: String,
    pub version: String,
    pub manifest_digest: String,
}

/// Writes the installed connectors `names` into a bundle at `output`, each
/// verified as if it were loaded; with `with_keys`, the public keys of their
/// trusted signers too.
pub async fn export(
    runtime: &Runtime,
    plugins: &PluginDir,
    names: &[String],
    with_keys: bool,
    output: &Path,
) -> Result<Vec<Exported>, Error> {
    let mut artifacts = Vec::new();
    let mut exported = Vec::new();
    let mut keys = Vec::new();
    for name in names {
        let path = plugins.find(name)?;
        let component = std::fs::read(&path).map_err(|source| Error::ReadPlugin { path: path.clone(), source })?;
        let plugin = runtime.load_bytes(&component, &path).await?;
        if with_keys {
            for key in plugin.signers() {
                if !keys.iter().any(|(id, _)| *id == key.key_id) {
                    keys.push((key.key_id.clone(), key.key.to_bytes()));
                }
            }
        }
        let (name, version) = (plugin.info().name.clone(), plugin.info().version.clone());
        let artifact = Artifact::new(component, &described(&plugin));
        exported.push(Exported {
            name: name.clone(),
            version: version.clone(),
            manifest_digest: artifact.manifest_digest(),
        });
        artifacts.push((format!("{name}:{version}"), artifact));
    }
    bundle::write(output, &artifacts, &keys)
        .map_err(|err| Error::Host(format!("cannot write the bundle {}: {err}", output.display())))?;
    Ok(exported)
}

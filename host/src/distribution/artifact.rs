//! A connector as an OCI artifact, in the layout of the CNCF wasm OCI guidance
//! (the one `wkg` reads and writes): an image manifest whose config is
//! `application/vnd.wasm.config.v0+json` and whose one layer, of media type
//! `application/wasm`, is the signed component byte for byte.
//!
//! The manifest is a function of the component alone (no timestamps): pushing
//! the same signed file twice gives the same manifest digest, and an exported
//! bundle holds the same manifest as the registry.

use oci_client::manifest::{OciDescriptor, OciImageManifest};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The manifest's media type.
pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// The config's media type.
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.wasm.config.v0+json";
/// The one layer's media type.
pub const LAYER_MEDIA_TYPE: &str = "application/wasm";
/// Annotation: the connector's name.
pub const ANNOTATION_NAME: &str = "org.opencontainers.image.title";
/// Annotation: the connector's version.
pub const ANNOTATION_VERSION: &str = "org.opencontainers.image.version";
/// Annotation: the vendor product the connector is for.
pub const ANNOTATION_DESCRIPTION: &str = "org.opencontainers.image.description";
/// Annotation: the ids of the keys whose signatures the component carries,
/// comma-separated (informative: installs verify the signatures themselves).
pub const ANNOTATION_SIGNERS: &str = "soar.connector.signers";

/// The largest component accepted from a registry or a bundle. Connectors are
/// well under a megabyte; a registry offering more is refused before it sends.
pub const MAX_COMPONENT: u64 = 64 << 20;
/// The largest manifest or config accepted.
pub const MAX_METADATA: u64 = 1 << 20;

/// The wasm config (`application/vnd.wasm.config.v0+json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WasmConfig {
    /// Fixed at the Unix epoch, as reproducible builds do, so that the
    /// manifest depends on the component alone.
    pub created: String,
    pub architecture: String,
    pub os: String,
    pub layer_digests: Vec<String>,
    pub component: ComponentWorld,
}

/// The component's world, by the names of its imports and exports.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ComponentWorld {
    pub exports: Vec<String>,
    pub imports: Vec<String>,
    pub target: Option<String>,
}

/// What the registry or bundle is told about a connector.
#[derive(Debug, Clone)]
pub struct Described {
    pub name: String,
    pub version: String,
    pub product: String,
    pub signers: Vec<String>,
    pub world: ComponentWorld,
}

/// A connector made into its three blobs.
#[derive(Debug, Clone)]
pub struct Artifact {
    pub manifest: Vec<u8>,
    pub config: Vec<u8>,
    pub component: Vec<u8>,
}

/// `sha256:<hex>` of `bytes`.
pub fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

impl Artifact {
    /// The artifact of the signed `component` described by `described`.
    pub fn new(component: Vec<u8>, described: &Described) -> Self {
        let layer_digest = digest_of(&component);
        let config = WasmConfig {
            created: "1970-01-01T00:00:00Z".into(),
            architecture: "wasm".into(),
            os: "wasip2".into(),
            layer_digests: vec![layer_digest.clone()],
            component: described.world.clone(),
        };
        let config = serde_json::to_vec(&config).expect("the config serializes");
        let mut annotations = BTreeMap::from([
            (ANNOTATION_NAME.to_string(), described.name.clone()),
            (ANNOTATION_VERSION.to_string(), described.version.clone()),
            (ANNOTATION_SIGNERS.to_string(), described.signers.join(",")),
        ]);
        if !described.product.is_empty() {
            annotations.insert(ANNOTATION_DESCRIPTION.to_string(), described.product.clone());
        }
        let manifest = OciImageManifest {
            schema_version: 2,
            media_type: Some(MANIFEST_MEDIA_TYPE.into()),
            config: descriptor(CONFIG_MEDIA_TYPE, &config),
            layers: vec![descriptor(LAYER_MEDIA_TYPE, &component)],
            subject: None,
            artifact_type: None,
            annotations: Some(annotations),
        };
        let manifest = serde_json::to_vec(&manifest).expect("the manifest serializes");
        Self { manifest, config, component }
    }

    /// The manifest's digest: what pins this artifact.
    pub fn manifest_digest(&self) -> String {
        digest_of(&self.manifest)
    }
}

fn descriptor(media_type: &str, bytes: &[u8]) -> OciDescriptor {
    OciDescriptor {
        media_type: media_type.into(),
        digest: digest_of(bytes),
        size: bytes.len() as i64,
        urls: None,
        annotations: None,
        artifact_type: None,
    }
}

/// Reads a manifest and checks it is a connector's: the wasm config and
/// exactly one `application/wasm` layer of a size the host accepts. Returns the
/// layer's descriptor.
pub fn component_layer(manifest: &[u8]) -> Result<(OciImageManifest, OciDescriptor), String> {
    let manifest: OciImageManifest =
        serde_json::from_slice(manifest).map_err(|err| format!("its manifest is not an OCI image manifest ({err})"))?;
    if let Some(media_type) = manifest.media_type.as_deref().filter(|media_type| *media_type != MANIFEST_MEDIA_TYPE) {
        return Err(format!("its manifest is of media type {media_type}, not {MANIFEST_MEDIA_TYPE}"));
    }
    if manifest.config.media_type != CONFIG_MEDIA_TYPE {
        return Err(format!(
            "its config is of media type {}, not {CONFIG_MEDIA_TYPE}: it is not a wasm component",
            manifest.config.media_type
        ));
    }
    let [layer] = manifest.layers.as_slice() else {
        return Err(format!("it has {} layers; a connector has exactly one", manifest.layers.len()));
    };
    if layer.media_type != LAYER_MEDIA_TYPE {
        return Err(format!("its layer is of media type {}, not {LAYER_MEDIA_TYPE}", layer.media_type));
    }
    super::reference::check_digest(&layer.digest)?;
    if layer.size < 0 || layer.size as u64 > MAX_COMPONENT {
        return Err(format!("its layer declares {} bytes; the limit is {} MiB", layer.size, MAX_COMPONENT >> 20));
    }
    let layer = layer.clone();
    Ok((manifest, layer))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn described() -> Described {
        Described {
            name: "cofense".into(),
            version: "1.0.0".into(),
            product: "Cofense Vision".into(),
            signers: vec!["ab12".into()],
            world: ComponentWorld { exports: vec!["soar:connector/metadata".into()], imports: vec![], target: None },
        }
    }

    #[test]
    fn the_manifest_follows_the_wasm_layout_and_depends_on_the_component_alone() {
        let artifact = Artifact::new(b"\0asm component".to_vec(), &described());
        let again = Artifact::new(b"\0asm component".to_vec(), &described());
        assert_eq!(artifact.manifest_digest(), again.manifest_digest());
        let manifest: serde_json::Value = serde_json::from_slice(&artifact.manifest).unwrap();
        assert_eq!(manifest["mediaType"], MANIFEST_MEDIA_TYPE);
        assert_eq!(manifest["config"]["mediaType"], CONFIG_MEDIA_TYPE);
        assert_eq!(manifest["config"]["digest"], digest_of(&artifact.config));
        assert_eq!(manifest["layers"][0]["mediaType"], LAYER_MEDIA_TYPE);
        assert_eq!(manifest["layers"][0]["digest"], digest_of(b"\0asm component"));
        assert_eq!(manifest["annotations"][ANNOTATION_NAME], "cofense");
        assert_eq!(manifest["annotations"][ANNOTATION_VERSION], "1.0.0");
        assert_eq!(manifest["annotations"][ANNOTATION_SIGNERS], "ab12");
        let config: serde_json::Value = serde_json::from_slice(&artifact.config).unwrap();
        assert_eq!(config["os"], "wasip2");
        assert_eq!(config["layerDigests"][0], digest_of(b"\0asm component"));
        let (_, layer) = component_layer(&artifact.manifest).unwrap();
        assert_eq!(layer.size, 14);
    }

    #[test]
    fn manifests_that_are_not_one_component_are_refused() {
        let good: serde_json::Value =
            serde_json::from_slice(&Artifact::new(b"x".to_vec(), &described()).manifest).unwrap();
        let variant = |change: &dyn Fn(&mut serde_json::Value)| {
            let mut manifest = good.clone();
            change(&mut manifest);
            component_layer(&serde_json::to_vec(&manifest).unwrap()).unwrap_err()
        };
        assert!(variant(&|m| m["mediaType"] = "application/vnd.oci.image.index.v1+json".into()).contains("media type"));
        assert!(
            variant(&|m| m["config"]["mediaType"] = "application/vnd.oci.image.config.v1+json".into())
                .contains("not a wasm component")
        );
        assert!(variant(&|m| m["layers"] = serde_json::json!([])).contains("0 layers"));
        assert!(
            variant(&|m| {
                let layer = m["layers"][0].clone();
                m["layers"] = serde_json::json!([layer.clone(), layer]);
            })
            .contains("2 layers")
        );
        assert!(variant(&|m| m["layers"][0]["mediaType"] = "application/octet-stream".into()).contains("layer"));
        assert!(variant(&|m| m["layers"][0]["size"] = (1u64 << 40).into()).contains("limit"));
        assert!(variant(&|m| m["layers"][0]["digest"] = "sha512:00".into()).contains("not a digest"));
        assert!(component_layer(b"<html>").unwrap_err().contains("not an OCI image manifest"));
    }
}

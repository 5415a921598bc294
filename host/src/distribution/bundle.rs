//! Offline bundles: an OCI image layout in one tar file, for machines that
//! cannot reach a registry. It holds each connector's manifest, config and
//! signed component as content-addressed blobs, indexed by `<name>:<version>`,
//! and optionally the signers' public keys under `keys/` (for the operator to
//! check and trust; installing never trusts them by itself).
//!
//! A bundle is read into memory, never extracted: its entry names cannot
//! reach the file system, and every blob is checked against its digest.

use super::artifact::{self, Artifact, MANIFEST_MEDIA_TYPE, MAX_COMPONENT, MAX_METADATA, digest_of};
use crate::storage::fs::write_atomic_with_mode;
use oci_client::manifest::{ImageIndexEntry, OciImageIndex};
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Component, Path};

/// The index's media type.
const INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";
/// The annotation that names a manifest in a layout.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
const LAYOUT_FILE: &str = "oci-layout";
const LAYOUT_VERSION: &str = r#"{"imageLayoutVersion":"1.0.0"}"#;
/// The largest bundle read.
pub const MAX_BUNDLE: u64 = 1 << 30;
/// Bundles are shared between machines: readable by others, like signed
/// components.
const BUNDLE_MODE: u32 = 0o644;

/// One connector in a bundle.
#[derive(Debug, Clone)]
pub struct BundleItem {
    /// `<name>:<version>`, as the index names it.
    pub ref_name: Option<String>,
    pub manifest_digest: String,
    pub component: Vec<u8>,
}

/// Writes `artifacts` (each under its `<name>:<version>`) and the public
/// `keys` (`(key id, key bytes)`) to `path`, atomically: a failure leaves no
/// partial bundle. The entries are in a fixed order with fixed metadata, so
/// the same connectors give the same bundle.
pub fn write(path: &Path, artifacts: &[(String, Artifact)], keys: &[(String, Vec<u8>)]) -> std::io::Result<()> {
    let mut blobs: BTreeMap<String, &[u8]> = BTreeMap::new();
    let mut manifests = Vec::new();
    for (ref_name, artifact) in artifacts {
        for blob in [&artifact.manifest, &artifact.config, &artifact.component] {
            blobs.insert(digest_of(blob), blob);
        }
        manifests.push(ImageIndexEntry {
            media_type: MANIFEST_MEDIA_TYPE.into(),
            digest: artifact.manifest_digest(),
            size: artifact.manifest.len() as i64,
            platform: None,
            artifact_type: None,
            annotations: Some(BTreeMap::from([(REF_NAME.to_string(), ref_name.clone())])),
        });
    }
    let index = OciImageIndex {
        schema_version: 2,
        media_type: Some(INDEX_MEDIA_TYPE.into()),
        manifests,
        artifact_type: None,
        annotations: None,
    };
    let index = serde_json::to_vec(&index).map_err(std::io::Error::other)?;

    let mut tar = tar::Builder::new(Vec::new());
    let mut add = |name: &str, bytes: &[u8]| {
        let mut header = tar::Header::new_ustar();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, name, bytes)
    };
    add(LAYOUT_FILE, LAYOUT_VERSION.as_bytes())?;
    add("index.json", &index)?;
    for (digest, bytes) in &blobs {
        add(&format!("blobs/sha256/{}", digest.trim_start_matches("sha256:")), bytes)?;
    }
    for (key_id, key) in keys {
        add(&format!("keys/{key_id}.pub"), key)?;
    }
    write_atomic_with_mode(path, &tar.into_inner()?, BUNDLE_MODE)
}

/// Whether `path` is a tar file (by its `ustar` magic), so that `plugin
/// install` can tell a bundle from a component.
pub fn is_bundle(path: &Path) -> bool {
    let mut header = [0u8; 262];
    std::fs::metadata(path).is_ok_and(|meta| meta.is_file())
        && std::fs::File::open(path).and_then(|mut file| file.read_exact(&mut header)).is_ok()
        && &header[257..262] == b"ustar"
}

/// Reads the bundle at `path`: every blob checked against its digest, every
/// manifest a connector's (as from a registry).
pub fn read(path: &Path) -> Result<Vec<BundleItem>, String> {
    if !std::fs::metadata(path).is_ok_and(|meta| meta.is_file()) {
        return Err("it is not a regular file".into());
    }
    let file = std::fs::File::open(path).map_err(|err| format!("cannot read it: {err}"))?;
    let size = file.metadata().map_err(|err| format!("cannot read it: {err}"))?.len();
    if size > MAX_BUNDLE {
        return Err(format!("it is {size} bytes; the limit is {} MiB", MAX_BUNDLE >> 20));
    }
    let mut layout = None;
    let mut index = None;
    let mut blobs: HashMap<String, Vec<u8>> = HashMap::new();
    let mut archive = tar::Archive::new(file);
    for entry in archive.entries().map_err(|err| format!("it is not a tar file: {err}"))? {
        let mut entry = entry.map_err(|err| format!("it is not a readable tar file: {err}"))?;
        let name = entry.path().map_err(|err| format!("an entry has an unreadable name: {err}"))?.into_owned();
        let shown = name.display().to_string().escape_debug().to_string();
        match entry.header().entry_type() {
            tar::EntryType::Directory => continue,
            tar::EntryType::Regular => {}
            other => return Err(format!("entry {shown} is not a regular file ({other:?}); bundles hold only files")),
        }
        if !name.components().all(|part| matches!(part, Component::Normal(_))) {
            return Err(format!("entry {shown} is not a plain relative name"));
        }
        let Some(name) = name.to_str() else { continue };
        let limit = if name.starts_with("blobs/") { MAX_COMPONENT } else { MAX_METADATA };
        if entry.size() > limit {
            return Err(format!("entry {shown} is {} bytes; the limit is {limit}", entry.size()));
        }
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        entry
            .by_ref()
            .take(limit)
            .read_to_end(&mut bytes)
            .map_err(|err| format!("cannot read entry {shown}: {err}"))?;
        let slot = match name {
            LAYOUT_FILE => &mut layout,
            "index.json" => &mut index,
            _ => {
                let Some(hex) = name.strip_prefix("blobs/sha256/") else { continue };
                let digest = format!("sha256:{hex}");
                super::reference::check_digest(&digest)
                    .map_err(|_| format!("entry {shown} is not named by a digest"))?;
                if digest_of(&bytes) != digest {
                    return Err(format!("blob {digest} does not match its digest: the bundle was altered"));
                }
                if blobs.insert(digest, bytes).is_some() {
                    return Err(format!("entry {shown} appears twice"));
                }
                continue;
            }
        };
        if slot.replace(bytes).is_some() {
            return Err(format!("entry {shown} appears twice"));
        }
    }
    let layout: serde_json::Value = layout
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or("it has no readable oci-layout file: it is not an OCI image layout")?;
    if layout["imageLayoutVersion"] != "1.0.0" {
        return Err(format!("its image layout version is {}, not 1.0.0", layout["imageLayoutVersion"]));
    }
    let index: OciImageIndex = index
        .ok_or("it has no index.json")
        .and_then(|bytes| serde_json::from_slice(&bytes).map_err(|_| "its index.json is not an OCI image index"))?;
    let mut items = Vec::new();
    for entry in &index.manifests {
        let manifest = blobs.get(&entry.digest).ok_or_else(|| format!("it lacks the manifest {}", entry.digest))?;
        let (_, layer) =
            artifact::component_layer(manifest).map_err(|err| format!("manifest {}: {err}", entry.digest))?;
        let component = blobs.get(&layer.digest).ok_or_else(|| format!("it lacks the component {}", layer.digest))?;
        if component.len() as i64 != layer.size || manifest.len() as i64 != entry.size {
            return Err(format!("manifest {}: a size does not match its descriptor", entry.digest));
        }
        let ref_name = entry.annotations.as_ref().and_then(|annotations| annotations.get(REF_NAME)).cloned();
        items.push(BundleItem { ref_name, manifest_digest: entry.digest.clone(), component: component.clone() });
    }
    if items.is_empty() {
        return Err("it holds no connector".into());
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distribution::artifact::{ComponentWorld, Described};

    fn artifact(body: &[u8]) -> Artifact {
        let world = ComponentWorld { exports: vec![], imports: vec![], target: None };
        let described = Described {
            name: "cofense".into(),
            version: "1.0.0".into(),
            product: String::new(),
            signers: vec![],
            world,
        };
        Artifact::new(body.to_vec(), &described)
    }

    fn tar_of(entries: &[(&str, tar::EntryType, &[u8])]) -> Vec<u8> {
        let mut tar = tar::Builder::new(Vec::new());
        for (name, kind, bytes) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_entry_type(*kind);
            header.set_mode(0o644);
            if *kind == tar::EntryType::Symlink {
                header.set_link_name("/etc/passwd").unwrap();
            }
            // Names that `append_data` would refuse are written raw.
            header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
            header.set_cksum();
            tar.append(&header, *bytes).unwrap();
        }
        tar.into_inner().unwrap()
    }

    #[test]
    fn a_written_bundle_reads_back_and_is_reproducible() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bundle.tar");
        let artifacts = [("cofense:1.0.0".to_string(), artifact(b"\0asm one"))];
        write(&path, &artifacts, &[("ab12".into(), b"key".to_vec())]).unwrap();
        assert!(is_bundle(&path));
        let first = std::fs::read(&path).unwrap();
        write(&path, &artifacts, &[("ab12".into(), b"key".to_vec())]).unwrap();
        assert_eq!(first, std::fs::read(&path).unwrap());
        let items = read(&path).unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].component, b"\0asm one");
        assert_eq!(items[0].ref_name.as_deref(), Some("cofense:1.0.0"));
        assert_eq!(items[0].manifest_digest, artifacts[0].1.manifest_digest());
    }

    #[test]
    fn hostile_bundles_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let good = artifact(b"\0asm one");
        let hex = |bytes: &[u8]| digest_of(bytes).trim_start_matches("sha256:").to_string();
        let blob = |bytes: &[u8]| format!("blobs/sha256/{}", hex(bytes));
        let index = |digest: &str, size: usize| {
            format!(
                r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{MANIFEST_MEDIA_TYPE}","digest":"{digest}","size":{size}}}]}}"#
            )
        };
        let good_index = index(&good.manifest_digest(), good.manifest.len());
        let regular = tar::EntryType::Regular;
        let (manifest_name, config_name, component_name) =
            (blob(&good.manifest), blob(&good.config), blob(&good.component));
        let base = vec![
            (LAYOUT_FILE, regular, LAYOUT_VERSION.as_bytes()),
            ("index.json", regular, good_index.as_bytes()),
            (manifest_name.as_str(), regular, good.manifest.as_slice()),
            (config_name.as_str(), regular, good.config.as_slice()),
        ];
        let check = |entries: Vec<(&str, tar::EntryType, &[u8])>, why: &str| {
            let path = dir.path().join("hostile.tar");
            std::fs::write(&path, tar_of(&entries)).unwrap();
            let err = read(&path).unwrap_err();
            assert!(err.contains(why), "{why}: {err}");
        };
        let mut altered = base.clone();
        altered.push((component_name.as_str(), regular, b"\0asm two"));
        check(altered, "does not match its digest");
        check(base.clone(), "lacks the component");
        let mut link = base.clone();
        link.push((component_name.as_str(), tar::EntryType::Symlink, b""));
        check(link, "not a regular file");
        let mut escape = base.clone();
        escape.push(("../../etc/cron.d/x", regular, b"x"));
        check(escape, "plain relative name");
        let mut twice = base.clone();
        twice.push(("index.json", regular, good_index.as_bytes()));
        check(twice, "appears twice");
        let missing = index(&digest_of(b"none"), 4);
        let mut unknown = base.clone();
        unknown[1] = ("index.json", regular, missing.as_bytes());
        check(unknown, "lacks the manifest");
        let mut no_layout = base.clone();
        no_layout.remove(0);
        check(no_layout, "oci-layout");
        let std_path = dir.path().join("not.tar");
        std::fs::write(&std_path, b"plain text, not a tar").unwrap();
        assert!(!is_bundle(&std_path));
    }
}

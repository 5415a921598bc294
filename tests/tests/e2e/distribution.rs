//! Distribution through a real OCI registry (Debian's Distribution v2 on a
//! free loopback port): push, install by tag and by digest, the wasm artifact
//! layout read by an independent client, what a registry with hostile content
//! or a writer without the signing key can and cannot do, lock files and
//! sync, offline bundles, credentials, and HTTPS.

use base64::Engine as _;
use serde_json::Value;
use soar_host::exit;
use soar_tests::harness::{HostEnv, Run, component, trust_dir, unsigned_component};
use soar_tests::registry::{RegistryConfig, RegistryServer};
use soar_tests::tls::TestCa;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json";

/// A machine of its own: an empty plugin directory and a private data
/// directory, trusting the tests' development key.
struct Machine {
    env: HostEnv,
    plugins: TempDir,
}

impl Machine {
    fn new() -> Self {
        let plugins = tempfile::tempdir().unwrap();
        Self { env: HostEnv::with_plugins(plugins.path().to_path_buf()), plugins }
    }

    fn trusting(trust: &Path) -> Self {
        let plugins = tempfile::tempdir().unwrap();
        Self { env: HostEnv::with_plugins(plugins.path().to_path_buf()).with_trust(trust), plugins }
    }

    async fn host(&self, args: &[&str]) -> Run {
        self.env.run(args).await
    }

    /// `host` with these environment variables.
    async fn host_with(&self, vars: &[(&str, &str)], args: &[&str]) -> Run {
        let output = self.env.command().envs(vars.iter().copied()).args(args).output().await.expect("run host");
        Run::from_output(output)
    }

    fn installed(&self, name: &str) -> Option<Vec<u8>> {
        std::fs::read(self.plugins.path().join(format!("{name}.wasm"))).ok()
    }

    fn lock_file(&self) -> PathBuf {
        self.plugins.path().join("plugins.lock")
    }

    /// Everything in the plugin directory, for "nothing was written" checks.
    fn contents(&self) -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<_> = std::fs::read_dir(self.plugins.path())
            .unwrap()
            .flatten()
            .map(|entry| (entry.file_name().to_string_lossy().into_owned(), std::fs::read(entry.path()).unwrap()))
            .collect();
        files.sort();
        files
    }
}

fn signed(name: &str) -> Vec<u8> {
    std::fs::read(component(&format!("{name}.wasm"))).unwrap()
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes)))
}

/// `host plugin push` of `file` to `reference`, which must succeed; returns
/// the manifest digest it printed.
async fn push(machine: &Machine, file: &Path, reference: &str, extra: &[&str]) -> String {
    let mut args = vec!["plugin", "push", path_str(file), reference];
    args.extend_from_slice(extra);
    let run = machine.host(&args).await;
    assert_eq!(run.code, 0, "{run:#?}");
    let digest = run.json["manifest_digest"].as_str().unwrap_or_else(|| panic!("no digest: {run:#?}")).to_string();
    assert!(run.stdout.contains(&digest));
    digest
}

/// A copy of the unsigned cofense build, as someone without the key has it.
fn unsigned_cofense(dir: &Path) -> PathBuf {
    let path = dir.join("cofense-unsigned.wasm");
    std::fs::copy(unsigned_component("cofense.wasm"), &path).unwrap();
    path
}

#[tokio::test]
async fn push_then_install_by_tag_and_by_digest() {
    let registry = RegistryServer::start();
    let publisher = Machine::new();
    let reference = registry.reference("soar/cofense", "1.0.0");
    let digest = push(&publisher, &component("cofense.wasm"), &reference, &[]).await;

    let by_tag = Machine::new();
    let run = by_tag.host(&["plugin", "install", &reference]).await;
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(run.json["name"], "cofense");
    assert_eq!(run.json["manifest_digest"], digest.as_str());
    assert_eq!(run.json["source"], reference.as_str());
    assert_eq!(by_tag.installed("cofense").unwrap(), signed("cofense"), "installed byte for byte");
    let listed = by_tag.host(&["plugin", "list"]).await;
    assert_eq!(listed.json[0]["source"], reference.as_str(), "{listed:#?}");
    assert_eq!(listed.json[0]["manifest_digest"], digest.as_str());
    let actions = by_tag.host(&["actions", "cofense", "--json"]).await;
    assert_eq!(actions.code, 0, "the installed connector loads: {actions:#?}");

    let by_digest = Machine::new();
    let pinned = registry.pinned("soar/cofense", &digest);
    let run = by_digest.host(&["plugin", "install", &pinned]).await;
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(by_digest.installed("cofense").unwrap(), signed("cofense"));
    let lock = std::fs::read_to_string(by_digest.lock_file()).unwrap();
    assert!(lock.contains(&digest) && lock.contains(&sha256(&signed("cofense"))), "{lock}");

    // Pushing the same signed file again gives the same manifest.
    assert_eq!(push(&publisher, &component("cofense.wasm"), &reference, &[]).await, digest);
}

#[tokio::test]
async fn the_artifact_has_the_wasm_layout_and_its_layer_is_the_signed_file() {
    let registry = RegistryServer::start();
    let publisher = Machine::new();
    let digest =
        push(&publisher, &component("threatconnect.wasm"), &registry.reference("soar/threatconnect", "1.0.0"), &[])
            .await;

    // Read back with plain HTTP requests, not with the host's OCI client.
    let (status, body) = registry.get("/v2/soar/threatconnect/manifests/1.0.0", MANIFEST_ACCEPT).await;
    assert_eq!(status, 200);
    assert_eq!(sha256(&body), digest, "the manifest digest is the digest of the manifest served");
    let manifest: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(manifest["schemaVersion"], 2);
    assert_eq!(manifest["mediaType"], MANIFEST_ACCEPT);
    assert_eq!(manifest["config"]["mediaType"], "application/vnd.wasm.config.v0+json");
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1, "{manifest}");
    assert_eq!(layers[0]["mediaType"], "application/wasm");
    let annotations = &manifest["annotations"];
    assert_eq!(annotations["org.opencontainers.image.title"], "threatconnect");
    assert_eq!(annotations["org.opencontainers.image.version"], "1.0.0");
    let dev_key = soar_host::signing::TrustStore::load(&trust_dir()).unwrap().keys()[0].key_id.clone();
    assert_eq!(annotations["soar.connector.signers"], dev_key.as_str());

    let layer_path = format!("/v2/soar/threatconnect/blobs/{}", layers[0]["digest"].as_str().unwrap());
    let (status, layer) = registry.get(&layer_path, "*/*").await;
    assert_eq!(status, 200);
    assert_eq!(layer, signed("threatconnect"), "the layer is the signed component byte for byte");
    let config_path = format!("/v2/soar/threatconnect/blobs/{}", manifest["config"]["digest"].as_str().unwrap());
    let (_, config) = registry.get(&config_path, "*/*").await;
    let config: Value = serde_json::from_slice(&config).unwrap();
    assert_eq!((config["architecture"].as_str(), config["os"].as_str()), (Some("wasm"), Some("wasip2")));
    assert_eq!(config["layerDigests"][0], layers[0]["digest"]);
    let exports: Vec<&str> =
        config["component"]["exports"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(exports.iter().any(|name| name.starts_with("soar:connector/metadata")), "{exports:?}");
    let imports = config["component"]["imports"].as_array().unwrap();
    assert!(imports.iter().any(|name| name.as_str().unwrap().starts_with("wasi:http/outgoing-handler")), "{imports:?}");
}

#[tokio::test]
async fn an_unsigned_component_pushed_under_a_new_tag_is_refused_and_the_installed_one_kept() {
    let registry = RegistryServer::start();
    let publisher = Machine::new();
    push(&publisher, &component("cofense.wasm"), &registry.reference("soar/cofense", "1.0.0"), &[]).await;
    let operator = Machine::new();
    let run = operator.host(&["plugin", "install", &registry.reference("soar/cofense", "1.0.0")]).await;
    assert_eq!(run.code, 0, "{run:#?}");
    let before = operator.contents();

    // Someone with write access to the registry but not the signing key.
    let scratch = tempfile::tempdir().unwrap();
    let unsigned = unsigned_cofense(scratch.path());
    let refused =
        publisher.host(&["plugin", "push", path_str(&unsigned), &registry.reference("soar/cofense", "1.0.1")]).await;
    assert_eq!(refused.code, exit::CONNECTOR, "the host does not push what it would not run: {refused:#?}");
    assert!(refused.stderr.contains("unsigned"), "{}", refused.stderr);
    let (status, _) = registry.get("/v2/soar/cofense/manifests/1.0.1", MANIFEST_ACCEPT).await;
    assert_eq!(status, 404, "nothing was pushed");
    push(&publisher, &unsigned, &registry.reference("soar/cofense", "1.0.1"), &["--allow-unsigned"]).await;

    let run = operator.host(&["plugin", "install", &registry.reference("soar/cofense", "1.0.1")]).await;
    assert_eq!(run.code, exit::CONNECTOR, "{run:#?}");
    assert!(run.stderr.contains("refusing connector") && run.stderr.contains("unsigned"), "{}", run.stderr);
    assert_eq!(operator.contents(), before, "the installed connector and the lock file are as they were");
}

#[tokio::test]
async fn a_blob_altered_in_the_registry_storage_is_refused() {
    let registry = RegistryServer::start();
    let publisher = Machine::new();
    push(&publisher, &component("cofense.wasm"), &registry.reference("soar/cofense", "1.0.0"), &[]).await;
    let blob = registry.blob_file(&sha256(&signed("cofense")));
    let mut bytes = std::fs::read(&blob).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&blob, &bytes).unwrap();

    let operator = Machine::new();
    let run = operator.host(&["plugin", "install", &registry.reference("soar/cofense", "1.0.0")]).await;
    assert_eq!(run.code, exit::CONNECTOR, "{run:#?}");
    assert!(run.stderr.contains("does not match"), "{}", run.stderr);
    assert!(operator.contents().is_empty(), "nothing was written: {:?}", operator.contents());
}

#[tokio::test]
async fn a_digest_the_registry_does_not_hold_is_refused() {
    let registry = RegistryServer::start();
    let publisher = Machine::new();
    push(&publisher, &component("cofense.wasm"), &registry.reference("soar/cofense", "1.0.0"), &[]).await;
    let operator = Machine::new();
    let absent = format!("sha256:{}", "0".repeat(64));
    let run = operator.host(&["plugin", "install", &registry.pinned("soar/cofense", &absent)]).await;
    assert_eq!(run.code, exit::CONNECTOR, "{run:#?}");
    assert!(run.stderr.contains("no such manifest"), "{}", run.stderr);
    let run = operator.host(&["plugin", "install", &registry.reference("soar/nothing", "1.0.0")]).await;
    assert_eq!(run.code, exit::CONNECTOR, "{run:#?}");
    assert!(operator.contents().is_empty());
}

#[tokio::test]
async fn bad_references_are_refused_before_anything_is_sent() {
    let operator = Machine::new();
    // Nothing listens on port 9: a request would fail differently.
    for (reference, why) in [
        ("oci://127.0.0.1:9/soar/cofense:latest", "not a semantic version"),
        ("oci://127.0.0.1:9/soar/cofense", "version tag"),
        ("oci://127.0.0.1:9/Soar/cofense:1.0.0", "not a repository name"),
        ("oci://127.0.0.1:9/soar/cofense@sha256:1234", "not a digest"),
    ] {
        let run = operator.host(&["plugin", "install", reference]).await;
        assert_eq!(run.code, exit::INVALID_INPUT, "{reference}: {run:#?}");
        assert!(run.stderr.contains(why), "{reference}: {}", run.stderr);
        let run = operator.host(&["plugin", "push", path_str(&component("cofense.wasm")), reference]).await;
        assert_eq!(run.code, exit::INVALID_INPUT, "{reference}: {run:#?}");
    }
    // A digest names content that exists; a push makes a tag.
    let pinned = format!("oci://127.0.0.1:9/soar/cofense@sha256:{}", "0".repeat(64));
    let run = operator.host(&["plugin", "push", path_str(&component("cofense.wasm")), &pinned]).await;
    assert_eq!(run.code, exit::INVALID_INPUT, "{run:#?}");
    assert!(run.stderr.contains("version tag"), "{}", run.stderr);
    assert!(operator.contents().is_empty());
}

#[tokio::test]
async fn a_lock_file_and_sync_reproduce_an_install_pinned_by_digest() {
    let registry = RegistryServer::start();
    let publisher = Machine::new();
    let reference = registry.reference("soar/cofense", "1.0.0");
    push(&publisher, &component("cofense.wasm"), &reference, &[]).await;
    let first = Machine::new();
    assert_eq!(first.host(&["plugin", "install", &reference]).await.code, 0);
    let scratch = tempfile::tempdir().unwrap();
    let lock = scratch.path().join("plugins.lock");
    std::fs::copy(first.lock_file(), &lock).unwrap();

    // The tag moves to another build (the same one with a second signature).
    let extra = wasmsign2::KeyPair::generate();
    let moved = scratch.path().join("cofense-moved.wasm");
    std::fs::write(&moved, soar_host::signing::sign(&signed("cofense"), &extra.sk, &extra.pk).unwrap()).unwrap();
    push(&publisher, &moved, &reference, &[]).await;

    let second = Machine::new();
    let run = second.host(&["plugin", "sync", "--lock", path_str(&lock)]).await;
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(second.installed("cofense").unwrap(), signed("cofense"), "the locked build, not the moved tag");
    assert_eq!(std::fs::read_to_string(second.lock_file()).unwrap(), std::fs::read_to_string(&lock).unwrap());
    let again = second.host(&["plugin", "sync", "--lock", path_str(&lock)]).await;
    assert_eq!(again.code, 0, "{again:#?}");
    assert_eq!(again.json["unchanged"], serde_json::json!(["cofense"]));

    // A lock file whose content digest the registry's artifact does not have.
    let tampered = scratch.path().join("tampered.lock");
    let text = std::fs::read_to_string(&lock).unwrap();
    std::fs::write(&tampered, text.replace(&sha256(&signed("cofense")), &sha256(b"other"))).unwrap();
    let third = Machine::new();
    let run = third.host(&["plugin", "sync", "--lock", path_str(&tampered)]).await;
    assert_eq!(run.code, exit::CONNECTOR, "{run:#?}");
    assert!(run.stderr.contains("content digest"), "{}", run.stderr);
    assert!(third.contents().is_empty(), "nothing was written: {:?}", third.contents());

    // A lock file pointing at a device or a file elsewhere is read bounded,
    // and nothing of it is quoted.
    for source in ["file:/dev/zero", "bundle:/dev/zero", "file:/etc/passwd"] {
        let hostile = scratch.path().join("hostile.lock");
        let original = text.lines().find(|line| line.starts_with("source")).unwrap();
        std::fs::write(&hostile, text.replace(original, &format!("source = \"{source}\""))).unwrap();
        let run = third.host(&["plugin", "sync", "--lock", path_str(&hostile)]).await;
        assert_eq!(run.code, exit::CONNECTOR, "{source}: {run:#?}");
        assert!(!run.stderr.contains("root:"), "{}", run.stderr);
        assert!(third.contents().is_empty());
    }
}

#[tokio::test]
async fn an_exported_bundle_installs_with_no_registry_running() {
    // The source machine: both connectors installed from files.
    let source = Machine::new();
    for name in ["cofense", "threatconnect"] {
        assert_eq!(source.host(&["plugin", "install", path_str(&component(&format!("{name}.wasm")))]).await.code, 0);
    }
    let scratch = tempfile::tempdir().unwrap();
    let bundle = scratch.path().join("connectors.tar");
    let run = source
        .host(&["plugin", "export", "--output", path_str(&bundle), "--with-keys", "cofense", "threatconnect"])
        .await;
    assert_eq!(run.code, 0, "{run:#?}");
    let listing = std::process::Command::new("tar").arg("-tf").arg(&bundle).output().unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(listing.contains("oci-layout") && listing.contains("index.json"), "{listing}");
    let dev_key = soar_host::signing::TrustStore::load(&trust_dir()).unwrap().keys()[0].key_id.clone();
    assert!(listing.contains(&format!("keys/{dev_key}.pub")), "{listing}");

    // The air-gapped machine: one command, no registry anywhere.
    let target = Machine::new();
    let run = target.host(&["plugin", "install", path_str(&bundle)]).await;
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(run.json.as_array().map(Vec::len), Some(2), "{run:#?}");
    for name in ["cofense", "threatconnect"] {
        assert_eq!(target.installed(name).unwrap(), signed(name));
    }
    let lock = std::fs::read_to_string(target.lock_file()).unwrap();
    assert!(lock.contains("bundle:"), "{lock}");

    // The keys in a bundle are not trusted by being there.
    let empty_trust = tempfile::tempdir().unwrap();
    let untrusting = Machine::trusting(empty_trust.path());
    let run = untrusting.host(&["plugin", "install", path_str(&bundle)]).await;
    assert_eq!(run.code, exit::CONNECTOR, "{run:#?}");
    assert!(untrusting.contents().is_empty());

    // A bundle altered after export is refused as a whole.
    let mut bytes = std::fs::read(&bundle).unwrap();
    let entry = format!("blobs/sha256/{}", sha256(&signed("threatconnect")).trim_start_matches("sha256:"));
    let header = bytes.windows(entry.len()).position(|window| window == entry.as_bytes()).unwrap();
    assert_eq!(header % 512, 0, "the name starts a tar header");
    bytes[header + 512 + 4096] ^= 0x01;
    let altered = scratch.path().join("altered.tar");
    std::fs::write(&altered, &bytes).unwrap();
    let fresh = Machine::new();
    let run = fresh.host(&["plugin", "install", path_str(&altered)]).await;
    assert_eq!(run.code, exit::CONNECTOR, "{run:#?}");
    assert!(fresh.contents().is_empty(), "{:?}", fresh.contents());
}

#[tokio::test]
async fn registry_credentials_come_from_the_docker_config_or_the_environment() {
    let (user, password) = ("publisher", "s3cret-registry-password");
    let registry = RegistryServer::start_with(RegistryConfig { user: Some((user.into(), password.into())), tls: None });
    let reference = registry.reference("soar/cofense", "1.0.0");
    let file = component("cofense.wasm");
    let publisher = Machine::new();
    let docker = tempfile::tempdir().unwrap();

    let docker_dir = docker.path().to_str().unwrap();
    let push_args = ["plugin", "push", path_str(&file), &reference];
    let anonymous = publisher.host_with(&[("DOCKER_CONFIG", docker_dir)], &push_args).await;
    assert_eq!(anonymous.code, exit::ACTION_FAILED, "{anonymous:#?}");
    assert!(anonymous.stderr.contains("refused the credentials"), "{anonymous:#?}");

    // A Docker configuration that is not JSON is warned about, not trusted.
    std::fs::write(docker.path().join("config.json"), "{ not json").unwrap();
    let garbled = publisher.host_with(&[("DOCKER_CONFIG", docker_dir)], &push_args).await;
    assert_eq!(garbled.code, exit::ACTION_FAILED, "{garbled:#?}");
    assert!(garbled.stderr.contains("cannot read the Docker credentials"), "{}", garbled.stderr);

    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let config = serde_json::json!({"auths": {registry.address(): {"auth": auth}}});
    std::fs::write(docker.path().join("config.json"), config.to_string()).unwrap();
    let pushed = publisher.host_with(&[("DOCKER_CONFIG", docker_dir)], &push_args).await;
    assert_eq!(pushed.code, 0, "{pushed:#?}");

    let operator = Machine::new();
    let empty_docker = tempfile::tempdir().unwrap();
    let with_password = |password| {
        [
            ("DOCKER_CONFIG", empty_docker.path().to_str().unwrap()),
            ("SOAR_REGISTRY_USERNAME", user),
            ("SOAR_REGISTRY_PASSWORD", password),
        ]
    };
    let install_args = ["plugin", "install", &reference];
    let wrong = operator.host_with(&with_password("wrong"), &install_args).await;
    assert_eq!(wrong.code, exit::ACTION_FAILED, "{wrong:#?}");
    let half = operator.host_with(&with_password("")[..2], &install_args).await;
    assert_eq!(half.code, exit::INVALID_INPUT, "a user name without a password: {half:#?}");
    let installed = operator.host_with(&with_password(password), &install_args).await;
    assert_eq!(installed.code, 0, "{installed:#?}");
    assert_eq!(operator.installed("cofense").unwrap(), signed("cofense"));
    for run in [&anonymous, &pushed, &wrong, &installed] {
        let printed = format!("{}{}", run.stdout, run.stderr);
        assert!(!printed.contains(password) && !printed.contains(&auth), "a credential was printed: {printed}");
    }
    assert!(!std::fs::read_to_string(operator.lock_file()).unwrap().contains(password));
}

#[tokio::test]
async fn https_registries_are_verified_against_the_system_roots_and_the_ca_bundle() {
    let ca = TestCa::new("soar registry test CA");
    let scratch = tempfile::tempdir().unwrap();
    let bundle = scratch.path().join("ca.pem");
    // The registry's CA second in the bundle: every certificate of it counts.
    std::fs::write(&bundle, TestCa::new("another CA").pem() + &ca.pem()).unwrap();
    let registry = RegistryServer::start_with(RegistryConfig { user: None, tls: Some(ca) });
    assert!(registry.is_tls());
    let reference = registry.reference("soar/cofense", "1.0.0");
    let publisher = Machine::new();

    let untrusted = publisher.host(&["plugin", "push", path_str(&component("cofense.wasm")), &reference]).await;
    assert_eq!(untrusted.code, exit::ACTION_FAILED, "an unknown CA is refused: {untrusted:#?}");
    assert!(untrusted.stderr.contains("certificate"), "the error says why: {}", untrusted.stderr);
    push(&publisher, &component("cofense.wasm"), &reference, &["--ca-bundle", path_str(&bundle)]).await;
    let operator = Machine::new();
    let run = operator.host(&["plugin", "install", &reference, "--ca-bundle", path_str(&bundle)]).await;
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(operator.installed("cofense").unwrap(), signed("cofense"));
}

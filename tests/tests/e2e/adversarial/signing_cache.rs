//! Signing and the compile cache: nothing runs that was not verified, however
//! the cache, the trust store or the component file was tampered with.

use crate::signing::dev_key;
use sha2::{Digest, Sha256};
use soar_host::signing::TrustStore;
use soar_host::{Runtime, RuntimeOptions, Trust, exit};
use soar_tests::harness::{HostEnv, component, trust_dir, unsigned_component};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use wasmsign2::KeyPair;

fn unsigned(name: &str) -> Vec<u8> {
    std::fs::read(unsigned_component(name)).unwrap()
}

/// A plugin directory with the signed cofense and threatconnect components, and
/// an environment using it with `cache` as its compile cache.
fn with_cache(cache: &Path) -> (HostEnv, tempfile::TempDir) {
    let plugins = tempfile::tempdir().unwrap();
    for name in ["cofense.wasm", "threatconnect.wasm"] {
        std::fs::copy(component(name), plugins.path().join(name)).unwrap();
    }
    (HostEnv::with_plugins(plugins.path().to_path_buf()).with_cache(cache.to_path_buf()), plugins)
}

fn entries(cache: &Path, extension: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(cache)
        .map(|entries| {
            entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == extension)).collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

#[tokio::test]
async fn compiled_code_planted_under_another_components_name_is_never_run() {
    let cache = tempfile::tempdir().unwrap();
    let (env, _plugins) = with_cache(cache.path());
    let run = env.run(&["actions", "threatconnect", "--json"]).await;
    assert_eq!(run.code, 0, "{run:#?}");
    let threatconnect_code = entries(cache.path(), "cwasm").remove(0);
    let run = env.run(&["actions", "cofense", "--json"]).await;
    assert_eq!(run.json["name"], "cofense");
    let cofense_entry = entries(cache.path(), "cwasm").into_iter().find(|p| *p != threatconnect_code).unwrap();

    // The attacker's code, under the name the cofense component's digest maps to.
    std::fs::copy(&threatconnect_code, &cofense_entry).unwrap();
    let run = env.run(&["actions", "cofense", "--json"]).await;
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(run.json["name"], "cofense", "the planted code must not run: {run:#?}");
    assert!(run.stderr.contains("not the file this host compiled"), "{}", run.stderr);

    // An entry planted with no index at all is ignored too.
    std::fs::remove_file(cofense_entry.with_extension("index")).unwrap();
    std::fs::copy(&threatconnect_code, &cofense_entry).unwrap();
    let run = env.run(&["actions", "cofense", "--json"]).await;
    assert_eq!(run.json["name"], "cofense", "{run:#?}");
}

/// A connector's description is kept with its compiled code, so the next load
/// does not instantiate the component to ask again; a kept description that
/// cannot be read is asked for again and kept anew.
#[tokio::test]
async fn the_description_kept_with_the_compiled_code_is_what_the_next_load_uses() {
    let cache = tempfile::tempdir().unwrap();
    let (env, _plugins) = with_cache(cache.path());
    let fresh = env.run(&["actions", "cofense", "--json"]).await;
    assert_eq!(fresh.code, 0, "{fresh:#?}");
    let index_path = entries(cache.path(), "index").remove(0);
    let read_index = || -> serde_json::Value { serde_json::from_slice(&std::fs::read(&index_path).unwrap()).unwrap() };
    let kept = |index: &serde_json::Value| -> serde_json::Value {
        let description = index["description"].clone();
        assert!(description.is_object(), "a description is kept, as JSON: {index}");
        description
    };
    let mut index = read_index();
    assert_eq!(kept(&index)["name"], "cofense");
    assert_eq!(env.run(&["actions", "cofense", "--json"]).await.json, fresh.json);

    // Marked, the kept description shows: it was not asked for again.
    let mut marked = kept(&index);
    marked["description"] = "kept beside the code".into();
    index["description"] = marked;
    std::fs::write(&index_path, index.to_string()).unwrap();
    let run = env.run(&["actions", "cofense", "--json"]).await;
    assert_eq!(run.json["description"], "kept beside the code", "{run:#?}");

    // A kept description is checked as a fresh answer is: one that names the
    // connector so that its state would leave the data directory is refused.
    let mut escaping = kept(&index);
    escaping["name"] = "../escape".into();
    index["description"] = escaping;
    std::fs::write(&index_path, index.to_string()).unwrap();
    let run = env.run(&["actions", "cofense", "--json"]).await;
    assert_eq!(run.code, exit::CONNECTOR, "{run:#?}");
    assert!(run.stderr.contains("declares a name"), "{}", run.stderr);

    // Not a description (here a string, as older hosts kept it), it is asked
    // for again, and the answer is kept.
    index["description"] = "{not json".into();
    std::fs::write(&index_path, index.to_string()).unwrap();
    let run = env.run(&["actions", "cofense", "--json"]).await;
    assert_eq!(run.json, fresh.json, "{run:#?}");
    assert_eq!(kept(&read_index())["description"], fresh.json["description"]);
}

/// A load from cached code reports what a fresh load does: the SHA-256 of the
/// component file (kept in the cache's index, not computed again) and the same
/// description.
#[tokio::test]
async fn a_load_from_cached_code_reports_the_files_digest_and_description() {
    let cache = tempfile::tempdir().unwrap();
    let runtime = || {
        let trust = Trust::Signed(TrustStore::load(&trust_dir()).unwrap());
        let options = RuntimeOptions { trust, cache_dir: Some(cache.path().to_path_buf()), ..Default::default() };
        Runtime::new(options).unwrap()
    };
    let file = component("cofense.wasm");
    let fresh = runtime().load(&file).await.unwrap();
    assert_eq!(entries(cache.path(), "cwasm").len(), 1, "compiled into the cache");
    let cached = runtime().load(&file).await.unwrap();
    let digest = hex::encode(Sha256::digest(std::fs::read(&file).unwrap()));
    assert_eq!((fresh.digest(), cached.digest()), (digest.as_str(), digest.as_str()));
    let info = |plugin: &soar_host::Plugin| serde_json::to_value(plugin.info()).unwrap();
    assert_eq!(info(&cached), info(&fresh));
    assert_eq!(entries(cache.path(), "cwasm").len(), 1, "not compiled again");
}

/// With its code cached, a component is verified in chunks as it is read: a
/// byte changed anywhere (here past the first chunk, and in the last byte) is
/// a refusal, not the cached code of the original.
#[tokio::test]
async fn a_component_changed_after_its_code_was_cached_is_refused() {
    let cache = tempfile::tempdir().unwrap();
    let (env, plugins) = with_cache(cache.path());
    let run = env.run(&["actions", "cofense", "--json"]).await;
    assert_eq!(run.code, 0, "{run:#?}");
    let file = plugins.path().join("cofense.wasm");
    let original = std::fs::read(&file).unwrap();
    for at in [100 * 1024, original.len() - 1] {
        let mut changed = original.clone();
        changed[at] ^= 0x01;
        std::fs::write(&file, &changed).unwrap();
        let run = env.run(&["actions", "cofense", "--json"]).await;
        assert_eq!(run.code, exit::CONNECTOR, "byte {at}: {run:#?}");
        assert!(run.stderr.contains("refusing connector"), "{}", run.stderr);
    }
    std::fs::write(&file, &original).unwrap();
    assert_eq!(env.run(&["actions", "cofense", "--json"]).await.code, 0);
}

#[tokio::test]
async fn a_cache_directory_others_can_write_to_is_not_used() {
    let parent = tempfile::tempdir().unwrap();
    let shared = parent.path().join("shared-cache");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    let (env, _plugins) = with_cache(&shared);
    let run = env.run(&["actions", "cofense", "--json"]).await;
    assert_eq!((run.code, run.json["name"].as_str()), (0, Some("cofense")), "{run:#?}");
    assert!(
        run.stderr.contains("not using the compile cache") && run.stderr.contains("writable by every user"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read_dir(&shared).unwrap().count(), 0, "nothing may be written there");
}

#[tokio::test]
async fn a_cache_entry_given_to_another_user_is_not_loaded() {
    // Only root can give a file away; elsewhere the unit tests cover ownership.
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return;
    }
    let cache = tempfile::tempdir().unwrap();
    let (env, _plugins) = with_cache(cache.path());
    env.run(&["actions", "cofense", "--json"]).await;
    let entry = entries(cache.path(), "cwasm").remove(0);
    std::os::unix::fs::chown(&entry, Some(65534), Some(65534)).unwrap();
    let run = env.run(&["actions", "cofense", "--json"]).await;
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(run.stderr.contains("ignoring compile cache entry"), "{}", run.stderr);
}

#[tokio::test]
async fn a_core_module_is_not_verified_as_a_component() {
    let env = HostEnv::new();
    let dir = tempfile::tempdir().unwrap();
    // A core module (version 1, layer 0), signed by the trusted development key.
    let core = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    let (secret, public) = dev_key();
    let signed = soar_host::signing::sign(&core, &secret, &public).unwrap();
    let file = dir.path().join("core.wasm");
    std::fs::write(&file, signed).unwrap();
    let run = env.run(&["verify", file.to_str().unwrap()]).await;
    assert_eq!((run.code, run.json["verified"].as_bool()), (exit::CONNECTOR, Some(false)), "{run:#?}");
    assert!(run.stderr.contains("core WebAssembly module, not a component"), "{}", run.stderr);
}

#[tokio::test]
async fn a_signature_cut_back_at_a_delimiter_is_refused_unless_partial_ones_are_allowed() {
    let (secret, public) = dev_key();
    let module = crate::signing::with_custom_section(&unsigned("cofense.wasm"));
    // Custom sections (names, notes) in groups of their own, as a publisher
    // allowing them to be stripped later would sign.
    let module = module.split(|section| !matches!(section, wasmsign2::Section::Custom(_))).unwrap();
    let key_id = public.clone().attach_default_key_id().key_id().cloned();
    let (signed, _) = secret.sign_multi(module, key_id.as_ref(), false, false).unwrap();
    let delimiters: Vec<usize> =
        signed.sections.iter().enumerate().filter(|(_, s)| s.is_signature_delimiter()).map(|(i, _)| i).collect();
    assert!(delimiters.len() >= 2, "signed with extensions: {} delimiters", delimiters.len());
    // Cut after the last-but-one delimiter: the file still parses, shorter.
    let mut cut = signed.clone();
    cut.sections.truncate(delimiters[delimiters.len() - 2] + 1);
    let dir = tempfile::tempdir().unwrap();
    let (whole, shortened) = (dir.path().join("whole.wasm"), dir.path().join("cut.wasm"));
    signed.serialize_to_file(&whole).unwrap();
    cut.serialize_to_file(&shortened).unwrap();

    let env = HostEnv::new();
    let run = env.run(&["verify", whole.to_str().unwrap()]).await;
    assert_eq!(run.code, 0, "the whole file verifies: {run:#?}");
    let run = env.run(&["verify", shortened.to_str().unwrap()]).await;
    assert_eq!(run.code, exit::CONNECTOR, "{run:#?}");
    assert!(run.stderr.contains("covers only part of it"), "{}", run.stderr);
    let run = env.run(&["verify", shortened.to_str().unwrap(), "--allow-partial-signatures"]).await;
    assert_eq!(run.code, 0, "{run:#?}");
}

#[tokio::test]
async fn a_world_writable_trust_directory_is_refused() {
    let trust = tempfile::tempdir().unwrap();
    std::fs::copy(trust_dir().join("dev.pub"), trust.path().join("dev.pub")).unwrap();
    std::fs::set_permissions(trust.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let env = HostEnv::new().with_trust(trust.path());
    let run = env.run(&["actions", "cofense"]).await;
    assert_eq!(run.code, exit::CONNECTOR, "{run:#?}");
    assert!(run.stderr.contains("writable by every user"), "{}", run.stderr);
    // A key file others may write to is refused the same way.
    std::fs::set_permissions(trust.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::set_permissions(trust.path().join("dev.pub"), std::fs::Permissions::from_mode(0o666)).unwrap();
    let run = env.run(&["actions", "cofense"]).await;
    assert_eq!(run.code, exit::CONNECTOR, "{run:#?}");
    assert!(run.stderr.contains("dev.pub") && run.stderr.contains("writable by every user"), "{}", run.stderr);
}

#[tokio::test]
async fn a_readme_in_the_trust_directory_is_skipped_with_a_warning() {
    let trust = tempfile::tempdir().unwrap();
    std::fs::copy(trust_dir().join("dev.pub"), trust.path().join("dev.pub")).unwrap();
    std::fs::write(trust.path().join("README"), "Put publishers' keys here.\n").unwrap();
    let env = HostEnv::new().with_trust(trust.path());
    let run = env.run(&["actions", "cofense"]).await;
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(run.stderr.contains("skipping") && run.stderr.contains("README"), "{}", run.stderr);
}

#[tokio::test]
async fn a_component_signed_by_another_trusted_key_does_not_silently_replace_the_installed_one() {
    let plugins = tempfile::tempdir().unwrap();
    let trust = tempfile::tempdir().unwrap();
    std::fs::copy(trust_dir().join("dev.pub"), trust.path().join("dev.pub")).unwrap();
    let other = KeyPair::generate();
    other.pk.to_file(trust.path().join("other.pub")).unwrap();
    let env = HostEnv::with_plugins(plugins.path().to_path_buf()).with_trust(trust.path());
    let run = env.run(&["plugin", "install", component("cofense.wasm").to_str().unwrap()]).await;
    assert_eq!(run.code, 0, "{run:#?}");
    let installed = std::fs::read(plugins.path().join("cofense.wasm")).unwrap();

    let by_other = tempfile::tempdir().unwrap();
    let file = by_other.path().join("cofense.wasm");
    std::fs::write(&file, soar_host::signing::sign(&unsigned("cofense.wasm"), &other.sk, &other.pk).unwrap()).unwrap();
    let run = env.run(&["plugin", "install", file.to_str().unwrap()]).await;
    assert_eq!(run.code, exit::CONNECTOR, "{run:#?}");
    let (dev_id, other_id) = (dev_key_id(), soar_host::signing::key_id_of(&other.pk));
    assert!(
        run.stderr.contains(&dev_id) && run.stderr.contains(&other_id) && run.stderr.contains("--replace"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read(plugins.path().join("cofense.wasm")).unwrap(), installed, "the installed one stays");

    let run = env.run(&["plugin", "install", file.to_str().unwrap(), "--replace"]).await;
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(std::fs::read(plugins.path().join("cofense.wasm")).unwrap(), std::fs::read(&file).unwrap());
}

fn dev_key_id() -> String {
    soar_host::signing::key_id_of(&dev_key().1)
}

#[tokio::test]
async fn a_signed_component_named_with_dot_dot_cannot_escape_the_plugin_directory() {
    let mut bytes = unsigned("sandbox_probe.wasm");
    let (from, to) = (b"sandbox_probe", b"../escaped-xx");
    let mut patched = 0;
    let mut at = 0;
    while let Some(found) = bytes[at..].windows(from.len()).position(|w| w == from) {
        bytes[at + found..at + found + to.len()].copy_from_slice(to);
        at += found + to.len();
        patched += 1;
    }
    assert!(patched > 0);
    let (secret, public) = dev_key();
    let signed = soar_host::signing::sign(&bytes, &secret, &public).unwrap();
    let root = tempfile::tempdir().unwrap();
    let plugins = root.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    let file = root.path().join("evil.wasm");
    std::fs::write(&file, signed).unwrap();
    let env = HostEnv::with_plugins(plugins.clone());
    let run = env.run(&["plugin", "install", file.to_str().unwrap()]).await;
    assert_eq!(run.code, exit::CONNECTOR, "{run:#?}");
    assert!(run.stderr.contains("not a valid connector name"), "{}", run.stderr);
    assert!(!root.path().join("escaped-xx.wasm").exists(), "a file landed outside the plugin directory");
    assert_eq!(std::fs::read_dir(&plugins).unwrap().count(), 0);
}

#[tokio::test]
async fn soar_allow_unsigned_takes_the_usual_spellings() {
    let plugins = tempfile::tempdir().unwrap();
    std::fs::write(plugins.path().join("cofense.wasm"), unsigned("cofense.wasm")).unwrap();
    let env = HostEnv::with_plugins(plugins.path().to_path_buf());
    for (value, code) in
        [("1", 0), ("true", 0), ("yes", 0), ("0", exit::CONNECTOR), ("false", exit::CONNECTOR), ("no", exit::CONNECTOR)]
    {
        let output =
            env.command().env("SOAR_ALLOW_UNSIGNED", value).args(["actions", "cofense"]).output().await.unwrap();
        assert_eq!(
            output.status.code(),
            Some(code),
            "SOAR_ALLOW_UNSIGNED={value}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let output = env.command().env("SOAR_ALLOW_UNSIGNED", "maybe").args(["actions", "cofense"]).output().await.unwrap();
    assert_eq!(output.status.code(), Some(exit::INVALID_INPUT));
}

//! Signed connectors: trusted ones load; unsigned, tampered and untrusted ones
//! are refused before compilation, each with its own message; signatures are
//! interchangeable with the wasmsign2 library; installing, listing, removing.

use soar_host::exit;
use soar_tests::harness::{HostEnv, component, trust_dir, unsigned_component};
use std::path::{Path, PathBuf};
use wasmparser::{Parser, Payload};
use wasmsign2::{CustomSection, KeyPair, Module, PublicKey, Section};

/// A private plugin directory holding `bytes` as `cofense.wasm`, and an
/// environment using it with its own empty compile cache.
struct Sandbox {
    env: HostEnv,
    plugins: tempfile::TempDir,
    cache: tempfile::TempDir,
}

impl Sandbox {
    fn with(bytes: &[u8]) -> Self {
        let plugins = tempfile::tempdir().unwrap();
        std::fs::write(plugins.path().join("cofense.wasm"), bytes).unwrap();
        let cache = tempfile::tempdir().unwrap();
        let env = HostEnv::with_plugins(plugins.path().to_path_buf()).with_cache(cache.path().to_path_buf());
        Self { env, plugins, cache }
    }

    async fn run(&self, args: &[&str]) -> soar_tests::harness::Run {
        self.env.run(args).await
    }

    /// `host actions cofense`, which loads (and would compile) the component.
    async fn load(&self) -> soar_tests::harness::Run {
        self.run(&["actions", "cofense", "--json"]).await
    }

    /// The compiled components in the cache (each has an index beside it).
    fn compiled(&self) -> usize {
        std::fs::read_dir(self.cache.path()).map_or(0, |entries| {
            entries.flatten().filter(|entry| entry.path().extension().is_some_and(|ext| ext == "cwasm")).count()
        })
    }
}

fn signed() -> Vec<u8> {
    std::fs::read(component("cofense.wasm")).unwrap()
}

fn unsigned() -> Vec<u8> {
    std::fs::read(unsigned_component("cofense.wasm")).unwrap()
}

/// The development signing key `make dev-key` made.
pub(crate) fn dev_key() -> (wasmsign2::SecretKey, wasmsign2::PublicKey) {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".config"));
    let keys = config.join("soar/dev-signing");
    (
        wasmsign2::SecretKey::from_file(keys.join("dev.key")).unwrap(),
        wasmsign2::PublicKey::from_file(keys.join("dev.pub")).unwrap(),
    )
}

/// `component` with a custom section of its own appended, as a publisher's build
/// may leave names or notes in; the shipped connectors carry none.
pub(crate) fn with_custom_section(component: &[u8]) -> Module {
    let mut module = Module::deserialize(&mut std::io::Cursor::new(component)).unwrap();
    module.sections.push(Section::Custom(CustomSection::new("publisher-note".into(), b"built for tests".to_vec())));
    module
}

/// Loading `bytes` is refused before compilation with a message containing `reason`.
async fn assert_refused(bytes: &[u8], reason: &str) {
    let sandbox = Sandbox::with(bytes);
    let run = sandbox.load().await;
    assert_eq!(run.code, exit::CONNECTOR, "{run:#?}");
    assert!(
        run.stderr.contains("refusing connector") && run.stderr.contains(reason),
        "expected '{reason}': {}",
        run.stderr
    );
    assert_eq!(sandbox.compiled(), 0, "nothing may be compiled");
    // An invoke says the same, in its JSON result.
    let asset =
        sandbox.env.asset("vision", "base_url = \"http://127.0.0.1:9\"\nclient_id = \"a\"\nclient_secret = \"b\"\n");
    let run = sandbox.run(&["invoke", "cofense", "list-searchable-headers", "--asset", asset.to_str().unwrap()]).await;
    assert!(run.failure("untrusted-connector", exit::CONNECTOR).contains(reason));
    assert_eq!(sandbox.compiled(), 0);
}

/// The byte range of the first payload `pick` selects, anywhere in the component
/// (nested core modules included).
fn range_of(bytes: &[u8], pick: impl Fn(&Payload) -> Option<std::ops::Range<usize>>) -> std::ops::Range<usize> {
    Parser::new(0).parse_all(bytes).filter_map(|payload| pick(&payload.unwrap())).next().expect("a matching section")
}

fn flipped(bytes: &[u8], range: std::ops::Range<usize>) -> Vec<u8> {
    let mut bytes = bytes.to_vec();
    bytes[range.start + (range.end - range.start) / 2] ^= 0x20;
    bytes
}

#[tokio::test]
async fn a_component_signed_by_a_trusted_key_loads() {
    let sandbox = Sandbox::with(&signed());
    let run = sandbox.load().await;
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(sandbox.compiled(), 1);
}

#[tokio::test]
async fn an_unsigned_component_is_refused() {
    assert_refused(&unsigned(), "it is not signed").await;
}

#[tokio::test]
async fn a_component_signed_by_an_unknown_key_is_refused() {
    let stranger = KeyPair::generate();
    let bytes = soar_host::signing::sign(&unsigned(), &stranger.sk, &stranger.pk).unwrap();
    let key_id = soar_host::signing::key_id_of(&stranger.pk);
    assert_refused(&bytes, &format!("it is signed only by keys that are not trusted (key ids: {key_id})")).await;
}

#[tokio::test]
async fn a_flipped_byte_anywhere_is_refused() {
    let mut noted = Vec::new();
    with_custom_section(&unsigned()).serialize(&mut noted).unwrap();
    let (secret, public) = dev_key();
    let bytes = soar_host::signing::sign(&noted, &secret, &public).unwrap();
    let code = range_of(&bytes, |p| match p {
        Payload::CodeSectionStart { range, .. } => Some(range.clone()),
        _ => None,
    });
    let data = range_of(&bytes, |p| match p {
        Payload::DataSection(reader) => Some(reader.range()),
        _ => None,
    });
    let custom = range_of(&bytes, |p| match p {
        Payload::CustomSection(reader) if reader.name() != "signature" => {
            Some(reader.data_offset()..reader.range().end)
        }
        _ => None,
    });
    for (what, range) in [("code", code), ("data segment", data), ("custom section", custom)] {
        let tampered = flipped(&bytes, range);
        assert_ne!(tampered, bytes, "{what}");
        assert_refused(&tampered, "it was modified after it was signed").await;
    }
}

#[tokio::test]
async fn an_altered_signature_section_is_refused() {
    let bytes = signed();
    let signature = range_of(&bytes, |p| match p {
        Payload::CustomSection(reader) if reader.name() == "signature" => {
            Some(reader.data_offset()..reader.range().end)
        }
        _ => None,
    });
    // The Ed25519 signature is the last 64 bytes of the section.
    let mut altered = bytes.clone();
    altered[signature.end - 10] ^= 0x01;
    assert_refused(&altered, "is invalid: the signature section was altered").await;
    // A section that no longer parses.
    let mut garbled = bytes.clone();
    garbled[signature.start + 1] = 0xff;
    assert_refused(&garbled, "its signature section is malformed").await;
}

#[tokio::test]
async fn allow_unsigned_loads_anything_and_says_so() {
    let sandbox = Sandbox::with(&unsigned());
    let run = sandbox.run(&["actions", "cofense", "--allow-unsigned"]).await;
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(run.stderr.contains("WARNING: --allow-unsigned"), "{}", run.stderr);
    assert!(run.stderr.contains("signature checks are OFF"), "{}", run.stderr);
}

#[tokio::test]
async fn a_changed_file_never_reuses_compiled_code() {
    let sandbox = Sandbox::with(&signed());
    sandbox.load().await;
    let extra = KeyPair::generate();
    let resigned = soar_host::signing::sign(&signed(), &extra.sk, &extra.pk).unwrap();
    std::fs::write(sandbox.plugins.path().join("cofense.wasm"), &resigned).unwrap();
    let run = sandbox.load().await;
    assert_eq!(run.code, 0, "still signed by the trusted key too: {run:#?}");
    assert_eq!(sandbox.compiled(), 2, "new bytes, new compile-cache entry");
}

async fn keygen(env: &HostEnv, dir: &Path) -> (PathBuf, PathBuf) {
    let (secret, public) = env.keygen(dir, "publisher").await;
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777, 0o600);
    let again =
        env.run(&["keygen", "--secret-key", secret.to_str().unwrap(), "--public-key", public.to_str().unwrap()]).await;
    assert_eq!(again.code, exit::INVALID_INPUT, "an existing secret key is never overwritten");
    (secret, public)
}

#[tokio::test]
async fn host_signatures_and_the_wasmsign2_library_agree() {
    let env = HostEnv::new();
    let dir = tempfile::tempdir().unwrap();
    let (secret, public) = keygen(&env, dir.path()).await;

    // Signed by `host sign`, verified by the library.
    let input = dir.path().join("in.wasm");
    let output = dir.path().join("out.wasm");
    std::fs::write(&input, unsigned()).unwrap();
    env.sign(&input, &secret, &public, &output).await;
    let key = PublicKey::from_file(&public).unwrap();
    key.verify(&mut std::fs::File::open(&output).unwrap(), None).expect("the library verifies host's signature");

    // Signed by the library, verified by `host verify`.
    let pair = KeyPair::generate();
    let module = wasmsign2::Module::deserialize_from_file(&input).unwrap();
    let signed = pair.sk.sign(module, None).unwrap();
    let by_library = dir.path().join("library.wasm");
    signed.serialize_to_file(&by_library).unwrap();
    let library_public = dir.path().join("library.pub");
    pair.pk.to_file(&library_public).unwrap();
    let run =
        env.run(&["verify", by_library.to_str().unwrap(), "--public-key", library_public.to_str().unwrap()]).await;
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(run.json["verified"], true);
    assert_eq!(run.json["trusted_signers"][0]["name"], "library");
    let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(std::fs::read(&by_library).unwrap()));
    assert_eq!(run.json["digest"], digest);

    // `host verify` against the trust directory names the signer key ids.
    let run = env
        .run(&["verify", component("cofense.wasm").to_str().unwrap(), "--trust", trust_dir().to_str().unwrap()])
        .await;
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(run.json["trusted_signers"][0]["name"], "dev");
    assert_eq!(run.json["key_ids"].as_array().unwrap().len(), 1);
    let run = env.run(&["verify", output.to_str().unwrap(), "--trust", trust_dir().to_str().unwrap()]).await;
    assert_eq!(run.code, exit::CONNECTOR);
    assert_eq!(run.json["verified"], false);
    assert_eq!(run.json["key_ids"][0], soar_host::signing::key_id_of(&key));
}

#[tokio::test]
async fn install_list_replace_and_remove() {
    let plugins = tempfile::tempdir().unwrap();
    let env = HostEnv::with_plugins(plugins.path().to_path_buf());
    let run = env.run(&["plugin", "list"]).await;
    assert_eq!(run.json, serde_json::json!([]));

    let run = env.run(&["plugin", "install", component("cofense.wasm").to_str().unwrap()]).await;
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(
        (run.json["name"].as_str(), run.json["replaced_version"].clone()),
        (Some("cofense"), serde_json::Value::Null)
    );
    assert!(plugins.path().join("cofense.wasm").is_file());

    // A newer build (here: the same one with a second signature) replaces it.
    let dir = tempfile::tempdir().unwrap();
    let extra = KeyPair::generate();
    let newer = dir.path().join("cofense-new.wasm");
    std::fs::write(&newer, soar_host::signing::sign(&signed(), &extra.sk, &extra.pk).unwrap()).unwrap();
    let run = env.run(&["plugin", "install", newer.to_str().unwrap()]).await;
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(run.json["replaced_version"], "1.0.0");
    assert_eq!(std::fs::read(plugins.path().join("cofense.wasm")).unwrap(), std::fs::read(&newer).unwrap());

    env.run(&["plugin", "install", component("threatconnect.wasm").to_str().unwrap()]).await;
    let run = env.run(&["plugin", "list"]).await;
    let listed = run.json.as_array().unwrap();
    assert_eq!(
        listed.iter().map(|p| p["name"].as_str().unwrap()).collect::<Vec<_>>(),
        vec!["cofense", "threatconnect"]
    );
    assert_eq!(listed[0]["version"], "1.0.0");
    assert_eq!(listed[0]["signers"][0]["name"], "dev");
    assert_eq!(
        listed[0]["digest"],
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(std::fs::read(&newer).unwrap()))
    );

    // An untrusted component never reaches the plugin directory.
    let untrusted = dir.path().join("untrusted.wasm");
    std::fs::write(&untrusted, unsigned()).unwrap();
    let run = env.run(&["plugin", "install", untrusted.to_str().unwrap()]).await;
    assert_eq!(run.code, exit::CONNECTOR);
    assert_eq!(std::fs::read(plugins.path().join("cofense.wasm")).unwrap(), std::fs::read(&newer).unwrap());

    let run = env.run(&["plugin", "remove", "cofense"]).await;
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(!plugins.path().join("cofense.wasm").exists());
    let run = env.run(&["plugin", "remove", "cofense"]).await;
    assert_eq!(run.code, exit::CONNECTOR);
}

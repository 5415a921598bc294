//! Signed connectors: Ed25519 signatures in wasmsign2's custom-section format
//! (the `signature` section first in the component, several signatures
//! allowed), checked against a set of trusted public keys before a single byte
//! of the component is compiled.
//!
//! Acceptance is decided by the `wasmsign2` library. When it refuses, the
//! signature section is inspected once more only to say why: not signed,
//! signed by keys nobody trusts, changed after signing, or a signature that was
//! itself altered.

use crate::storage::fs::{read_regular_file, writable_by_others};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use wasmsign2::{Module, PublicKey, PublicKeySet, SecretKey, Section, SignatureData, WSError};

/// The wasm-signatures domain, version, content type and hash function, which
/// prefix the signed message (`"wasmsig" ‖ 01 ‖ 01 ‖ 01 ‖ hashes`).
const SIGNED_MESSAGE_PREFIX: &[u8] = b"wasmsig\x01\x01\x01";

/// Why a component is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The file is not a WebAssembly module or component.
    #[error("it is not a WebAssembly component")]
    NotWasm,
    /// The file is a core WebAssembly module, not a component.
    #[error("it is a core WebAssembly module, not a component")]
    CoreModule,
    /// There is no signature.
    #[error("it is not signed")]
    Unsigned,
    /// The signature section cannot be read.
    #[error("its signature section is malformed")]
    Malformed,
    /// Every signature is by a key that is not trusted.
    #[error("it is signed only by keys that are not trusted (key ids: {})", key_list(.key_ids))]
    Untrusted { key_ids: Vec<String> },
    /// A trusted key signed it, but the contents changed afterwards.
    #[error("it was modified after it was signed: its contents do not match what key {key_id} signed")]
    Modified { key_id: String },
    /// A trusted key's signature does not verify: the signature itself was altered.
    #[error("the signature of trusted key {key_id} is invalid: the signature section was altered")]
    BadSignature { key_id: String },
    /// A trusted key signed only part of the component (a signature made with
    /// wasmsign2's extension support, over a prefix the file was cut back to or
    /// extended beyond).
    #[error(
        "the signature of trusted key {key_id} covers only part of it (pass --allow-partial-signatures to accept signatures over a part)"
    )]
    Partial { key_id: String },
}

fn key_list(ids: &[String]) -> String {
    if ids.is_empty() { "none given".into() } else { ids.join(", ") }
}

/// A trusted public key and where it came from.
#[derive(Debug, Clone)]
pub struct TrustedKey {
    /// The key's id (hex), as signatures name it.
    pub key_id: String,
    /// A name for people: the key file's name without extension.
    pub name: String,
    pub key: PublicKey,
}

/// The public keys whose signatures are trusted.
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    keys: Vec<TrustedKey>,
    allow_partial: bool,
}

/// Two stores are equal when they trust the same keys, by the same names and
/// in the same order, with the same rule on partial signatures: a host that
/// keeps loaded connectors can tell whether the keys changed since.
impl PartialEq for TrustStore {
    fn eq(&self, other: &Self) -> bool {
        let same = |a: &TrustedKey, b: &TrustedKey| a.name == b.name && a.key.to_bytes() == b.key.to_bytes();
        self.allow_partial == other.allow_partial
            && self.keys.len() == other.keys.len()
            && self.keys.iter().zip(&other.keys).all(|(a, b)| same(a, b))
    }
}

/// The largest key file read from a trust directory.
const MAX_KEY_FILE: u64 = 64 * 1024;

impl TrustStore {
    /// No trusted keys: every signed component is refused.
    pub fn empty() -> Self {
        Self::default()
    }

    /// The keys of `path`: one key file, or every key file in a directory (any
    /// format wasmsign2 reads: its raw key files, PEM, DER). A missing path is an
    /// empty store.
    ///
    /// Fails closed: a directory or key file that another user could change
    /// (owned by someone else, or writable by every user) is refused with the
    /// reason, since whoever can add a key can make the host run their code. A
    /// file in the directory that is not a key (a README) is skipped with a
    /// warning.
    pub fn load(path: &Path) -> Result<Self, String> {
        let mut store = Self::default();
        let refuse = |path: &Path, reason: String| {
            format!(
                "refusing the trusted keys in {}: {reason}; only its owner may be able to change it",
                path.display()
            )
        };
        let meta = match std::fs::metadata(path) {
            Ok(meta) => meta,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(store),
            Err(err) => return Err(format!("cannot read trusted keys in {}: {err}", path.display())),
        };
        if let Some(reason) = writable_by_others(&meta, true) {
            return Err(refuse(path, reason));
        }
        let files: Vec<PathBuf> = if meta.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|err| format!("cannot read trusted keys in {}: {err}", path.display()))?
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .filter(|path| !path.file_name().is_some_and(|name| name.as_encoded_bytes().starts_with(b".")))
                .collect();
            files.sort();
            files
        } else {
            vec![path.to_path_buf()]
        };
        for file in files {
            let meta = std::fs::metadata(&file).map_err(|err| format!("cannot read {}: {err}", file.display()))?;
            if meta.is_dir() {
                continue;
            }
            if let Some(reason) = writable_by_others(&meta, true) {
                return Err(refuse(&file, reason));
            }
            let key = read_regular_file(&file, MAX_KEY_FILE)
                .map_err(|err| err.to_string())
                .and_then(|bytes| PublicKey::from_any(&bytes).map_err(|err| err.to_string()));
            match key {
                Ok(key) => {
                    let name = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
                    store.add(name, key);
                }
                Err(err) => {
                    tracing::warn!("skipping {} in the trusted keys: it is not a public key ({err})", file.display())
                }
            }
        }
        Ok(store)
    }

    /// Accepts signatures that cover only part of a component (made with
    /// wasmsign2's extension support). Off by default: a component cut back to
    /// a signed prefix, or extended past it, is refused.
    pub fn allow_partial_signatures(mut self, allow: bool) -> Self {
        self.allow_partial = allow;
        self
    }

    /// Trusts `key`, known as `name`.
    pub fn add(&mut self, name: impl Into<String>, key: PublicKey) {
        let key = key.attach_default_key_id();
        let key_id = key_id_of(&key);
        if !self.keys.iter().any(|k| k.key_id == key_id) {
            self.keys.push(TrustedKey { key_id, name: name.into(), key });
        }
    }

    /// The trusted keys.
    pub fn keys(&self) -> &[TrustedKey] {
        &self.keys
    }

    /// Checks `component` and returns the trusted keys that signed it.
    ///
    /// A whole-component signature (one hash) is checked here directly: one
    /// SHA-256 pass with the CPU's SHA instructions and one Ed25519 check per
    /// trusted signature, which keeps loading fast. Signatures over several
    /// section ranges (made with wasmsign2's extension support) are left to the
    /// wasmsign2 library.
    pub fn verify(&self, component: &[u8]) -> Result<Vec<TrustedKey>, SignatureError> {
        let (data, signed_from) = signature_section(component)?;
        let content = Sha256::digest(&component[signed_from..]).to_vec();
        let checks = self.check(&data, &content);
        let mut signers: Vec<TrustedKey> = Vec::new();
        for check in checks.iter().filter(|c| c.valid && c.covers_content) {
            if !signers.iter().any(|k| k.key_id == check.key.key_id) {
                signers.push(check.key.clone());
            }
        }
        if !signers.is_empty() {
            return Ok(signers);
        }
        if self.allow_partial && data.signed_hashes_set.iter().any(|signed| signed.hashes.len() > 1) {
            let set = PublicKeySet::new(self.keys.iter().map(|k| k.key.clone()).collect());
            if let Ok(keys) = set.verify(&mut Cursor::new(component), None) {
                let ids: Vec<String> = keys.iter().map(|key| key_id_of(key)).collect();
                return Ok(self.keys.iter().filter(|k| ids.contains(&k.key_id)).cloned().collect());
            }
        }
        Err(explain(&data, &checks))
    }

    /// [`TrustStore::verify`] of a component read from `file` in chunks, and
    /// its [`identity`], from the same single hash of the same bytes: for
    /// loading code already compiled, without holding the component in memory.
    /// `None` when this cannot show the file is trusted (unsigned, tampered
    /// with, a partial signature, a signature section over 64 KiB): the caller
    /// then reads the file whole and verifies that, which also explains a
    /// refusal.
    pub fn verify_file(&self, file: &mut impl std::io::Read) -> Option<(Vec<TrustedKey>, String)> {
        const CHUNK: usize = 64 * 1024;
        let mut buffer = vec![0u8; CHUNK];
        let mut head = 0;
        while head < CHUNK {
            match file.read(&mut buffer[head..]).ok()? {
                0 => break,
                n => head += n,
            }
        }
        let (data, signed_from) = signature_section(&buffer[..head]).ok()?;
        let prefix = buffer[..signed_from].to_vec();
        let mut content = Sha256::new();
        content.update(&buffer[signed_from..head]);
        loop {
            let n = file.read(&mut buffer).ok()?;
            if n == 0 {
                break;
            }
            content.update(&buffer[..n]);
        }
        let content = content.finalize();
        let checks = self.check(&data, &content);
        let mut signers: Vec<TrustedKey> = Vec::new();
        for check in checks.iter().filter(|c| c.valid && c.covers_content) {
            if !signers.iter().any(|k| k.key_id == check.key.key_id) {
                signers.push(check.key.clone());
            }
        }
        (!signers.is_empty()).then(|| (signers, identity_from(&prefix, &content)))
    }

    /// Every (signature, trusted key) pair the signature section allows: whether
    /// the signature verifies, and whether what it signed is this content.
    fn check(&self, data: &SignatureData, content: &[u8]) -> Vec<Check> {
        let mut checks = Vec::new();
        for signed in &data.signed_hashes_set {
            let mut message = SIGNED_MESSAGE_PREFIX.to_vec();
            signed.hashes.iter().for_each(|hash| message.extend_from_slice(hash));
            // Each hash covers everything from the start up to a delimiter; the
            // signature covers the whole file only if its last hash is that of
            // the whole content (a file cut back at a delimiter matches an
            // earlier one, a file extended past the last matches none).
            let covers_content = signed.hashes.last().is_some_and(|last| last == content);
            let partial = !covers_content && signed.hashes.iter().any(|hash| hash == content);
            for signature in &signed.signatures {
                let id = signature.key_id.as_deref().map(hex::encode);
                let candidates = self.keys.iter().filter(|k| id.as_ref().is_none_or(|id| *id == k.key_id));
                for key in candidates {
                    let valid = ed25519_compact::Signature::from_slice(&signature.signature)
                        .is_ok_and(|sig| key.key.pk.verify(&message, &sig).is_ok());
                    checks.push(Check { key: key.clone(), named: id.is_some(), valid, covers_content, partial });
                }
            }
        }
        checks
    }
}

/// One signature checked against one trusted key.
struct Check {
    key: TrustedKey,
    /// The signature names this key by id.
    named: bool,
    valid: bool,
    covers_content: bool,
    /// What it signed ends part-way: this content is what it signed cut back
    /// at a delimiter.
    partial: bool,
}

/// Why no trusted key verifies the component.
fn explain(data: &SignatureData, checks: &[Check]) -> SignatureError {
    if let Some(check) = checks.iter().find(|c| c.valid && c.partial) {
        return SignatureError::Partial { key_id: check.key.key_id.clone() };
    }
    if let Some(check) = checks.iter().find(|c| c.valid && !c.covers_content) {
        return SignatureError::Modified { key_id: check.key.key_id.clone() };
    }
    if let Some(check) = checks.iter().find(|c| !c.valid && c.named) {
        return SignatureError::BadSignature { key_id: check.key.key_id.clone() };
    }
    let mut key_ids: Vec<String> = data
        .signed_hashes_set
        .iter()
        .flat_map(|signed| &signed.signatures)
        .filter_map(|signature| signature.key_id.as_deref().map(hex::encode))
        .collect();
    key_ids.sort();
    key_ids.dedup();
    SignatureError::Untrusted { key_ids }
}

/// A key's id as hex (its wasmsign2 default id when it has none).
pub fn key_id_of(key: &PublicKey) -> String {
    hex::encode(key.clone().attach_default_key_id().key_id().cloned().unwrap_or_default())
}

/// The parsed signature section of `component`, and where the signed content
/// starts (right after it).
fn signature_section(component: &[u8]) -> Result<(SignatureData, usize), SignatureError> {
    match component.get(..8) {
        Some([0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00]) => {}
        Some([0x00, 0x61, 0x73, 0x6d, _, _, 0x00, 0x00]) => return Err(SignatureError::CoreModule),
        _ => return Err(SignatureError::NotWasm),
    }
    let mut reader = Cursor::new(component);
    let stream = Module::init_from_reader(&mut reader).map_err(|_| SignatureError::NotWasm)?;
    let mut sections = Module::iterate(stream).map_err(|_| SignatureError::NotWasm)?;
    let data = match sections.next() {
        Some(Ok(Section::Custom(section))) if section.is_signature_header() => {
            let data = section.signature_data().map_err(|_| SignatureError::Malformed)?;
            // The signed message names SHA-256 (hash function 1); a section that
            // claims another is not one this host can check.
            if data.hash_function != SIGNED_MESSAGE_PREFIX[SIGNED_MESSAGE_PREFIX.len() - 1] {
                return Err(SignatureError::Malformed);
            }
            data
        }
        Some(Ok(_)) | None => return Err(SignatureError::Unsigned),
        Some(Err(_)) => return Err(SignatureError::NotWasm),
    };
    let signed_from = usize::try_from(reader.position()).map_err(|_| SignatureError::NotWasm)?;
    Ok((data, signed_from))
}

/// What identifies a component's bytes for the compile cache (hex): a SHA-256
/// over its header and signature section (the part no signature covers) and
/// the SHA-256 of the rest, which is the hash its signatures sign. Two files
/// with the same identity are the same bytes, as with a digest of the whole
/// file, but a file being verified needs no second hash of its content.
pub fn identity(component: &[u8]) -> String {
    // An unsigned component's signed part, were it signed, starts after the header.
    let signed_from = signature_section(component).map_or(8, |(_, at)| at).min(component.len());
    identity_from(&component[..signed_from], &Sha256::digest(&component[signed_from..]))
}

fn identity_from(prefix: &[u8], content_sha256: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"soar component identity 1\0");
    hasher.update((prefix.len() as u64).to_le_bytes());
    hasher.update(prefix);
    hasher.update(content_sha256);
    hex::encode(hasher.finalize())
}

/// Signs `component` with `secret_key`, naming the signer by `public_key`'s id.
/// Existing signatures are kept, so a component can carry several.
pub fn sign(component: &[u8], secret_key: &SecretKey, public_key: &PublicKey) -> Result<Vec<u8>, WSError> {
    let module = Module::deserialize(&mut Cursor::new(component))?;
    let key_id = public_key.clone().attach_default_key_id().key_id().cloned();
    let (signed, _) = secret_key.sign_multi(module, key_id.as_ref(), false, false)?;
    let mut out = Vec::with_capacity(component.len() + 256);
    signed.serialize(&mut out)?;
    Ok(out)
}

/// What a component's signature section says, without trusting anything.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SignatureSummary {
    /// The SHA-256 of the whole file (hex).
    pub digest: String,
    /// How many signatures it carries.
    pub signatures: usize,
    /// The key ids the signatures name (hex).
    pub key_ids: Vec<String>,
}

/// Reads `component`'s signatures.
pub fn summarize(component: &[u8]) -> Result<SignatureSummary, SignatureError> {
    let (data, _) = signature_section(component)?;
    let mut key_ids: BTreeMap<String, ()> = BTreeMap::new();
    let mut signatures = 0;
    for signed in &data.signed_hashes_set {
        for signature in &signed.signatures {
            signatures += 1;
            if let Some(id) = &signature.key_id {
                key_ids.insert(hex::encode(id), ());
            }
        }
    }
    Ok(SignatureSummary {
        digest: hex::encode(Sha256::digest(component)),
        signatures,
        key_ids: key_ids.into_keys().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmsign2::KeyPair;

    /// The smallest component: the 8-byte header and one custom section.
    fn component() -> Vec<u8> {
        let mut bytes = vec![0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];
        bytes.extend_from_slice(&[0x00, 0x06, 0x04, b'n', b'a', b'm', b'e', b'!']);
        bytes
    }

    fn store_of(keys: &[&KeyPair]) -> TrustStore {
        let mut store = TrustStore::empty();
        for (i, key) in keys.iter().enumerate() {
            store.add(format!("key{i}"), key.pk.clone());
        }
        store
    }

    #[test]
    fn stores_are_equal_when_they_trust_the_same_keys_by_the_same_names_and_rule() {
        let (a, b) = (KeyPair::generate(), KeyPair::generate());
        assert_eq!(store_of(&[&a, &b]), store_of(&[&a, &b]));
        assert_ne!(store_of(&[&a, &b]), store_of(&[&a]), "a key taken out");
        assert_ne!(store_of(&[&a]), store_of(&[&b]), "another key");
        let mut renamed = TrustStore::empty();
        renamed.add("publisher", a.pk.clone());
        assert_ne!(store_of(&[&a]), renamed, "the signer's name shows in results");
        assert_ne!(store_of(&[&a]), store_of(&[&a]).allow_partial_signatures(true));
    }

    #[test]
    fn every_refusal_has_its_reason() {
        let trusted = KeyPair::generate();
        let stranger = KeyPair::generate();
        let store = store_of(&[&trusted]);
        let signed = sign(&component(), &trusted.sk, &trusted.pk).unwrap();
        assert_eq!(store.verify(&signed).unwrap()[0].key_id, key_id_of(&trusted.pk));

        assert_eq!(store.verify(&component()).unwrap_err(), SignatureError::Unsigned);
        assert_eq!(store.verify(b"not wasm at all").unwrap_err(), SignatureError::NotWasm);
        let by_stranger = sign(&component(), &stranger.sk, &stranger.pk).unwrap();
        assert_eq!(
            store.verify(&by_stranger).unwrap_err(),
            SignatureError::Untrusted { key_ids: vec![key_id_of(&stranger.pk)] }
        );

        let mut modified = signed.clone();
        *modified.last_mut().unwrap() ^= 1;
        assert!(matches!(store.verify(&modified).unwrap_err(), SignatureError::Modified { .. }));

        // The signature bytes sit at the end of the signature section.
        let section_end = signed.len() - component().len() + 8;
        let mut altered = signed.clone();
        altered[section_end - 3] ^= 1;
        assert!(matches!(store.verify(&altered).unwrap_err(), SignatureError::BadSignature { .. }));
    }

    /// Reading in chunks accepts exactly what `verify` accepts, and gives the
    /// identity of the whole file; a component larger than one chunk is hashed
    /// whole, and a byte changed past the first chunk is noticed.
    #[test]
    fn verifying_a_file_in_chunks_agrees_with_verifying_it_whole() {
        let (trusted, other) = (KeyPair::generate(), KeyPair::generate());
        let store = store_of(&[&trusted]);
        let mut large = component();
        // A custom section of 200 KiB: three chunks and some.
        let payload = vec![7u8; 200 * 1024];
        large.push(0x00);
        let mut size = payload.len() + 2;
        while size >= 0x80 {
            large.push((size as u8 & 0x7f) | 0x80);
            size >>= 7;
        }
        large.push(size as u8);
        large.extend_from_slice(&[0x01, b'x']);
        large.extend_from_slice(&payload);
        for unsigned in [component(), large] {
            let signed = sign(&unsigned, &trusted.sk, &trusted.pk).unwrap();
            let (signers, identity_read) = store.verify_file(&mut signed.as_slice()).expect("trusted");
            let ids = |keys: &[TrustedKey]| keys.iter().map(|key| key.key_id.clone()).collect::<Vec<_>>();
            assert_eq!(ids(&signers), ids(&store.verify(&signed).unwrap()));
            assert_eq!(identity_read, identity(&signed));
            let mut modified = signed.clone();
            *modified.last_mut().unwrap() ^= 1;
            assert_ne!(identity(&modified), identity(&signed));
            // Another signature over the same content is another file.
            let resigned = sign(&unsigned, &other.sk, &other.pk).unwrap();
            assert_ne!(identity(&resigned), identity(&signed));
            assert_ne!(identity(&unsigned), identity(&signed));
            assert!(store.verify_file(&mut modified.as_slice()).is_none());
            assert!(store.verify_file(&mut unsigned.as_slice()).is_none());
            assert!(TrustStore::empty().verify_file(&mut signed.as_slice()).is_none());
        }
    }

    proptest::proptest! {
        /// Random bytes, and a signed component with any byte changed or cut
        /// short, never verify and never panic.
        #[test]
        fn tampered_bytes_never_verify(junk in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64), at in 0usize..200, byte in 1u8..=255, cut in 0usize..200) {
            let key = KeyPair::generate();
            let store = store_of(&[&key]);
            let _ = summarize(&junk);
            proptest::prop_assert!(store.verify(&junk).is_err());
            let signed = sign(&component(), &key.sk, &key.pk).unwrap();
            let mut changed = signed.clone();
            let at = at % changed.len();
            changed[at] ^= byte;
            proptest::prop_assert!(store.verify(&changed).is_err());
            let cut = cut % signed.len();
            proptest::prop_assert!(store.verify(&signed[..cut]).is_err());
        }
    }

    #[test]
    fn several_signatures_and_any_trusted_one_suffices() {
        let first = KeyPair::generate();
        let second = KeyPair::generate();
        let twice = sign(&sign(&component(), &first.sk, &first.pk).unwrap(), &second.sk, &second.pk).unwrap();
        assert_eq!(summarize(&twice).unwrap().signatures, 2);
        assert_eq!(store_of(&[&second]).verify(&twice).unwrap().len(), 1);
        assert_eq!(store_of(&[&first, &second]).verify(&twice).unwrap().len(), 2);
        assert!(
            matches!(TrustStore::empty().verify(&twice).unwrap_err(), SignatureError::Untrusted { key_ids } if key_ids.len() == 2)
        );
    }
}

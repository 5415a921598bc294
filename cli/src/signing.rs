//! `host keygen`, `host sign`, `host verify`: wasmsign2-format signatures.

use super::options::TrustArgs;
use super::report_error;
use clap::Args;
use soar_host::exit;
use soar_host::signing::{self, TrustStore};
use soar_host::storage::fs::{parent_of, staged, sync_dir, write_atomic_with_mode};
use std::path::PathBuf;
use wasmsign2::{KeyPair, PublicKey, SecretKey};

/// Arguments of `host keygen`.
#[derive(Args)]
pub struct KeygenArgs {
    /// Where to write the secret key (mode 0600)
    #[arg(short = 'k', long, value_name = "FILE")]
    secret_key: PathBuf,
    /// Where to write the public key (give it to operators to trust)
    #[arg(short = 'K', long, value_name = "FILE")]
    public_key: PathBuf,
}

/// Arguments of `host sign`.
#[derive(Args)]
pub struct SignArgs {
    /// The component to sign
    input: PathBuf,
    /// The secret key
    #[arg(short = 'k', long, value_name = "FILE")]
    secret_key: PathBuf,
    /// The matching public key, whose id names the signer in the signature
    #[arg(short = 'K', long, value_name = "FILE")]
    public_key: PathBuf,
    /// Where to write the signed component [default: over the input]
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

/// Arguments of `host verify`.
#[derive(Args)]
pub struct VerifyArgs {
    /// The component to check
    input: PathBuf,
    /// Check against this public key instead of the trusted keys (repeatable)
    #[arg(short = 'K', long = "public-key", value_name = "FILE")]
    public_keys: Vec<PathBuf>,
    #[command(flatten)]
    trust: TrustArgs,
}

/// Runs `host keygen`; returns the exit code. Both keys are written, or
/// neither: a secret key without its public key cannot be used or shared.
pub fn keygen(args: KeygenArgs) -> i32 {
    if args.secret_key.exists() {
        report_error(&format!("{} exists; refusing to overwrite a secret key", args.secret_key.display()));
        return exit::INVALID_INPUT;
    }
    if args.secret_key == args.public_key {
        report_error("the secret key and the public key must be different files");
        return exit::INVALID_INPUT;
    }
    let pair = KeyPair::generate();
    let written = (|| -> std::io::Result<()> {
        // Both are staged beside their targets first, so a failure to write
        // either leaves nothing behind.
        let secret = staged(&args.secret_key, &pair.sk.to_bytes(), 0o600)?;
        let public = staged(&args.public_key, &pair.pk.to_bytes(), PUBLIC_MODE)?;
        public.persist(&args.public_key).map_err(|err| err.error)?;
        if let Err(err) = secret.persist_noclobber(&args.secret_key) {
            let _ = std::fs::remove_file(&args.public_key);
            return Err(err.error);
        }
        sync_dir(parent_of(&args.secret_key))?;
        sync_dir(parent_of(&args.public_key))
    })();
    match written {
        Ok(()) => {
            println!(
                "{}",
                serde_json::json!({"key_id": signing::key_id_of(&pair.pk), "secret_key": args.secret_key, "public_key": args.public_key})
            );
            exit::SUCCESS
        }
        Err(err) => {
            report_error(&format!("cannot write the key pair: {err}"));
            exit::HOST
        }
    }
}

/// Public keys and signed components are meant to be shared: 0644.
const PUBLIC_MODE: u32 = 0o644;

/// Runs `host sign`; returns the exit code.
pub fn sign(args: SignArgs) -> i32 {
    let output = args.output.as_ref().unwrap_or(&args.input);
    let prepared = (|| -> Result<(Vec<u8>, String), String> {
        let secret = SecretKey::from_any_file(&args.secret_key)
            .map_err(|err| format!("{}: {err}", args.secret_key.display()))?;
        let public = PublicKey::from_any_file(&args.public_key)
            .map_err(|err| format!("{}: {err}", args.public_key.display()))?;
        let component = std::fs::read(&args.input).map_err(|err| format!("{}: {err}", args.input.display()))?;
        let signed = signing::sign(&component, &secret, &public)
            .map_err(|err| format!("cannot sign {}: {err}", args.input.display()))?;
        Ok((signed, signing::key_id_of(&public)))
    })();
    let (signed, key_id) = match prepared {
        Ok(prepared) => prepared,
        Err(message) => {
            report_error(&message);
            return exit::INVALID_INPUT;
        }
    };
    match write_atomic_with_mode(output, &signed, PUBLIC_MODE) {
        Ok(()) => {
            eprintln!("signed {} with key {key_id}", output.display());
            exit::SUCCESS
        }
        Err(err) => {
            report_error(&format!("cannot write {}: {err}", output.display()));
            exit::HOST
        }
    }
}

/// Runs `host verify`; returns the exit code.
pub fn verify(args: VerifyArgs) -> i32 {
    let store = if args.public_keys.is_empty() {
        args.trust.trust_store().map_err(|err| err.to_string())
    } else {
        let mut store = TrustStore::empty();
        args.public_keys
            .iter()
            .try_for_each(|path| {
                let key = PublicKey::from_any_file(path).map_err(|err| format!("{}: {err}", path.display()))?;
                store.add(path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(), key);
                Ok::<(), String>(())
            })
            .map(|()| store)
    };
    let component = std::fs::read(&args.input).map_err(|err| format!("{}: {err}", args.input.display()));
    let (store, component) = match (store, component) {
        (Ok(store), Ok(component)) => (store, component),
        (Err(message), _) => {
            // Trusted keys another user could change: nothing is verified.
            report_error(&message);
            return exit::CONNECTOR;
        }
        (_, Err(message)) => {
            report_error(&message);
            return exit::INVALID_INPUT;
        }
    };
    let summary = signing::summarize(&component).ok();
    match store.verify(&component) {
        Ok(signers) => {
            let signers: Vec<_> =
                signers.iter().map(|key| serde_json::json!({"key_id": key.key_id, "name": key.name})).collect();
            let digest = summary.as_ref().map(|s| s.digest.clone());
            let key_ids = summary.map(|s| s.key_ids).unwrap_or_default();
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "file": args.input, "verified": true, "digest": digest, "trusted_signers": signers, "key_ids": key_ids,
                }))
                .unwrap_or_default()
            );
            exit::SUCCESS
        }
        Err(reason) => {
            report_error(&format!("{} fails verification: {reason}", args.input.display()));
            println!(
                "{}",
                serde_json::json!({"file": args.input, "verified": false, "reason": reason.to_string(),
                    "digest": summary.as_ref().map(|s| s.digest.clone()), "key_ids": summary.map(|s| s.key_ids).unwrap_or_default()})
            );
            exit::CONNECTOR
        }
    }
}

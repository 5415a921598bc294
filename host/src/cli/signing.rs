//! `host keygen`, `host sign`, `host verify`: wasmsign2-format signatures.

use super::{Global, report_error};
use clap::Args;
use soar_host::exit;
use soar_host::signing::{self, TrustStore};
use soar_host::storage::fs::write_atomic;
use std::path::{Path, PathBuf};
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
}

/// Runs `host keygen`; returns the exit code.
pub fn keygen(args: KeygenArgs) -> i32 {
    if args.secret_key.exists() {
        report_error(&format!("{} exists; refusing to overwrite a secret key", args.secret_key.display()));
        return exit::INVALID_INPUT;
    }
    let pair = KeyPair::generate();
    let written = write_atomic(&args.secret_key, &pair.sk.to_bytes())
        .and_then(|()| write_atomic(&args.public_key, &pair.pk.to_bytes()))
        .and_then(|()| make_readable(&args.public_key));
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

/// Public keys are meant to be shared: 0644.
fn make_readable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))
}

/// Runs `host sign`; returns the exit code.
pub fn sign(args: SignArgs) -> i32 {
    let result = (|| -> Result<String, String> {
        let secret = SecretKey::from_any_file(&args.secret_key)
            .map_err(|err| format!("{}: {err}", args.secret_key.display()))?;
        let public = PublicKey::from_any_file(&args.public_key)
            .map_err(|err| format!("{}: {err}", args.public_key.display()))?;
        let component = std::fs::read(&args.input).map_err(|err| format!("{}: {err}", args.input.display()))?;
        let signed = signing::sign(&component, &secret, &public)
            .map_err(|err| format!("cannot sign {}: {err}", args.input.display()))?;
        let output = args.output.as_ref().unwrap_or(&args.input);
        write_atomic(output, &signed).map_err(|err| format!("{}: {err}", output.display()))?;
        make_readable(output).map_err(|err| format!("{}: {err}", output.display()))?;
        Ok(signing::key_id_of(&public))
    })();
    match result {
        Ok(key_id) => {
            eprintln!("signed {} with key {key_id}", args.output.as_ref().unwrap_or(&args.input).display());
            exit::SUCCESS
        }
        Err(message) => {
            report_error(&message);
            exit::INVALID_INPUT
        }
    }
}

/// Runs `host verify`; returns the exit code.
pub fn verify(global: &Global, args: VerifyArgs) -> i32 {
    let store = if args.public_keys.is_empty() {
        global.trust_store().map_err(|err| err.to_string())
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
        (Err(message), _) | (_, Err(message)) => {
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

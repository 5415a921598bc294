//! The adversarial suite: one module per area, each test named after the attack
//! it tries, run against the real host with real components, simulators and the
//! hostile vendor of the test kit ([`soar_tests::hostile`]).

mod egress;
mod input;
mod secrets;
mod signing_cache;
mod storage_names;

use base64::Engine as _;
use soar_tests::harness::{HostEnv, Run};

/// A Cofense asset file `<dir>/<file>` pointing at `base_url`, with `secret`.
pub fn cofense_asset(env: &HostEnv, file: &str, base_url: &str, secret: &str) -> std::path::PathBuf {
    let path = env.root().join(file);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    let contents = format!(
        "base_url = \"{base_url}\"\nclient_id = \"{}\"\nclient_secret = \"{secret}\"\n",
        soar_tests::sim::cofense_vision::CofenseSim::CLIENT_ID
    );
    soar_tests::harness::write_asset(&path, &contents).unwrap();
    path
}

/// Every way `secret` could be recognised in output: literally, percent-encoded
/// in either case, base64 (both alphabets, every alignment) and `\u`-escaped.
pub fn encodings(secret: &str) -> Vec<String> {
    let percent: String = secret.bytes().map(|b| format!("%{b:02X}")).collect();
    let unicode: String = secret.chars().map(|c| format!("\\u{:04x}", c as u32)).collect();
    let mut forms = vec![secret.to_string(), percent.clone(), percent.to_lowercase(), unicode];
    for prefix in ["", "a", "ab"] {
        for engine in [&base64::engine::general_purpose::STANDARD, &base64::engine::general_purpose::URL_SAFE] {
            let encoded = engine.encode(format!("{prefix}{secret}"));
            // The part of the encoding that only the secret determines.
            let start = (prefix.len() * 8).div_ceil(6);
            let end = (prefix.len() + secret.len()) * 8 / 6;
            forms.push(encoded[start..end].to_string());
        }
    }
    forms
}

/// Panics if `secret`, in any encoding, is on the run's stdout or stderr.
pub fn assert_no_secret(run: &Run, secret: &str) {
    for form in encodings(secret) {
        assert!(!run.stdout.contains(&form), "stdout shows the secret as {form}: {}", run.stdout);
        assert!(!run.stderr.contains(&form), "stderr shows the secret as {form}: {}", run.stderr);
    }
}

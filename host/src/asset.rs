//! Assets: a connector's configuration for one deployment of its product, read
//! from a TOML file whose keys are the connector's configuration variables.
//!
//! ```toml
//! base_url = "https://vision.example.com"
//! client_id = "soar"
//! client_secret = { env = "COFENSE_CLIENT_SECRET" }   # or { file = "/run/secrets/cofense" }
//! verify_server_cert = true
//! ```
//!
//! Secrets (variables of type `password`) never appear in what the host prints:
//! [`Asset::redact`] removes them from any text.

use crate::manifest::{ConfigInfo, ConfigType};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Why an asset could not be used. Every message names the file and variable.
#[derive(Debug, thiserror::Error)]
pub enum AssetError {
    #[error("cannot read asset file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("asset file {path} is not valid TOML: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("asset file {path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// A loaded, checked asset.
#[derive(Debug, Clone)]
pub struct Asset {
    name: String,
    values: BTreeMap<String, String>,
    secrets: Vec<String>,
}

impl Asset {
    /// Loads `path` and checks it against the connector's configuration variables.
    /// The asset's name (which keys its state) is the file name without extension.
    pub fn load(path: &Path, schema: &[ConfigInfo]) -> Result<Self, AssetError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| AssetError::Read { path: path.to_path_buf(), source })?;
        let table: toml::Table = text.parse().map_err(|err: toml::de::Error| AssetError::Syntax {
            path: path.to_path_buf(),
            message: err.to_string().trim().replace('\n', " "),
        })?;
        let invalid = |message: String| AssetError::Invalid { path: path.to_path_buf(), message };
        let base = path.parent().unwrap_or(Path::new("."));
        let mut values = BTreeMap::new();
        let mut inline_secret = false;
        for (key, value) in table {
            let Some(variable) = schema.iter().find(|v| v.name == key) else {
                let known: Vec<&str> = schema.iter().map(|v| v.name.as_str()).collect();
                return Err(invalid(format!(
                    "unknown variable '{key}'; the connector's variables are {}",
                    known.join(", ")
                )));
            };
            let (text, inline) = resolve(&key, value, base).map_err(invalid)?;
            check_type(variable, &text).map_err(invalid)?;
            inline_secret |= inline && variable.ty == ConfigType::Password;
            values.insert(key, text);
        }
        if let Some(missing) = schema.iter().find(|v| v.required && !values.contains_key(&v.name)) {
            return Err(invalid(format!(
                "the required variable '{}' ({}) is missing",
                missing.name, missing.description
            )));
        }
        if inline_secret && std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0) {
            tracing::warn!(
                "asset file {} holds a secret and is readable by other users; run `chmod 600` on it or take the secret from {{ env = ... }} or {{ file = ... }}",
                path.display()
            );
        }
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "default".into());
        Ok(Self::from_values(name, values, schema))
    }

    /// An asset from values already at hand (for embedding the host).
    pub fn from_values(name: impl Into<String>, values: BTreeMap<String, String>, schema: &[ConfigInfo]) -> Self {
        let secrets = schema
            .iter()
            .filter(|v| v.ty == ConfigType::Password)
            .filter_map(|v| values.get(&v.name).filter(|s| !s.is_empty()).cloned())
            .collect();
        Self { name: name.into(), values, secrets }
    }

    /// The asset's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The value of variable `name`.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// `verify_server_cert` (default true: certificates are checked unless the
    /// operator says otherwise).
    pub fn verify_server_cert(&self) -> bool {
        self.value("verify_server_cert").is_none_or(|v| !v.eq_ignore_ascii_case("false"))
    }

    /// `text` with every secret value replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        self.secrets.iter().fold(text.to_string(), |text, secret| text.replace(secret.as_str(), "***"))
    }
}

/// A TOML value as configuration text: scalars as written, `{ env = "VAR" }` from
/// the environment and `{ file = "path" }` from a file (relative to the asset
/// file). Returns the text and whether it was written inline.
fn resolve(key: &str, value: toml::Value, base: &Path) -> Result<(String, bool), String> {
    match value {
        toml::Value::String(text) => Ok((text, true)),
        toml::Value::Boolean(flag) => Ok((flag.to_string(), true)),
        toml::Value::Integer(n) => Ok((n.to_string(), true)),
        toml::Value::Float(n) => Ok((n.to_string(), true)),
        toml::Value::Table(table) => {
            let source = |name: &str| table.get(name).and_then(toml::Value::as_str);
            match (source("env"), source("file"), table.len()) {
                (Some(var), None, 1) => std::env::var(var)
                    .map(|value| (value, false))
                    .map_err(|_| format!("'{key}' comes from environment variable {var}, which is not set")),
                (None, Some(file), 1) => {
                    let file = base.join(file);
                    std::fs::read_to_string(&file)
                        .map(|value| (value.trim_end_matches(['\r', '\n']).to_string(), false))
                        .map_err(|err| format!("'{key}' comes from {}, which cannot be read: {err}", file.display()))
                }
                _ => Err(format!("'{key}' must be a value, {{ env = \"VAR\" }} or {{ file = \"path\" }}")),
            }
        }
        _ => Err(format!("'{key}' must be a string, number or boolean")),
    }
}

fn check_type(variable: &ConfigInfo, text: &str) -> Result<(), String> {
    let name = &variable.name;
    match variable.ty {
        ConfigType::Boolean if !["true", "false"].contains(&text.to_ascii_lowercase().as_str()) => {
            Err(format!("'{name}' must be true or false, not '{text}'"))
        }
        ConfigType::Numeric if text.trim().parse::<f64>().is_err() => {
            Err(format!("'{name}' must be a number, not '{text}'"))
        }
        _ if name == "base_url" => check_base_url(text),
        _ => Ok(()),
    }
}

fn check_base_url(text: &str) -> Result<(), String> {
    let url = url::Url::parse(text.trim()).map_err(|err| format!("'base_url' is not a valid URL ({err}): '{text}'"))?;
    if !["http", "https"].contains(&url.scheme()) || url.host_str().is_none() {
        return Err(format!("'base_url' must be an http:// or https:// URL with a host, not '{text}'"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Vec<ConfigInfo> {
        let var = |name: &str, ty, required| ConfigInfo {
            name: name.into(),
            description: format!("the {name}"),
            ty,
            required,
        };
        vec![
            var("base_url", ConfigType::String, true),
            var("verify_server_cert", ConfigType::Boolean, false),
            var("client_secret", ConfigType::Password, true),
        ]
    }

    fn load(text: &str) -> Result<Asset, AssetError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prod.toml");
        std::fs::write(&path, text).unwrap();
        std::fs::write(dir.path().join("secret.txt"), "from-file\n").unwrap();
        Asset::load(&path, &schema())
    }

    #[test]
    fn values_env_and_files() {
        let asset = load("base_url = \"https://x.example\"\nclient_secret = { file = \"secret.txt\" }\n").unwrap();
        assert_eq!(asset.name(), "prod");
        assert_eq!(asset.value("client_secret"), Some("from-file"));
        assert!(asset.verify_server_cert());
        assert_eq!(asset.redact("token from-file here"), "token *** here");
        let err = load("base_url = \"https://x.example\"\nclient_secret = { env = \"SOAR_TEST_UNSET_VARIABLE\" }\n")
            .unwrap_err();
        assert!(err.to_string().contains("SOAR_TEST_UNSET_VARIABLE"), "{err}");
    }

    #[test]
    fn mistakes_name_the_file_and_variable() {
        let cases = [
            ("base_url = ", "not valid TOML"),
            ("base_url = \"https://x\"\n", "'client_secret'"),
            ("base_url = \"x\"\nclient_secret = \"s\"\n", "'base_url'"),
            (
                "base_url = \"https://x\"\nclient_secret = \"s\"\nverify_server_cert = \"maybe\"\n",
                "'verify_server_cert'",
            ),
            ("base_url = \"https://x\"\nclient_secret = \"s\"\nclient_secert = \"s\"\n", "'client_secert'"),
        ];
        for (text, expected) in cases {
            let err = load(text).unwrap_err().to_string();
            assert!(err.contains("prod.toml") && err.contains(expected), "{text:?}: {err}");
        }
    }
}

//! Assets: a connector's configuration for one deployment of its product, read
//! from a TOML file whose keys are the connector's configuration variables.
//!
//! ```toml
//! name = "vision-prod"                                # the asset's identity (default: the file name)
//! base_url = "https://vision.example.com"             # (a Cofense Vision asset)
//! client_id = "soar"
//! client_secret = { env = "COFENSE_CLIENT_SECRET" }   # or { file = "/run/secrets/cofense" }
//! verify_server_cert = true
//! ```
//!
//! A variable the file leaves out takes the default the connector declares
//! for it, if any: a required variable with a default may be left out, and a
//! defaulted origin is an origin like any other. Integral numbers reach the
//! connector as plain digits (`3`, whether written `3`, `3.0` or `"3.0"`).
//!
//! What the host does with a variable besides handing it to the connector is
//! the connector's to declare ([`crate::manifest::ConfigRole`]): URLs whose
//! origins it may reach, and the boolean that turns certificate checks off. The
//! host knows no variable by name but `name`.
//!
//! The asset's name keys its state (tokens, checkpoints), vault attribution and
//! containers, so it must not collide silently: the host records which asset
//! files and origins each name stands for (see [`crate::storage::assets`]).
//!
//! Secrets (variables of type `password`) never appear in what the host prints
//! (see [`crate::redact`]). Errors about the file name it, the line and the
//! variable, never the text: the file holds secrets, and a mistaken `--asset`
//! may point at a file that is not an asset at all.

use crate::manifest::{ConfigInfo, ConfigRole, ConfigType};
use crate::names::check_asset_name;
use crate::redact::{Added, MIN_SECRET_LEN, Redactor};
use crate::storage::fs::read_regular_file;
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The key that names the asset; connectors may not declare a variable of
/// that name.
pub const NAME_KEY: &str = "name";
/// The largest asset file read.
const MAX_ASSET_FILE: u64 = 1 << 20;
/// The largest secret read from a `{ file = ... }`.
const MAX_SECRET_FILE: u64 = 64 * 1024;

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
#[derive(Clone)]
pub struct Asset {
    name: String,
    /// The asset file, resolved, when the asset came from one.
    source: Option<PathBuf>,
    values: BTreeMap<String, String>,
    /// Its secrets, for each action's redactor to start from.
    redactor: Redactor,
    /// The origins its URLs point at, worked out once.
    origins: Vec<String>,
    /// The variables the connector declares as origins, in declaration order.
    origin_variables: Vec<String>,
    /// The variable the connector declares as turning certificate checks off.
    tls_variable: Option<String>,
}

/// Names the variables set, never their values: some are secrets.
impl std::fmt::Debug for Asset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Asset")
            .field("name", &self.name)
            .field("source", &self.source)
            .field("variables", &self.values.keys().collect::<Vec<_>>())
            .field("origins", &self.origins)
            .finish_non_exhaustive()
    }
}

impl Asset {
    /// Loads `path` and checks it against the connector's configuration variables.
    /// The asset's name is its `name` key, or else the file name without extension.
    pub fn load(path: &Path, schema: &[ConfigInfo]) -> Result<Self, AssetError> {
        Self::load_with_env(path, schema, &|name| std::env::var(name).ok())
    }

    /// [`Asset::load`], taking `{ env = "VAR" }` values from `env` instead of
    /// this process's environment: a resident host loads the asset of a
    /// command run elsewhere, with that command's environment.
    pub fn load_with_env(
        path: &Path,
        schema: &[ConfigInfo],
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, AssetError> {
        let read_error = |source| AssetError::Read { path: path.to_path_buf(), source };
        let bytes = read_regular_file(path, MAX_ASSET_FILE).map_err(read_error)?;
        let text = String::from_utf8(bytes)
            .map_err(|_| AssetError::Syntax { path: path.to_path_buf(), message: "it is not UTF-8 text".into() })?;
        let mut table: toml::Table = text.parse().map_err(|err: toml::de::Error| AssetError::Syntax {
            path: path.to_path_buf(),
            message: describe(&err, &text, schema),
        })?;
        let invalid = |message: String| AssetError::Invalid { path: path.to_path_buf(), message };
        let name = match table.remove(NAME_KEY) {
            Some(toml::Value::String(name)) => name,
            Some(_) => return Err(invalid(format!("'{NAME_KEY}' must be a string"))),
            None => path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
        };
        check_asset_name(&name).map_err(|reason| {
            invalid(format!("the asset's name {reason}; set `{NAME_KEY} = \"...\"` in the file to give it one"))
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut values = BTreeMap::new();
        let mut inline_secret = false;
        for (key, value) in table {
            let Some(variable) = schema.iter().find(|v| v.name == key) else {
                let known: Vec<&str> = schema.iter().map(|v| v.name.as_str()).collect();
                return Err(invalid(format!(
                    "unknown variable '{key}'; the connector's variables are {} (and '{NAME_KEY}', the asset's name)",
                    known.join(", ")
                )));
            };
            let (text, inline) = resolve(&key, value, base, env).map_err(invalid)?;
            let text = check_value(variable, text).map_err(invalid)?;
            inline_secret |= inline && variable.ty == ConfigType::Password;
            values.insert(key, text);
        }
        let mut asset = Self::from_values(name, values, schema);
        if let Some(missing) = schema.iter().find(|v| v.required && asset.value(&v.name).is_none()) {
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
        asset.source = Some(path.canonicalize().unwrap_or_else(|_| path.to_path_buf()));
        Ok(asset)
    }

    /// An asset from values already at hand (for embedding the host). The
    /// values are used as given, but for integral numbers, which become plain
    /// digits; a variable they leave out takes its declared default.
    pub fn from_values(name: impl Into<String>, mut values: BTreeMap<String, String>, schema: &[ConfigInfo]) -> Self {
        for variable in schema {
            match values.get_mut(&variable.name) {
                Some(value) if variable.ty == ConfigType::Numeric => {
                    if let Some(number) = crate::params::parse_integer(value) {
                        *value = number.to_string();
                    }
                }
                Some(_) => {}
                None => {
                    let Some(default) = &variable.default else { continue };
                    // Checked like a value from a file, so that an origin is in
                    // its canonical spelling; a connector's bad default is no value.
                    match check_value(variable, default.clone()) {
                        Ok(value) => _ = values.insert(variable.name.clone(), value),
                        Err(why) => tracing::warn!("the connector's default is not used: {why}"),
                    }
                }
            }
        }
        let redactor = Redactor::default();
        for variable in schema.iter().filter(|v| v.ty == ConfigType::Password) {
            let Some(secret) = values.get(&variable.name).filter(|s| !s.is_empty()) else { continue };
            if secret.chars().count() < MIN_SECRET_LEN {
                tracing::warn!(
                    "the secret '{}' is weak: {} characters are too few to find it in output without corrupting other text, so it is masked only where a whole value equals it; use a secret of at least {MIN_SECRET_LEN} characters",
                    variable.name,
                    secret.chars().count()
                );
            }
            let _: Added = redactor.add(secret);
        }
        let with_role = |role| schema.iter().filter(move |v| v.role == role).map(|v| v.name.clone());
        let origin_variables = with_role(ConfigRole::Origin).collect();
        let tls_variable = with_role(ConfigRole::TlsVerification).next();
        let mut asset = Self {
            name: name.into(),
            source: None,
            values,
            redactor,
            origins: Vec::new(),
            origin_variables,
            tls_variable,
        };
        asset.origins = asset
            .origin_urls()
            .into_iter()
            .filter_map(|(_, url)| url::Url::parse(url).ok())
            .map(|url| url.origin().ascii_serialization())
            .collect();
        asset
    }

    /// The asset's name: its identity, which keys its state and containers.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The asset file it was loaded from (resolved), if any.
    pub fn source(&self) -> Option<&Path> {
        self.source.as_deref()
    }

    /// The value of variable `name`.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Whether certificates are checked: yes unless the connector's
    /// `tls-verification` variable is `false`.
    pub fn verify_tls(&self) -> bool {
        self.tls_variable
            .as_deref()
            .and_then(|name| self.value(name))
            .is_none_or(|value| !value.eq_ignore_ascii_case("false"))
    }

    /// The URLs of the connector's `origin` variables that this asset sets:
    /// where the connector may send requests.
    pub fn origin_urls(&self) -> Vec<(&str, &str)> {
        self.origin_variables
            .iter()
            .filter_map(|name| Some((name.as_str(), self.value(name).filter(|url| !url.is_empty())?)))
            .collect()
    }

    /// The origins (`scheme://host:port`) the asset's URLs point at.
    pub fn origins(&self) -> &[String] {
        &self.origins
    }

    /// A redactor for this asset's secrets, to which an action adds the
    /// credentials it sends.
    pub fn redactor(&self) -> Redactor {
        self.redactor.clone()
    }

    /// `text` with every secret masked (see [`crate::redact`]).
    pub fn redact(&self, text: &str) -> String {
        self.redactor().text(text)
    }
}

/// A TOML error as line, column and variable, without quoting the file: the
/// line may hold a secret, or belong to a file that is not an asset at all.
fn describe(err: &toml::de::Error, text: &str, schema: &[ConfigInfo]) -> String {
    let Some(span) = err.span() else { return "the file cannot be parsed".into() };
    let mut start = span.start.min(text.len());
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let before = &text[..start];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |start| start.chars().count()) + 1;
    let line_text = text.lines().nth(line - 1).unwrap_or_default();
    let key = line_text
        .split_once('=')
        .map(|(key, _)| key.trim())
        .filter(|key| *key == NAME_KEY || schema.iter().any(|variable| variable.name == *key));
    let what = match key {
        Some(key) => format!(" (in the value of '{key}')"),
        None => String::new(),
    };
    format!("line {line}, column {column}{what}: {}", sanitize_message(err.message(), schema))
}

/// The parser's message, keeping quoted fragments only when they are syntax
/// (`=`, `"`) or a variable name: anything else could come from the file.
fn sanitize_message(message: &str, schema: &[ConfigInfo]) -> String {
    let mut out = String::new();
    for (i, part) in message.split('`').enumerate() {
        let quoted = i % 2 == 1;
        let safe = !quoted || part.chars().count() <= 3 || schema.iter().any(|variable| variable.name == part);
        match (quoted, safe) {
            (false, _) => out.push_str(part),
            (true, true) => out.push_str(&format!("`{part}`")),
            (true, false) => out.push('…'),
        }
    }
    out.lines().next().unwrap_or_default().to_string()
}

/// A TOML value as configuration text: scalars as written, `{ env = "VAR" }` from
/// the environment and `{ file = "path" }` from a file (relative to the asset
/// file). Returns the text and whether it was written inline.
fn resolve(
    key: &str,
    value: toml::Value,
    base: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(String, bool), String> {
    match value {
        toml::Value::String(text) => Ok((text, true)),
        toml::Value::Boolean(flag) => Ok((flag.to_string(), true)),
        toml::Value::Integer(n) => Ok((n.to_string(), true)),
        toml::Value::Float(n) => Ok((n.to_string(), true)),
        toml::Value::Table(table) => {
            let source = |name: &str| table.get(name).and_then(toml::Value::as_str);
            match (source("env"), source("file"), table.len()) {
                (Some(var), None, 1) => env(var)
                    .map(|value| (value, false))
                    .ok_or_else(|| format!("'{key}' comes from environment variable {var}, which is not set")),
                (None, Some(file), 1) => {
                    let file = base.join(file);
                    let unreadable = |err: std::io::Error| {
                        format!("'{key}' comes from {}, which cannot be read: {err}", file.display())
                    };
                    let bytes = read_regular_file(&file, MAX_SECRET_FILE).map_err(unreadable)?;
                    let text = String::from_utf8(bytes)
                        .map_err(|_| format!("'{key}' comes from {}, which is not UTF-8 text", file.display()))?;
                    Ok((text.trim_end_matches(['\r', '\n']).to_string(), false))
                }
                _ => Err(format!("'{key}' must be a value, {{ env = \"VAR\" }} or {{ file = \"path\" }}")),
            }
        }
        _ => Err(format!("'{key}' must be a string, number or boolean")),
    }
}

/// Checks a value against its variable's type; URLs come back in canonical form.
fn check_value(variable: &ConfigInfo, text: String) -> Result<String, String> {
    let name = &variable.name;
    match variable.ty {
        ConfigType::Boolean if !["true", "false"].contains(&text.to_ascii_lowercase().as_str()) => {
            Err(format!("'{name}' must be true or false, not '{text}'"))
        }
        ConfigType::Numeric if text.trim().parse::<f64>().is_err() => {
            Err(format!("'{name}' must be a number, not '{text}'"))
        }
        _ if variable.role == ConfigRole::Origin => canonical_url(name, &text),
        _ => Ok(text),
    }
}

/// An origin URL in the one spelling both the connector and the outbound policy
/// use: `http://0x7f.0.0.1:80/api/` and `http://127.1/api` are both
/// `http://127.0.0.1/api`, IPv6 addresses in their shortest form. Anything that
/// would make the connector send something else than the policy checks
/// (spaces, control characters, credentials, a query) is refused.
pub fn canonical_url(name: &str, text: &str) -> Result<String, String> {
    let shown = text.escape_debug();
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("'{name}' must not contain spaces or control characters: '{shown}'"));
    }
    let url = url::Url::parse(text).map_err(|err| format!("'{name}' is not a valid URL ({err}): '{shown}'"))?;
    if !["http", "https"].contains(&url.scheme()) || url.host_str().is_none_or(str::is_empty) {
        return Err(format!("'{name}' must be an http:// or https:// URL with a host, not '{shown}'"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "'{name}' must not contain a user name or password; put credentials in their own variables"
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("'{name}' must not have a query or fragment: '{shown}'"));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn schema() -> Vec<ConfigInfo> {
        let var = |name: &str, ty, required, role| ConfigInfo {
            name: name.into(),
            description: format!("the {name}"),
            ty,
            required,
            role,
            default: None,
        };
        vec![
            var("base_url", ConfigType::String, true, ConfigRole::Origin),
            var("verify_server_cert", ConfigType::Boolean, false, ConfigRole::TlsVerification),
            var("client_secret", ConfigType::Password, true, ConfigRole::Value),
        ]
    }

    fn load(text: &str) -> Result<Asset, AssetError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prod.toml");
        std::fs::write(&path, text).unwrap();
        std::fs::write(dir.path().join("secret.txt"), "from-file-secret\n").unwrap();
        Asset::load(&path, &schema())
    }

    #[test]
    fn values_env_and_files() {
        let asset = load("base_url = \"https://x.example\"\nclient_secret = { file = \"secret.txt\" }\n").unwrap();
        assert_eq!(asset.name(), "prod");
        assert_eq!(asset.value("client_secret"), Some("from-file-secret"));
        assert!(asset.verify_tls());
        assert_eq!(asset.redact("token from-file-secret here"), "token *** here");
        let err = load("base_url = \"https://x.example\"\nclient_secret = { env = \"SOAR_TEST_UNSET_VARIABLE\" }\n")
            .unwrap_err();
        assert!(err.to_string().contains("SOAR_TEST_UNSET_VARIABLE"), "{err}");
        let named = load("name = \"vision-a\"\nbase_url = \"https://x.example\"\nclient_secret = \"s\"\n").unwrap();
        assert_eq!(named.name(), "vision-a");
        assert!(load("name = \"../x\"\nbase_url = \"https://x\"\nclient_secret = \"s\"\n").is_err());
    }

    #[test]
    fn debug_output_names_variables_never_their_values() {
        let asset = load("base_url = \"https://x.example\"\nclient_secret = { file = \"secret.txt\" }\n").unwrap();
        let redactor = asset.redactor();
        redactor.add("a-token-the-action-sent");
        for shown in [format!("{asset:?}"), format!("{redactor:?}")] {
            assert!(!shown.contains("from-file-secret") && !shown.contains("a-token"), "{shown}");
        }
        assert!(format!("{asset:?}").contains("client_secret"));
        // What an action adds stays its own: the asset's redactor is unchanged.
        assert!(!asset.redactor().knows("a-token-the-action-sent") && redactor.knows("from-file-secret"));
    }

    #[test]
    fn left_out_variables_take_their_declared_defaults() {
        let mut schema = schema();
        schema[0].default = Some("HTTPS://API.Example.COM/".into());
        schema.push(ConfigInfo {
            name: "max".into(),
            description: "the max".into(),
            ty: ConfigType::Numeric,
            required: false,
            role: ConfigRole::Value,
            default: Some("100".into()),
        });
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prod.toml");
        std::fs::write(&path, "client_secret = \"s\"\n").unwrap();
        let asset = Asset::load(&path, &schema).unwrap();
        assert_eq!((asset.value("base_url"), asset.value("max")), (Some("https://api.example.com"), Some("100")));
        assert_eq!(asset.origins(), ["https://api.example.com"]);
        std::fs::write(&path, "client_secret = \"s\"\nbase_url = \"https://x.example\"\nmax = \" 7.0 \"\n").unwrap();
        let asset = Asset::load(&path, &schema).unwrap();
        assert_eq!((asset.value("base_url"), asset.value("max")), (Some("https://x.example"), Some("7")));
        assert_eq!(asset.origins(), ["https://x.example"], "a value set replaces the default");
        let embedded = Asset::from_values("e", BTreeMap::from([("max".into(), "2.5".into())]), &schema);
        assert_eq!((embedded.value("base_url"), embedded.value("max")), (Some("https://api.example.com"), Some("2.5")));
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

    #[test]
    fn syntax_errors_give_line_and_key_never_text() {
        let err = load("base_url = \"https://x\"\nclient_secret = \"hunter2-very-secret\n").unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("'client_secret'"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        let err = load("root:$6$saltsalt$hashhashhash:19000:0:99999:7:::\n").unwrap_err().to_string();
        assert!(err.contains("line 1") && !err.contains("saltsalt") && !err.contains("root"), "{err}");
    }

    #[test]
    fn one_spelling_of_each_url() {
        for (given, canonical) in [
            ("http://[0:0:0:0:0:0:0:1]:8080", "http://[::1]:8080"),
            ("http://0x7f.0.0.1:8080/api/", "http://127.0.0.1:8080/api"),
            ("http://127.1:8080", "http://127.0.0.1:8080"),
            ("HTTPS://Vision.Example.COM:443/", "https://vision.example.com"),
        ] {
            assert_eq!(canonical_url("base_url", given).as_deref(), Ok(canonical), "{given}");
        }
        for bad in [
            "http://a b.example",
            "http://x.example/a b",
            "http://u:p@x.example",
            "http://x.example/?q",
            "ftp://x",
            "http://x\n",
        ] {
            assert!(canonical_url("base_url", bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        /// No text, however malformed, makes loading panic, and no error quotes
        /// the secret written in it.
        #[test]
        fn errors_never_quote_the_file(text in "\\PC{0,200}", secret in "[a-z]{12}") {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("a.toml");
            let contents = format!("client_secret = \"{secret}{text}");
            std::fs::write(&path, &contents).unwrap();
            if let Err(err) = Asset::load(&path, &schema()) {
                prop_assert!(!err.to_string().contains(&secret), "{}", err);
            }
        }
    }
}

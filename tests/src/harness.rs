//! What the end-to-end tests share: the real `host` binary and installed
//! components, a private data directory per test, and the spec's data paths.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;
use tempfile::TempDir;

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// A vendor's test directory, `tests/vendors/<vendor>/`: its simulator, tests,
/// fixtures and specification (`spec.md`).
pub fn vendor_dir(vendor: &str) -> PathBuf {
    workspace().join("tests/vendors").join(vendor)
}

/// The `host` binary under test (`SOAR_HOST_BIN`, or the release build).
pub fn host_binary() -> PathBuf {
    let path =
        std::env::var_os("SOAR_HOST_BIN").map(PathBuf::from).unwrap_or_else(|| workspace().join("target/release/host"));
    assert!(path.is_file(), "{} is missing: run `make build` (or `make test`) first", path.display());
    path
}

/// An example program of the host library (`host/examples/<name>.rs`), as the
/// release build leaves it.
pub fn example_binary(name: &str) -> PathBuf {
    let path = workspace().join("target/release/examples").join(name);
    assert!(path.is_file(), "{} is missing: run `make build` (or `make test`) first", path.display());
    path
}

/// The directory of components built for the tests (`SOAR_TEST_PLUGIN_DIR`, or
/// `target/plugins`, filled by `make build`).
pub fn plugin_dir() -> PathBuf {
    let dir = std::env::var_os("SOAR_TEST_PLUGIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/plugins"));
    assert!(dir.join("cofense.wasm").is_file(), "{} has no components: run `make build` first", dir.display());
    dir
}

/// The trusted keys of the tests: the development key `make build` signs with.
pub fn trust_dir() -> PathBuf {
    workspace().join("target/trust")
}

/// A component built for the tests, by file name (`cofense.wasm`, `sandbox_probe.wasm`).
pub fn component(name: &str) -> PathBuf {
    let path = plugin_dir().join(name);
    assert!(path.is_file(), "{} is missing: run `make build` first", path.display());
    path
}

/// A component as built, before signing (`cofense.wasm`): what `make build`
/// leaves in `target/components` and signs into [`plugin_dir`].
pub fn unsigned_component(name: &str) -> PathBuf {
    let path = workspace().join("target/components").join(name);
    assert!(path.is_file(), "{} is missing: run `make build` first", path.display());
    path
}

/// A validation rule to check: (action, parameters, the parameter at fault, the
/// message or its beginning).
pub type Rejection = (&'static str, Vec<(&'static str, &'static str)>, &'static str, &'static str);

/// One test's private world: data directory, assets, and a compile cache shared by
/// all tests (so each component is compiled once per run).
pub struct HostEnv {
    dir: TempDir,
    plugin_dir: PathBuf,
    cache_dir: PathBuf,
    trust_dir: PathBuf,
}

/// What one `host` run produced.
#[derive(Debug)]
pub struct Run {
    /// The exit code.
    pub code: i32,
    /// stdout parsed as JSON (`Null` if it is not JSON).
    pub json: Value,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// What a finished `host` process printed.
    pub fn from_output(output: Output) -> Self {
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        Self {
            code: output.status.code().unwrap_or(-1),
            json: serde_json::from_str(&stdout).unwrap_or(Value::Null),
            stdout,
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Panics with the whole output unless the action succeeded.
    pub fn success(self) -> Self {
        assert!(self.code == 0 && self.json["status"] == "success", "expected success, got {self:#?}");
        self
    }

    /// Panics unless the run failed with `kind` and exit code `code`; returns the
    /// error message.
    pub fn failure(&self, kind: &str, code: i32) -> String {
        assert_eq!(
            (self.code, self.json["status"].as_str(), self.json["error"]["kind"].as_str()),
            (code, Some("failed"), Some(kind)),
            "{self:#?}"
        );
        let message = self.json["message"].as_str().unwrap_or_default().to_string();
        assert!(self.stderr.contains(&message), "the error is not on stderr: {self:#?}");
        message
    }

    /// Panics unless the action was refused for bad input: kind
    /// `invalid-parameter`, exit code 2, the error naming `parameter`, and a
    /// message beginning with `message`.
    pub fn rejected(&self, parameter: &str, message: &str) {
        let got = self.failure("invalid-parameter", soar_host::exit::INVALID_INPUT);
        assert!(got.starts_with(message), "got      {got}\nexpected {message}\n{self:#?}");
        assert_eq!(self.json["error"]["parameter"], parameter, "{self:#?}");
    }

    /// The `data` items.
    pub fn data(&self) -> &Vec<Value> {
        self.json["data"].as_array().unwrap_or_else(|| panic!("no data in {self:#?}"))
    }
}

impl HostEnv {
    /// A fresh environment using the test components.
    pub fn new() -> Self {
        Self::with_plugins(plugin_dir())
    }

    /// A fresh environment using the components in `plugin_dir`.
    pub fn with_plugins(plugin_dir: PathBuf) -> Self {
        let cache_dir = workspace().join("target/test-cache");
        Self { dir: tempfile::tempdir().expect("temporary directory"), plugin_dir, cache_dir, trust_dir: trust_dir() }
    }

    /// Trusts the keys in `trust_dir` instead of the tests' development key.
    pub fn with_trust(mut self, trust_dir: &Path) -> Self {
        self.trust_dir = trust_dir.to_path_buf();
        self
    }

    /// Uses `cache_dir` for compiled code instead of the shared test cache.
    pub fn with_cache(mut self, cache_dir: PathBuf) -> Self {
        self.cache_dir = cache_dir;
        self
    }

    /// The environment's private temporary directory (assets live there).
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// The data directory (state, vault, containers).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Writes an asset file called `<name>.toml` with `contents` (mode 0600).
    pub fn asset(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.dir.path().join(format!("{name}.toml"));
        write_asset(&path, contents).expect("write asset");
        path
    }

    /// A `host` command with this environment's directories. They are given
    /// in the environment, which every command that takes one of them reads
    /// and the others ignore; an option after the subcommand overrides them.
    pub fn command(&self) -> tokio::process::Command {
        let mut command = tokio::process::Command::from(self.std_command());
        command.kill_on_drop(true);
        command
    }

    /// [`HostEnv::command`], to run without an async runtime.
    pub fn std_command(&self) -> std::process::Command {
        let mut command = std::process::Command::new(host_binary());
        command
            .env("SOAR_PLUGIN_DIR", &self.plugin_dir)
            .env("SOAR_DATA_DIR", self.data_dir())
            .env("SOAR_CACHE_DIR", &self.cache_dir)
            .env("SOAR_TRUST", &self.trust_dir)
            .env_remove("SOAR_ASSET")
            .env_remove("SOAR_ALLOW_UNSIGNED")
            .env_remove("SOAR_ALLOW_PARTIAL_SIGNATURES")
            .env_remove("SOAR_CA_BUNDLE")
            .env_remove("SOAR_COMPILER")
            // Not the developer's own resident host.
            .env_remove("SOAR_HOST_SOCKET")
            // No registry credentials of the developer's reach the tests.
            .env_remove("SOAR_REGISTRY_USERNAME")
            .env_remove("SOAR_REGISTRY_PASSWORD")
            .env("DOCKER_CONFIG", self.dir.path().join("docker"))
            .env_remove("SOAR_LOG");
        command
    }

    /// Runs `host` with `args`.
    pub async fn run(&self, args: &[&str]) -> Run {
        let output = self.command().args(args).output().await.expect("run host");
        Run::from_output(output)
    }

    /// `host keygen` into `dir` (`<name>.key` and `<name>.pub`); panics unless
    /// it succeeds. Returns the secret and public key files.
    pub async fn keygen(&self, dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        let (secret, public) = (dir.join(format!("{name}.key")), dir.join(format!("{name}.pub")));
        let run = self.run(&["keygen", "--secret-key", path_str(&secret), "--public-key", path_str(&public)]).await;
        assert_eq!(run.code, 0, "{run:#?}");
        (secret, public)
    }

    /// `host sign input --secret-key secret --public-key public --output output`;
    /// panics unless it succeeds.
    pub async fn sign(&self, input: &Path, secret: &Path, public: &Path, output: &Path) {
        let args = ["sign", path_str(input), "-k", path_str(secret), "-K", path_str(public), "-o", path_str(output)];
        let run = self.run(&args).await;
        assert_eq!(run.code, 0, "{run:#?}");
    }

    /// Runs `host invoke <connector> <action> --asset <asset> --param ...`.
    pub async fn invoke(&self, connector: &str, action: &str, asset: &Path, params: &[(&str, &str)]) -> Run {
        let mut args =
            vec!["invoke".to_string(), connector.into(), action.into(), "--asset".into(), asset.display().to_string()];
        for (name, value) in params {
            args.push("--param".into());
            args.push(format!("{name}={value}"));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.run(&args).await
    }
}

/// A resident host (`host serve`) on a socket in a private directory of its
/// own, stopped when dropped. What it logs (`-v`: a line per action served) goes
/// to a file, for tests to tell that it ran an action.
pub struct Resident {
    child: std::process::Child,
    pub socket: PathBuf,
    log: PathBuf,
    _dir: TempDir,
}

impl Resident {
    /// Starts `host -v serve` as `command` says (a `host` command with its
    /// environment), and waits until it answers on its socket.
    pub fn start(mut command: std::process::Command) -> std::io::Result<Self> {
        let dir = tempfile::tempdir()?;
        let socket = dir.path().join("run").join("host.sock");
        let log = dir.path().join("serve.log");
        command.arg("-v").arg("serve").arg("--socket").arg(&socket);
        command.stdin(std::process::Stdio::null()).stdout(std::process::Stdio::null());
        command.stderr(std::fs::File::create(&log)?);
        let mut child = command.spawn()?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::os::unix::net::UnixStream::connect(&socket).is_err() {
            if let Some(status) = child.try_wait()? {
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                return Err(std::io::Error::other(format!("host serve exited ({status}): {log}")));
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                return Err(std::io::Error::other("host serve did not listen within 20 s"));
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        Ok(Self { child, socket, log, _dir: dir })
    }

    /// What it has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Resident {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Default for HostEnv {
    fn default() -> Self {
        Self::new()
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("test paths are UTF-8")
}

/// Writes an asset file readable by its owner only (it holds a secret).
pub fn write_asset(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, contents)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

/// The `action_result.data.*`, `action_result.summary.*` and `action_result.message`
/// paths the specification documents for `action` (as named in the spec, `get ioc`),
/// without the `action_result.` prefix (`data.*.id`).
pub fn documented_paths(vendor: &str, action: &str) -> Vec<String> {
    let text = std::fs::read_to_string(vendor_dir(vendor).join("spec.md")).expect("spec file");
    let heading = format!("## action: '{action}'");
    let section = text.split(&heading).nth(1).unwrap_or_else(|| panic!("no {heading} in the {vendor} specification"));
    let section = section.split("\n## action").next().unwrap_or_default();
    section
        .lines()
        .filter_map(|line| line.strip_prefix("action_result."))
        .filter_map(|line| line.split(" |").next())
        .map(|path| path.trim().replace("\\*", "*"))
        .filter(|path| path.starts_with("data") || path.starts_with("summary") || path == "message")
        .collect()
}

/// The documented paths absent from `result`. A `*` step matches if any array
/// element continues the path; a key whose value is `null` is present.
pub fn missing_paths(result: &Value, paths: &[String]) -> Vec<String> {
    paths.iter().filter(|path| !has_path(result, &path.split('.').collect::<Vec<_>>())).cloned().collect()
}

fn has_path(value: &Value, steps: &[&str]) -> bool {
    let Some((step, rest)) = steps.split_first() else { return true };
    match (*step, value) {
        ("*", Value::Array(items)) => items.iter().any(|item| has_path(item, rest)),
        // SOAR documents a scalar `data` or `summary` of actions that return none.
        ("*", _) => false,
        (key, Value::Object(object)) => match object.get(key) {
            Some(Value::Null) => rest.is_empty() || rest == ["*"],
            Some(child) => has_path(child, rest),
            None => false,
        },
        _ => false,
    }
}

/// Asserts every documented data path of `action` is in `result`.
pub fn assert_documented_paths(vendor: &str, action: &str, result: &Value) {
    assert_documented_paths_except(vendor, action, result, &[]);
}

/// Like [`assert_documented_paths`], for paths other than `absent` (each with a
/// reason at the call site).
pub fn assert_documented_paths_except(vendor: &str, action: &str, result: &Value, absent: &[&str]) {
    let paths: Vec<String> =
        documented_paths(vendor, action).into_iter().filter(|p| !absent.contains(&p.as_str())).collect();
    assert!(!paths.is_empty(), "the {vendor} specification documents no paths for {action}");
    let missing = missing_paths(result, &paths);
    assert!(missing.is_empty(), "{action}: documented paths missing from the result: {missing:#?}\nresult: {result:#}");
}

//! The `host` binary's options: each only on the commands it affects, given
//! after the subcommand or in its environment variable.

use soar_host::exit;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A private directory, removed when dropped; it is also the home directory
/// of the commands run in it, so no default directory of the user is read.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("soar-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch directory");
        Self(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// `host args` with `vars`, and none of the caller's `SOAR_` variables.
    fn host(&self, args: &[&str], vars: &[(&str, &str)]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_host"));
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("SOAR_") {
                command.env_remove(name);
            }
        }
        for name in ["XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME"] {
            command.env_remove(name);
        }
        command.env("HOME", &self.0).envs(vars.iter().copied()).args(args).output().expect("run host")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn help(scratch: &Scratch, command: &[&str]) -> String {
    let output = scratch.host(&[command, &["--help"]].concat(), &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    text(&output.stdout)
}

#[test]
fn an_option_the_command_does_not_take_is_a_usage_error_naming_it() {
    let scratch = Scratch::new("usage");
    for args in [
        &["containers", "list", "--trust", "keys"][..],
        &["--trust", "keys", "containers", "list"],
        &["keygen", "-k", "a.key", "-K", "a.pub", "--trust", "keys"],
    ] {
        let output = scratch.host(args, &[]);
        assert_eq!(output.status.code(), Some(exit::INVALID_INPUT), "{args:?}");
        let stderr = text(&output.stderr);
        assert!(stderr.contains("unexpected argument '--trust'"), "{args:?}: {stderr}");
    }
    assert!(!scratch.path("a.key").exists(), "nothing ran");
}

#[test]
fn help_lists_the_options_a_command_takes_and_no_others() {
    let scratch = Scratch::new("help");
    let containers = help(&scratch, &["containers", "list"]);
    assert!(containers.contains("--data-dir") && containers.contains("SOAR_DATA_DIR"), "{containers}");
    for other in ["--trust", "--plugin-dir", "--cache-dir", "--allow-unsigned", "--ca-bundle"] {
        assert!(!containers.contains(other), "{other} in: {containers}");
    }
    let invoke = help(&scratch, &["invoke"]);
    for (option, variable) in [
        ("--plugin-dir", "SOAR_PLUGIN_DIR"),
        ("--data-dir", "SOAR_DATA_DIR"),
        ("--cache-dir", "SOAR_CACHE_DIR"),
        ("--trust", "SOAR_TRUST"),
        ("--allow-unsigned", "SOAR_ALLOW_UNSIGNED"),
        ("--allow-partial-signatures", "SOAR_ALLOW_PARTIAL_SIGNATURES"),
        ("--ca-bundle", "SOAR_CA_BUNDLE"),
    ] {
        assert!(invoke.contains(option) && invoke.contains(variable), "{option} ({variable}) not in: {invoke}");
    }
    let keygen = help(&scratch, &["keygen"]);
    assert!(!keygen.contains("--trust") && !keygen.contains("--plugin-dir"), "{keygen}");
}

/// One option: a command that takes it, and what the command says on stderr
/// when the option is `value`, and only then.
struct Case<'a> {
    option: &'a str,
    variable: &'a str,
    command: &'a [&'a str],
    value: &'a Path,
    says: String,
}

#[test]
fn options_work_after_the_command_and_from_their_environment_variables() {
    let scratch = Scratch::new("options");
    let (plugins, not_a_dir, cache, trust) =
        (scratch.path("plugins"), scratch.path("file"), scratch.path("cache-file"), scratch.path("trust"));
    std::fs::create_dir(&plugins).unwrap();
    std::fs::write(&not_a_dir, "a file").unwrap();
    std::fs::write(&cache, "a file").unwrap();
    std::fs::create_dir(&trust).unwrap();
    // A trust directory every user may write to is refused, naming it.
    std::fs::set_permissions(&trust, std::fs::Permissions::from_mode(0o777)).unwrap();
    let bundle = scratch.path("missing-ca.pem");
    let cases = [
        Case {
            option: "--plugin-dir",
            variable: "SOAR_PLUGIN_DIR",
            command: &["plugin", "remove", "nosuch"],
            value: &plugins,
            says: format!("{}", plugins.display()),
        },
        Case {
            option: "--data-dir",
            variable: "SOAR_DATA_DIR",
            command: &["containers", "list"],
            value: &not_a_dir,
            says: format!("cannot open the container store in {}", not_a_dir.display()),
        },
        Case {
            option: "--cache-dir",
            variable: "SOAR_CACHE_DIR",
            command: &["plugin", "list"],
            value: &cache,
            says: format!("not using the compile cache {}", cache.display()),
        },
        Case {
            option: "--trust",
            variable: "SOAR_TRUST",
            command: &["verify", "component.wasm"],
            value: &trust,
            says: format!("refusing the trusted keys in {}", trust.display()),
        },
        Case {
            option: "--ca-bundle",
            variable: "SOAR_CA_BUNDLE",
            command: &["plugin", "install", "oci://127.0.0.1:9/soar/cofense:1.0.0"],
            value: &bundle,
            says: format!("cannot read the CA bundle {}", bundle.display()),
        },
        Case {
            option: "--allow-unsigned",
            variable: "SOAR_ALLOW_UNSIGNED",
            command: &["actions", "nosuch"],
            value: Path::new("true"),
            says: "WARNING: --allow-unsigned".to_string(),
        },
    ];
    for case in &cases {
        let value = case.value.to_str().unwrap();
        let given = format!("{}={value}", case.option);
        let runs = [
            ("after the command", scratch.host(&[case.command, &[&given]].concat(), &[]), true),
            ("from the environment", scratch.host(case.command, &[(case.variable, value)]), true),
            ("without it", scratch.host(case.command, &[]), false),
        ];
        for (how, output, expected) in runs {
            let stderr = text(&output.stderr);
            assert!(!stderr.contains("unexpected argument"), "{} {how}: {stderr}", case.option);
            assert_eq!(stderr.contains(&case.says), expected, "{} {how}: {stderr}", case.option);
        }
    }
}

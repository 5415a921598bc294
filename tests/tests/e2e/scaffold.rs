//! `make new-connector`: in a copy of the workspace, a generated connector adds
//! its three directories and nothing else, builds as a component, and its action
//! runs through the host against the template's simulator.

use soar_tests::harness::{HostEnv, workspace};
use soar_tests::sim::scaffold_template::AcmeSim;
use soar_tests::sim::{Simulator, Transport};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Every file under `root` (but build output and version control), relative
/// path to contents.
fn tree(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, files: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let relative = path.strip_prefix(root).unwrap().to_path_buf();
            if relative == Path::new("target") || relative == Path::new(".git") || relative.starts_with("node_modules")
            {
                continue;
            }
            if path.is_dir() {
                walk(root, &path, files);
            } else if path.is_file() {
                files.insert(relative, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut files = BTreeMap::new();
    walk(root, root, &mut files);
    files
}

/// A copy of the workspace's sources in a temporary directory.
fn copy_of_workspace() -> (tempfile::TempDir, BTreeMap<PathBuf, Vec<u8>>) {
    let copy = tempfile::tempdir().unwrap();
    let files = tree(&workspace());
    for (path, contents) in &files {
        let target = copy.path().join(path);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(&target, contents).unwrap();
    }
    std::fs::set_permissions(
        copy.path().join("scaffold/new-connector.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    (copy, files)
}

fn new_connector(workspace: &Path, name: &str) -> std::process::Output {
    Command::new("make")
        .args(["--no-print-directory", "new-connector", &format!("NAME={name}")])
        .current_dir(workspace)
        .output()
        .expect("run make")
}

/// The `[[package]]` entries of a lock file.
fn lock_entries(lock: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(lock).split("\n[[package]]\n").map(str::to_string).collect()
}

#[test]
fn bad_names_and_existing_vendors_are_refused_and_change_nothing() {
    let (copy, before) = copy_of_workspace();
    for name in ["", "Widgets", "9lives", "my-vendor", "a_b", "type", "sdk", "connector", &"x".repeat(41)] {
        let made = new_connector(copy.path(), name);
        assert!(!made.status.success(), "{name:?}: {made:?}");
        assert!(
            String::from_utf8_lossy(&made.stderr).contains("usage"),
            "{name:?} is refused with the usage: {made:?}"
        );
        assert_eq!(tree(copy.path()), before, "{name:?} changed the workspace");
    }
    let made = new_connector(copy.path(), "threatconnect");
    assert!(!made.status.success(), "{made:?}");
    assert!(String::from_utf8_lossy(&made.stderr).contains("wit/threatconnect already exists"), "{made:?}");
    assert_eq!(tree(copy.path()), before, "an existing vendor's files changed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_connector_adds_only_its_directories_builds_and_runs() {
    let (copy, before) = copy_of_workspace();
    let made = new_connector(copy.path(), "widgets");
    assert!(made.status.success(), "{made:?}");

    // Only the vendor's three directories are new; only the lock file changed,
    // by the new crate's entry.
    let after = tree(copy.path());
    for (path, _) in after.iter().filter(|(path, _)| !before.contains_key(*path)) {
        assert!(
            ["wit/widgets", "components/widgets", "tests/vendors/widgets"].iter().any(|dir| path.starts_with(dir)),
            "{} is outside the vendor's directories",
            path.display()
        );
        let text = String::from_utf8_lossy(&after[path]);
        assert!(!text.to_lowercase().contains("acme"), "{} still names the template", path.display());
    }
    for dir in ["wit/widgets/widgets.wit", "components/widgets/src/lib.rs", "tests/vendors/widgets/sim/mod.rs"] {
        assert!(after.contains_key(Path::new(dir)), "{dir} was not generated");
    }
    for (path, contents) in &before {
        if path != Path::new("Cargo.lock") {
            assert_eq!(after.get(path), Some(contents), "{} changed", path.display());
        }
    }
    let (old, new) = (lock_entries(&before[Path::new("Cargo.lock")]), lock_entries(&after[Path::new("Cargo.lock")]));
    let added: Vec<&String> = new.iter().filter(|entry| !old.contains(entry)).collect();
    assert!(old.iter().all(|entry| new.contains(entry)), "the lock file lost or changed an entry");
    assert!(added.len() == 1 && added[0].starts_with("name = \"widgets\""), "{added:#?}");

    // The component builds (into a target directory of its own, kept between
    // runs), with the workspace's locked dependencies.
    let build = tokio::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--offline", "--target", "wasm32-wasip2", "--profile", "component", "-p", "widgets"])
        .current_dir(copy.path())
        .env("CARGO_TARGET_DIR", workspace().join("target/scaffold"))
        .kill_on_drop(true)
        .output();
    let build = tokio::time::timeout(Duration::from_secs(1200), build).await.expect("the build ends").unwrap();
    assert!(build.status.success(), "{}", String::from_utf8_lossy(&build.stderr));
    let component = workspace().join("target/scaffold/wasm32-wasip2/component/widgets.wasm");

    // Signed with a key of its own, it runs through the host.
    let keys = tempfile::tempdir().unwrap();
    let plugins = keys.path().join("plugins");
    let trust = keys.path().join("trust");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::create_dir_all(&trust).unwrap();
    let env = HostEnv::with_plugins(plugins.clone()).with_trust(&trust);
    let (secret, public) = env.keygen(keys.path(), "dev").await;
    std::fs::copy(&public, trust.join("dev.pub")).unwrap();
    let signed = plugins.join("widgets.wasm");
    env.sign(&component, &secret, &public, &signed).await;

    let described = env.run(&["actions", "widgets", "--json"]).await;
    assert_eq!(described.code, 0, "{described:#?}");
    assert_eq!(described.json["product"], "Widgets", "{described:#?}");
    let sim = AcmeSim::start_on(0, Transport::Http).await.unwrap();
    let asset = env.asset("widgets", &sim.asset_toml());
    let run = env.invoke("widgets", "test-connectivity", &asset, &[]).await;
    assert_eq!((run.code, run.json["message"].as_str()), (0, Some("Test Connectivity Passed")), "{run:#?}");
    assert_eq!(run.json["data"][0]["status"], "ok", "{run:#?}");
    assert_eq!(sim.server().requests()[0].header("x-api-key"), Some(AcmeSim::API_KEY));
}

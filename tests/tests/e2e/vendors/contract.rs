//! What every vendor satisfies, found by directory: its WIT package, its
//! component, its simulator and its tests agree, the build installed its
//! component, the `sim` binary serves it and the connector's connectivity test
//! passes against it.

use soar_tests::harness::{HostEnv, plugin_dir, vendor_dir, workspace};
use soar_tests::sim::registry;
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

/// The names of the directories in `dir`.
fn directories(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.path().is_dir())
        .map(|entry| entry.file_name().into_string().unwrap())
        .collect()
}

/// The vendors: every WIT package but the platform's own.
fn vendors() -> BTreeSet<String> {
    let mut vendors = directories(&workspace().join("wit"));
    vendors.remove("connector");
    vendors
}

#[test]
fn every_vendor_has_a_component_a_simulator_and_tests() {
    let vendors = vendors();
    assert!(vendors.contains("cofense-vision") && vendors.contains("threatconnect"), "{vendors:?}");
    for vendor in &vendors {
        let component = workspace().join("components").join(vendor).join("Cargo.toml");
        assert!(component.is_file(), "{vendor}: no component crate at {}", component.display());
        for part in ["sim/mod.rs", "e2e/mod.rs"] {
            let path = vendor_dir(vendor).join(part);
            assert!(path.is_file(), "{vendor}: no {}", path.display());
        }
    }
    assert_eq!(directories(&workspace().join("tests/vendors")), vendors, "tests/vendors/ and wit/ list other vendors");
    let registered: BTreeSet<String> = registry().iter().map(|sim| sim.vendor.to_string()).collect();
    assert_eq!(registered, vendors, "the simulator registry misses a vendor");
    for sim in registry() {
        let component = plugin_dir().join(format!("{}.wasm", sim.connector));
        assert!(component.is_file(), "{}: the build made no {}", sim.vendor, component.display());
    }
}

/// The fixtures and specifications in the repository are the shared set's,
/// unchanged (when the shared set is beside the repository).
#[test]
fn repository_copies_match_the_shared_ones() {
    let shared = workspace().join("../shared");
    if !shared.exists() {
        return;
    }
    for vendor in vendors() {
        let fixtures = shared.join("fixtures").join(&vendor);
        for entry in std::fs::read_dir(&fixtures).into_iter().flatten() {
            let path = entry.unwrap().path();
            let ours = vendor_dir(&vendor).join("fixtures").join(path.file_name().unwrap());
            assert_eq!(std::fs::read(&path).unwrap(), std::fs::read(&ours).unwrap(), "{} differs", ours.display());
        }
        let spec = shared.join("spec").join(format!("{vendor}-connector.md"));
        if spec.exists() {
            let ours = vendor_dir(&vendor).join("spec.md");
            assert_eq!(std::fs::read(&spec).unwrap(), std::fs::read(&ours).unwrap(), "{} differs", ours.display());
        }
    }
    let notes = "vendor-api-notes.md";
    let theirs = std::fs::read(shared.join("spec").join(notes)).unwrap();
    assert_eq!(theirs, std::fs::read(workspace().join("tests/spec").join(notes)).unwrap(), "{notes} differs");
}

/// Kills the `sim` process when the test ends, however it ends.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sim_binary_serves_every_vendor_and_each_connector_connects() {
    let env = HostEnv::new();
    let assets = env.data_dir().with_file_name("sim-assets");
    let mut sim = std::process::Command::new(workspace().join("target/release/sim"))
        .arg("--asset-dir")
        .arg(&assets)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start target/release/sim");
    // `sim` says it serves once every simulator is up and its asset file written.
    let stdout = std::io::BufReader::new(sim.stdout.take().unwrap());
    let _sim = Killed(sim);
    let (ready, serving) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in stdout.lines().map_while(Result::ok) {
            if line.contains("Ctrl-C stops") {
                let _ = ready.send(());
            }
        }
    });
    serving.recv_timeout(Duration::from_secs(30)).expect("sim serves every vendor within 30 s");
    let registered = registry();
    for sim in registered {
        let described = env.run(&["actions", sim.connector, "--json"]).await;
        assert_eq!(described.code, 0, "{described:#?}");
        let actions = described.json["actions"].as_array().expect("actions");
        let test = actions.iter().find(|action| action["kind"] == "test").expect("every connector has a test action");
        let command = test["command"].as_str().unwrap();
        let asset = assets.join(format!("{}.toml", sim.connector));
        let run = env.invoke(sim.connector, command, &asset, &[]).await;
        assert_eq!((run.code, run.json["status"].as_str()), (0, Some("success")), "{}: {run:#?}", sim.product);
    }
}

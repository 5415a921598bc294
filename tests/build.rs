//! Finds the vendors: every directory `vendors/<vendor>/` contributes its
//! simulator (`sim/mod.rs`) to the library and its end-to-end tests
//! (`e2e/mod.rs`) to the `e2e` test binary, as modules named after the
//! directory (dashes as underscores). Adding a vendor edits no Rust file.
//!
//! The new-connector template's simulator (`scaffold/connector/`) is compiled
//! too, as `sim::scaffold_template`, so the template keeps up with the kit and
//! the scaffold test can serve the component it generates.

use std::fmt::Write;
use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let vendors_dir = root.join("vendors");
    println!("cargo::rerun-if-changed={}", vendors_dir.display());
    let vendors = vendors(&vendors_dir);

    let mut sims = String::new();
    let mut register = String::new();
    let mut e2e = String::new();
    for (vendor, dir) in &vendors {
        let module = vendor.replace('-', "_");
        let sim = dir.join("sim/mod.rs");
        if sim.is_file() {
            writeln!(sims, "#[path = {:?}]\npub mod {module};", sim.display().to_string()).unwrap();
            writeln!(register, "    || Registered::of::<{module}::Sim>({vendor:?}),").unwrap();
        }
        let tests = dir.join("e2e/mod.rs");
        if tests.is_file() {
            writeln!(e2e, "#[path = {:?}]\nmod {module};", tests.display().to_string()).unwrap();
        }
    }
    let template = root.join("../scaffold/connector");
    println!("cargo::rerun-if-changed={}", template.display());
    let template_sim = template.join("tests/vendors/acme/sim/mod.rs");
    writeln!(
        sims,
        "/// The new-connector template's simulator (not a vendor: not registered).\n#[doc(hidden)]\n#[path = {:?}]\npub mod scaffold_template;",
        template_sim.display().to_string()
    )
    .unwrap();
    writeln!(sims, "\n/// Registers each vendor's simulator.\nconst VENDORS: &[fn() -> Registered] = &[\n{register}];")
        .unwrap();

    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    write_if_changed(&out.join("vendor_sims.rs"), &sims);
    write_if_changed(&out.join("vendor_e2e.rs"), &e2e);
}

/// The vendor directories, sorted by name. A vendor's name is what `wit/`
/// and `components/` call it too: lower-case letters, digits and dashes.
fn vendors(dir: &Path) -> Vec<(String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut vendors: Vec<(String, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter(|entry| entry.path().is_dir())
        .filter_map(|entry| Some((entry.file_name().into_string().ok()?, entry.path())))
        .collect();
    vendors.sort();
    for (name, dir) in &vendors {
        let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        assert!(valid, "{}: a vendor directory is named with lower-case letters, digits and dashes", dir.display());
    }
    vendors
}

fn write_if_changed(path: &Path, contents: &str) {
    if std::fs::read_to_string(path).ok().as_deref() != Some(contents) {
        std::fs::write(path, contents).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    }
}

//! `shrink-component IN OUT`: the component IN with each of its core modules
//! run through binaryen's `wasm-opt -Oz`, written to OUT.
//!
//! rustc and the component linker already optimize for size, but wasm-opt's
//! whole-module passes (dead code after inlining, merged functions, smaller
//! locals and constants) take about a seventh more off a connector. wasm-opt
//! reads core modules only, so each one is taken out of the component,
//! optimized, and put back in its place; every other section is copied byte for
//! byte, except the component's own debugging sections (below). Optimizing keeps
//! a module's imports and exports, which is all the rest of the component refers
//! to, and the result is validated before it is written.
//!
//! `WASM_OPT` names the wasm-opt to run (default: `wasm-opt` on the `PATH`).

use std::path::Path;
use std::process::{Command, ExitCode};
use wasmparser::{Parser, Payload, Validator, WasmFeatures};

/// The features rustc's wasm32 targets enable by default, which wasm-opt must
/// accept in its input and may use in its output: no more, so that what comes
/// out runs wherever the unoptimized component did.
const FEATURES: &[&str] = &[
    "--enable-bulk-memory",
    "--enable-multivalue",
    "--enable-mutable-globals",
    "--enable-nontrapping-float-to-int",
    "--enable-reference-types",
    "--enable-sign-ext",
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = args.as_slice() else {
        eprintln!("usage: shrink-component IN.wasm OUT.wasm");
        return ExitCode::from(2);
    };
    match shrink_file(Path::new(input), Path::new(output)) {
        Ok((before, after)) => {
            println!("{output}: {before} -> {after} bytes");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("shrink-component: {input}: {err}");
            ExitCode::FAILURE
        }
    }
}

fn shrink_file(input: &Path, output: &Path) -> Result<(usize, usize), String> {
    let component = std::fs::read(input).map_err(|err| format!("cannot read it: {err}"))?;
    let shrunk = shrink(&component, &wasm_opt)?;
    let dir = output.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut staged =
        tempfile::NamedTempFile::new_in(dir).map_err(|err| format!("cannot write beside the output: {err}"))?;
    std::io::Write::write_all(&mut staged, &shrunk).map_err(|err| format!("cannot write the output: {err}"))?;
    // A build output, readable by all as cargo's own are.
    std::fs::set_permissions(staged.path(), std::os::unix::fs::PermissionsExt::from_mode(0o644))
        .map_err(|err| format!("cannot write the output: {err}"))?;
    staged.persist(output).map_err(|err| format!("cannot write {}: {}", output.display(), err.error))?;
    Ok((component.len(), shrunk.len()))
}

/// The component's custom sections that only describe it for a debugger or a
/// person, and that no host reads to run it: the names of its functions,
/// instances and types (`component-name`, about a twentieth of a connector),
/// and the tools that built it. wasm-opt drops the same from each core module
/// (`--strip-debug --strip-producers`). Any other custom section is kept.
const DEBUG_SECTIONS: &[&str] = &["component-name", "producers"];

/// What optimizes one core module: wasm-opt, or a stand-in in the tests.
type Optimizer<'a> = &'a dyn Fn(&[u8]) -> Result<Vec<u8>, String>;

/// `component` with every top-level core module replaced by `optimize(module)`.
fn shrink(component: &[u8], optimize: Optimizer) -> Result<Vec<u8>, String> {
    if !Parser::is_component(component) {
        return Err("it is not a WebAssembly component".into());
    }
    // The header, then each section of the component itself; the parser also
    // walks into nested modules and components, whose payloads are skipped here
    // (they were copied, or optimized, as one section).
    let mut out = component[..8].to_vec();
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(component) {
        let payload = payload.map_err(|err| format!("it is not a valid component: {err}"))?;
        if let Payload::End(_) = payload {
            depth = depth.saturating_sub(1);
            continue;
        }
        if depth == 0 {
            match &payload {
                Payload::ModuleSection { unchecked_range, .. } => {
                    push_section(&mut out, 1, &optimize(&component[unchecked_range.clone()])?)
                }
                Payload::CustomSection(custom) if DEBUG_SECTIONS.contains(&custom.name()) => {}
                _ => {
                    if let Some((id, range)) = payload.as_section() {
                        push_section(&mut out, id, &component[range]);
                    }
                }
            }
        }
        if matches!(payload, Payload::ModuleSection { .. } | Payload::ComponentSection { .. }) {
            depth += 1;
        }
    }
    Validator::new_with_features(WasmFeatures::default())
        .validate_all(&out)
        .map_err(|err| format!("the optimized component does not validate: {err}"))?;
    Ok(out)
}

/// Appends a section: its id, its length as unsigned LEB128, its contents.
fn push_section(out: &mut Vec<u8>, id: u8, contents: &[u8]) {
    out.push(id);
    let mut len = contents.len();
    loop {
        let byte = (len & 0x7f) as u8;
        len >>= 7;
        if len == 0 {
            out.push(byte);
            break;
        }
        out.push(byte | 0x80);
    }
    out.extend_from_slice(contents);
}

/// One core module through `wasm-opt -Oz`.
fn wasm_opt(module: &[u8]) -> Result<Vec<u8>, String> {
    let dir = tempfile::tempdir().map_err(|err| format!("cannot make a temporary directory: {err}"))?;
    let (input, output) = (dir.path().join("in.wasm"), dir.path().join("out.wasm"));
    std::fs::write(&input, module).map_err(|err| format!("cannot write a temporary file: {err}"))?;
    let program = std::env::var_os("WASM_OPT").unwrap_or_else(|| "wasm-opt".into());
    let status = Command::new(&program)
        .args(["-Oz", "--strip-debug", "--strip-producers"])
        .args(FEATURES)
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .status()
        .map_err(|err| format!("cannot run {} (binaryen): {err}", program.to_string_lossy()))?;
    if !status.success() {
        return Err(format!("{} failed ({status})", program.to_string_lossy()));
    }
    std::fs::read(&output).map_err(|err| format!("cannot read wasm-opt's output: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A component of one empty core module, then a custom section.
    fn component(module: &[u8]) -> Vec<u8> {
        let mut bytes = b"\0asm\x0d\0\x01\0".to_vec();
        push_section(&mut bytes, 1, module);
        push_section(&mut bytes, 0, b"\x04note");
        bytes
    }

    /// A custom section's contents: its name, then `data`.
    fn custom(name: &str, data: &[u8]) -> Vec<u8> {
        let mut contents = vec![name.len() as u8];
        contents.extend_from_slice(name.as_bytes());
        contents.extend_from_slice(data);
        contents
    }

    #[test]
    fn the_components_debugging_sections_are_dropped_and_other_custom_sections_kept() {
        let mut original = component(EMPTY_MODULE);
        push_section(&mut original, 0, &custom("component-name", b"\x01\x02names"));
        push_section(&mut original, 0, &custom("producers", b"\x00"));
        push_section(&mut original, 0, &custom("signature", b"kept"));
        let mut expected = component(EMPTY_MODULE);
        push_section(&mut expected, 0, &custom("signature", b"kept"));
        assert_eq!(shrink(&original, &|module| Ok(module.to_vec())).unwrap(), expected);
    }

    const EMPTY_MODULE: &[u8] = b"\0asm\x01\0\0\0";

    #[test]
    fn only_core_modules_change_and_the_rest_is_copied() {
        let original = component(EMPTY_MODULE);
        assert_eq!(shrink(&original, &|module| Ok(module.to_vec())).unwrap(), original);

        // A module that grew (a custom section added) past a one-byte length.
        let mut bigger = EMPTY_MODULE.to_vec();
        push_section(&mut bigger, 0, &[b'x'; 200]);
        let shrunk = shrink(&original, &|_| Ok(bigger.clone())).unwrap();
        assert_eq!(shrunk, component(&bigger));
    }

    #[test]
    fn a_core_module_or_garbage_is_refused() {
        assert!(shrink(EMPTY_MODULE, &|m| Ok(m.to_vec())).unwrap_err().contains("not a WebAssembly component"));
        let mut truncated = component(EMPTY_MODULE);
        truncated.truncate(truncated.len() - 2);
        assert!(shrink(&truncated, &|m| Ok(m.to_vec())).unwrap_err().contains("not a valid component"));
    }

    #[test]
    fn an_optimizer_that_breaks_the_module_is_caught_before_anything_is_written() {
        let broken = shrink(&component(EMPTY_MODULE), &|_| Ok(b"\0asm\x01\0\0\0\x01\x05garbage".to_vec()));
        assert!(broken.unwrap_err().contains("does not validate"));
        let failed = shrink(&component(EMPTY_MODULE), &|_| Err("wasm-opt failed".into()));
        assert_eq!(failed.unwrap_err(), "wasm-opt failed");
    }
}

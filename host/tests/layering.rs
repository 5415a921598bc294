//! The library's modules depend one way: each may use only modules of its own
//! layer or below, and no two modules use each other, even through others.
//! A new module must be given a layer here (and in the README's graph).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Layers, from the bottom. A module is named by its path under `src/`.
const LAYERS: &[(&str, &[&str])] = &[
    ("types", &["exit", "names", "redact", "slots", "bindings", "storage/fs", "distribution/reference"]),
    ("stores", &["storage", "storage/assets", "storage/state", "storage/vault", "storage/ingest", "storage/memory"]),
    ("descriptions", &["manifest", "outcome", "params", "asset", "signing", "cache", "distribution/lock"]),
    ("errors", &["error"]),
    (
        "sandbox",
        &["sandbox", "sandbox/outbound", "sandbox/outbound/tls", "sandbox/outbound/pool", "sandbox/outbound/transport"],
    ),
    (
        "capabilities",
        &["platform", "platform/config", "platform/state", "platform/vault", "platform/ingest", "platform/log"],
    ),
    ("runtime", &["context", "plugin", "runtime", "load", "invoke"]),
    (
        "distribution",
        &[
            "distribution",
            "distribution/artifact",
            "distribution/bundle",
            "distribution/registry",
            "distribution/install",
            "distribution/publish",
        ],
    ),
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, modules)| modules.contains(&module))
}

/// Every module of the crate and the modules it uses (tests excluded).
fn modules() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut sources = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let relative = path.strip_prefix(&src).unwrap().with_extension("");
            let name = relative.to_str().unwrap().trim_end_matches("/mod").to_string();
            if name != "lib" {
                let text = std::fs::read_to_string(&path).unwrap();
                let code = text.split("#[cfg(test)]").next().unwrap_or_default().to_string();
                sources.insert(name, code);
            }
        }
    }
    let names: BTreeSet<String> = sources.keys().cloned().collect();
    let resolve = |segments: &[&str]| {
        (1..=segments.len()).rev().map(|n| segments[..n].join("/")).find(|candidate| names.contains(candidate))
    };
    sources
        .iter()
        .map(|(module, code)| {
            let parent: Vec<&str> = module.split('/').collect();
            let parent = &parent[..parent.len() - 1];
            let mut used = BTreeSet::new();
            for (prefix, base) in [("crate::", &[][..]), ("super::", parent)] {
                for (at, _) in code.match_indices(prefix) {
                    let path: String = code[at + prefix.len()..]
                        .chars()
                        .take_while(|c| c.is_ascii_lowercase() || *c == '_' || *c == ':' || c.is_ascii_digit())
                        .collect();
                    let mut segments: Vec<&str> = base.to_vec();
                    segments.extend(path.split("::").filter(|s| !s.is_empty()));
                    if let Some(target) = resolve(&segments)
                        && target != *module
                        && !module.starts_with(&format!("{target}/"))
                    {
                        used.insert(target);
                    }
                }
            }
            (module.clone(), used)
        })
        .collect()
}

#[test]
fn every_module_has_a_layer_and_uses_none_above_it() {
    let mut wrong = Vec::new();
    for (module, used) in modules() {
        let Some(layer) = layer_of(&module) else {
            wrong.push(format!("{module} has no layer in tests/layering.rs"));
            continue;
        };
        for target in used {
            match layer_of(&target) {
                Some(below) if below <= layer => {}
                _ => wrong.push(format!("{module} ({}) uses {target}, a layer above", LAYERS[layer].0)),
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn no_modules_use_each_other() {
    let graph = modules();
    // Depth-first search for a path back to where it started.
    fn reaches(graph: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str, seen: &mut BTreeSet<String>) -> bool {
        graph
            .get(from)
            .into_iter()
            .flatten()
            .any(|next| next == to || (seen.insert(next.clone()) && reaches(graph, next, to, seen)))
    }
    let cycles: Vec<&String> =
        graph.keys().filter(|module| reaches(&graph, module, module, &mut BTreeSet::new())).collect();
    assert!(cycles.is_empty(), "modules on a dependency cycle: {cycles:?}");
}

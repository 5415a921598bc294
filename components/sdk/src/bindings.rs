//! Bindings for the platform interfaces (`soar:connector`), generated from the
//! repository's WIT. WASI types come from the `wasi` crate so that streams can be
//! handed from `wasi:http` straight to the vault.

wit_bindgen::generate!({
    world: "soar:connector/imports",
    path: "../../wit/connector",
    with: {
        "wasi:io/error@0.2.12": wasi::io::error,
        "wasi:io/poll@0.2.12": wasi::io::poll,
        "wasi:io/streams@0.2.12": wasi::io::streams,
    },
    generate_unused_types: true,
});

//! Bindings for the `soar:connector/connector` world, generated from its WIT:
//! the platform imports and the `metadata` export. They are the types the rest
//! of the host is written in terms of, so they sit at the bottom of the crate.
//! WASI types are wasmtime-wasi's own, so a `wasi:http` body stream can be
//! handed to the vault.

wasmtime::component::bindgen!({
    world: "soar:connector/connector",
    path: "../wit/connector",
    imports: {
        "soar:connector/vault.add-stream": async | trappable,
        default: trappable,
    },
    exports: { default: async },
    // A connector's description is kept beside its compiled code, in the form
    // the component returned it, in the compile cache.
    additional_derives: [serde::Serialize, serde::Deserialize],
    with: {
        "wasi:io": wasmtime_wasi_io::bindings::wasi::io,
        "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
        "wasi:random": wasmtime_wasi::p2::bindings::random,
        "wasi:http": wasmtime_wasi_http::p2::bindings::http,
    },
});

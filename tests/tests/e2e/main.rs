//! End-to-end tests: real components, the real `host` binary (or library), and the
//! vendor simulators over loopback. `make test` builds everything they need first.

mod adversarial;
mod cli;
mod distribution;
mod embedding;
mod resident;
mod sandbox;
mod scaffold;
mod signing;

/// Each vendor's tests (`tests/vendors/<vendor>/e2e/`), found by the build script,
/// and what every vendor must satisfy ([`vendors::contract`]).
mod vendors {
    include!(concat!(env!("OUT_DIR"), "/vendor_e2e.rs"));
    mod contract;
}

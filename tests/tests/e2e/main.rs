//! End-to-end tests: real components, the real `host` binary (or library), and the
//! vendor simulators over loopback. `make test` builds everything they need first.

mod adversarial;
mod cli;
mod cofense;
mod declared_defaults;
mod distribution;
mod embedding;
mod sandbox;
mod signing;
mod threatconnect;

//! The ThreatConnect connector: hunt indicators, post indicators, and ingest new
//! indicators as containers (`on poll`).
//!
//! Requests are signed as the ThreatConnect v3 API requires (see [`signature`]);
//! the deliberate differences from the reference connector are listed in the
//! repository README.

mod cef;
mod client;
mod hunt;
mod owners;
mod poll;
mod post;
pub mod signature;

soar_sdk::connector! {
    world: "soar:threatconnect/connector",
    wit: ["../../wit/connector", "../../wit/threatconnect"],
}

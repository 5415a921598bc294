//! Vendor API simulators and the helpers the end-to-end tests share.

pub mod bench;
pub mod harness;
pub mod hostile;
pub mod kit;
pub mod registry;
pub mod sim;
pub mod tls;

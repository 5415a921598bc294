//! Logging and progress messages, shown to the operator on the host's stderr.

use crate::bindings::soar::connector::log::{self as host, Level};

/// Reports what the action is doing (`Generating new access token`).
pub fn progress(message: &str) {
    host::progress(message);
}

/// A debug record.
pub fn debug(message: &str) {
    host::log(Level::Debug, message);
}

/// An informational record.
pub fn info(message: &str) {
    host::log(Level::Info, message);
}

/// A warning.
pub fn warn(message: &str) {
    host::log(Level::Warn, message);
}

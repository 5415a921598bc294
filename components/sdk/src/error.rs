//! Constructors for [`ActionError`], one per failure kind.

use crate::bindings::soar::connector::types::{ActionError, ActionResult, InvalidValue, VendorError};

/// What every action returns.
pub type ActionOutcome = Result<ActionResult, ActionError>;

impl ActionError {
    /// Parameter `name` is invalid; `message` says why, naming the parameter.
    pub fn invalid_parameter(name: &str, message: impl Into<String>) -> Self {
        Self::InvalidParameter(InvalidValue { name: name.to_string(), message: message.into() })
    }

    /// Configuration variable `name` is missing or invalid.
    pub fn invalid_config(name: &str, message: impl Into<String>) -> Self {
        Self::InvalidConfig(InvalidValue { name: name.to_string(), message: message.into() })
    }

    /// The vendor answered with an error (`status`, when there was an answer).
    pub fn vendor(status: Option<u16>, message: impl Into<String>) -> Self {
        Self::Vendor(VendorError { status, message: message.into() })
    }

    /// The vendor could not be reached.
    pub fn connection(message: impl Into<String>) -> Self {
        Self::Connection(message.into())
    }

    /// A platform service failed.
    pub fn platform(message: impl Into<String>) -> Self {
        Self::Platform(message.into())
    }

    /// The action exists in the WIT but is not implemented in this build.
    pub fn not_implemented(action: &str) -> Self {
        Self::NotImplemented(format!("the '{action}' action is not implemented in this version of the connector"))
    }

    /// The human-readable message of any case.
    pub fn message(&self) -> &str {
        match self {
            Self::InvalidParameter(value) | Self::InvalidConfig(value) => &value.message,
            Self::Vendor(error) => &error.message,
            Self::Connection(message)
            | Self::HttpRequestDenied(message)
            | Self::Platform(message)
            | Self::NotImplemented(message) => message,
        }
    }
}

impl std::fmt::Display for ActionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

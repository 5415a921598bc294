//! The asset's state: JSON values by key that survive between actions.

use crate::ActionError;
use crate::bindings::soar::connector::state::{self as host, StateError};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The value stored under `key`. A value that no longer has the expected shape
/// (written by an older connector version) reads as absent.
pub fn get<T: DeserializeOwned>(key: &str) -> Result<Option<T>, ActionError> {
    let stored = host::get(key).map_err(state_error)?;
    Ok(stored.and_then(|json| serde_json::from_str(&json).ok()))
}

/// Stores `value` under `key` (atomically, see the WIT `state` interface).
pub fn set<T: Serialize>(key: &str, value: &T) -> Result<(), ActionError> {
    let json = serde_json::to_string(value).map_err(|err| ActionError::platform(format!("state '{key}': {err}")))?;
    host::set(key, &json).map_err(state_error)
}

/// Removes `key`.
pub fn remove(key: &str) -> Result<(), ActionError> {
    host::remove(key).map_err(state_error)
}

fn state_error(error: StateError) -> ActionError {
    match error {
        StateError::InvalidValue(message) => ActionError::platform(format!("state rejected a value: {message}")),
        StateError::Unavailable(message) => ActionError::platform(format!("state store unavailable: {message}")),
    }
}

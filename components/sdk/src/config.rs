//! The asset configuration.

use crate::ActionError;
use crate::bindings::soar::connector::config;
use crate::http::BaseUrl;

/// The value of configuration variable `name`, if the asset sets it (empty values
/// count as unset).
pub fn get(name: &str) -> Option<String> {
    config::get(name).filter(|value| !value.trim().is_empty())
}

/// The value of a configuration variable the connector cannot work without.
pub fn required(name: &str) -> Result<String, ActionError> {
    get(name)
        .ok_or_else(|| ActionError::invalid_config(name, format!("The asset configuration needs a value for '{name}'")))
}

/// A boolean configuration variable (`true`/`false`), or `default` when unset.
pub fn flag(name: &str, default: bool) -> Result<bool, ActionError> {
    match get(name).map(|value| value.trim().to_ascii_lowercase()) {
        None => Ok(default),
        Some(value) if value == "true" => Ok(true),
        Some(value) if value == "false" => Ok(false),
        Some(_) => Err(ActionError::invalid_config(name, format!("'{name}' must be true or false"))),
    }
}

/// A positive integer configuration variable. Its default, if any, is declared
/// in the WIT (`@default NAME VALUE` on the world), where the host reads it.
pub fn positive_integer(name: &str) -> Result<u32, ActionError> {
    positive_integer_at_most(name, u32::MAX)
}

/// A positive integer configuration variable of at most `max`.
///
/// Hosts hand integral `numeric` values as plain digits (see
/// `soar:connector/metadata.config-type`), so `3.0` arrives as `3` and
/// anything else that is not digits is not an integer.
pub fn positive_integer_at_most(name: &str, max: u32) -> Result<u32, ActionError> {
    let number = required(name)?.parse::<u32>().ok().filter(|n| *n > 0);
    match number {
        Some(number) if number <= max => Ok(number),
        Some(_) => Err(ActionError::invalid_config(
            name,
            format!("Please provide a positive, non zero integer of at most {max} in config parameter \"{name}\""),
        )),
        None => Err(ActionError::invalid_config(
            name,
            format!("Please provide a positive, non zero integer in config parameter \"{name}\""),
        )),
    }
}

/// The asset's `base_url`, parsed.
pub fn base_url() -> Result<BaseUrl, ActionError> {
    BaseUrl::parse(&required("base_url")?)
        .map_err(|reason| ActionError::invalid_config("base_url", format!("'base_url' is not a valid URL: {reason}")))
}

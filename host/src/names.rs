//! Names that become file names: connectors (`cofense.wasm`, `state/cofense/`)
//! and assets (`state/cofense/<asset>.json`). Each is checked wherever it is
//! turned into a path, so that no name can reach outside its directory.

/// Longest connector or asset name, in bytes.
pub const MAX_NAME: usize = 64;

/// Checks a connector name: `[a-z0-9][a-z0-9_-]*`, at most [`MAX_NAME`] bytes.
pub fn check_connector_name(name: &str) -> Result<(), String> {
    let first_ok = name.bytes().next().is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let rest_ok = name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if first_ok && rest_ok && name.len() <= MAX_NAME {
        Ok(())
    } else {
        Err(format!(
            "'{}' is not a valid connector name (lower-case letters, digits, '_' and '-', starting with a letter or digit, at most {MAX_NAME} bytes)",
            name.escape_debug()
        ))
    }
}

/// Checks an asset name: `[A-Za-z0-9][A-Za-z0-9._-]*`, at most [`MAX_NAME`] bytes.
pub fn check_asset_name(name: &str) -> Result<(), String> {
    let first_ok = name.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric());
    let rest_ok = name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if first_ok && rest_ok && name.len() <= MAX_NAME {
        Ok(())
    } else {
        Err(format!(
            "'{}' is not a valid asset name (letters, digits, '.', '_' and '-', starting with a letter or digit, at most {MAX_NAME} bytes)",
            name.escape_debug()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn connector_names() {
        for good in ["cofense", "threatconnect", "sandbox_probe", "a-1", "9"] {
            assert!(check_connector_name(good).is_ok(), "{good}");
        }
        for bad in ["", "../escaped-xx", "-x", "_x", "Cofense", "a/b", "a.b", ".", "..", "a\0", "a b"] {
            assert!(check_connector_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_connector_name(&"a".repeat(MAX_NAME + 1)).is_err());
    }

    #[test]
    fn asset_names() {
        for good in ["vision", "Prod.Vision-2", "a_b"] {
            assert!(check_asset_name(good).is_ok(), "{good}");
        }
        for bad in ["", ".", "..", ".hidden", "a/b", "../x", "a\\b", "a b", "-x"] {
            assert!(check_asset_name(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        /// Whatever the text, an accepted name is one path component that stays
        /// inside its directory.
        #[test]
        fn accepted_names_are_single_safe_components(name in "\\PC{0,80}") {
            for check in [check_connector_name, check_asset_name] {
                if check(&name).is_ok() {
                    let path = std::path::Path::new("/base").join(&name);
                    prop_assert_eq!(path.parent(), Some(std::path::Path::new("/base")));
                    prop_assert!(name != "." && name != ".." && !name.contains(['/', '\\', '\0']));
                }
            }
        }
    }
}

//! Messages, attachments and the server itself.

use crate::client::{Vision, json_body};
use soar_sdk::http::Method;
use soar_sdk::log;
use soar_sdk::prelude::*;
use soar_sdk::validate;

pub fn test_connectivity() -> ActionOutcome {
    let failed = |error: ActionError| {
        log::progress("Test Connectivity Failed");
        error
    };
    let vision = Vision::connect()?;
    // The health check is unauthenticated and sent without headers, as the
    // reference connector does.
    let health = vision
        .auth()
        .base()
        .request(Method::Get, "/actuator/health")
        .send()
        .map_err(ActionError::from)
        .map_err(failed)?;
    let status = json_body(&health).map_err(failed)?;
    match status.get("status").and_then(Value::as_str) {
        Some("UP") => log::progress("Cofense Vision is up and running"),
        None if status.as_object().is_some_and(|o| o.is_empty()) => {
            return Err(failed(ActionError::vendor(
                Some(health.status),
                "The server returned an unexpected empty response",
            )));
        }
        other => {
            let status = other.map_or_else(|| status["status"].to_string(), str::to_string);
            return Err(failed(ActionError::vendor(
                Some(health.status),
                format!("Error message: Server status is {status}"),
            )));
        }
    }
    vision.auth().new_token().map_err(failed)?;
    log::progress("Test Connectivity Passed");
    Output::new().message("Test Connectivity Passed").into()
}

pub fn get_message_attachment(md5: Option<String>, sha256: Option<String>, filename: String) -> ActionOutcome {
    let (md5, sha256) = (md5.filter(|v| !v.trim().is_empty()), sha256.filter(|v| !v.trim().is_empty()));
    if md5.is_none() && sha256.is_none() {
        return Err(ActionError::invalid_parameter(
            "md5",
            "Please provide a value for at least one of the hash parameters",
        ));
    }
    if let Some(md5) = md5.as_deref().filter(|md5| !validate::is_md5(md5.trim())) {
        return Err(ActionError::invalid_parameter(
            "md5",
            format!("Please provide a valid MD5 hash in the 'md5' parameter, not '{md5}'"),
        ));
    }
    if let Some(sha256) = sha256.as_deref().filter(|sha256| !validate::is_sha256(sha256.trim())) {
        return Err(ActionError::invalid_parameter(
            "sha256",
            format!("Please provide a valid SHA256 hash in the 'sha256' parameter, not '{sha256}'"),
        ));
    }
    check_file_name(&filename)?;
    let vision = Vision::connect()?;
    let request = vision
        .request(Method::Get, "/api/v4/attachment")
        .query_opt("md5", md5.as_deref().map(str::trim))
        .query_opt("sha256", sha256.as_deref().map(str::trim));
    let item = vision.download(request, filename.trim())?;
    Output::new().data(item.to_soar_json()).summary("vault_id", &item.vault_id).into()
}

/// A file name needs an extension (`report.pdf`, not `report`, `report.` or
/// `.bashrc`) and no directory part.
fn check_file_name(name: &str) -> Result<(), ActionError> {
    let name = name.trim();
    let has_extension = name
        .trim_start_matches('.')
        .rsplit_once('.')
        .is_some_and(|(stem, extension)| !stem.is_empty() && !extension.is_empty());
    if !has_extension || name.contains(['/', '\\', '\0']) {
        return Err(ActionError::invalid_parameter(
            "filename",
            "Please provide a valid file name including the extension in the 'filename' parameter",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_need_an_extension() {
        for good in ["test.txt", "a.b.zip", " report.pdf "] {
            assert!(check_file_name(good).is_ok(), "{good}");
        }
        for bad in ["", ".", "test", "test.", ".bashrc", "../x.txt", "dir/x.txt"] {
            assert!(check_file_name(bad).is_err(), "{bad}");
        }
    }
}

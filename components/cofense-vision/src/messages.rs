//! Messages, attachments and the server itself.

use crate::client::{Vision, json_body, status_error};
use crate::{
    DownloadLogs, GetMessage, GetMessageAttachment, GetMessageMetadata, ListSearchableHeaders, TestConnectivity,
};
use soar_sdk::http::Method;
use soar_sdk::log;
use soar_sdk::prelude::*;
use soar_sdk::validate;

const MESSAGES: &str = "/api/v4/messages";

impl Action for TestConnectivity {
    fn run(self) -> ActionOutcome {
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
                return Err(failed(ActionError::vendor(Some(health.status), crate::client::EMPTY_RESPONSE)));
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
}

impl Action for GetMessageMetadata {
    fn run(self) -> ActionOutcome {
        let vision = Vision::connect()?;
        let request = vision
            .request(Method::Get, "/api/v4/messages/metadata")
            .query("internetMessageId", self.internet_message_id.trim())
            .query("recipientAddress", self.recipient_address.trim());
        let message = vision.call(request)?;
        Output::new().data(message).message("Retrieved message metadata successfully").into()
    }
}

/// Step 1 asks for a one-time download token; step 2 streams the zip into the vault.
impl Action for GetMessage {
    fn run(self) -> ActionOutcome {
        let vision = Vision::connect()?;
        let mut body = json!({
            "internetMessageId": self.internet_message_id.trim(),
            "recipientAddress": self.recipient_address.trim(),
        });
        if let Some(password) = self.password.filter(|p| !p.is_empty()) {
            body["password"] = json!(password);
        }
        let response = vision.send(vision.request(Method::Post, MESSAGES).json(&body))?;
        if !response.is_success() {
            return Err(json_body(&response).err().unwrap_or_else(|| status_error(&response)));
        }
        let token = download_token(&response.text())
            .ok_or_else(|| ActionError::vendor(Some(response.status), crate::client::EMPTY_RESPONSE))?;
        let name = timestamped("message", "zip");
        let item = vision.download(vision.request(Method::Get, MESSAGES).query("token", token), &name)?;
        Output::new().data(item.to_soar_json()).summary("vault_id", &item.vault_id).into()
    }
}

/// The token of step 1 of `get message`: Vision sends it as bare text labelled
/// `application/json`; a JSON string or `{"token": ...}` is accepted too.
fn download_token(body: &str) -> Option<String> {
    let body = body.trim();
    let token = match serde_json::from_str::<Value>(body) {
        Ok(Value::String(token)) => token,
        Ok(Value::Object(object)) => object.get("token")?.as_str()?.to_string(),
        _ => body.to_string(),
    };
    (!token.is_empty()).then_some(token)
}

impl Action for ListSearchableHeaders {
    fn run(self) -> ActionOutcome {
        let vision = Vision::connect()?;
        let response = vision.call(vision.request(Method::Get, "/api/v4/config/searchableHeaders"))?;
        let headers = response["headers"].as_array().cloned().unwrap_or_default();
        headers
            .iter()
            .fold(Output::new(), |output, header| output.data(json!({"header": header})))
            .message("Fetched searchable headers successfully")
            .into()
    }
}

impl Action for DownloadLogs {
    fn run(self) -> ActionOutcome {
        let vision = Vision::connect()?;
        let request = vision.request(Method::Get, "/api/v4/download/logs");
        let item = vision.download(request, &timestamped("logfile", "zip"))?;
        Output::new().data(item.to_soar_json()).summary("vault_id", &item.vault_id).into()
    }
}

/// `message_2023-01-06_06:49:00.536505.zip`: the reference connector's names (UTC).
fn timestamped(prefix: &str, extension: &str) -> String {
    format!("{prefix}_{}.{extension}", soar_sdk::dates::format_stamp(&soar_sdk::dates::now()))
}

impl Action for GetMessageAttachment {
    fn run(self) -> ActionOutcome {
        let GetMessageAttachment { md5, sha256, filename } = self;
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
    fn download_tokens_in_every_form() {
        assert_eq!(download_token(" abc123 ").as_deref(), Some("abc123"));
        assert_eq!(download_token("\"abc123\"").as_deref(), Some("abc123"));
        assert_eq!(download_token("{\"token\": \"abc\"}").as_deref(), Some("abc"));
        assert_eq!(download_token("  "), None);
        assert!(timestamped("message", "zip").starts_with("message_20"));
    }

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

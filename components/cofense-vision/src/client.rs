//! The Cofense Vision API client: authentication, default headers and the
//! reference connector's response handling and messages.

use soar_sdk::http::{Method, Payload, Request, Response};
use soar_sdk::oauth2::ClientCredentials;
use soar_sdk::prelude::*;
use soar_sdk::vault::{self, VaultItem};

/// The message for an empty answer where a JSON body was expected.
pub const EMPTY_RESPONSE: &str = "The server returned an unexpected empty response";

/// The UAA token endpoint.
const TOKEN_PATH: &str = "/uaa/oauth/token";

/// An authenticated connection to the asset's Vision server.
pub struct Vision {
    auth: ClientCredentials,
}

impl Vision {
    /// Reads the asset configuration; sends nothing yet.
    pub fn connect() -> Result<Self, ActionError> {
        Ok(Self { auth: ClientCredentials::from_config(TOKEN_PATH)? })
    }

    /// The OAuth client, for test connectivity.
    pub fn auth(&self) -> &ClientCredentials {
        &self.auth
    }

    /// A request with Vision's default headers (`Accept` and `Content-Type` JSON,
    /// sent on every call by the reference connector).
    pub fn request(&self, method: Method, path: &str) -> Request {
        self.auth
            .base()
            .request(method, path)
            .header("Accept", "application/json")
            .header("Content-Type", "application/json")
    }

    /// Sends an authenticated request and returns its JSON body; an empty body
    /// is a vendor error.
    pub fn call(&self, request: Request) -> Result<Value, ActionError> {
        let response = self.auth.send(request)?;
        if response.is_success() && response.is_empty() {
            return Err(ActionError::vendor(Some(response.status), EMPTY_RESPONSE));
        }
        json_body(&response)
    }

    /// Like [`call`](Self::call), for the endpoints that answer an empty 200 or
    /// 204 on success (`{}` then).
    pub fn call_allowing_empty(&self, request: Request) -> Result<Value, ActionError> {
        json_body(&self.auth.send(request)?)
    }

    /// Sends an authenticated request and returns the raw response.
    pub fn send(&self, request: Request) -> Result<Response, ActionError> {
        self.auth.send(request)
    }

    /// Sends an authenticated request and streams a successful body into the vault
    /// as `name`.
    pub fn download(&self, request: Request, name: &str) -> Result<VaultItem, ActionError> {
        let response = self.auth.open(request.without_header("Accept"))?;
        if !(200..300).contains(&response.status) {
            let response = response.read_all()?;
            return Err(json_body(&response).err().unwrap_or_else(|| status_error(&response)));
        }
        vault::add_response(name, response)
    }
}

/// The body of a successful response, as the reference connector reads it:
/// JSON bodies parsed, an empty 200/204 as `{}`, HTML and other types as errors.
pub fn json_body(response: &Response) -> Result<Value, ActionError> {
    let status = response.status;
    let vendor = |message: String| ActionError::vendor(Some(status), message);
    match response.payload() {
        Payload::Empty if status == 200 || status == 204 => Ok(json!({})),
        Payload::Empty => {
            Err(vendor(format!("Status code: {status}. Empty response and no information in the header")))
        }
        Payload::Json(value) if (200..399).contains(&status) => Ok(value),
        Payload::Json(_) => Err(status_error(response)),
        Payload::BadJson(err) => Err(vendor(format!("Unable to parse JSON response. Error: {err}"))),
        Payload::Html(text) if text.len() > 500 => Err(vendor("Error parsing html response".into())),
        Payload::Html(text) => Err(vendor(format!("Status code: {status}, Data from server: {text}"))),
        Payload::Other(text) => {
            Err(vendor(format!("Can't process response from server. Status code: {status}, Data from server: {text}")))
        }
    }
}

/// `Error from server. Status code: 404, Data from server: ...`.
pub fn status_error(response: &Response) -> ActionError {
    ActionError::vendor(
        Some(response.status),
        format!(
            "Error from server. Status code: {}, Data from server: {}{}",
            response.status,
            response.quoted_text(),
            response.retries_note()
        ),
    )
}

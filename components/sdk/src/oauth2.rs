//! OAuth 2.0 client-credentials tokens (RFC 6749 §4.4), cached in the asset's state.
//!
//! A cached token is reused only by the client it was issued to, from the token
//! endpoint that issued it (the asset's origin and the token path), and only
//! while it is not about to expire (`expires_in`): a token can never travel to
//! another server, even if two assets were to share state. A request answered
//! `401` with the RFC 6750 error `invalid_token` gets a new token and is sent
//! once more.

use crate::http::{BaseUrl, Method, Request, Response, StreamingResponse};
use crate::{ActionError, config, log, state};
use serde::{Deserialize, Serialize};

/// Where the token is kept in the asset's state.
const STATE_KEY: &str = "oauth2_token";
/// A token this close to expiry is replaced before use, so it cannot expire
/// between the check and the vendor receiving it.
const EXPIRY_MARGIN_SECONDS: i64 = 60;

/// A client of an OAuth 2.0 token endpoint.
pub struct ClientCredentials {
    base: BaseUrl,
    token_path: String,
    client_id: String,
    client_secret: String,
}

#[derive(Serialize, Deserialize)]
struct CachedToken {
    /// The token endpoint that issued it (`https://vision.example.com/uaa/oauth/token`).
    issuer: String,
    client_id: String,
    access_token: String,
    /// Unix seconds; `None` when the server gave no `expires_in`.
    expires_at: Option<i64>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: Option<String>,
    expires_in: Option<i64>,
}

impl ClientCredentials {
    /// A client for the token endpoint at `token_path` under the asset's
    /// `base_url`, with the asset's `client_id` and `client_secret`.
    pub fn from_config(token_path: &str) -> Result<Self, ActionError> {
        Ok(Self {
            base: config::base_url()?,
            token_path: token_path.to_string(),
            client_id: config::required("client_id")?,
            client_secret: config::required("client_secret")?,
        })
    }

    /// The asset's base URL.
    pub fn base(&self) -> &BaseUrl {
        &self.base
    }

    /// The token endpoint's URL, which a cached token is bound to.
    fn issuer(&self) -> String {
        format!("{}{}", self.base, self.token_path)
    }

    /// A usable token: the cached one if it is still good, otherwise a new one.
    pub fn token(&self) -> Result<String, ActionError> {
        let cached: Option<CachedToken> = state::get(STATE_KEY)?;
        let now = crate::dates::now().timestamp();
        match cached {
            Some(token)
                if token.issuer == self.issuer()
                    && token.client_id == self.client_id
                    && token.expires_at.is_none_or(|at| at.saturating_sub(EXPIRY_MARGIN_SECONDS) > now) =>
            {
                Ok(token.access_token)
            }
            _ => self.new_token(),
        }
    }

    /// Asks the token endpoint for a new token and caches it.
    pub fn new_token(&self) -> Result<String, ActionError> {
        log::progress("Generating new access token");
        let response = self
            .base
            .request(Method::Post, &self.token_path)
            .form(&[
                ("client_id", &self.client_id),
                ("client_secret", &self.client_secret),
                ("grant_type", "client_credentials"),
            ])
            .send()?;
        let parsed: Option<TokenResponse> = response.json().ok();
        let Some(TokenResponse { access_token: Some(access_token), expires_in }) =
            parsed.filter(|_| response.is_success())
        else {
            state::remove(STATE_KEY)?;
            return Err(ActionError::vendor(
                Some(response.status),
                format!(
                    "Token generation failed. Status code: {}, Data from server: {}",
                    response.status,
                    response.quoted_text()
                ),
            ));
        };
        // A vendor's `expires_in` is checked arithmetic: an absurd one must not overflow.
        let expires_at = expires_in.map(|seconds| crate::dates::now().timestamp().saturating_add(seconds));
        let cached = CachedToken {
            issuer: self.issuer(),
            client_id: self.client_id.clone(),
            access_token: access_token.clone(),
            expires_at,
        };
        state::set(STATE_KEY, &cached)?;
        Ok(access_token)
    }

    /// Sends `request` with a bearer token and reads the response.
    pub fn send(&self, request: Request) -> Result<Response, ActionError> {
        let response = self.open(request)?;
        Ok(response.read_all()?)
    }

    /// Sends `request` with a bearer token, leaving the body to stream.
    pub fn open(&self, request: Request) -> Result<StreamingResponse, ActionError> {
        // A request that cannot be sent must not cost a token request first.
        request.check_headers()?;
        let response = request.clone().bearer(&self.token()?).open()?;
        if response.status != 401 {
            return Ok(response);
        }
        let rejected = response.read_all()?;
        if !rejected.text().contains("invalid_token") {
            return Err(unauthorized(&rejected));
        }
        log::info("The access token was rejected as invalid_token; generating a new one");
        let token = self.new_token()?;
        let response = request.bearer(&token).open()?;
        if response.status == 401 {
            return Err(unauthorized(&response.read_all()?));
        }
        Ok(response)
    }
}

fn unauthorized(response: &Response) -> ActionError {
    ActionError::vendor(
        Some(401),
        format!("Error from server. Status code: 401, Data from server: {}", response.quoted_text()),
    )
}

//! The Acme API simulator: what the connector's actions read, served from the
//! fixtures, behind the API key check.
//!
//! ```text
//! GET /api/v1/status    the service status (needs `X-Api-Key`)
//! ```

use super::{Server, Simulator, Transport};
use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// The fixture the status route serves.
const STATUS: &str = include_str!("../fixtures/status.json");

/// A running Acme simulator; it stops when dropped.
pub struct AcmeSim {
    server: Server,
}

/// This vendor's simulator, for the registry.
pub type Sim = AcmeSim;

impl AcmeSim {
    /// The API key the simulator accepts.
    pub const API_KEY: &'static str = "acme-api-key-0123";
}

impl Simulator for AcmeSim {
    const CONNECTOR: &'static str = "acme";
    const PRODUCT: &'static str = "Acme";

    async fn start_on(port: u16, transport: Transport) -> std::io::Result<Self> {
        let app = Router::new().route("/api/v1/status", get(status));
        Ok(Self { server: Server::start_with(app, port, transport).await? })
    }

    fn server(&self) -> &Server {
        &self.server
    }

    fn asset_toml(&self) -> String {
        format!("base_url = \"{}\"\napi_key = \"{}\"\n", self.server.base_url(), Self::API_KEY)
    }
}

async fn status(headers: HeaderMap) -> Response {
    if headers.get("x-api-key").and_then(|key| key.to_str().ok()) != Some(AcmeSim::API_KEY) {
        return (StatusCode::UNAUTHORIZED, "bad API key").into_response();
    }
    ([("content-type", "application/json")], STATUS).into_response()
}

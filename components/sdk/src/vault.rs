//! The vault: downloads stream straight from `wasi:http` into host storage.

use crate::ActionError;
use crate::bindings::soar::connector::vault::{self as host, VaultError};
use crate::http::StreamingResponse;
use serde_json::{Value, json};

pub use crate::bindings::soar::connector::vault::VaultItem;

/// Streams the body of `response` into the vault under `name`.
///
/// The host reads the body itself, so the file never passes through the
/// connector's memory. Nothing is added if the download fails part-way.
pub fn add_response(name: &str, response: StreamingResponse) -> Result<VaultItem, ActionError> {
    let mime = response.header("content-type").map(str::to_string);
    let size = response.content_length();
    response.with_stream(|stream| host::add_stream(name, mime.as_deref(), stream, size)).map_err(|error| match error {
        VaultError::InvalidName(message) => ActionError::invalid_parameter("filename", message),
        VaultError::ReadFailed(message) => ActionError::connection(format!(
            "The download failed part-way and nothing was added to the vault: {message}"
        )),
        VaultError::Storage(message) => ActionError::platform(format!("Could not add file to the Vault: {message}")),
    })
}

impl VaultItem {
    /// The item as SOAR's `vault_info` describes it (`vault_id`, `hash`, `name`,
    /// `aka`, `size`, `path`, `mime_type`, `metadata.sha1`/`sha256`, `id`,
    /// `vault_document`, `container`, `container_id`, `create_time`, `created_via`,
    /// `user`, `task`).
    pub fn to_soar_json(&self) -> Value {
        json!({
            "vault_id": self.vault_id,
            "hash": self.vault_id,
            "name": self.name,
            "aka": self.aka,
            "size": self.size,
            "path": self.path,
            "mime_type": self.mime_type,
            "metadata": {"sha1": self.vault_id, "sha256": self.sha256},
            "id": self.id,
            "vault_document": self.id,
            "container": self.container,
            "container_id": self.container_id,
            "create_time": self.create_time,
            "created_via": "automation",
            "user": self.user,
            "task": Value::Null,
        })
    }
}

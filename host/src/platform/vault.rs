//! `soar:connector/vault`: downloads streamed from `wasi:http` into the vault by
//! the host itself, so large files never pass through the guest.

use crate::bindings::soar::connector::vault::{self, Host, VaultError, VaultItem};
use crate::storage::vault::{VaultDocument, VaultStore, check_name};
use wasmtime::component::{HasData, Linker, Resource, ResourceTable};
use wasmtime_wasi_io::streams::{DynInputStream, StreamError};

/// Bytes requested per read from the body stream.
const READ_SIZE: usize = 1 << 20;

/// Reports download progress: bytes so far and the expected total.
pub type Progress = std::sync::Arc<dyn Fn(u64, Option<u64>) + Send + Sync>;

/// The vault and who is adding to it.
pub struct VaultCtx {
    store: Option<VaultStore>,
    user: String,
    container: Option<(u64, String)>,
    progress: Option<Progress>,
    /// The largest file one download may add, in bytes.
    limit: u64,
    /// The values the host produced for the items added (vault ids, hashes,
    /// paths), which redaction must leave intact.
    produced: Vec<String>,
}

impl VaultCtx {
    /// Adds to `store` on behalf of `user`, for `container` (id and name) if any,
    /// files of at most `limit` bytes.
    pub fn new(
        store: VaultStore,
        user: String,
        container: Option<(u64, String)>,
        progress: Option<Progress>,
        limit: u64,
    ) -> Self {
        Self { store: Some(store), user, container, progress, limit, produced: Vec::new() }
    }

    /// No vault: every call fails (while a connector describes itself).
    pub fn none() -> Self {
        Self { store: None, user: String::new(), container: None, progress: None, limit: 0, produced: Vec::new() }
    }

    /// The vault ids, hashes and paths of the items this action added.
    pub fn produced(&self) -> &[String] {
        &self.produced
    }

    fn too_large(&self, size: u64) -> VaultError {
        VaultError::Storage(format!(
            "the download is larger than the host's limit of {} MiB per file ({size} bytes or more; raise it with --max-download); nothing was stored",
            self.limit >> 20
        ))
    }

    fn item(&mut self, store: &VaultStore, document: VaultDocument, name: String) -> VaultItem {
        let path = store.content_path(&document.vault_id).display().to_string();
        self.produced.extend([document.vault_id.clone(), document.sha256.clone(), path]);
        VaultItem {
            path: store.content_path(&document.vault_id).display().to_string(),
            vault_id: document.vault_id,
            sha256: document.sha256,
            size: document.size,
            name,
            aka: document.names,
            mime_type: document.mime_type,
            id: document.id,
            container_id: self.container.as_ref().map(|(id, _)| *id),
            container: self.container.as_ref().map(|(_, name)| name.clone()),
            create_time: document.create_time,
            user: self.user.clone(),
        }
    }
}

/// Access to a [`VaultCtx`] and the resource table holding guest streams.
pub trait VaultView: Send {
    fn vault(&mut self) -> VaultCtxView<'_>;
}

/// A [`VaultCtx`] with the store's resource table.
pub struct VaultCtxView<'a> {
    pub ctx: &'a mut VaultCtx,
    pub table: &'a mut ResourceTable,
}

struct HasVault;

impl HasData for HasVault {
    type Data<'a> = VaultCtxView<'a>;
}

/// Adds `soar:connector/vault` to `linker`.
pub fn add_to_linker<T: VaultView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    vault::add_to_linker::<T, HasVault>(linker, T::vault)
}

impl Host for VaultCtxView<'_> {
    async fn add_stream(
        &mut self,
        name: String,
        mime_type: Option<String>,
        contents: Resource<DynInputStream>,
        expected_size: Option<u64>,
    ) -> wasmtime::Result<Result<VaultItem, VaultError>> {
        // Taking the stream out of the table ends the guest's access to it.
        let mut stream = self.table.delete(contents)?;
        if let Err(err) = check_name(&name) {
            return Ok(Err(VaultError::InvalidName(err.to_string())));
        }
        let storage = |err: std::io::Error| VaultError::Storage(err.to_string());
        let Some(store) = self.ctx.store.clone() else {
            return Ok(Err(VaultError::Storage("no vault outside an action".into())));
        };
        let limit = self.ctx.limit;
        if let Some(expected) = expected_size.filter(|size| *size > limit) {
            return Ok(Err(self.ctx.too_large(expected)));
        }
        let mut writer = match store.begin(expected_size, limit) {
            Ok(writer) => writer,
            Err(err) => return Ok(Err(storage(err))),
        };
        loop {
            stream.ready().await;
            match stream.read(READ_SIZE) {
                Ok(bytes) => {
                    if writer.size() + bytes.len() as u64 > limit {
                        // Dropping the writer deletes what was written so far.
                        return Ok(Err(self.ctx.too_large(writer.size() + bytes.len() as u64)));
                    }
                    if let Err(err) = writer.write(bytes) {
                        // The worker that stopped knows why (disk full, say).
                        return Ok(Err(storage(writer.finish().err().unwrap_or(err))));
                    }
                    if let Some(progress) = &self.ctx.progress {
                        progress(writer.size(), expected_size);
                    }
                }
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(err)) => {
                    return Ok(Err(VaultError::ReadFailed(format!("{err:#} after {} bytes", writer.size()))));
                }
                Err(StreamError::Trap(err)) => return Err(err),
            }
        }
        if let Some(expected) = expected_size.filter(|expected| *expected != writer.size()) {
            return Ok(Err(VaultError::ReadFailed(format!(
                "the body ended after {} of {expected} bytes",
                writer.size()
            ))));
        }
        let document =
            writer.finish().and_then(|written| store.commit(written, &name, mime_type.as_deref(), &self.ctx.user));
        Ok(document.map(|document| self.ctx.item(&store, document, name)).map_err(storage))
    }
}

//! `soar:connector/vault`: downloads streamed from `wasi:http` into the vault by
//! the host itself, so large files never pass through the guest.

use crate::bindings::soar::connector::vault::{self, Host, VaultError, VaultItem};
use crate::storage::vault::{VaultDocument, VaultStore, check_name};
use std::sync::Arc;
use wasmtime::component::{HasData, Linker, Resource, ResourceTable};
use wasmtime_wasi_io::streams::{DynInputStream, StreamError};

/// Bytes requested per read from the body stream.
const READ_SIZE: usize = 1 << 20;

/// Reports download progress: bytes so far and the expected total.
pub type Progress = std::sync::Arc<dyn Fn(u64, Option<u64>) + Send + Sync>;

/// The vault and who is adding to it.
pub struct VaultCtx {
    store: Option<Arc<dyn VaultStore>>,
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
        store: Arc<dyn VaultStore>,
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

    fn item(&mut self, store: &dyn VaultStore, document: VaultDocument, name: String) -> VaultItem {
        let path = store.location(&document.vault_id);
        self.produced.extend([document.vault_id.clone(), document.sha256.clone(), path.clone()]);
        VaultItem {
            path,
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
        let mut upload = match store.begin(expected_size, limit) {
            Ok(upload) => upload,
            Err(err) => return Ok(Err(storage(err))),
        };
        loop {
            stream.ready().await;
            match stream.read(READ_SIZE) {
                Ok(bytes) => {
                    if upload.size() + bytes.len() as u64 > limit {
                        // Dropping the upload deletes what was written so far.
                        return Ok(Err(self.ctx.too_large(upload.size() + bytes.len() as u64)));
                    }
                    if let Err(err) = upload.write(bytes) {
                        return Ok(Err(storage(err)));
                    }
                    if let Some(progress) = &self.ctx.progress {
                        progress(upload.size(), expected_size);
                    }
                }
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(err)) => {
                    return Ok(Err(VaultError::ReadFailed(format!("{err:#} after {} bytes", upload.size()))));
                }
                Err(StreamError::Trap(err)) => return Err(err),
            }
        }
        if let Some(expected) = expected_size.filter(|expected| *expected != upload.size()) {
            return Ok(Err(VaultError::ReadFailed(format!(
                "the body ended after {} of {expected} bytes",
                upload.size()
            ))));
        }
        let document = upload.commit(&name, mime_type.as_deref(), &self.ctx.user);
        Ok(document.map(|document| self.ctx.item(store.as_ref(), document, name)).map_err(storage))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::memory::MemoryStores;
    use crate::storage::vault::DiskVault;
    use crate::storage::{DiskStores, Stores};
    use std::sync::Mutex;
    use wasmtime_wasi::p2::pipe::{AsyncReadStream, MemoryInputPipe};

    const REPORT: &[u8] = b"PK\x03\x04 a phishing report";
    const REPORT_SHA1: &str = "cdcdb2b0773fc4744b0ec123fd84085be3bf58e1";

    /// The download progress reported: bytes so far and the expected total.
    type Seen = Arc<Mutex<Vec<(u64, Option<u64>)>>>;

    /// A vault capability adding to `store` for container 7, files of at most
    /// `limit` bytes, with the progress it reports kept in `seen`.
    fn capability(store: Arc<dyn VaultStore>, limit: u64, seen: &Seen) -> VaultCtx {
        let sink = seen.clone();
        let progress: Progress = Arc::new(move |done, total| sink.lock().unwrap().push((done, total)));
        VaultCtx::new(store, "analyst".into(), Some((7, "Phishing 7".into())), Some(progress), limit)
    }

    /// Adds `contents` as the guest would: a stream in the resource table.
    async fn add(
        ctx: &mut VaultCtx,
        name: &str,
        contents: DynInputStream,
        expected_size: Option<u64>,
    ) -> Result<VaultItem, VaultError> {
        let mut table = ResourceTable::new();
        let stream = table.push(contents).unwrap();
        let mut view = VaultCtxView { ctx, table: &mut table };
        let added = view.add_stream(name.into(), Some("application/octet-stream".into()), stream, expected_size).await;
        assert!(table.is_empty(), "the host took the stream from the guest");
        added.unwrap()
    }

    fn pipe(contents: &'static [u8]) -> DynInputStream {
        Box::new(MemoryInputPipe::new(contents))
    }

    /// A body that breaks off after `sent` with the connection reset.
    fn reset_after(sent: &'static [u8]) -> DynInputStream {
        struct Reset;
        impl tokio::io::AsyncRead for Reset {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
                _: &mut tokio::io::ReadBuf<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Err(std::io::ErrorKind::ConnectionReset.into()))
            }
        }
        Box::new(AsyncReadStream::new(tokio::io::AsyncReadExt::chain(sent, Reset)))
    }

    /// The disk vault and the in-memory one: the capability serves either alike.
    fn backends(dir: &std::path::Path) -> [(&'static str, Arc<dyn VaultStore>); 2] {
        [("disk", DiskStores::new(dir).vault().unwrap()), ("memory", MemoryStores::default().vault().unwrap())]
    }

    #[tokio::test]
    async fn files_are_added_whole_read_back_and_described_with_the_ids_the_host_produced() {
        let dir = tempfile::tempdir().unwrap();
        for (backend, store) in backends(dir.path()) {
            let seen = Seen::default();
            let mut ctx = capability(store.clone(), 1 << 20, &seen);
            let size = REPORT.len() as u64;
            let item = add(&mut ctx, "report.zip", pipe(REPORT), Some(size)).await.unwrap();
            assert_eq!(item.vault_id, REPORT_SHA1, "{backend}");
            assert_eq!(item.sha256.len(), 64, "{backend}");
            assert_eq!((item.size, item.id, item.mime_type.as_str()), (size, 1, "application/zip"), "{backend}");
            assert_eq!((item.name.as_str(), item.aka.clone()), ("report.zip", vec!["report.zip".to_string()]));
            assert_eq!((item.container_id, item.container.as_deref()), (Some(7), Some("Phishing 7")), "{backend}");
            assert_eq!(item.user, "analyst", "{backend}");
            assert_eq!(item.path, store.location(REPORT_SHA1), "{backend}");
            assert_eq!(ctx.produced(), [item.vault_id.clone(), item.sha256.clone(), item.path.clone()], "{backend}");
            assert_eq!(seen.lock().unwrap().last(), Some(&(size, Some(size))), "{backend}: progress");

            // Read back: the document as the store keeps it.
            let kept = store.get(&REPORT_SHA1.to_ascii_uppercase()).unwrap().unwrap();
            assert_eq!((kept.id, kept.sha256.as_str(), kept.size), (item.id, item.sha256.as_str(), size), "{backend}");
            assert_eq!(store.get("not-a-vault-id").unwrap(), None, "{backend}");

            // The same contents again: the same document, one more name.
            let again = add(&mut ctx, "report-copy.bin", pipe(REPORT), None).await.unwrap();
            assert_eq!((again.id, again.vault_id.as_str()), (item.id, REPORT_SHA1), "{backend}");
            assert_eq!(again.aka, ["report.zip", "report-copy.bin"], "{backend}");
            let other = add(&mut ctx, "notes.txt", pipe(b"other contents"), None).await.unwrap();
            assert_eq!((other.id, other.mime_type.as_str()), (2, "text/plain"), "{backend}");
            let listed: Vec<u64> = store.list().unwrap().iter().map(|document| document.id).collect();
            assert_eq!(listed, [1, 2], "{backend}");
        }
        let on_disk = DiskVault::new(dir.path()).content_path(REPORT_SHA1);
        assert_eq!(std::fs::read(on_disk).unwrap(), REPORT);
    }

    #[tokio::test]
    async fn refused_and_broken_downloads_leave_nothing_and_say_why() {
        let dir = tempfile::tempdir().unwrap();
        for (backend, store) in backends(dir.path()) {
            let mut ctx = capability(store.clone(), 16, &Seen::default());
            for bad in ["", "../escape", "a/b", ".."] {
                let refused = add(&mut ctx, bad, pipe(b"x"), None).await;
                assert!(matches!(refused, Err(VaultError::InvalidName(_))), "{backend} {bad:?}: {refused:?}");
            }
            // Declared too large: refused before a byte is read.
            let refused = add(&mut ctx, "big.bin", pipe(b"x"), Some(17)).await;
            assert!(
                matches!(&refused, Err(VaultError::Storage(why)) if why.contains("--max-download") && why.contains("17 bytes")),
                "{backend}: {refused:?}"
            );
            // Undeclared and too large: stopped when the bytes pass the limit.
            let refused = add(&mut ctx, "big.bin", pipe(&[0; 17]), None).await;
            assert!(
                matches!(&refused, Err(VaultError::Storage(why)) if why.contains("nothing was stored")),
                "{backend}: {refused:?}"
            );
            // Exactly the limit is accepted, below it a shorter body than declared is not.
            let short = add(&mut ctx, "short.bin", pipe(b"12345"), Some(9)).await;
            assert!(
                matches!(&short, Err(VaultError::ReadFailed(why)) if why.contains("after 5 of 9 bytes")),
                "{backend}: {short:?}"
            );
            let reset = add(&mut ctx, "reset.bin", reset_after(b"1234"), None).await;
            assert!(
                matches!(&reset, Err(VaultError::ReadFailed(why)) if why.contains("after 4 bytes")),
                "{backend}: {reset:?}"
            );
            assert!(store.list().unwrap().is_empty(), "{backend}: nothing was added");
            assert!(ctx.produced().is_empty(), "{backend}: no ids were produced");
            let whole = add(&mut ctx, "limit.bin", pipe(&[1; 16]), Some(16)).await.unwrap();
            assert_eq!(whole.size, 16, "{backend}");
        }
        let tmp = dir.path().join("vault/tmp");
        assert_eq!(std::fs::read_dir(tmp).unwrap().count(), 0, "no partial download is left on disk");
    }

    #[tokio::test]
    async fn outside_an_action_there_is_no_vault() {
        let mut ctx = VaultCtx::none();
        let refused = add(&mut ctx, "a.txt", pipe(b"x"), None).await;
        assert!(matches!(&refused, Err(VaultError::Storage(why)) if why.contains("outside an action")), "{refused:?}");
    }
}

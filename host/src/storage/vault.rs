//! The vault: files content-addressed by SHA-1 (the SOAR vault id), with the
//! SHA-256, names and MIME type kept beside each. [`VaultStore`] is what every
//! backend keeps; [`DiskVault`] keeps the files under the data directory. A file
//! enters the vault only when it is complete; an interrupted download leaves
//! nothing behind.

use super::fs::{Lock, private_dir, sync_dir, write_atomic};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};
use sha2::Sha256;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tempfile::NamedTempFile;

/// Longest accepted file name, in bytes.
const MAX_NAME: usize = 1024;
/// Downloads are handed to the writing and hashing threads in blocks this big.
const BUFFER: usize = 1 << 20;

/// A document in the vault.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct VaultDocument {
    /// The host's numeric id.
    pub id: u64,
    /// SHA-1 of the contents (hex): the vault id.
    pub vault_id: String,
    /// SHA-256 of the contents (hex).
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// MIME type.
    pub mime_type: String,
    /// Every name the contents were added under, first one first.
    pub names: Vec<String>,
    /// When the contents were first added (RFC 3339).
    pub create_time: String,
    /// Who first added them.
    pub user: String,
}

/// The vault shared by every connector and asset of a host.
///
/// What a backend must keep:
/// * **Content-addressed.** A document is known by the SHA-1 of its contents in
///   lower-case hex (the vault id). Adding contents already there stores nothing
///   new: it returns the existing document (same `id`, `vault_id`, first
///   `create_time` and `user`), with the new name appended to `names` if it was
///   not among them.
/// * **Whole or nothing.** Nothing of an upload is visible before
///   [`VaultUpload::commit`] returns; an upload dropped before (a failed or
///   refused download) leaves nothing behind.
/// * **Ids.** Each new document gets the next number of a counter that starts at
///   1 and never repeats.
/// * **Not found** is `Ok(None)`: also for anything that is not a 40-digit hex
///   vault id (looked up case-insensitively).
/// * **Names** are checked by [`check_name`] (at most 1024 bytes, no `/` or NUL,
///   not `.` or `..`): `commit` refuses others with `InvalidInput`. The MIME type
///   is [`mime_type`] of the first name and the vendor's hint.
/// * **Size.** The store bounds nothing itself: the capability counts the bytes
///   and stops an upload past its limit. `expected_size` is the vendor's word,
///   to be trusted (for a reservation, say) only up to `limit`.
/// * **Errors** are [`io::Error`]s; each means nothing was added.
pub trait VaultStore: Send + Sync {
    /// Starts adding a file of `expected_size` bytes, if known, to be at most
    /// `limit` bytes.
    fn begin(&self, expected_size: Option<u64>, limit: u64) -> io::Result<Box<dyn VaultUpload>>;

    /// The document with vault id `vault_id`.
    fn get(&self, vault_id: &str) -> io::Result<Option<VaultDocument>>;

    /// Every document, by id.
    fn list(&self) -> io::Result<Vec<VaultDocument>>;

    /// Where the contents of the document `vault_id` can be read (a path for the
    /// disk): what a vault item's `path` says.
    fn location(&self, vault_id: &str) -> String;
}

/// A file being added to a [`VaultStore`]; dropping it discards the contents.
pub trait VaultUpload: Send {
    /// Appends `bytes`. An error says why the store could not take them (the
    /// disk is full, say), not only that it stopped.
    fn write(&mut self, bytes: Bytes) -> io::Result<()>;

    /// Bytes written so far.
    fn size(&self) -> u64;

    /// Adds the finished file under `name`, added by `user`; `mime_hint` is the
    /// vendor's declared type.
    fn commit(self: Box<Self>, name: &str, mime_hint: Option<&str>, user: &str) -> io::Result<VaultDocument>;
}

/// The vault under a data directory (`<data_dir>/vault/ab/cd/<sha1>`).
#[derive(Debug, Clone)]
pub struct DiskVault {
    root: PathBuf,
}

impl DiskVault {
    /// The vault at `<data_dir>/vault`.
    pub fn new(data_dir: &Path) -> Self {
        Self { root: data_dir.join("vault") }
    }

    /// Adds a finished file under `name`. Contents already in the vault are not
    /// stored twice; `name` is added to their names.
    fn commit(
        &self,
        written: WrittenFile,
        name: &str,
        mime_hint: Option<&str>,
        user: &str,
    ) -> io::Result<VaultDocument> {
        check_name(name)?;
        let content = self.content_path(&written.sha1);
        let meta = meta_path(&content);
        let _lock = Lock::exclusive(&self.root.join("index"))?;
        if let Some(mut document) = self.read_document(&meta)? {
            if !document.names.iter().any(|n| n == name) {
                document.names.push(name.to_string());
                write_atomic(&meta, &serde_json::to_vec_pretty(&document)?)?;
            }
            return Ok(document);
        }
        let dir = content.parent().expect("content paths have a parent");
        private_dir(dir)?;
        written.file.persist(&content).map_err(|err| err.error)?;
        sync_dir(dir)?;
        let document = VaultDocument {
            id: self.next_id()?,
            vault_id: written.sha1,
            sha256: written.sha256,
            size: written.size,
            mime_type: mime_type(name, mime_hint),
            names: vec![name.to_string()],
            create_time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            user: user.to_string(),
        };
        write_atomic(&meta, &serde_json::to_vec_pretty(&document)?)?;
        Ok(document)
    }

    /// Where the contents with SHA-1 `sha1` are kept (`ab/cd/abcd…`, as in SOAR).
    pub fn content_path(&self, sha1: &str) -> PathBuf {
        self.root.join(&sha1[..2]).join(&sha1[2..4]).join(sha1)
    }

    fn read_document(&self, meta: &Path) -> io::Result<Option<VaultDocument>> {
        match std::fs::read(meta) {
            Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// The next document id; called with the index lock held.
    fn next_id(&self) -> io::Result<u64> {
        let counter = self.root.join("next-id");
        let id = match std::fs::read_to_string(&counter) {
            Ok(text) => text.trim().parse().unwrap_or(1),
            Err(err) if err.kind() == io::ErrorKind::NotFound => 1,
            Err(err) => return Err(err),
        };
        write_atomic(&counter, (id + 1).to_string().as_bytes())?;
        Ok(id)
    }
}

impl VaultStore for DiskVault {
    /// Disk is reserved for the expected size only when it is within `limit`
    /// and the free space: a declared length is the vendor's word, not a fact.
    fn begin(&self, expected_size: Option<u64>, limit: u64) -> io::Result<Box<dyn VaultUpload>> {
        let tmp = self.root.join("tmp");
        private_dir(&tmp)?;
        remove_abandoned(&tmp);
        let file = tempfile::Builder::new().prefix(DOWNLOAD_PREFIX).tempfile_in(&tmp)?;
        // Held while the download runs (and released by the kernel if the
        // process dies): it tells a live download from an abandoned one.
        file.as_file().lock()?;
        let reserve =
            expected_size.filter(|size| *size <= limit && free_space(&tmp).is_some_and(|free| *size < free / 2));
        Ok(Box::new(DiskUpload { vault: self.clone(), writer: VaultWriter::start(file, reserve)? }))
    }

    fn get(&self, vault_id: &str) -> io::Result<Option<VaultDocument>> {
        if vault_id.len() != 40 || !vault_id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        self.read_document(&meta_path(&self.content_path(&vault_id.to_ascii_lowercase())))
    }

    fn list(&self) -> io::Result<Vec<VaultDocument>> {
        let mut documents = Vec::new();
        for first in read_dir_names(&self.root)? {
            if first.len() != 2 {
                continue;
            }
            for second in read_dir_names(&self.root.join(&first))? {
                for entry in read_dir_names(&self.root.join(&first).join(&second))? {
                    if entry.ends_with(".json")
                        && let Some(document) =
                            self.read_document(&self.root.join(&first).join(&second).join(&entry))?
                    {
                        documents.push(document);
                    }
                }
            }
        }
        documents.sort_by_key(|document| document.id);
        Ok(documents)
    }

    fn location(&self, vault_id: &str) -> String {
        self.content_path(vault_id).display().to_string()
    }
}

/// A download into a [`DiskVault`]: a temporary file in `vault/tmp` until it is
/// committed.
struct DiskUpload {
    vault: DiskVault,
    writer: VaultWriter,
}

impl VaultUpload for DiskUpload {
    fn write(&mut self, bytes: Bytes) -> io::Result<()> {
        self.writer.write(bytes)
    }

    fn size(&self) -> u64 {
        self.writer.size()
    }

    fn commit(self: Box<Self>, name: &str, mime_hint: Option<&str>, user: &str) -> io::Result<VaultDocument> {
        let written = self.writer.finish()?;
        self.vault.commit(written, name, mime_hint, user)
    }
}

/// Temporary download files are named `download-…` in `vault/tmp`.
const DOWNLOAD_PREFIX: &str = "download-";
/// A temporary file younger than this is never removed as abandoned: its
/// writer may not have locked it yet.
const ABANDONED_AFTER: std::time::Duration = std::time::Duration::from_secs(2);

/// Removes the temporary files of downloads whose process died (`kill -9`, a
/// power cut): a file nobody holds the lock of, older than [`ABANDONED_AFTER`].
/// A download in progress in another process holds its lock and is left alone.
fn remove_abandoned(tmp: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp) else { return };
    for entry in entries.flatten() {
        let is_download = entry.file_name().to_str().is_some_and(|name| name.starts_with(DOWNLOAD_PREFIX));
        let old_enough = entry
            .metadata()
            .and_then(|meta| meta.modified())
            .is_ok_and(|modified| modified.elapsed().is_ok_and(|age| age >= ABANDONED_AFTER));
        if !is_download || !old_enough {
            continue;
        }
        let Ok(file) = std::fs::OpenOptions::new().write(true).open(entry.path()) else { continue };
        if file.try_lock().is_ok() {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => tracing::info!("removed the abandoned download {}", entry.path().display()),
                Err(err) => tracing::warn!("cannot remove the abandoned download {}: {err}", entry.path().display()),
            }
        }
    }
}

/// A file being written to the vault; dropping it discards the contents.
///
/// Writing the file, its SHA-1 and its SHA-256 run on three threads of their
/// own, fed the same chunks, so a large download is stored and hashed at the
/// pace it arrives: the thread reading the network does nothing else.
struct VaultWriter {
    file: Worker<io::Result<NamedTempFile>>,
    sha1: Worker<String>,
    sha256: Worker<String>,
    /// Network reads arrive in small pieces; they are handed to the workers in
    /// batches of about [`BUFFER`] bytes, because waking a thread per piece would
    /// cost more than the work. The pieces themselves are shared, not copied.
    pending: Vec<Bytes>,
    pending_len: usize,
    size: u64,
}

impl VaultWriter {
    fn start(file: NamedTempFile, expected_size: Option<u64>) -> io::Result<Self> {
        if let Some(size) = expected_size {
            // Reserving the blocks up front spares the filesystem allocating them
            // page by page; a failure here only costs that optimisation.
            let _ = preallocate(file.as_file(), size);
        }
        let file = Worker::start("vault-write", move |chunks| {
            let mut out = file;
            for batch in chunks {
                for chunk in batch.iter() {
                    out.write_all(chunk)?;
                }
            }
            out.as_file().sync_all()?;
            Ok(out)
        })?;
        Ok(Self {
            file,
            sha1: Worker::start("vault-sha1", digest::<Sha1>)?,
            sha256: Worker::start("vault-sha256", digest::<Sha256>)?,
            pending: Vec::new(),
            pending_len: 0,
            size: 0,
        })
    }

    /// Appends `bytes`.
    fn write(&mut self, bytes: Bytes) -> io::Result<()> {
        self.size += bytes.len() as u64;
        self.pending_len += bytes.len();
        self.pending.push(bytes);
        if self.pending_len >= BUFFER { self.hand_off() } else { Ok(()) }
    }

    fn hand_off(&mut self) -> io::Result<()> {
        let batch: Batch = Arc::new(std::mem::take(&mut self.pending));
        self.pending_len = 0;
        self.sha1.send(batch.clone())?;
        self.sha256.send(batch.clone())?;
        // The writing thread stops at its first error (a full disk, say): that
        // is the cause to report, not that it stopped.
        self.file.send(batch).map_err(|stopped| match self.file.finish() {
            Ok(Err(cause)) => cause,
            _ => stopped,
        })
    }

    /// Bytes written so far.
    fn size(&self) -> u64 {
        self.size
    }

    /// Waits for the file to be on disk and its hashes computed.
    fn finish(mut self) -> io::Result<WrittenFile> {
        if !self.pending.is_empty() {
            self.hand_off()?;
        }
        let file = self.file.finish()??;
        let (sha1, sha256) = (self.sha1.finish()?, self.sha256.finish()?);
        if file.as_file().metadata()?.len() > self.size {
            file.as_file().set_len(self.size)?;
        }
        Ok(WrittenFile { file, sha1, sha256, size: self.size })
    }
}

/// The hex digest of every batch received, in order.
fn digest<D: Digest>(batches: std::sync::mpsc::Receiver<Batch>) -> String {
    let mut hasher = D::new();
    for batch in batches {
        batch.iter().for_each(|chunk| hasher.update(chunk));
    }
    hex::encode(hasher.finalize())
}

/// Pieces of a download, shared by the workers.
type Batch = Arc<Vec<Bytes>>;

/// A thread consuming batches, with a bounded queue so a slow consumer holds
/// back the download instead of buffering it in memory.
struct Worker<T> {
    chunks: Option<std::sync::mpsc::SyncSender<Batch>>,
    done: Option<std::thread::JoinHandle<T>>,
}

/// Blocks in flight to each worker: enough to absorb hiccups, few enough that
/// memory does not grow with the download.
const QUEUE: usize = 4;

impl<T: Send + 'static> Worker<T> {
    fn start(
        name: &str,
        work: impl FnOnce(std::sync::mpsc::Receiver<Batch>) -> T + Send + 'static,
    ) -> io::Result<Self> {
        let (chunks, received) = std::sync::mpsc::sync_channel::<Batch>(QUEUE);
        let done = std::thread::Builder::new().name(name.into()).spawn(move || work(received))?;
        Ok(Self { chunks: Some(chunks), done: Some(done) })
    }

    fn send(&self, chunk: Batch) -> io::Result<()> {
        let sender = self.chunks.as_ref().ok_or_else(|| io::Error::other("the worker already finished"))?;
        sender.send(chunk).map_err(|_| io::Error::other("the worker stopped"))
    }

    fn finish(&mut self) -> io::Result<T> {
        drop(self.chunks.take());
        let done = self.done.take().ok_or_else(|| io::Error::other("the worker already finished"))?;
        done.join().map_err(|_| io::Error::other("the worker panicked"))
    }
}

impl<T> Drop for Worker<T> {
    fn drop(&mut self) {
        // An abandoned download: end the queue and wait for the thread, which
        // drops (and so deletes) the temporary file.
        drop(self.chunks.take());
        if let Some(done) = self.done.take() {
            let _ = done.join();
        }
    }
}

/// The bytes an unprivileged process may still write on the filesystem of `dir`.
fn free_space(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut stats = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: a valid NUL-terminated path and a buffer for one statvfs.
    if unsafe { libc::statvfs(path.as_ptr(), stats.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: statvfs succeeded, so it filled the buffer.
    let stats = unsafe { stats.assume_init() };
    let (available, block): (u64, u64) = (stats.f_bavail, stats.f_frsize);
    Some(available.saturating_mul(block))
}

/// Reserves `size` bytes of disk for `file` (Linux `fallocate`).
fn preallocate(file: &std::fs::File, size: u64) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let size = libc::off_t::try_from(size).map_err(io::Error::other)?;
    // SAFETY: the descriptor is open for writing for the duration of the call.
    match unsafe { libc::fallocate(file.as_raw_fd(), 0, 0, size) } {
        0 => Ok(()),
        _ => Err(io::Error::last_os_error()),
    }
}

/// A complete file, ready to commit.
struct WrittenFile {
    file: NamedTempFile,
    /// SHA-1 (hex).
    sha1: String,
    /// SHA-256 (hex).
    sha256: String,
    /// Size in bytes.
    size: u64,
}

/// Rejects names that are empty, too long, or contain a path separator or NUL.
pub fn check_name(name: &str) -> io::Result<()> {
    if name.trim().is_empty() || name.len() > MAX_NAME || name.contains(['/', '\0']) || name == "." || name == ".." {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("'{name}' is not a valid file name (1 to {MAX_NAME} bytes, no '/')"),
        ));
    }
    Ok(())
}

/// The MIME type of a file named `name`: from the extension, else the vendor's
/// declared type `hint`, else `application/octet-stream`.
pub fn mime_type(name: &str, hint: Option<&str>) -> String {
    if let Some(guess) = mime_guess::from_path(name).first() {
        return guess.essence_str().to_string();
    }
    hint.and_then(|hint| hint.split(';').next())
        .map(str::trim)
        .filter(|hint| !hint.is_empty())
        .unwrap_or("application/octet-stream")
        .to_string()
}

fn meta_path(content: &Path) -> PathBuf {
    content.with_extension("json")
}

fn read_dir_names(dir: &Path) -> io::Result<Vec<String>> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries.map(|entry| Ok(entry?.file_name().to_string_lossy().into_owned())).collect(),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(vault: &DiskVault, contents: &[u8], name: &str) -> VaultDocument {
        let mut upload = vault.begin(None, u64::MAX).unwrap();
        upload.write(Bytes::copy_from_slice(contents)).unwrap();
        upload.commit(name, Some("application/octet-stream"), "tester").unwrap()
    }

    #[test]
    fn content_addressed_with_names() {
        let dir = tempfile::tempdir().unwrap();
        let vault = DiskVault::new(dir.path());
        let first = add(&vault, b"hello", "a.txt");
        assert_eq!(first.vault_id, "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d");
        assert_eq!(first.sha256, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
        assert_eq!(first.mime_type, "text/plain");
        let again = add(&vault, b"hello", "b.bin");
        assert_eq!((again.id, again.names.clone()), (first.id, vec!["a.txt".to_string(), "b.bin".to_string()]));
        let other = add(&vault, b"other", "c.zip");
        assert_eq!((other.id, other.mime_type.as_str()), (first.id + 1, "application/zip"));
        assert_eq!(std::fs::read(vault.content_path(&first.vault_id)).unwrap(), b"hello");
        assert_eq!(vault.list().unwrap().len(), 2);
        assert_eq!(vault.get(&first.vault_id).unwrap(), Some(again));
    }

    #[test]
    fn abandoned_writes_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let vault = DiskVault::new(dir.path());
        let mut writer = vault.begin(None, u64::MAX).unwrap();
        writer.write(Bytes::from_static(b"partial")).unwrap();
        drop(writer);
        assert!(vault.list().unwrap().is_empty());
        assert_eq!(std::fs::read_dir(dir.path().join("vault/tmp")).unwrap().count(), 0);
    }

    #[test]
    fn declared_sizes_are_not_trusted_for_reservations() {
        let dir = tempfile::tempdir().unwrap();
        let vault = DiskVault::new(dir.path());
        // 10 GiB declared, 1 KiB limit: nothing may be reserved.
        let writer = vault.begin(Some(10 << 30), 1024).unwrap();
        let tmp = std::fs::read_dir(dir.path().join("vault/tmp")).unwrap().next().unwrap().unwrap();
        assert_eq!(tmp.metadata().unwrap().len(), 0);
        drop(writer);
        // Within the limit and the free space, it is.
        let writer = vault.begin(Some(4096), 1 << 20).unwrap();
        let tmp = std::fs::read_dir(dir.path().join("vault/tmp")).unwrap().next().unwrap().unwrap();
        assert_eq!(tmp.metadata().unwrap().len(), 4096);
        drop(writer);
    }

    proptest::proptest! {
        /// An accepted name is one file name in its directory, whatever it holds.
        #[test]
        fn accepted_names_stay_in_the_vault(name in "\\PC{0,40}") {
            if check_name(&name).is_ok() {
                let path = Path::new("/vault").join(&name);
                proptest::prop_assert_eq!(path.parent(), Some(Path::new("/vault")));
            }
        }
    }

    #[test]
    fn abandoned_downloads_are_removed_and_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let vault = DiskVault::new(dir.path());
        let live = vault.begin(None, u64::MAX).unwrap();
        let tmp = dir.path().join("vault/tmp");
        let abandoned = tmp.join(format!("{DOWNLOAD_PREFIX}abandoned"));
        std::fs::write(&abandoned, b"left by a killed process").unwrap();
        let old = std::time::SystemTime::now() - ABANDONED_AFTER * 2;
        for entry in std::fs::read_dir(&tmp).unwrap().flatten() {
            std::fs::File::options().write(true).open(entry.path()).unwrap().set_modified(old).unwrap();
        }
        let next = vault.begin(None, u64::MAX).unwrap();
        assert!(!abandoned.exists(), "the abandoned file is removed");
        assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 2, "the live download and the new one stay");
        drop((live, next));
    }

    #[test]
    fn names_are_checked() {
        for bad in ["", "a/b", "..", "x\0y"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_name("message_2023-01-06_06:49:00.536505.zip").is_ok());
    }
}

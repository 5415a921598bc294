//! Private directories, atomic file replacement, advisory locks, and the checks
//! that decide whether a file or directory can be trusted.
//!
//! Every directory the host creates is 0700 and every file it writes 0600,
//! whatever the umask: the modes are set explicitly, not left to the umask.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Creates `dir` (and its parents) readable by the owner only.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// The directory holding `path` (`.` for a bare file name).
pub fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Replaces `path` with `contents` atomically: readers see the old or the new
/// file, never a part; a crash leaves the old one. The file is mode 0600.
pub fn write_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    write_atomic_with_mode(path, contents, 0o600)
}

/// [`write_atomic`] with another mode, for files meant to be shared (a public
/// key, a signed component).
pub fn write_atomic_with_mode(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    let file = staged(path, contents, mode)?;
    file.persist(path).map_err(|err| err.error)?;
    sync_dir(parent_of(path))
}

/// `contents` written and flushed to a temporary file beside `path`, not yet in
/// place: [`tempfile::NamedTempFile::persist`] it, or drop it to discard it.
pub fn staged(path: &Path, contents: &[u8], mode: u32) -> io::Result<tempfile::NamedTempFile> {
    let dir = parent_of(path);
    private_dir(dir)?;
    let mut file =
        tempfile::Builder::new().prefix(".tmp-").permissions(fs::Permissions::from_mode(mode)).tempfile_in(dir)?;
    // The umask may have removed bits the mode asked for (a public key's 0644).
    file.as_file().set_permissions(fs::Permissions::from_mode(mode))?;
    file.write_all(contents)?;
    file.as_file().sync_all()?;
    Ok(file)
}

/// Creates `path` empty with mode 0600 if it does not exist, so that a library
/// that creates it later (SQLite) cannot create it with the umask's mode.
pub fn create_private_file(path: &Path) -> io::Result<()> {
    match OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(_) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(err) => Err(err),
    }
}

/// Flushes a directory entry change (a rename) to disk.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Reads `path`, which must be a regular file of at most `max` bytes. A FIFO,
/// a device or a directory is refused instead of blocking or reading forever.
pub fn read_regular_file(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
    let file = OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path)?;
    let meta = file.metadata()?;
    if !meta.file_type().is_file() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "it is not a regular file"));
    }
    if meta.len() > max {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("it is larger than {max} bytes")));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("it is larger than {max} bytes")));
    }
    Ok(bytes)
}

/// The effective user id of this process.
pub fn current_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Why another user could change what `meta` describes, if they could: it is
/// owned by someone other than this user (or root), or others may write to it.
/// `group_ok` accepts a group-writable entry.
pub fn writable_by_others(meta: &fs::Metadata, group_ok: bool) -> Option<String> {
    let mode = meta.mode() & 0o7777;
    let owner = meta.uid();
    if owner != current_uid() && owner != 0 {
        return Some(format!("it is owned by another user (uid {owner})"));
    }
    if mode & 0o002 != 0 {
        return Some(format!("it is writable by every user (mode {mode:04o})"));
    }
    if !group_ok && mode & 0o020 != 0 {
        return Some(format!("it is writable by its group (mode {mode:04o})"));
    }
    None
}

/// An exclusive advisory lock on `<path>.lock`, held until dropped, so that
/// read-modify-write cycles of concurrent host processes do not interleave.
pub struct Lock {
    _file: File,
}

impl Lock {
    /// Waits for the exclusive lock that guards `path`.
    pub fn exclusive(path: &Path) -> io::Result<Self> {
        let file = lock_file(path)?;
        file.lock()?;
        Ok(Self { _file: file })
    }
}

fn lock_file(path: &Path) -> io::Result<File> {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    let lock = PathBuf::from(name);
    private_dir(parent_of(&lock))?;
    OpenOptions::new().create(true).truncate(false).write(true).mode(0o600).open(lock)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_file_names_are_written_in_the_current_directory() {
        assert_eq!(parent_of(Path::new("key")), Path::new("."));
        assert_eq!(parent_of(Path::new("a/key")), Path::new("a"));
    }

    #[test]
    fn fifos_and_large_files_are_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let name = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
        assert!(read_regular_file(&fifo, 100).unwrap_err().to_string().contains("not a regular file"));
        let big = dir.path().join("big");
        fs::write(&big, vec![b'x'; 101]).unwrap();
        assert!(read_regular_file(&big, 100).is_err());
        assert_eq!(read_regular_file(&big, 101).unwrap().len(), 101);
    }
}

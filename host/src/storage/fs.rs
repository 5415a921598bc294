//! Private directories, atomic file replacement and advisory locks.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Creates `dir` (and its parents) readable by the owner only.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// Replaces `path` with `contents` atomically: readers see the old or the new
/// file, never a part; a crash leaves the old one. The file is mode 0600.
pub fn write_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    let dir = path.parent().ok_or_else(|| io::Error::other("path has no parent directory"))?;
    private_dir(dir)?;
    let mut file =
        tempfile::Builder::new().prefix(".tmp-").permissions(fs::Permissions::from_mode(0o600)).tempfile_in(dir)?;
    file.write_all(contents)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|err| err.error)?;
    sync_dir(dir)
}

/// Flushes a directory entry change (a rename) to disk.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
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

    /// Waits for a shared lock that guards `path` (many readers, no writer).
    pub fn shared(path: &Path) -> io::Result<Self> {
        let file = lock_file(path)?;
        file.lock_shared()?;
        Ok(Self { _file: file })
    }
}

fn lock_file(path: &Path) -> io::Result<File> {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    let lock = PathBuf::from(name);
    if let Some(dir) = lock.parent() {
        private_dir(dir)?;
    }
    OpenOptions::new().create(true).truncate(false).write(true).mode(0o600).open(lock)
}

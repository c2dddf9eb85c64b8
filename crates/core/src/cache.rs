//! The on-disk state this package owns (session records, port leases,
//! templates), rooted at `AI_SDK_MICROSANDBOX_CACHE_DIR` or the OS cache dir.
//! Other processes of the same user read and write it too, so every write is
//! atomic, and nothing is written into a directory someone else owns.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::error::{Error, ErrorCode, Result};

pub fn root() -> PathBuf {
    match std::env::var_os("AI_SDK_MICROSANDBOX_CACHE_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => dirs::cache_dir().unwrap_or_else(std::env::temp_dir).join("ai-sdk-microsandbox"),
    }
}

/// Suffix of temporary files; a crashed writer leaves them behind.
const TEMP_SUFFIX: &str = ".partial";

/// Temporary files older than this belong to a writer that died (a write takes milliseconds).
const STALE_TEMP_AGE: Duration = Duration::from_secs(600);

/// Creates `dir` (and missing parents) readable by this user only.
pub fn ensure_dir(dir: &Path) -> Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(|e| io_error(dir, e))
}

/// Writes `bytes` to `path` through a temp file and a rename, so readers in
/// other processes see the old file or the new one, never a part. The temp
/// file is created exclusively (never through an existing file or symlink),
/// private, and flushed to disk before the rename; a directory owned by
/// another user is refused.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().ok_or_else(|| Error::internal(format!("{} has no parent directory", path.display())))?;
    ensure_dir(dir)?;
    let tmp = temp_path(path);
    let written = (|| -> std::io::Result<()> {
        let mut file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
        if file.metadata()?.uid() != std::fs::metadata(dir)?.uid() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                "the directory belongs to another user",
            ));
        }
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(err) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_error(path, err));
    }
    Ok(())
}

/// Removes temp files that crashed writers left in `dir`.
pub fn remove_stale_temps(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.filter_map(|e| e.ok()) {
        let stale = entry.file_name().to_string_lossy().ends_with(TEMP_SUFFIX)
            && entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| SystemTime::now().duration_since(t).unwrap_or_default() > STALE_TEMP_AGE);
        if stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.{}-{:016x}{TEMP_SUFFIX}", std::process::id(), crate::naming::nonce()))
}

/// A file that exists only to be locked.
pub fn lock_file(path: &Path) -> Result<File> {
    if let Some(dir) = path.parent() {
        ensure_dir(dir)?;
    }
    OpenOptions::new().create(true).truncate(false).write(true).mode(0o600).open(path).map_err(|e| io_error(path, e))
}

/// Cache I/O failures name the path and what to fix (a read-only or full disk, wrong owner).
pub(crate) fn io_error(path: &Path, err: std::io::Error) -> Error {
    Error::new(
        ErrorCode::CacheUnavailable,
        format!(
            "cannot write this package's state at {}: {err}; make the directory writable by this user \
             (or point AI_SDK_MICROSANDBOX_CACHE_DIR elsewhere)",
            path.display()
        ),
    )
    .caused_by(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("aisdk-cache-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn writes_are_atomic_private_and_leave_no_temp_files() {
        let dir = scratch("atomic");
        let path = dir.join("sub/record.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(std::fs::metadata(dir.join("sub")).unwrap().mode() & 0o777, 0o700);
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        assert_eq!(std::fs::read_dir(dir.join("sub")).unwrap().count(), 1);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_write_that_cannot_land_is_a_coded_error_and_leaves_nothing() {
        let dir = scratch("readonly");
        ensure_dir(&dir).unwrap();
        // A file where the directory should be: the write cannot land.
        std::fs::write(dir.join("blocked"), b"").unwrap();
        let err = write_atomic(&dir.join("blocked/record.json"), b"x").unwrap_err();
        assert_eq!(err.code, ErrorCode::CacheUnavailable);
        assert!(err.message.contains("blocked"), "{}", err.message);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn stale_temp_files_are_removed_and_fresh_ones_kept() {
        let dir = scratch("stale");
        ensure_dir(&dir).unwrap();
        let old = dir.join(format!(".a.json.1-0{TEMP_SUFFIX}"));
        let fresh = dir.join(format!(".b.json.1-1{TEMP_SUFFIX}"));
        std::fs::write(&old, b"").unwrap();
        std::fs::write(&fresh, b"").unwrap();
        File::options().write(true).open(&old).unwrap().set_modified(SystemTime::now() - STALE_TEMP_AGE * 2).unwrap();
        remove_stale_temps(&dir);
        assert!(!old.exists() && fresh.exists());
        std::fs::remove_dir_all(dir).unwrap();
    }
}

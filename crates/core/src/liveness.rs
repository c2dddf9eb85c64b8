//! Whether another process of this package is still running, asked through
//! the cache dir rather than `/proc` (absent on macOS, misleading across PID
//! namespaces and after PID reuse): each process holds an exclusive lock on a
//! file of its own; the lock vanishes with the process, however it ends.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};

use crate::error::Result;

pub struct ProcessMark {
    token: String,
    path: PathBuf,
    _file: File,
}

fn mark_path(cache_root: &Path, token: &str) -> PathBuf {
    cache_root.join("procs").join(format!("{token}.alive"))
}

impl ProcessMark {
    /// Marks this process as alive until the mark drops.
    pub fn create(cache_root: &Path) -> Result<Self> {
        let nonce = &crate::naming::anonymous_name()["aisdk-anon-".len()..];
        let token = format!("{}-{nonce}", std::process::id());
        let path = mark_path(cache_root, &token);
        let file = crate::cache::lock_file(&path)?;
        file.lock()?;
        Ok(Self { token, path, _file: file })
    }

    /// What records and leases store to name this process.
    pub fn token(&self) -> &str {
        &self.token
    }
}

impl Drop for ProcessMark {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Whether the process that made `token` still runs. A token that is not one
/// of ours counts as alive: nothing is ever removed on a guess.
pub fn alive(cache_root: &Path, token: &str) -> bool {
    let well_formed = !token.is_empty() && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !well_formed {
        return true;
    }
    let path = mark_path(cache_root, token);
    let Ok(file) = File::options().write(true).open(&path) else { return false };
    match file.try_lock() {
        Ok(()) => {
            let _ = std::fs::remove_file(&path);
            false
        }
        Err(TryLockError::WouldBlock) => true,
        Err(TryLockError::Error(_)) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_is_alive_while_held_and_gone_once_dropped() {
        let root = std::env::temp_dir().join(format!("aisdk-liveness-test-{}", std::process::id()));
        let mark = ProcessMark::create(&root).unwrap();
        let token = mark.token().to_owned();
        assert!(alive(&root, &token));
        drop(mark);
        assert!(!alive(&root, &token));
        assert!(alive(&root, "../not-a-token"), "a foreign token is never judged dead");
        // A crashed process leaves its file behind, unlocked: gone, and the file is cleaned up.
        let stale = mark_path(&root, "1-0123456789abcdef");
        std::fs::write(&stale, b"").unwrap();
        assert!(!alive(&root, "1-0123456789abcdef"));
        assert!(!stale.exists());
        std::fs::remove_dir_all(root).unwrap();
    }
}

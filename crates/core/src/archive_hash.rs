//! Content hashes of image archives, remembered under the cache root. Every
//! process resolves its image again, and hashing a large archive takes
//! seconds natively and half a minute under emulation; an archive whose file
//! identity (device, inode, size, mtime, ctime) is unchanged is not read again.

use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::cache;
use crate::error::{Error, Result};

/// Where the hash of one archive path is kept: one small file per path, so
/// the memo grows with the archives a user has, not with their versions.
fn memo_path(cache_root: &Path, archive: &Path) -> PathBuf {
    let canonical = std::fs::canonicalize(archive).unwrap_or_else(|_| archive.to_path_buf());
    let key = blake3::hash(canonical.as_os_str().as_encoded_bytes()).to_hex();
    cache_root.join("archive-hashes").join(&key[..32])
}

/// What must not change for a remembered hash to stay valid. ctime cannot be
/// set back by a writer, so a rewrite that restores size and mtime is seen.
fn identity(meta: &Metadata) -> String {
    format!(
        "{}:{}:{}:{}.{}:{}.{}",
        meta.dev(),
        meta.ino(),
        meta.len(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ctime(),
        meta.ctime_nsec()
    )
}

/// The remembered hash of `archive`, if its file is unchanged since.
pub fn remembered(cache_root: &Path, archive: &Path, meta: &Metadata) -> Option<String> {
    let memo = std::fs::read_to_string(memo_path(cache_root, archive)).ok()?;
    let (seen, hash) = memo.trim_end().split_once('\n')?;
    let ours = hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit());
    (seen == identity(meta) && ours).then(|| hash.to_owned())
}

/// Hashes `archive` and remembers the result. A memo that cannot be written
/// only costs the next process another read.
pub async fn compute(cache_root: &Path, archive: &Path, meta: &Metadata) -> Result<String> {
    let owned = archive.to_path_buf();
    let hash = tokio::task::spawn_blocking(move || -> std::io::Result<String> {
        let mut hasher = blake3::Hasher::new();
        hasher.update_reader(std::fs::File::open(&owned)?)?;
        Ok(hasher.finalize().to_hex()[..16].to_owned())
    })
    .await
    .map_err(|e| Error::internal(format!("hashing the image archive panicked: {e}")))??;
    let memo = format!("{}\n{hash}\n", identity(meta));
    if let Err(err) = cache::write_atomic(&memo_path(cache_root, archive), memo.as_bytes()) {
        tracing::warn!("cannot remember the image archive's hash: {err}");
    }
    Ok(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(dir: &Path, content: &[u8]) -> (PathBuf, Metadata) {
        let path = dir.join("image.tar");
        std::fs::write(&path, content).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        (path, meta)
    }

    #[tokio::test]
    async fn a_hash_is_remembered_across_processes_until_the_file_changes() {
        let dir = std::env::temp_dir().join(format!("archive-hash-test-{}", std::process::id()));
        let root = dir.join("cache");
        std::fs::create_dir_all(&dir).unwrap();
        let (path, meta) = archive(&dir, b"first content");
        assert_eq!(remembered(&root, &path, &meta), None);
        let first = compute(&root, &path, &meta).await.unwrap();
        assert_eq!(first, blake3::hash(b"first content").to_hex()[..16]);
        assert_eq!(remembered(&root, &path, &meta).as_deref(), Some(first.as_str()));

        // Same size, rewritten: the identity moves on, so the old hash is not used.
        let (path, meta) = archive(&dir, b"other content");
        assert_eq!(remembered(&root, &path, &meta), None);
        let second = compute(&root, &path, &meta).await.unwrap();
        assert_ne!(first, second);
        assert_eq!(remembered(&root, &path, &meta).as_deref(), Some(second.as_str()));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_memo_that_is_not_ours_is_ignored() {
        let dir = std::env::temp_dir().join(format!("archive-hash-forged-{}", std::process::id()));
        let root = dir.join("cache");
        std::fs::create_dir_all(&dir).unwrap();
        let (path, meta) = archive(&dir, b"content");
        let memo = memo_path(&root, &path);
        std::fs::create_dir_all(memo.parent().unwrap()).unwrap();
        std::fs::write(&memo, format!("{}\n../../etc:tag\n", identity(&meta))).unwrap();
        assert_eq!(remembered(&root, &path, &meta), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

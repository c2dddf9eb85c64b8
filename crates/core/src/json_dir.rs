//! A directory of JSON records, one file per key, that every process of the
//! user reads and writes: writes are atomic (see [`crate::cache::write_atomic`]),
//! and a file that does not parse is no record.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

pub struct JsonDir {
    dir: PathBuf,
}

impl JsonDir {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        let bytes = std::fs::read(self.path(key)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    pub fn put<T: Serialize>(&self, key: &str, record: &T) -> Result<()> {
        let json = serde_json::to_vec_pretty(record).map_err(|e| Error::internal(e.to_string()))?;
        crate::cache::write_atomic(&self.path(key), &json)
    }

    pub fn remove(&self, key: &str) {
        let _ = std::fs::remove_file(self.path(key));
    }

    /// Keys of the records here; temp files that crashed writers left are removed on the way.
    pub fn keys(&self) -> Vec<String> {
        crate::cache::remove_stale_temps(&self.dir);
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return Vec::new() };
        entries
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str()?.strip_suffix(".json").map(str::to_owned))
            .collect()
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_junk_is_no_record() {
        let dir = std::env::temp_dir().join(format!("aisdk-json-dir-test-{}", std::process::id()));
        let store = JsonDir::new(dir.clone());
        assert!(store.keys().is_empty(), "a missing directory holds no records");
        store.put("a", &vec![1, 2]).unwrap();
        assert_eq!(store.get::<Vec<u8>>("a"), Some(vec![1, 2]));
        std::fs::write(dir.join("b.json"), b"{not json").unwrap();
        std::fs::write(dir.join("a.lock"), b"").unwrap();
        assert_eq!(store.get::<Vec<u8>>("b"), None);
        let mut keys = store.keys();
        keys.sort();
        assert_eq!(keys, ["a", "b"]);
        store.remove("a");
        assert_eq!(store.get::<Vec<u8>>("a"), None);
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// Makes `dir` unwritable even for root (whose writes ignore permission bits): `chattr +i`.
    fn make_read_only(dir: &Path, read_only: bool) -> bool {
        let flag = if read_only { "+i" } else { "-i" };
        std::process::Command::new("chattr").arg(flag).arg(dir).status().is_ok_and(|s| s.success())
    }

    #[test]
    fn a_read_only_directory_fails_the_write_with_a_coded_error_and_loses_nothing() {
        let dir = std::env::temp_dir().join(format!("aisdk-json-dir-ro-{}", std::process::id()));
        let store = JsonDir::new(dir.clone());
        store.put("old", &1).unwrap();
        assert!(make_read_only(&dir, true), "this test needs chattr (e2fsprogs) on an ext4 temp dir");
        let err = store.put("old", &2).unwrap_err();
        make_read_only(&dir, false);
        assert_eq!(err.code, crate::ErrorCode::CacheUnavailable);
        assert!(err.message.contains("make the directory writable"), "{}", err.message);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "no temp file is left");
        assert_eq!(store.get::<i32>("old"), Some(1), "the old record is intact");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_full_disk_fails_the_write_with_a_coded_error_and_loses_nothing() {
        let dir = std::env::temp_dir().join(format!("aisdk-json-dir-full-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k", "aisdk-full", dir.to_str().unwrap()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(mounted, "this test needs to mount a small tmpfs (root)");
        let store = JsonDir::new(dir.clone());
        store.put("old", &"x".repeat(1000)).unwrap();
        let _ = std::fs::write(dir.join("filler"), vec![0u8; 128 * 1024]);
        let err = store.put("old", &"y".repeat(8000)).unwrap_err();
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().filter_map(|e| e.ok()).map(|e| e.file_name()).collect();
        let old = store.get::<String>("old");
        std::process::Command::new("umount").arg(&dir).status().unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(err.code, crate::ErrorCode::CacheUnavailable);
        assert_eq!(left.len(), 2, "no temp file is left: {left:?}");
        assert_eq!(old, Some("x".repeat(1000)), "the old record is intact");
    }
}

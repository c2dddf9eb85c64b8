//! Published templates on disk: one JSON record per key, written atomically
//! after its snapshot exists, and a per-key lock file so that one process
//! bootstraps while the others wait and then fork.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::error::{Error, ErrorCode, Result};

/// How long a create waits for another process to finish bootstrapping a
/// template (its `onFirstCreate` may install a whole agent) before giving up.
pub const LOCK_WAIT_LIMIT: Duration = Duration::from_secs(30 * 60);
const LOCK_POLL: Duration = Duration::from_millis(200);

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TemplateRecord {
    pub key: String,
    /// `group:name` of the snapshot to restore.
    pub snapshot: String,
    pub image: String,
    /// Manifest digest of the image when the template was made; a template
    /// whose image tag now points elsewhere is stale.
    pub image_digest: Option<String>,
    pub working_directory: String,
    pub created_at: u64,
    pub last_used_at: u64,
}

pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

pub struct TemplateStore {
    dir: PathBuf,
}

/// Held exclusively while a template is bootstrapped or removed, and shared
/// while sessions fork from it; dropping it (or the process dying) releases it.
pub struct TemplateLock {
    _file: File,
}

/// The snapshot name a template record must point at: anything else in a
/// record is not ours and is never restored or removed.
pub fn snapshot_name(key: &str) -> String {
    format!("{}:{}", super::SNAPSHOT_GROUP, snapshot_local_name(key))
}

/// The snapshot's name within its group.
pub fn snapshot_local_name(key: &str) -> String {
    format!("t-{}", &key[..key.len().min(24)])
}

impl TemplateStore {
    pub fn new(cache_root: &Path) -> Self {
        Self { dir: cache_root.join("templates") }
    }

    fn record_path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }

    /// Waits for the key's exclusive lock (another process may be bootstrapping it).
    pub async fn lock(&self, key: &str) -> Result<TemplateLock> {
        self.wait_for(key, false).await
    }

    /// Waits for a shared hold on the key: forks take one so that the
    /// template is not removed under them.
    pub async fn lock_shared(&self, key: &str) -> Result<TemplateLock> {
        self.wait_for(key, true).await
    }

    /// The exclusive lock if nobody holds the key now.
    pub fn try_lock(&self, key: &str) -> Result<Option<TemplateLock>> {
        let file = crate::cache::lock_file(&self.lock_path(key))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(TemplateLock { _file: file })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => Err(e.into()),
        }
    }

    async fn wait_for(&self, key: &str, shared: bool) -> Result<TemplateLock> {
        let file = crate::cache::lock_file(&self.lock_path(key))?;
        let started = Instant::now();
        loop {
            let attempt = if shared { file.try_lock_shared() } else { file.try_lock() };
            match attempt {
                Ok(()) => return Ok(TemplateLock { _file: file }),
                Err(TryLockError::Error(e)) => return Err(e.into()),
                Err(TryLockError::WouldBlock) if started.elapsed() >= LOCK_WAIT_LIMIT => {
                    return Err(Error::new(
                        ErrorCode::BootFailed,
                        format!(
                            "waited {} s for another process to finish bootstrapping template {}; if none is \
                             running, remove {}",
                            LOCK_WAIT_LIMIT.as_secs(),
                            &key[..key.len().min(24)],
                            self.lock_path(key).display()
                        ),
                    ));
                }
                Err(TryLockError::WouldBlock) => tokio::time::sleep(LOCK_POLL).await,
            }
        }
    }

    fn lock_path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.lock"))
    }

    pub fn get(&self, key: &str) -> Option<TemplateRecord> {
        let bytes = std::fs::read(self.record_path(key)).ok()?;
        serde_json::from_slice(&bytes).ok().filter(|r| ours(r, key))
    }

    pub fn publish(&self, record: &TemplateRecord) -> Result<()> {
        let json = serde_json::to_vec_pretty(record).map_err(|e| Error::internal(e.to_string()))?;
        crate::cache::write_atomic(&self.record_path(&record.key), &json)?;
        Ok(())
    }

    /// Records a use, for pruning by recency.
    pub fn touch(&self, key: &str) {
        if let Some(mut record) = self.get(key) {
            record.last_used_at = now();
            let _ = self.publish(&record);
        }
    }

    pub fn remove(&self, key: &str) {
        let _ = std::fs::remove_file(self.record_path(key));
    }

    pub fn all(&self) -> Vec<TemplateRecord> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return Vec::new() };
        entries
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str()?.strip_suffix(".json").map(str::to_owned))
            .filter_map(|key| self.get(&key))
            .collect()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// A record is ours when it sits under its own key and names the snapshot we
/// would have made for it: a hand-edited or foreign record is ignored.
fn ours(record: &TemplateRecord, key: &str) -> bool {
    record.key == key
        && key.len() >= 24
        && key.bytes().all(|b| b.is_ascii_hexdigit())
        && record.snapshot == snapshot_name(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(name: &str) -> TemplateStore {
        let root = std::env::temp_dir().join(format!("aisdk-store-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        TemplateStore::new(&root)
    }

    fn record(key: &str) -> TemplateRecord {
        TemplateRecord {
            key: key.to_owned(),
            snapshot: snapshot_name(key),
            image: "img".to_owned(),
            image_digest: None,
            working_directory: "/w".to_owned(),
            created_at: 1,
            last_used_at: 1,
        }
    }

    #[tokio::test]
    async fn a_fork_holding_the_template_keeps_pruning_and_bootstrapping_out() {
        let store = store("locks");
        let key = "a".repeat(64);
        let fork = store.lock_shared(&key).await.unwrap();
        let second_fork = store.lock_shared(&key).await.unwrap();
        assert!(store.try_lock(&key).unwrap().is_none(), "prune must not remove a template being forked");
        drop((fork, second_fork));
        assert!(store.try_lock(&key).unwrap().is_some());
        std::fs::remove_dir_all(store.dir()).unwrap();
    }

    #[test]
    fn records_that_are_not_ours_are_ignored() {
        let store = store("foreign");
        let key = "b".repeat(64);
        store.publish(&record(&key)).unwrap();
        assert!(store.get(&key).is_some());
        let foreign = TemplateRecord { snapshot: "someone:else".to_owned(), ..record(&key) };
        store.publish(&foreign).unwrap();
        assert!(store.get(&key).is_none() && store.all().is_empty());
        let misplaced = record(&"c".repeat(64));
        std::fs::write(store.dir().join(format!("{key}.json")), serde_json::to_vec(&misplaced).unwrap()).unwrap();
        assert!(store.get(&key).is_none());
        std::fs::remove_dir_all(store.dir()).unwrap();
    }
}

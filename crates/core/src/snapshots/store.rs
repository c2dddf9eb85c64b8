//! Published templates on disk: one JSON record per key, written atomically
//! after its snapshot exists, and a per-key lock file so that one process
//! bootstraps while the others wait and then fork.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::error::{Error, ErrorCode, Result};
use crate::json_dir::JsonDir;

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
    /// The template microVM's guest as probed: its forks start from that very machine, so they
    /// skip the probe's round trip. Absent in records written before it was kept.
    #[serde(default)]
    pub guest: Option<crate::guest::Probed>,
    pub created_at: u64,
    pub last_used_at: u64,
}

pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

pub struct TemplateStore {
    records: JsonDir,
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
fn snapshot_local_name(key: &str) -> String {
    format!("t-{}", &key[..key.len().min(24)])
}

impl TemplateStore {
    pub fn new(cache_root: &Path) -> Self {
        Self { records: JsonDir::new(cache_root.join("templates")) }
    }

    /// Waits for the key's exclusive lock (another process may be bootstrapping it).
    pub async fn lock(&self, key: &str) -> Result<TemplateLock> {
        self.wait_for(key, false, LOCK_WAIT_LIMIT).await
    }

    /// Waits for a shared hold on the key: forks take one so that the
    /// template is not removed under them.
    pub async fn lock_shared(&self, key: &str) -> Result<TemplateLock> {
        self.wait_for(key, true, LOCK_WAIT_LIMIT).await
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

    async fn wait_for(&self, key: &str, shared: bool, limit: Duration) -> Result<TemplateLock> {
        let file = crate::cache::lock_file(&self.lock_path(key))?;
        let started = Instant::now();
        loop {
            let attempt = if shared { file.try_lock_shared() } else { file.try_lock() };
            match attempt {
                Ok(()) => return Ok(TemplateLock { _file: file }),
                Err(TryLockError::Error(e)) => return Err(e.into()),
                Err(TryLockError::WouldBlock) if started.elapsed() >= limit => {
                    return Err(Error::new(
                        ErrorCode::BootFailed,
                        format!(
                            "waited {} s for another process to finish bootstrapping template {}; if none is \
                             running, remove {}",
                            limit.as_secs(),
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
        self.records.dir().join(format!("{key}.lock"))
    }

    pub fn get(&self, key: &str) -> Option<TemplateRecord> {
        self.records.get(key).filter(|r| ours(r, key))
    }

    pub fn publish(&self, record: &TemplateRecord) -> Result<()> {
        self.records.put(&record.key, record)
    }

    /// Records a use, for pruning by recency.
    pub fn touch(&self, key: &str) {
        if let Some(mut record) = self.get(key) {
            record.last_used_at = now();
            let _ = self.publish(&record);
        }
    }

    pub fn remove(&self, key: &str) {
        self.records.remove(key);
    }

    pub fn all(&self) -> Vec<TemplateRecord> {
        self.records.keys().iter().filter_map(|key| self.get(key)).collect()
    }

    pub fn dir(&self) -> &Path {
        self.records.dir()
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
            guest: None,
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

    #[tokio::test]
    async fn waiting_for_another_bootstrap_ends_on_abort_or_with_a_timeout_error_that_says_what_to_do() {
        let store = store("wait");
        let key = "d".repeat(64);
        let _bootstrapping = store.lock(&key).await.unwrap();

        let (source, cancel) = crate::cancel::cancel_pair();
        let started = Instant::now();
        let waiting = cancel.guard(store.lock(&key));
        let abort_soon = async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            source.cancel();
        };
        let (result, ()) = tokio::join!(waiting, abort_soon);
        assert_eq!(result.err().map(|e| e.code), Some(ErrorCode::Aborted));
        assert!(started.elapsed() < Duration::from_secs(5), "the abort ends the wait at once");

        let err = store.wait_for(&key, false, Duration::from_millis(500)).await.err().expect("the lock stays taken");
        assert_eq!(err.code, ErrorCode::BootFailed);
        assert!(err.message.contains("another process to finish bootstrapping"), "{}", err.message);
        assert!(err.message.contains(&format!("{key}.lock")), "names the lock file to remove: {}", err.message);
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

//! Published templates on disk: one JSON record per key, written atomically
//! after its snapshot exists, and a per-key lock file so that one process
//! bootstraps while the others wait and then fork.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};

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

/// Held while a template is bootstrapped; dropping it (or the process dying) releases it.
pub struct TemplateLock {
    _file: File,
}

impl TemplateStore {
    pub fn new(cache_root: &Path) -> Self {
        Self { dir: cache_root.join("templates") }
    }

    fn record_path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }

    /// Waits for the key's lock (another process may be bootstrapping it).
    pub async fn lock(&self, key: &str) -> Result<TemplateLock> {
        std::fs::create_dir_all(&self.dir)?;
        let path = self.dir.join(format!("{key}.lock"));
        tokio::task::spawn_blocking(move || -> std::io::Result<TemplateLock> {
            let file = OpenOptions::new().create(true).truncate(false).write(true).open(path)?;
            file.lock()?;
            Ok(TemplateLock { _file: file })
        })
        .await
        .map_err(|e| Error::internal(format!("template lock task failed: {e}")))?
        .map_err(Into::into)
    }

    pub fn get(&self, key: &str) -> Option<TemplateRecord> {
        let bytes = std::fs::read(self.record_path(key)).ok()?;
        serde_json::from_slice(&bytes).ok()
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
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .filter_map(|e| serde_json::from_slice(&std::fs::read(e.path()).ok()?).ok())
            .collect()
    }
}

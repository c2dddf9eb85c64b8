//! What a resumable session leaves on disk so that any process can resume it
//! by `sessionId`: its sandbox name, working directory and port mapping.

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::ports::LeasedPort;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SessionRecord {
    pub name: String,
    pub working_directory: String,
    pub ports: Vec<LeasedPort>,
    pub public_hostname: Option<String>,
    /// For sessions nobody can resume (no `sessionId`): the process that owns
    /// them (its liveness token), so orphans can be found once it is gone.
    #[serde(default)]
    pub creator: Option<String>,
}

fn path(cache_root: &Path, name: &str) -> PathBuf {
    cache_root.join("sessions").join(format!("{name}.json"))
}

impl SessionRecord {
    pub fn save(&self, cache_root: &Path) -> Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(|e| crate::Error::internal(e.to_string()))?;
        crate::cache::write_atomic(&path(cache_root, &self.name), &json)?;
        Ok(())
    }

    /// The record saved under `name`; one that names another sandbox is not ours and is ignored.
    pub fn load(cache_root: &Path, name: &str) -> Option<Self> {
        let bytes = std::fs::read(path(cache_root, name)).ok()?;
        serde_json::from_slice::<Self>(&bytes).ok().filter(|r| r.name == name)
    }

    pub fn all(cache_root: &Path) -> Vec<Self> {
        let dir = cache_root.join("sessions");
        crate::cache::remove_stale_temps(&dir);
        let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
        entries
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str()?.strip_suffix(".json").map(str::to_owned))
            .filter_map(|name| Self::load(cache_root, &name))
            .collect()
    }

    pub fn remove(cache_root: &Path, name: &str) {
        let _ = std::fs::remove_file(path(cache_root, name));
    }
}

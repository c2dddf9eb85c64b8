//! Bounded template cache: keep the most recently used few and anything used
//! lately; remove the rest (record first, then its snapshot, then the RAM the
//! runtime realized for it).

use std::path::Path;

use microsandbox::Snapshot;
use serde_json::Value;

use crate::error::Result;
use crate::input;

use super::store::{TemplateStore, now};

#[derive(Debug, Clone, Copy)]
pub struct PruneOptions {
    /// Templates kept regardless of age, most recently used first.
    pub keep_newest: usize,
    /// Templates used within this many seconds are kept too.
    pub keep_used_within_secs: u64,
}

impl Default for PruneOptions {
    fn default() -> Self {
        Self { keep_newest: 4, keep_used_within_secs: 7 * 24 * 3600 }
    }
}

impl PruneOptions {
    /// From the caller's `keepNewest` and `keepUsedWithinMs`; a missing one keeps its default.
    pub fn parse(keep_newest: Option<&Value>, keep_used_within_ms: Option<&Value>) -> Result<Self> {
        let defaults = Self::default();
        let keep_newest = match keep_newest.filter(|v| !v.is_null()) {
            Some(v) => usize::try_from(input::count(v, "keepNewest")?).unwrap_or(usize::MAX),
            None => defaults.keep_newest,
        };
        let keep_used_within_secs = match keep_used_within_ms.filter(|v| !v.is_null()) {
            Some(v) => (input::non_negative(v, "keepUsedWithinMs")? / 1000.0) as u64,
            None => defaults.keep_used_within_secs,
        };
        Ok(Self { keep_newest, keep_used_within_secs })
    }
}

#[derive(Debug, Default, Clone)]
pub struct PruneReport {
    pub removed: Vec<String>,
    pub kept: Vec<String>,
}

/// Removes unused templates. A template being bootstrapped has no record yet,
/// so it is never touched.
pub async fn prune(cache_root: &Path, options: PruneOptions) -> PruneReport {
    let store = TemplateStore::new(cache_root);
    let mut records = store.all();
    records.sort_by_key(|r| std::cmp::Reverse(r.last_used_at));
    let cutoff = now().saturating_sub(options.keep_used_within_secs);
    let mut report = PruneReport::default();
    for (i, record) in records.into_iter().enumerate() {
        if i < options.keep_newest || record.last_used_at >= cutoff {
            report.kept.push(record.key);
            continue;
        }
        // Only a template nobody holds goes: a fork in progress or a bootstrap keeps it.
        let Ok(Some(_lock)) = store.try_lock(&record.key) else {
            report.kept.push(record.key);
            continue;
        };
        store.remove(&record.key);
        let _ = Snapshot::remove(&record.snapshot, true).await;
        report.removed.push(record.key);
    }
    // The runtime keeps the RAM it realized for each removed snapshot, removed or not before.
    let home = crate::msb_home::microsandbox_home();
    let freed = tokio::task::spawn_blocking(move || super::memory_cache::evict_orphans(&home)).await.unwrap_or(0);
    if freed > 0 {
        tracing::info!(freed_mib = freed / (1024 * 1024), "removed the runtime's RAM cache of removed snapshots");
    }
    report
}

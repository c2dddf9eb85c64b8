//! Cleanup of sandboxes nobody can use any more: sessions without a
//! `sessionId` whose creating process is gone. Their records name the creator.

use std::path::Path;

use super::record::SessionRecord;
use crate::ports::PortLeases;

pub fn this_process() -> String {
    format!("{}:{}", boot_id(), std::process::id())
}

fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id").map(|s| s.trim().to_owned()).unwrap_or_default()
}

fn creator_gone(creator: &str) -> bool {
    let Some((boot, pid)) = creator.split_once(':') else { return false };
    boot != boot_id() || !Path::new(&format!("/proc/{pid}")).exists()
}

/// Removes orphaned ephemeral sandboxes with their leases; returns their names.
pub async fn reap(cache_root: &Path) -> Vec<String> {
    let mut reaped = Vec::new();
    for record in SessionRecord::all(cache_root) {
        // Only sessions without a sessionId are ever orphans, and their names are ours alone.
        if crate::naming::is_anonymous(&record.name) && record.creator.as_deref().is_some_and(creator_gone) {
            tracing::info!(sandbox = record.name, "removing an orphaned sandbox whose creator is gone");
            if super::session::remove_sandbox(&record.name).await.is_ok() {
                let _ = PortLeases::new(cache_root).release(&record.name, &record.ports);
                SessionRecord::remove(cache_root, &record.name);
                reaped.push(record.name);
            }
        }
    }
    reaped
}

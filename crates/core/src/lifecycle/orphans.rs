//! Cleanup of sandboxes nobody can use any more: sessions without a
//! `sessionId` whose creating process is gone. Their records name the creator.

use super::record::SessionRecord;
use crate::host::Host;
use crate::ports::PortLeases;

/// Removes orphaned ephemeral sandboxes with their leases; returns their names.
pub async fn reap(host: &Host) -> Vec<String> {
    let cache_root = host.cache_root();
    let mut reaped = Vec::new();
    let records = SessionRecord::all(cache_root);
    // A warm-pool member handed over to a session (its creator may have died right after).
    let handed_over: Vec<&str> = records.iter().filter_map(|r| r.sandbox.as_deref()).collect();
    for record in &records {
        // Only sessions without a sessionId are ever orphans, and their names are ours alone.
        let creator_gone = record.creator.as_deref().is_some_and(|token| !host.process_alive(token));
        if crate::naming::is_anonymous(&record.name) && creator_gone && !handed_over.contains(&record.name.as_str()) {
            tracing::info!(sandbox = record.name, "removing an orphaned sandbox whose creator is gone");
            if host.vms().remove(&record.name).await.is_ok() {
                let _ = PortLeases::new(cache_root).release(&record.name, &record.ports);
                SessionRecord::remove(cache_root, &record.name);
                reaped.push(record.name.clone());
            }
        }
    }
    reaped
}

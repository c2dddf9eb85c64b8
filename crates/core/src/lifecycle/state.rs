//! This package's state as a person operates it from a shell (`npx
//! ai-sdk-microsandbox ls | rm | prune`): sessions and templates, without a
//! provider or its settings.

use std::path::Path;

use microsandbox::{MicrosandboxError, Sandbox};

use super::record::SessionRecord;
use super::session::remove_sandbox;
use crate::error::Result;
use crate::host::Host;
use crate::ports::PortLeases;
use crate::snapshots::{self, PruneOptions, PruneReport, TemplateStore};

pub struct SessionEntry {
    pub name: String,
    /// The microVM: `name`, or a warm-pool member handed over to the session.
    pub sandbox: String,
    /// Created with a `sessionId` (resumable), or without one.
    pub resumable: bool,
    /// The runtime's status (`running`, `stopped`, ...), or `missing` when the record outlived its sandbox.
    pub status: String,
    pub working_directory: String,
    /// `(guest, host)` pairs.
    pub ports: Vec<(u16, u16)>,
}

pub struct TemplateEntry {
    pub key: String,
    pub image: String,
    pub created_at: u64,
    pub last_used_at: u64,
}

pub async fn list(cache_root: &Path) -> (Vec<SessionEntry>, Vec<TemplateEntry>) {
    let mut sessions = Vec::new();
    for record in SessionRecord::all(cache_root) {
        let status = match Sandbox::get(record.sandbox_name()).await {
            Ok(handle) => format!("{:?}", handle.status_snapshot()).to_ascii_lowercase(),
            Err(MicrosandboxError::SandboxNotFound(_)) => "missing".to_owned(),
            Err(_) => "unknown".to_owned(),
        };
        sessions.push(SessionEntry {
            resumable: record.creator.is_none(),
            status,
            working_directory: record.working_directory.clone(),
            ports: record.ports.iter().map(|p| (p.guest, p.host)).collect(),
            sandbox: record.sandbox_name().to_owned(),
            name: record.name,
        });
    }
    sessions.sort_by(|a, b| a.name.cmp(&b.name));
    let templates = TemplateStore::new(cache_root)
        .all()
        .into_iter()
        .map(|t| TemplateEntry { key: t.key, image: t.image, created_at: t.created_at, last_used_at: t.last_used_at })
        .collect();
    (sessions, templates)
}

/// Removes the resumable session of `session_id` (its microVM, leases and
/// record), whatever `name` prefix created it: its name ends with the id's
/// hash. `None` when there is none.
pub async fn remove_session(cache_root: &Path, session_id: &str) -> Result<Option<String>> {
    let suffix = crate::naming::session_name(None, session_id);
    let hash = &suffix[suffix.len() - 13..];
    let Some(record) =
        SessionRecord::all(cache_root).into_iter().find(|r| r.creator.is_none() && r.name.ends_with(hash))
    else {
        return Ok(None);
    };
    remove_sandbox(record.sandbox_name()).await?;
    PortLeases::new(cache_root).release(record.sandbox_name(), &record.ports)?;
    SessionRecord::remove(cache_root, &record.name);
    Ok(Some(record.name))
}

/// Orphaned sandboxes (sessions without an id whose process is gone) and
/// templates beyond the newest few not used lately.
pub async fn prune(host: &Host, options: PruneOptions) -> (Vec<String>, PruneReport) {
    let orphans = super::orphans::reap(host).await;
    (orphans, snapshots::prune(host.cache_root(), options).await)
}

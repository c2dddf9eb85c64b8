//! This package's state as a person operates it from a shell (`npx
//! ai-sdk-microsandbox ls | rm | logs | prune`): sessions and templates,
//! without a provider or its settings.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use microsandbox::logs::{LogOptions, LogSource};
use microsandbox::{MicrosandboxError, Sandbox, Snapshot};

use super::record::SessionRecord;
use crate::error::{Error, ErrorCode, Result};
use crate::host::Host;
use crate::ports::PortLeases;
use crate::snapshots::{self, PruneOptions, TemplateStore};
use crate::vm::Vms;

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionEntry {
    pub name: String,
    /// The microVM: `name`, or a warm-pool member handed over to the session.
    pub sandbox: String,
    /// Created with a `sessionId` (resumable), or without one.
    pub resumable: bool,
    /// The runtime's status (`running`, `stopped`, ...), or `missing` when the record outlived its sandbox.
    pub status: String,
    pub working_directory: String,
    pub ports: Vec<ListedPort>,
    /// Unix seconds, when the runtime knows the sandbox.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<u64>,
    /// What the microVM's disk and state take on the host (allocated, not apparent, size).
    pub disk_bytes: u64,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateEntry {
    pub key: String,
    pub image: String,
    pub created_at: u64,
    pub last_used_at: u64,
    /// The snapshot's size, when the runtime still has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
}

/// One line of a session's log: its commands' output, the runtime's and the guest kernel's messages.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogLine {
    /// RFC 3339.
    pub timestamp: String,
    /// `stdout`, `stderr`, `output` (a terminal) or `system` (runtime and kernel).
    pub source: &'static str,
    pub text: String,
}

/// A published port of a listed session.
#[derive(serde::Serialize)]
pub struct ListedPort {
    pub guest: u16,
    pub host: u16,
}

/// What `ls` shows: the sessions and templates kept under a cache root.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listing {
    pub cache_dir: PathBuf,
    pub sessions: Vec<SessionEntry>,
    pub templates: Vec<TemplateEntry>,
}

/// What `prune` removed and kept.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pruned {
    pub removed_orphans: Vec<String>,
    pub removed_templates: Vec<String>,
    pub kept_templates: Vec<String>,
}

pub async fn list(cache_root: &Path) -> Listing {
    let mut sessions = Vec::new();
    for record in SessionRecord::all(cache_root) {
        let (status, created_at) = match Sandbox::get(record.sandbox_name()).await {
            Ok(handle) => (
                format!("{:?}", handle.status_snapshot()).to_ascii_lowercase(),
                handle.created_at().and_then(|t| u64::try_from(t.timestamp()).ok()),
            ),
            Err(MicrosandboxError::SandboxNotFound(_)) => ("missing".to_owned(), None),
            Err(_) => ("unknown".to_owned(), None),
        };
        sessions.push(SessionEntry {
            resumable: record.creator.is_none(),
            status,
            working_directory: record.working_directory.clone(),
            ports: record.ports.iter().map(|p| ListedPort { guest: p.guest, host: p.host }).collect(),
            created_at,
            disk_bytes: disk_usage(&crate::msb_home::sandbox_dir(record.sandbox_name())),
            sandbox: record.sandbox_name().to_owned(),
            name: record.name,
        });
    }
    sessions.sort_by(|a, b| a.name.cmp(&b.name));
    let mut templates = Vec::new();
    for t in TemplateStore::new(cache_root).all() {
        let size_bytes = Snapshot::get(&t.snapshot).await.ok().and_then(|s| s.size_bytes());
        templates.push(TemplateEntry {
            key: t.key,
            image: t.image,
            created_at: t.created_at,
            last_used_at: t.last_used_at,
            size_bytes,
        });
    }
    Listing { cache_dir: cache_root.to_path_buf(), sessions, templates }
}

/// The resumable session of `session_id` among `records`, whatever `name`
/// prefix created it: its name ends with the id's hash.
fn find_resumable<'a>(records: &'a [SessionRecord], session_id: &str) -> Option<&'a SessionRecord> {
    records.iter().find(|r| r.creator.is_none() && r.session_id.as_deref() == Some(session_id))
}

/// Removes the resumable session of `session_id` (its microVM, leases and
/// record). `None` when there is none.
pub async fn remove_session(cache_root: &Path, session_id: &str) -> Result<Option<String>> {
    let records = SessionRecord::all(cache_root);
    let Some(record) = find_resumable(&records, session_id) else { return Ok(None) };
    crate::vm::sdk::SdkVms.remove(record.sandbox_name()).await?;
    PortLeases::new(cache_root).release(record.sandbox_name(), &record.ports)?;
    SessionRecord::remove(cache_root, &record.name);
    Ok(Some(record.name.clone()))
}

/// The last `tail` lines the runtime kept of a session: `target` is a
/// `sessionId`, or a session name as `ls` prints it (sessions without an id
/// have only that).
pub async fn logs(cache_root: &Path, target: &str, tail: usize) -> Result<Vec<LogLine>> {
    let records = SessionRecord::all(cache_root);
    let record =
        records.iter().find(|r| r.name == target).or_else(|| find_resumable(&records, target)).ok_or_else(|| {
            Error::new(
                ErrorCode::SessionNotFound,
                format!("no session '{target}' is kept here; `ls` lists the sessions and their names"),
            )
        })?;
    let handle = Sandbox::get(record.sandbox_name()).await?;
    let options = LogOptions {
        tail: Some(tail),
        sources: vec![LogSource::Stdout, LogSource::Stderr, LogSource::Output, LogSource::System],
        ..LogOptions::default()
    };
    let entries = handle.logs(&options).await?;
    Ok(entries
        .into_iter()
        .map(|e| LogLine {
            timestamp: e.timestamp.to_rfc3339(),
            source: match e.source {
                LogSource::Stdout => "stdout",
                LogSource::Stderr => "stderr",
                LogSource::Output => "output",
                _ => "system",
            },
            text: String::from_utf8_lossy(&e.data).into_owned(),
        })
        .collect())
}

/// Bytes allocated under `path` (a sparse disk image counts what it holds), without following links.
fn disk_usage(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else { return 0 };
    let own = meta.blocks() * 512;
    if !meta.is_dir() {
        return own;
    }
    let Ok(entries) = std::fs::read_dir(path) else { return own };
    own + entries.filter_map(|e| e.ok()).map(|e| disk_usage(&e.path())).sum::<u64>()
}

/// Orphaned sandboxes (sessions without an id whose process is gone) and
/// templates beyond the newest few not used lately.
pub async fn prune(host: &Host, options: PruneOptions) -> Pruned {
    let removed_orphans = super::orphans::reap(host).await;
    let templates = snapshots::prune(host.cache_root(), options).await;
    Pruned { removed_orphans, removed_templates: templates.removed, kept_templates: templates.kept }
}

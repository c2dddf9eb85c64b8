//! The CLI's view of this package's state: `listState()`, `removeSessionById()`,
//! `sessionLogs()`, `pruneState()`. A `pub mod`: under `cargo test` napi registers nothing, so
//! private items here would count as dead code.

use ai_sdk_microsandbox_core::host::Host;
use ai_sdk_microsandbox_core::lifecycle::state;
use ai_sdk_microsandbox_core::snapshots::PruneOptions;
use napi_derive::napi;

use crate::error::IntoNapi;
use crate::provider::PruneResult;

#[napi(object)]
pub struct StatePort {
    pub guest: u32,
    pub host: u32,
}

#[napi(object)]
pub struct StateSession {
    pub name: String,
    /// The microVM: `name`, or the warm-pool member handed over to the session.
    pub sandbox: String,
    pub resumable: bool,
    pub status: String,
    pub working_directory: String,
    pub ports: Vec<StatePort>,
    /// Unix seconds; null when the runtime no longer has the microVM.
    pub created_at: Option<f64>,
    /// Host disk the microVM takes (allocated bytes).
    pub disk_bytes: f64,
}

#[napi(object)]
pub struct StateTemplate {
    pub key: String,
    pub image: String,
    /// Unix seconds.
    pub created_at: f64,
    pub last_used_at: f64,
    /// The snapshot's size; null when the runtime no longer has it.
    pub size_bytes: Option<f64>,
}

#[napi(object)]
pub struct StateLogLine {
    pub timestamp: String,
    /// `stdout`, `stderr`, `output` or `system`.
    pub source: String,
    pub text: String,
}

#[napi(object)]
pub struct StateListing {
    pub cache_dir: String,
    pub sessions: Vec<StateSession>,
    pub templates: Vec<StateTemplate>,
}

#[napi]
pub async fn list_state() -> StateListing {
    let root = ai_sdk_microsandbox_core::cache::root();
    let (sessions, templates) = state::list(&root).await;
    StateListing {
        cache_dir: root.to_string_lossy().into_owned(),
        sessions: sessions
            .into_iter()
            .map(|s| StateSession {
                name: s.name,
                sandbox: s.sandbox,
                resumable: s.resumable,
                status: s.status,
                working_directory: s.working_directory,
                ports: s.ports.into_iter().map(|(g, h)| StatePort { guest: g.into(), host: h.into() }).collect(),
                created_at: s.created_at.map(|t| t as f64),
                disk_bytes: s.disk_bytes as f64,
            })
            .collect(),
        templates: templates
            .into_iter()
            .map(|t| StateTemplate {
                key: t.key,
                image: t.image,
                created_at: t.created_at as f64,
                last_used_at: t.last_used_at as f64,
                size_bytes: t.size_bytes.map(|b| b as f64),
            })
            .collect(),
    }
}

/// The removed sandbox's name, or null when no session has that id.
#[napi]
pub async fn remove_session_by_id(session_id: serde_json::Value) -> napi::Result<Option<String>> {
    let session_id = ai_sdk_microsandbox_core::input::session_id(&session_id, "sessionId").napi()?;
    state::remove_session(&ai_sdk_microsandbox_core::cache::root(), &session_id).await.napi()
}

/// The last `tail` log lines of a session, by `sessionId` or by the name `ls` shows.
#[napi]
pub async fn session_logs(target: String, tail: u32) -> napi::Result<Vec<StateLogLine>> {
    let lines = state::logs(&ai_sdk_microsandbox_core::cache::root(), &target, tail as usize).await.napi()?;
    Ok(lines
        .into_iter()
        .map(|l| StateLogLine { timestamp: l.timestamp, source: l.source.to_owned(), text: l.text })
        .collect())
}

#[napi]
pub async fn prune_state() -> PruneResult {
    let host = Host::new(ai_sdk_microsandbox_core::cache::root());
    let (orphans, report) = state::prune(&host, PruneOptions::default()).await;
    PruneResult { removed_orphans: orphans, removed_templates: report.removed, kept_templates: report.kept }
}

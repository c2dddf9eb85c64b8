//! The CLI's view of this package's state: `listState()`, `removeSessionById()`,
//! `sessionLogs()`, `pruneState()`. Results are the core's types, serialized. A `pub mod`: under
//! `cargo test` napi registers nothing, so private items here would count as dead code.

use ai_sdk_microsandbox_core::host::Host;
use ai_sdk_microsandbox_core::lifecycle::state;
use ai_sdk_microsandbox_core::snapshots::PruneOptions;
use napi_derive::napi;

use crate::error::{IntoNapi, to_js};

/// `{ cacheDir, sessions, templates }` (the core's `state::Listing`).
#[napi]
pub async fn list_state() -> napi::Result<serde_json::Value> {
    to_js(&state::list(&ai_sdk_microsandbox_core::cache::root()).await)
}

/// The removed sandbox's name, or null when no session has that id.
#[napi]
pub async fn remove_session_by_id(session_id: serde_json::Value) -> napi::Result<Option<String>> {
    let session_id = ai_sdk_microsandbox_core::input::session_id(&session_id, "sessionId").napi()?;
    state::remove_session(&ai_sdk_microsandbox_core::cache::root(), &session_id).await.napi()
}

/// The last `tail` log lines of a session, by `sessionId` or by the name `ls` shows.
#[napi]
pub async fn session_logs(target: String, tail: u32) -> napi::Result<serde_json::Value> {
    to_js(&state::logs(&ai_sdk_microsandbox_core::cache::root(), &target, tail as usize).await.napi()?)
}

/// `{ removedOrphans, removedTemplates, keptTemplates }` (the core's `state::Pruned`).
#[napi]
pub async fn prune_state() -> napi::Result<serde_json::Value> {
    let host = Host::new(ai_sdk_microsandbox_core::cache::root());
    to_js(&state::prune(&host, PruneOptions::default()).await)
}

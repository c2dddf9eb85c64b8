//! How long a microVM may live. The runtime stops a sandbox that has been idle
//! (no exec running, no request) for its idle timeout, and any sandbox past its
//! maximum duration. While a process holds a session it keeps the idle timer
//! fresh, so in practice the idle timeout counts from when the last holder
//! went away: a crashed host process leaves nothing running for long.

use std::sync::Weak;
use std::time::Duration;

use crate::settings::CreateSettings;
use crate::vm::Machine;

/// Who owns a session's microVM, which decides what stop and destroy do to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ownership {
    /// Ours, and resumable by its `sessionId`: stop keeps its disk.
    Resumable,
    /// Ours, without a `sessionId`: nobody can resume it, so stop removes it.
    Ephemeral,
    /// The caller's (wrap mode): never stopped or removed by us.
    Borrowed,
}

/// Idle timeout of sessions without a `sessionId` when the settings name none:
/// nobody can resume them, so once their process is gone they only cost.
pub const DEFAULT_EPHEMERAL_IDLE_SECS: u64 = 300;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lifetime {
    pub idle_timeout_secs: Option<u64>,
    pub max_duration_secs: Option<u64>,
}

impl Lifetime {
    /// Resumable sessions live until stopped unless the settings bound them.
    pub fn of(settings: &CreateSettings, ownership: Ownership) -> Self {
        let default_idle = (ownership == Ownership::Ephemeral).then_some(DEFAULT_EPHEMERAL_IDLE_SECS);
        Self {
            idle_timeout_secs: settings.idle_timeout_secs.or(default_idle),
            max_duration_secs: settings.max_duration_secs,
        }
    }

    /// How often a holder refreshes the idle timer: well within the timeout.
    pub fn keepalive_interval(&self) -> Option<Duration> {
        self.idle_timeout_secs.map(|secs| Duration::from_secs((secs / 3).max(1)))
    }
}

/// Refreshes the sandbox's idle timer every `interval` for as long as the
/// sandbox is held; the returned task is aborted when the session lets go.
pub fn keep_alive(machine: Weak<dyn Machine>, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(interval).await;
            let Some(machine) = machine.upgrade() else { return };
            if let Err(err) = machine.touch().await {
                tracing::debug!(sandbox = machine.name(), "idle timer refresh failed: {err}");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;
    use serde_json::json;

    fn create(v: serde_json::Value) -> CreateSettings {
        match Settings::parse(&v).unwrap() {
            Settings::Create(s) => s,
            Settings::Wrap(_) => unreachable!(),
        }
    }

    #[test]
    fn sessions_without_an_id_get_a_default_idle_bound_and_resumable_ones_opt_in() {
        let plain = create(json!({ "image": "x" }));
        assert_eq!(Lifetime::of(&plain, Ownership::Ephemeral).idle_timeout_secs, Some(DEFAULT_EPHEMERAL_IDLE_SECS));
        assert_eq!(Lifetime::of(&plain, Ownership::Resumable), Lifetime::default());
        let bounded = create(json!({ "image": "x", "idleTimeoutMs": 90_000, "maxDurationMs": 3_600_000 }));
        assert_eq!(
            Lifetime::of(&bounded, Ownership::Resumable),
            Lifetime { idle_timeout_secs: Some(90), max_duration_secs: Some(3600) }
        );
        assert_eq!(Lifetime::of(&bounded, Ownership::Resumable).keepalive_interval(), Some(Duration::from_secs(30)));
    }
}

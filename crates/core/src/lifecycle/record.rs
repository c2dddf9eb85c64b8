//! What a resumable session leaves on disk so that any process can resume it
//! by `sessionId`: its sandbox name, working directory and port mapping.
//! Records are filed under the session's name; a session handed over from the
//! warm pool runs in a sandbox named otherwise (the runtime cannot rename), and
//! its record says which.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::Result;
use crate::json_dir::JsonDir;
use crate::ports::LeasedPort;

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct SessionRecord {
    pub name: String,
    pub working_directory: String,
    pub ports: Vec<LeasedPort>,
    pub public_hostname: Option<String>,
    /// For sessions nobody can resume (no `sessionId`): the process that owns
    /// them (its liveness token), so orphans can be found once it is gone.
    #[serde(default)]
    pub creator: Option<String>,
    /// The sandbox, when it is not `name`: a warm-pool member handed over to this session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<String>,
    /// The `sessionId` / `sandboxId` this session was created for, so a resume
    /// by id alone finds it and a resume under another id is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The guest env every command starts from (secrets as placeholders), so a
    /// resume by id alone gives commands the env they were created with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<BTreeMap<String, String>>,
    /// The guest variables of the brokered credentials the runtime holds for
    /// this session (names only: values live in the runtime's own state).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub brokered: Vec<String>,
    /// The microVM intercepts HTTPS and accepts request transformations.
    #[serde(default)]
    pub brokers_credentials: bool,
    /// Host ports its guest may reach: never leased to another session.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_host_ports: Vec<u16>,
    /// The idle bound the microVM booted with: whoever holds the session keeps it fresh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_timeout_secs: Option<u64>,
    /// The `secrets` declarations (names and host variables, never values), so that any
    /// process that resumes the session replaces their real values in commands' env.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<crate::secrets::SecretSetting>,
    /// The host directory at the working directory, and how (an overlay is mounted again
    /// after a restart, and diffed against it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<crate::workspace::BoundWorkspace>,
    /// What the guest probe read when the session came up: a resume (the same disk and user)
    /// skips the probe's round trip. Absent in records written before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest: Option<crate::guest::Probed>,
}

fn store(cache_root: &Path) -> JsonDir {
    JsonDir::new(cache_root.join("sessions"))
}

impl SessionRecord {
    /// The sandbox this session runs in.
    pub fn sandbox_name(&self) -> &str {
        self.sandbox.as_deref().unwrap_or(&self.name)
    }

    pub fn save(&self, cache_root: &Path) -> Result<()> {
        store(cache_root).put(&self.name, self)
    }

    /// The record saved under `name`; one filed under another name, or pointing at a sandbox
    /// that is not a pool member of ours, is not ours and is ignored.
    pub fn load(cache_root: &Path, name: &str) -> Option<Self> {
        store(cache_root)
            .get::<Self>(name)
            .filter(|r| r.name == name && r.sandbox.as_deref().is_none_or(crate::naming::is_anonymous))
    }

    pub fn all(cache_root: &Path) -> Vec<Self> {
        store(cache_root).keys().iter().filter_map(|name| Self::load(cache_root, name)).collect()
    }

    /// The resumable session created for `session_id`, whatever its name prefix.
    pub fn find_by_session_id(cache_root: &Path, session_id: &str) -> Option<Self> {
        Self::all(cache_root).into_iter().find(|r| r.creator.is_none() && r.session_id.as_deref() == Some(session_id))
    }

    pub fn remove(cache_root: &Path, name: &str) {
        store(cache_root).remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, sandbox: Option<&str>) -> SessionRecord {
        SessionRecord {
            name: name.to_owned(),
            working_directory: "/root".to_owned(),
            sandbox: sandbox.map(str::to_owned),
            ..Default::default()
        }
    }

    #[test]
    fn a_record_may_point_only_at_a_pool_member_of_ours() {
        let root = std::env::temp_dir().join(format!("aisdk-record-test-{}", std::process::id()));
        let member = crate::naming::anonymous_name();
        record("aisdk-chat-0123456789ab", Some(&member)).save(&root).unwrap();
        let loaded = SessionRecord::load(&root, "aisdk-chat-0123456789ab").unwrap();
        assert_eq!(loaded.sandbox_name(), member);
        record("aisdk-other-0123456789ab", Some("my-database")).save(&root).unwrap();
        assert!(SessionRecord::load(&root, "aisdk-other-0123456789ab").is_none());
        record("aisdk-plain-0123456789ab", None).save(&root).unwrap();
        assert_eq!(
            SessionRecord::load(&root, "aisdk-plain-0123456789ab").unwrap().sandbox_name(),
            "aisdk-plain-0123456789ab"
        );
        let _ = std::fs::remove_dir_all(root);
    }
}

//! Cleanup of sandboxes nobody can use any more: ephemeral sessions (no
//! `sessionId`) whose creating process is gone. Such a sandbox stopped with
//! its creator but its row and disk stay until removed.

use microsandbox::Sandbox;
use tokio::sync::OnceCell;

use crate::naming::OWNER_LABEL;

/// Label naming the process that owns an ephemeral sandbox: `<boot id>:<pid>`.
pub const CREATOR_LABEL: &str = "ai-sdk-microsandbox.creator";

pub fn this_process() -> String {
    format!("{}:{}", boot_id(), std::process::id())
}

fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id").map(|s| s.trim().to_owned()).unwrap_or_default()
}

fn creator_gone(creator: &str) -> bool {
    let Some((boot, pid)) = creator.split_once(':') else { return false };
    if boot != boot_id() {
        return true;
    }
    !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Removes orphaned ephemeral sandboxes, once per process.
pub async fn reap_once() {
    static DONE: OnceCell<()> = OnceCell::const_new();
    DONE.get_or_init(|| async {
        let Ok(page) = Sandbox::list_with(|l| l.label(OWNER_LABEL, "1").limit(100)).await else { return };
        for handle in page.sandboxes {
            let creator = handle.config().ok().and_then(|c| c.spec.labels.get(CREATOR_LABEL).cloned());
            if creator.as_deref().is_some_and(creator_gone) {
                tracing::info!(sandbox = handle.name(), "removing an orphaned ephemeral sandbox");
                let _ = super::session::remove_sandbox(handle.name()).await;
            }
        }
    })
    .await;
}

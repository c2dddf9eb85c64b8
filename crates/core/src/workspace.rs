//! The user's project in the microVM (`workspace: { path, mode }`), at the
//! session's working directory. `mount`: the host directory bound read-write,
//! the agent edits the user's files in place. `overlay`: the host directory
//! bound read-only under an overlayfs whose upper layer is a disk of the
//! session's own, so the agent's writes stay in the microVM until the user
//! applies them ([`crate::workspace_changes`]). A template never captures a
//! user's workspace: its microVM binds an empty directory of its own there,
//! and every session, forked or cold, binds its own workspace instead.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{Error, ErrorCode, Result};

/// Where the workspace appears when `workdir` does not say.
pub const DEFAULT_GUEST_PATH: &str = "/workspace";

/// Where an overlay workspace's layers are mounted in the guest (root's alone).
pub const OVERLAY_LOWER: &str = "/var/lib/ai-sdk-microsandbox/workspace/lower";
pub const OVERLAY_UPPER_DISK: &str = "/var/lib/ai-sdk-microsandbox/workspace/disk";
/// The overlay's upper directory (the agent's writes), on the session's disk.
pub fn overlay_upper() -> String {
    format!("{OVERLAY_UPPER_DISK}/upper")
}
/// Sparse: only what the agent writes takes host disk space.
pub const OVERLAY_DISK_MIB: u32 = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkspaceMode {
    Mount,
    Overlay,
}

impl WorkspaceMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mount => "mount",
            Self::Overlay => "overlay",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceSetting {
    /// As given: resolved (and checked) when a session is created.
    pub path: String,
    pub mode: WorkspaceMode,
}

/// A session's workspace, as its record keeps it (so any process can diff and apply).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BoundWorkspace {
    /// Resolved when the session was created.
    pub host: PathBuf,
    pub mode: WorkspaceMode,
    /// Where the guest sees it.
    pub guest: String,
}

/// `$W` made the overlay of the read-only host directory `$L` and the upper layer on
/// the session's disk `$D`, unless it already is; the upper's root given once to `$U`
/// (the `user` setting), else to the host directory's owner, as the merged root shows it. As root, after every boot
/// (mounts do not survive a stop) and after a fork (a template never mounts it: a fork
/// must see its own lower from the first lookup). No index, redirects or metacopy: a
/// renamed host directory is a copy and a whiteout, and a changed file is whole in the upper.
pub const MOUNT_OVERLAY: &str = r#"set -e
grep -q " $W overlay " /proc/mounts && exit 0
if [ ! -d "$D/upper" ]; then
  mkdir -p "$D/upper" "$D/work"
  if [ -n "$U" ]; then chown "$U:" "$D/upper" 2>/dev/null || chown "$U" "$D/upper"; else chown "$(stat -c %u:%g "$L")" "$D/upper"; fi
  chmod "$(stat -c %a "$L")" "$D/upper"
fi
mkdir -p "$W"
mount -t overlay overlay -o "lowerdir=$L,upperdir=$D/upper,workdir=$D/work,index=off,redirect_dir=off,metacopy=off,xino=off" "$W""#;

/// The env [`MOUNT_OVERLAY`] runs with.
pub fn mount_overlay_env(guest: &str, user: Option<&str>) -> std::collections::BTreeMap<String, String> {
    std::collections::BTreeMap::from([
        ("W".to_owned(), guest.to_owned()),
        ("U".to_owned(), user.unwrap_or("").to_owned()),
        ("L".to_owned(), OVERLAY_LOWER.to_owned()),
        ("D".to_owned(), OVERLAY_UPPER_DISK.to_owned()),
    ])
}

/// Parses `workspace: { path, mode? }` (mode defaults to `mount`).
pub fn parse(value: Option<&Value>) -> Result<Option<WorkspaceSetting>> {
    let obj = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(obj)) => obj,
        Some(_) => return Err(Error::invalid("`workspace` must be an object such as { path: '/home/me/project' }")),
    };
    if let Some(key) = obj.keys().find(|k| !["path", "mode"].contains(&k.as_str())) {
        return Err(Error::invalid(format!("`workspace.{key}` is not a setting (known: path, mode)")));
    }
    let path = match obj.get("path") {
        Some(Value::String(p)) if !p.is_empty() && !p.contains('\0') => p.clone(),
        _ => return Err(Error::invalid("`workspace.path` must be the host directory to mount, as a string")),
    };
    let mode = match obj.get("mode") {
        None | Some(Value::Null) => WorkspaceMode::Mount,
        Some(Value::String(m)) if m == "mount" => WorkspaceMode::Mount,
        Some(Value::String(m)) if m == "overlay" => WorkspaceMode::Overlay,
        Some(_) => {
            return Err(Error::invalid(
                "`workspace.mode` must be 'mount' (the agent edits the host directory) or 'overlay' \
                 (the agent's writes stay in the microVM until you apply them)",
            ));
        }
    };
    Ok(Some(WorkspaceSetting { path, mode }))
}

/// The workspace's real host directory: it must exist and be a directory,
/// and must not be `/`, nor hold or lie inside this package's or
/// microsandbox's state (the guest could rewrite it).
pub fn resolve(setting: &WorkspaceSetting, state_dirs: &[&Path]) -> Result<PathBuf> {
    let real = std::fs::canonicalize(&setting.path).map_err(|e| {
        Error::new(
            ErrorCode::InvalidSettings,
            format!("`workspace.path` {:?} cannot be used: {e}; give an existing host directory", setting.path),
        )
        .caused_by(e)
    })?;
    if !real.is_dir() {
        return Err(Error::invalid(format!(
            "`workspace.path` {:?} is not a directory; give the project's directory",
            setting.path
        )));
    }
    if real.parent().is_none() {
        return Err(Error::invalid("`workspace.path` must not be `/`: mount the project's directory"));
    }
    for state in state_dirs {
        let state = std::fs::canonicalize(state).unwrap_or_else(|_| state.to_path_buf());
        if real.starts_with(&state) || state.starts_with(&real) {
            return Err(Error::invalid(format!(
                "`workspace.path` {} overlaps {}, where sandbox state lives; mount the project's directory",
                real.display(),
                state.display()
            )));
        }
    }
    Ok(real)
}

/// An empty directory of its own (one per bootstrap, so no other bootstrap
/// of the key shares it) for a template microVM's workspace mount, so that
/// its snapshot has the mount that forks rebind to their workspace.
pub fn template_placeholder(cache_root: &Path, key: &str) -> Result<PathBuf> {
    let dir = cache_root.join("template-workspaces").join(format!("{key}-{}", crate::naming::anonymous_name()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setting(path: &Path) -> WorkspaceSetting {
        WorkspaceSetting { path: path.to_string_lossy().into_owned(), mode: WorkspaceMode::Mount }
    }

    #[test]
    fn workspace_settings_take_a_path_and_the_mount_or_overlay_mode() {
        assert_eq!(parse(None).unwrap(), None);
        let ok = parse(Some(&serde_json::json!({ "path": "./p", "mode": "mount" }))).unwrap().unwrap();
        assert_eq!((ok.path.as_str(), ok.mode), ("./p", WorkspaceMode::Mount));
        let default = parse(Some(&serde_json::json!({ "path": "./p" }))).unwrap().unwrap();
        assert_eq!(default.mode, WorkspaceMode::Mount);
        let overlay = parse(Some(&serde_json::json!({ "path": "./p", "mode": "overlay" }))).unwrap().unwrap();
        assert_eq!(overlay.mode, WorkspaceMode::Overlay);
        for bad in [
            serde_json::json!("./p"),
            serde_json::json!({}),
            serde_json::json!({ "path": "" }),
            serde_json::json!({ "path": "./p", "mode": "copy" }),
            serde_json::json!({ "path": "./p", "readonly": true }),
        ] {
            let err = parse(Some(&bad)).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidSettings, "{bad}");
            assert!(err.message.contains("`workspace"), "{}", err.message);
        }
    }

    #[test]
    fn a_workspace_must_be_an_existing_directory_apart_from_sandbox_state() {
        let root = std::env::temp_dir().join(format!("aisdk-workspace-{}", crate::naming::sandbox_id()));
        let (project, state, file) = (root.join("project"), root.join("state"), root.join("file"));
        std::fs::create_dir_all(project.join("src")).unwrap();
        std::fs::create_dir_all(&state).unwrap();
        std::fs::write(&file, "x").unwrap();
        let states = [state.as_path()];
        assert_eq!(resolve(&setting(&project.join("src/..")), &states).unwrap(), project.canonicalize().unwrap());
        for (bad, says) in [
            (root.join("missing"), "cannot be used"),
            (file.clone(), "not a directory"),
            (PathBuf::from("/"), "must not be `/`"),
            (state.join("."), "overlaps"),
            (root.clone(), "overlaps"),
        ] {
            let err = resolve(&setting(&bad), &states).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidSettings);
            assert!(err.message.contains(says), "{}: {}", bad.display(), err.message);
        }
        let _ = std::fs::remove_dir_all(root);
    }
}

//! The on-disk state this package owns (session records, port leases,
//! templates), rooted at `AI_SDK_MICROSANDBOX_CACHE_DIR` or the OS cache dir.

use std::path::PathBuf;

pub fn root() -> PathBuf {
    match std::env::var_os("AI_SDK_MICROSANDBOX_CACHE_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => dirs::cache_dir()
            .unwrap_or_else(std::env::temp_dir)
            .join("ai-sdk-microsandbox"),
    }
}

/// Writes `bytes` to `path` through a temp file and a rename, so readers in
/// other processes never see a partial file.
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

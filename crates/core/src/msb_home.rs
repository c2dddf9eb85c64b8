//! Where microsandbox keeps its state, and which microsandbox that is: facts
//! the error type, the image cache and the inventory need without the
//! runtime's discovery and diagnosis.

use std::path::PathBuf;

/// The microsandbox version this package is built on: the SDK pin, the
/// runtime package it depends on, and what template snapshots are written by.
pub const RUNTIME_VERSION: &str = "0.7.2";

/// Where the runtime keeps one sandbox: its disk, RAM snapshot and logs.
pub fn sandbox_dir(sandbox: &str) -> PathBuf {
    microsandbox_home().join("sandboxes").join(sandbox)
}

/// Where microsandbox keeps its runtime state (database, images, sandboxes).
pub fn microsandbox_home() -> PathBuf {
    match std::env::var_os("MSB_HOME").filter(|h| !h.is_empty()) {
        Some(home) => PathBuf::from(home),
        None => dirs::home_dir().unwrap_or_else(|| PathBuf::from(".")).join(".microsandbox"),
    }
}

#[cfg(test)]
mod tests {
    use super::RUNTIME_VERSION;

    /// Every file that names the runtime version agrees with the one constant.
    #[test]
    fn the_runtime_version_is_the_same_everywhere() {
        let sdk_pin = format!("microsandbox = {{ version = \"={RUNTIME_VERSION}\"");
        assert!(include_str!("../../../Cargo.toml").contains(&sdk_pin), "Cargo.toml pins another microsandbox");
        let runtime_dep = format!("\"@superradcompany/microsandbox-linux-x64-gnu\": \"{RUNTIME_VERSION}\"");
        for (file, text) in [
            ("package.json", include_str!("../../../package.json")),
            ("npm/linux-x64-gnu/package.json", include_str!("../../../npm/linux-x64-gnu/package.json")),
        ] {
            assert!(text.contains(&runtime_dep), "{file} depends on another runtime version");
        }
        let probe = format!("msb_version={RUNTIME_VERSION}\n");
        assert!(
            include_str!("../../../scripts/vmhost/kvm-probe.sh").contains(&probe),
            "kvm-probe.sh checks another msb"
        );
    }
}

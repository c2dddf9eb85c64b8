//! Finding the microsandbox runtime (`msb` + libkrunfw) and telling the user,
//! in plain words, when this host cannot run microVMs.

use std::path::{Path, PathBuf};

use microsandbox::setup::{CheckState, Diagnosis};

use crate::error::{Error, ErrorCode, Result};
use crate::msb_home::{RUNTIME_VERSION, sandbox_dir};

/// Points the SDK at the `msb` shipped in our npm runtime package, unless the
/// user chose a runtime: `MSB_PATH`, or an `MSB_HOME` that holds one, win.
/// The packaged runtime beats a default `~/.microsandbox` install because the
/// SDK only accepts a runtime of exactly its own version. The SDK keeps the
/// first path it is given, so calling this again changes nothing.
pub fn configure(packaged_msb: Option<&Path>) {
    if std::env::var_os("MSB_PATH").is_some() {
        return;
    }
    if let Some(home) = std::env::var_os("MSB_HOME").filter(|h| !h.is_empty())
        && Path::new(&home).join("bin/msb").exists()
    {
        return;
    }
    if let Some(msb) = packaged_msb.filter(|p| p.exists()) {
        microsandbox::config::set_sdk_msb_path(msb.to_path_buf());
    }
}

/// Whether the runtime is installed and the host can run microVMs, so a
/// create fails fast with the reason instead of a boot timeout. The
/// [`crate::host::Host`] asks once and keeps the answer.
pub(crate) async fn preflight() -> Result<()> {
    let diagnosis = tokio::task::spawn_blocking(microsandbox::setup::diagnose)
        .await
        .map_err(|e| Error::internal(format!("host diagnosis panicked: {e}")))?;
    match diagnosis_error(&diagnosis) {
        Some(err) => Err(err),
        None => Ok(()),
    }
}

/// Explains a failed boot: the host diagnosis when it finds a problem, else
/// the tail of the runtime log (where libkrun reports KVM exits).
pub async fn explain_boot_failure(sandbox: &str, err: microsandbox::MicrosandboxError) -> Error {
    let diagnosis = tokio::task::spawn_blocking(microsandbox::setup::diagnose).await.ok();
    if let Some(found) = diagnosis.as_ref().and_then(diagnosis_error) {
        return found;
    }
    let log = runtime_log(sandbox);
    let tail = std::fs::read_to_string(&log).unwrap_or_default();
    if crate::sdk_text::kvm_unusable(&tail) {
        return Error::new(
            ErrorCode::KvmUnavailable,
            format!(
                "microVM '{sandbox}' could not run: /dev/kvm exists but the CPU cannot run KVM guests here \
                 (KVM_EXIT_INTERNAL_ERROR, typical of nested virtualization without VMX/SVM passthrough). \
                 Run on a host with hardware virtualization, or inside a VM that exposes it. Runtime log: {}",
                log.display()
            ),
        );
    }
    Error::new(
        ErrorCode::BootFailed,
        format!("microVM '{sandbox}' failed to boot: {err}. Runtime log: {}", log.display()),
    )
    .caused_by(err)
}

fn runtime_log(sandbox: &str) -> PathBuf {
    sandbox_dir(sandbox).join("logs/runtime.log")
}

fn diagnosis_error(diagnosis: &Diagnosis) -> Option<Error> {
    if diagnosis.problems.is_empty() {
        return None;
    }
    let runtime_failed = diagnosis
        .sections
        .iter()
        .any(|s| s.title.eq_ignore_ascii_case("runtime") && s.checks.iter().any(|c| c.state == CheckState::Fail));
    let mut text = String::new();
    for problem in &diagnosis.problems {
        text.push_str(&format!("\n  - {}", problem.headline));
        for hint in &problem.hints {
            text.push_str(&format!("\n      {hint}"));
        }
    }
    Some(if runtime_failed {
        Error::new(
            ErrorCode::RuntimeMissing,
            format!(
                "the microsandbox runtime (msb {RUNTIME_VERSION} + libkrunfw) is not usable. It ships in the npm \
                 package @superradcompany/microsandbox-<platform>@{RUNTIME_VERSION} (only linux-x64-gnu is published; install on Node >= 22), \
                 or set MSB_PATH. microsandbox diagnosis:{text}"
            ),
        )
    } else {
        Error::new(
            ErrorCode::KvmUnavailable,
            format!(
                "this host cannot run microVMs: hardware virtualization (KVM) is not usable. Enable VT-x/AMD-V \
                 (or nested virtualization for a VM) and make /dev/kvm readable and writable by this user. \
                 microsandbox diagnosis:{text}"
            ),
        )
    })
}

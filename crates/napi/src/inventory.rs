//! `hostReport()` for `npx ai-sdk-microsandbox doctor`. A `pub mod`: under `cargo test` napi
//! registers nothing, so private items here would count as dead code.

use ai_sdk_microsandbox_core::inventory;
use napi_derive::napi;

#[napi(object)]
pub struct HostCheck {
    pub section: String,
    pub label: String,
    /// `pass`, `fail`, `warn` or `info`.
    pub state: String,
    pub value: String,
}

#[napi(object)]
pub struct HostProblem {
    pub headline: String,
    pub hints: Vec<String>,
}

#[napi(object)]
pub struct HostReport {
    pub checks: Vec<HostCheck>,
    /// Empty when the runtime is found and the host passes microsandbox's checks.
    pub problems: Vec<HostProblem>,
    /// This package's own records (sessions, port leases, templates).
    pub cache_dir: String,
}

/// microsandbox's diagnosis of this host (the provider's preflight checks) and our cache dir.
#[napi]
pub fn host_report() -> HostReport {
    let report = inventory::host_report();
    HostReport {
        checks: report
            .checks
            .into_iter()
            .map(|c| HostCheck { section: c.section, label: c.label, state: c.state.to_string(), value: c.value })
            .collect(),
        problems: report.problems.into_iter().map(|p| HostProblem { headline: p.headline, hints: p.hints }).collect(),
        cache_dir: report.cache_dir.to_string_lossy().into_owned(),
    }
}

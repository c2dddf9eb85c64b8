//! What `npx ai-sdk-microsandbox doctor` reports about this host: microsandbox's own
//! diagnosis (the checks behind the provider's fail-fast preflight) and where state lives.

use std::path::PathBuf;

use microsandbox::setup::{CheckState, diagnose};

/// One check, e.g. section `Host`, label `KVM access`, state `pass`, value `read/write`.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HostCheck {
    pub section: String,
    pub label: String,
    /// `pass`, `fail`, `warn` or `info`.
    pub state: &'static str,
    pub value: String,
}

/// Something that keeps microVMs from running here, with microsandbox's hints.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HostProblem {
    pub headline: String,
    pub hints: Vec<String>,
}

/// What callers receive (the binding passes it on as it is serialized).
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HostReport {
    pub checks: Vec<HostCheck>,
    /// Empty when the runtime is found and the host passes microsandbox's checks.
    pub problems: Vec<HostProblem>,
    /// This package's own records (sessions, port leases, templates).
    pub cache_dir: PathBuf,
}

/// Runs the diagnosis with the runtime lookup `runtime::configure` set up, so it judges the
/// runtime sessions would use.
pub fn host_report() -> HostReport {
    let diagnosis = diagnose();
    let checks = diagnosis
        .sections
        .iter()
        .flat_map(|section| {
            section.checks.iter().map(|check| HostCheck {
                section: section.title.clone(),
                label: check.label.clone(),
                state: match check.state {
                    CheckState::Pass => "pass",
                    CheckState::Fail => "fail",
                    CheckState::Warn => "warn",
                    CheckState::Info => "info",
                },
                value: check.value.clone(),
            })
        })
        .collect();
    let problems =
        diagnosis.problems.into_iter().map(|p| HostProblem { headline: p.headline, hints: p.hints }).collect();
    HostReport { checks, problems, cache_dir: crate::cache::root() }
}

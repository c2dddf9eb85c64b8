//! `hostReport()` for `npx ai-sdk-microsandbox doctor`. A `pub mod`: under `cargo test` napi
//! registers nothing, so private items here would count as dead code.

use ai_sdk_microsandbox_core::inventory;
use napi_derive::napi;

use crate::error::to_js;

/// microsandbox's diagnosis of this host (the provider's preflight checks) and our cache dir:
/// `{ checks, problems, cacheDir }` (the core's `inventory::HostReport`).
#[napi]
pub fn host_report() -> napi::Result<serde_json::Value> {
    to_js(&inventory::host_report())
}

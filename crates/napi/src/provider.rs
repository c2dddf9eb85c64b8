use std::sync::Arc;

use ai_sdk_microsandbox_core::snapshots::PruneOptions;
use ai_sdk_microsandbox_core::{Provider, Settings};
use napi_derive::napi;

use crate::error::IntoNapi;
use crate::session::NativeSession;
use crate::template::NativeTemplate;

#[napi]
pub struct NativeProvider {
    inner: Arc<Provider>,
}

#[napi(object)]
pub struct PruneInput {
    pub keep_newest: Option<u32>,
    pub keep_used_within_seconds: Option<f64>,
}

#[napi(object)]
pub struct PruneResult {
    pub removed_orphans: Vec<String>,
    pub removed_templates: Vec<String>,
    pub kept_templates: Vec<String>,
}

#[napi]
impl NativeProvider {
    /// Validates the settings synchronously, without I/O.
    #[napi(constructor)]
    pub fn new(settings: serde_json::Value) -> napi::Result<Self> {
        let settings = Settings::parse(&settings).napi()?;
        Ok(Self { inner: Arc::new(Provider::new(settings)) })
    }

    /// True when the provider wraps a sandbox the caller owns.
    #[napi(getter)]
    pub fn wraps_sandbox(&self) -> bool {
        matches!(self.inner.settings(), Settings::Wrap(_))
    }

    #[napi(getter)]
    pub fn supports_templates(&self) -> bool {
        self.inner.supports_templates()
    }

    /// A template to bootstrap for `identity`, or null when one is published.
    #[napi]
    pub async fn prepare_template(&self, identity: String) -> napi::Result<Option<NativeTemplate>> {
        Ok(self.inner.prepare_template(&identity).await.napi()?.map(NativeTemplate::new))
    }

    #[napi]
    pub async fn create_session(&self, session_id: Option<String>, identity: Option<String>) -> napi::Result<NativeSession> {
        let session = self.inner.create_session(session_id.as_deref(), identity.as_deref()).await.napi()?;
        Ok(NativeSession::new(Arc::new(session)))
    }

    #[napi]
    pub async fn resume_session(&self, session_id: String) -> napi::Result<NativeSession> {
        let session = self.inner.resume_session(&session_id).await.napi()?;
        Ok(NativeSession::new(Arc::new(session)))
    }

    #[napi]
    pub async fn prune(&self, options: Option<PruneInput>) -> PruneResult {
        let defaults = PruneOptions::default();
        let options = options.map_or(defaults, |o| PruneOptions {
            keep_newest: o.keep_newest.map_or(defaults.keep_newest, |n| n as usize),
            keep_used_within_secs: o.keep_used_within_seconds.map_or(defaults.keep_used_within_secs, |s| s.max(0.0) as u64),
        });
        let (orphans, report) = self.inner.prune(options).await;
        PruneResult { removed_orphans: orphans, removed_templates: report.removed, kept_templates: report.kept }
    }
}

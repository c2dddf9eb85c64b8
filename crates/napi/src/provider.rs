use std::sync::Arc;

use ai_sdk_microsandbox_core::snapshots::PruneOptions;
use ai_sdk_microsandbox_core::{Provider, Settings, input};
use napi_derive::napi;

use crate::error::IntoNapi;
use crate::session::NativeSession;
use crate::template::NativeTemplate;

#[napi]
pub struct NativeProvider {
    inner: Arc<Provider>,
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
    pub async fn create_session(
        &self,
        session_id: Option<serde_json::Value>,
        identity: Option<String>,
    ) -> napi::Result<NativeSession> {
        let session_id = session_id.filter(|v| !v.is_null()).map(|v| input::session_id(&v)).transpose().napi()?;
        let session = self.inner.create_session(session_id.as_deref(), identity.as_deref()).await.napi()?;
        Ok(NativeSession::new(Arc::new(session)))
    }

    #[napi]
    pub async fn resume_session(&self, session_id: serde_json::Value) -> napi::Result<NativeSession> {
        let session_id = input::session_id(&session_id).napi()?;
        let session = self.inner.resume_session(&session_id).await.napi()?;
        Ok(NativeSession::new(Arc::new(session)))
    }

    /// `keepNewest` and `keepUsedWithinMs` may be any JS values: the core validates them.
    #[napi]
    pub async fn prune(
        &self,
        keep_newest: Option<serde_json::Value>,
        keep_used_within_ms: Option<serde_json::Value>,
    ) -> napi::Result<PruneResult> {
        let options = PruneOptions::parse(keep_newest.as_ref(), keep_used_within_ms.as_ref()).napi()?;
        let (orphans, report) = self.inner.prune(options).await;
        Ok(PruneResult { removed_orphans: orphans, removed_templates: report.removed, kept_templates: report.kept })
    }
}

use std::sync::Arc;

use ai_sdk_microsandbox_core::{Provider, Settings};
use napi_derive::napi;

use crate::error::IntoNapi;
use crate::session::NativeSession;

#[napi]
pub struct NativeProvider {
    inner: Arc<Provider>,
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

    #[napi]
    pub async fn create_session(&self, session_id: Option<String>) -> napi::Result<NativeSession> {
        let session = self.inner.create_session(session_id.as_deref()).await.napi()?;
        Ok(NativeSession::new(session))
    }

    #[napi]
    pub async fn resume_session(&self, session_id: String) -> napi::Result<NativeSession> {
        let session = self.inner.resume_session(&session_id).await.napi()?;
        Ok(NativeSession::new(session))
    }
}

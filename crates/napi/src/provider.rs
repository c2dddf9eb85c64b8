use std::sync::Arc;

use ai_sdk_microsandbox_core::progress::Progress;
use ai_sdk_microsandbox_core::snapshots::PruneOptions;
use ai_sdk_microsandbox_core::{Provider, Settings, input};
use napi::bindgen_prelude::Function;
use napi::threadsafe_function::ThreadsafeFunctionCallMode;
use napi_derive::napi;

use crate::error::IntoNapi;
use crate::pending::Pending;
use crate::session::NativeSession;
use crate::template::NativeTemplate;

#[napi]
pub struct NativeProvider {
    inner: Arc<Provider>,
}

#[napi(object)]
pub struct ProgressInfo {
    pub phase: String,
    pub message: String,
}

#[napi(object)]
pub struct WarmPoolStatus {
    pub size: u32,
    pub ready: u32,
    pub filling: bool,
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
    /// `on_progress` gets each long step; it never keeps the process alive.
    #[napi(constructor)]
    pub fn new(settings: serde_json::Value, on_progress: Option<Function<ProgressInfo, ()>>) -> napi::Result<Self> {
        let settings = Settings::parse(&settings).napi()?;
        let mut provider = Provider::new(settings);
        if let Some(callback) = on_progress {
            let tsfn = callback.build_threadsafe_function().weak::<true>().callee_handled::<false>().build()?;
            provider = provider.with_progress(Progress::to(move |e| {
                tsfn.call(
                    ProgressInfo { phase: e.phase.to_owned(), message: e.message },
                    ThreadsafeFunctionCallMode::NonBlocking,
                );
            }));
        }
        Ok(Self { inner: Arc::new(provider) })
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

    /// Starts looking for `identity`'s template; the result is a template to
    /// bootstrap, or null when one is published.
    #[napi]
    pub fn prepare_template(&self, identity: String) -> NativePendingTemplate {
        let provider = self.inner.clone();
        NativePendingTemplate(Pending::start(|cancel| async move {
            Ok(provider.prepare_template(&identity, &cancel).await?.map(NativeTemplate::new))
        }))
    }

    /// Starts creating a session; `cancel()` on the result stops the boot and removes what it made.
    #[napi]
    pub fn create_session(
        &self,
        session_id: Option<serde_json::Value>,
        identity: Option<String>,
    ) -> napi::Result<NativePendingSession> {
        let session_id = session_id.filter(|v| !v.is_null()).map(|v| input::session_id(&v)).transpose().napi()?;
        let provider = self.inner.clone();
        Ok(NativePendingSession(Pending::start(|cancel| async move {
            let session = provider.create_session(session_id.as_deref(), identity.as_deref(), &cancel).await?;
            Ok(NativeSession::new(Arc::new(session)))
        })))
    }

    /// Starts resuming a session; `cancel()` stops waiting and leaves the session as it is.
    #[napi]
    pub fn resume_session(&self, session_id: serde_json::Value) -> napi::Result<NativePendingSession> {
        let session_id = input::session_id(&session_id).napi()?;
        let provider = self.inner.clone();
        Ok(NativePendingSession(Pending::start(|cancel| async move {
            let session = provider.resume_session(&session_id, &cancel).await?;
            Ok(NativeSession::new(Arc::new(session)))
        })))
    }

    /// How full the warm pool is; null without `warmPool`.
    #[napi]
    pub fn warm_pool_status(&self) -> Option<WarmPoolStatus> {
        self.inner.pool_status().map(|s| WarmPoolStatus {
            size: s.size as u32,
            ready: s.ready as u32,
            filling: s.filling,
        })
    }

    /// Stops the warm pool and removes the microVMs waiting in it.
    #[napi]
    pub async fn close(&self) {
        self.inner.close().await;
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

#[napi]
pub struct NativePendingSession(Pending<NativeSession>);

#[napi]
impl NativePendingSession {
    #[napi]
    pub fn cancel(&self) {
        self.0.cancel();
    }

    #[napi]
    pub async fn result(&self) -> napi::Result<NativeSession> {
        self.0.result().await
    }
}

#[napi]
pub struct NativePendingTemplate(Pending<Option<NativeTemplate>>);

#[napi]
impl NativePendingTemplate {
    #[napi]
    pub fn cancel(&self) {
        self.0.cancel();
    }

    #[napi]
    pub async fn result(&self) -> napi::Result<Option<NativeTemplate>> {
        self.0.result().await
    }
}

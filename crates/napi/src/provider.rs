use std::sync::Arc;

use ai_sdk_microsandbox_core::progress::Progress;
use ai_sdk_microsandbox_core::snapshots::PruneOptions;
use std::future::Future;
use std::pin::Pin;

use ai_sdk_microsandbox_core::host::Hosts;
use ai_sdk_microsandbox_core::{Error, ErrorCode, FirstCreate, Provider, Result, Session, Settings, input};
use napi::bindgen_prelude::{Function, Promise};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Status};
use napi_derive::napi;

use crate::error::{IntoNapi, to_js};
use crate::pending::Pending;
use crate::session::NativeSession;

#[napi]
pub struct NativeProvider {
    inner: Arc<Provider>,
}

#[napi]
impl NativeProvider {
    /// Validates the settings synchronously, without I/O.
    /// `on_progress` gets each long step; it never keeps the process alive.
    #[napi(constructor)]
    pub fn new(
        env: Env,
        settings: serde_json::Value,
        on_progress: Option<Function<serde_json::Value, ()>>,
    ) -> napi::Result<Self> {
        Self::with_settings(&env, Settings::parse(&settings).napi()?, on_progress)
    }

    /// For today's session factories: `options` are the create options
    /// without `sandboxId`, `template`, `abortSignal` and `onProgress`.
    #[napi(factory)]
    pub fn for_session_factory(
        env: Env,
        options: serde_json::Value,
        on_progress: Option<Function<serde_json::Value, ()>>,
    ) -> napi::Result<Self> {
        Self::with_settings(&env, Settings::parse_session_options(&options).napi()?, on_progress)
    }

    fn with_settings(
        env: &Env,
        settings: Settings,
        on_progress: Option<Function<serde_json::Value, ()>>,
    ) -> napi::Result<Self> {
        let mut provider = Provider::new(settings, hosts(env)?.get(ai_sdk_microsandbox_core::cache::root()));
        if let Some(callback) = on_progress {
            let tsfn = callback.build_threadsafe_function().weak::<true>().callee_handled::<false>().build()?;
            // `{ phase, message }`: the core's `ProgressEvent`.
            provider = provider.with_progress(Progress::to(move |e| {
                if let Ok(event) = serde_json::to_value(&e) {
                    tsfn.call(event, ThreadsafeFunctionCallMode::NonBlocking);
                }
            }));
        }
        Ok(Self { inner: Arc::new(provider) })
    }

    /// Starts creating a session; `cancel()` on the result stops the boot and removes what it made.
    /// `on_first_create` is the caller's setup; the core decides where it runs (see `Provider::create_session`).
    #[napi(
        ts_args_type = "sessionId?: unknown, identity?: string | undefined | null, onFirstCreate?: ((session: NativeSession) => Promise<void>) | undefined | null"
    )]
    pub fn create_session(
        &self,
        session_id: Option<serde_json::Value>,
        identity: Option<String>,
        on_first_create: Option<Function<NativeSession, Promise<()>>>,
    ) -> napi::Result<NativePendingSession> {
        let field = self.inner.id_field();
        let session_id =
            session_id.filter(|v| !v.is_null()).map(|v| input::session_id(&v, field)).transpose().napi()?;
        let first_create = JsFirstCreate::from_js(on_first_create)?;
        let provider = self.inner.clone();
        Ok(NativePendingSession(Pending::start(|cancel| async move {
            let first_create = first_create.as_ref().map(|f| f as &dyn FirstCreate);
            let session =
                provider.create_session(session_id.as_deref(), identity.as_deref(), first_create, &cancel).await?;
            Ok(NativeSession::new(session))
        })))
    }

    /// Starts getting the configuration ready ahead of its first session: the image, and the
    /// identity's template (`onFirstCreate` is its setup). `result()` gives the core's `Prepared`.
    #[napi(
        ts_args_type = "identity?: string | undefined | null, onFirstCreate?: ((session: NativeSession) => Promise<void>) | undefined | null"
    )]
    pub fn prepare(
        &self,
        identity: Option<String>,
        on_first_create: Option<Function<NativeSession, Promise<()>>>,
    ) -> napi::Result<NativePendingValue> {
        let first_create = JsFirstCreate::from_js(on_first_create)?;
        let provider = self.inner.clone();
        Ok(NativePendingValue(Pending::start(|cancel| async move {
            let first_create = first_create.as_ref().map(|f| f as &dyn FirstCreate);
            let prepared = provider.prepare(identity.as_deref(), first_create, &cancel).await?;
            serde_json::to_value(prepared).map_err(|e| Error::internal(e.to_string()))
        })))
    }

    /// Starts resuming a session; `cancel()` stops waiting and leaves the session as it is.
    #[napi]
    pub fn resume_session(&self, session_id: serde_json::Value) -> napi::Result<NativePendingSession> {
        let session_id = input::session_id(&session_id, self.inner.id_field()).napi()?;
        let provider = self.inner.clone();
        Ok(NativePendingSession(Pending::start(|cancel| async move {
            let session = provider.resume_session(&session_id, &cancel).await?;
            Ok(NativeSession::new(Arc::new(session)))
        })))
    }

    /// How full the warm pool is; null without `warmPool`.
    #[napi]
    pub fn warm_pool_status(&self) -> napi::Result<serde_json::Value> {
        to_js(&self.inner.pool_status())
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
    ) -> napi::Result<serde_json::Value> {
        let options = PruneOptions::parse(keep_newest.as_ref(), keep_used_within_ms.as_ref()).napi()?;
        to_js(&self.inner.prune(options).await)
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

/// Native work whose result is a plain value (the core's type, serialized).
#[napi]
pub struct NativePendingValue(Pending<serde_json::Value>);

#[napi]
impl NativePendingValue {
    #[napi]
    pub fn cancel(&self) {
        self.0.cancel();
    }

    #[napi]
    pub async fn result(&self) -> napi::Result<serde_json::Value> {
        self.0.result().await
    }
}

/// Starts resuming the session created for `sandboxId`, from what its create
/// recorded (no settings needed); `cancel()` stops waiting and leaves it as it is.
#[napi]
pub fn resume_sandbox_session(
    env: Env,
    sandbox_id: serde_json::Value,
    options: serde_json::Value,
) -> napi::Result<NativePendingSession> {
    Settings::check_resume_options(&options).napi()?;
    let sandbox_id = input::session_id(&sandbox_id, "sandboxId").napi()?;
    let host = hosts(&env)?.get(ai_sdk_microsandbox_core::cache::root());
    Ok(NativePendingSession(Pending::start(|cancel| async move {
        let session = ai_sdk_microsandbox_core::lifecycle::resume_by_session_id(&host, &sandbox_id, &cancel).await?;
        Ok(NativeSession::new(Arc::new(session)))
    })))
}

/// This JS environment's hosts (a worker thread has its own), kept as the addon's instance data.
fn hosts(env: &Env) -> napi::Result<&'static Hosts> {
    if env.get_instance_data::<Hosts>()?.is_none() {
        env.set_instance_data(Hosts::default(), (), |_| {})?;
    }
    Ok(env.get_instance_data::<Hosts>()?.expect("set above"))
}

/// The caller's `onFirstCreate`, called on the JS thread; its promise is awaited here.
struct JsFirstCreate(ThreadsafeFunction<NativeSession, Promise<()>, NativeSession, Status, false>);

impl JsFirstCreate {
    fn from_js(callback: Option<Function<NativeSession, Promise<()>>>) -> napi::Result<Option<Self>> {
        callback.map(|f| f.build_threadsafe_function().callee_handled::<false>().build().map(Self)).transpose()
    }
}

impl FirstCreate for JsFirstCreate {
    fn run(&self, session: Arc<Session>) -> Pin<Box<dyn Future<Output = Result<()>> + Send + '_>> {
        Box::pin(async move {
            // The JS layer keeps the caller's own error and rethrows it; this one only ends the create.
            let failed = |_| Error::new(ErrorCode::Internal, "the first-create setup (onFirstCreate) failed");
            self.0.call_async(NativeSession::new(session)).await.map_err(failed)?.await.map_err(failed)
        })
    }
}

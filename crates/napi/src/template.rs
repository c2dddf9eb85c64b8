use std::sync::Arc;

use ai_sdk_microsandbox_core::TemplateBootstrap;
use napi_derive::napi;
use tokio::sync::Mutex;

use crate::error::IntoNapi;
use crate::session::NativeSession;

/// A template microVM waiting for first-create setup, then publish or abandon.
#[napi]
pub struct NativeTemplate {
    session: Arc<ai_sdk_microsandbox_core::Session>,
    inner: Mutex<Option<TemplateBootstrap>>,
}

impl NativeTemplate {
    pub fn new(bootstrap: TemplateBootstrap) -> Self {
        Self { session: bootstrap.session.clone(), inner: Mutex::new(Some(bootstrap)) }
    }
}

#[napi]
impl NativeTemplate {
    #[napi(getter)]
    pub fn session(&self) -> NativeSession {
        NativeSession::new(self.session.clone())
    }

    #[napi]
    pub async fn publish(&self) -> napi::Result<()> {
        match self.inner.lock().await.take() {
            Some(bootstrap) => bootstrap.publish().await.napi(),
            None => Ok(()),
        }
    }

    #[napi]
    pub async fn abandon(&self) -> napi::Result<()> {
        match self.inner.lock().await.take() {
            Some(bootstrap) => bootstrap.abandon().await.napi(),
            None => Ok(()),
        }
    }
}

use std::sync::Arc;

use ai_sdk_microsandbox_core::Process;
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;

use crate::error::IntoNapi;

#[napi(object)]
pub struct CollectedOutput {
    pub exit_code: i32,
    pub stdout: Buffer,
    pub stderr: Buffer,
}

#[napi]
pub struct NativeProcess {
    inner: Arc<Process>,
}

impl NativeProcess {
    pub fn new(process: Arc<Process>) -> Self {
        Self { inner: process }
    }
}

#[napi]
impl NativeProcess {
    #[napi(getter)]
    pub fn pid(&self) -> u32 {
        self.inner.pid()
    }

    /// Next stdout chunk, or null at end of output.
    #[napi]
    pub async fn read_stdout(&self) -> Option<Buffer> {
        self.inner.stdout.read().await.map(|b| Buffer::from(Vec::from(b)))
    }

    #[napi]
    pub async fn read_stderr(&self) -> Option<Buffer> {
        self.inner.stderr.read().await.map(|b| Buffer::from(Vec::from(b)))
    }

    #[napi]
    pub fn cancel_stdout(&self) {
        self.inner.stdout.cancel();
    }

    #[napi]
    pub fn cancel_stderr(&self) {
        self.inner.stderr.cancel();
    }

    /// Exit code, after all output has been drained.
    #[napi]
    pub async fn wait(&self) -> i32 {
        self.inner.wait().await
    }

    /// Waits for exit and returns the output, each stream capped (head and tail kept).
    #[napi]
    pub async fn collect(&self) -> CollectedOutput {
        let out = self.inner.collect().await;
        CollectedOutput { exit_code: out.exit_code, stdout: out.stdout.into(), stderr: out.stderr.into() }
    }

    #[napi]
    pub async fn kill(&self) -> napi::Result<()> {
        self.inner.kill().await.napi()
    }
}

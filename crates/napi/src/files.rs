use ai_sdk_microsandbox_core::files::{FileReader, FileWriter};
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use tokio::sync::Mutex;

use crate::error::IntoNapi;

#[napi]
pub struct NativeFileReader {
    inner: Mutex<FileReader>,
}

impl NativeFileReader {
    pub fn new(reader: FileReader) -> Self {
        Self { inner: Mutex::new(reader) }
    }
}

#[napi]
impl NativeFileReader {
    /// Next chunk, or null at end of file.
    #[napi]
    pub async fn next(&self) -> napi::Result<Option<Buffer>> {
        Ok(self.inner.lock().await.next().await.napi()?.map(|b| Buffer::from(Vec::from(b))))
    }
}

#[napi]
pub struct NativeFileWriter {
    inner: Mutex<FileWriter>,
}

impl NativeFileWriter {
    pub fn new(writer: FileWriter) -> Self {
        Self { inner: Mutex::new(writer) }
    }
}

#[napi]
impl NativeFileWriter {
    #[napi]
    pub async fn write(&self, chunk: Buffer) -> napi::Result<()> {
        self.inner.lock().await.write(&chunk).await.napi()
    }

    /// Completes the file: it replaces the target only now.
    #[napi]
    pub async fn close(&self) -> napi::Result<()> {
        self.inner.lock().await.close().await.napi()
    }

    /// Discards what was written; the target keeps its old content.
    #[napi]
    pub async fn abort(&self) {
        self.inner.lock().await.abort().await
    }
}

use std::sync::Arc;

use ai_sdk_microsandbox_core::{Session, input, process};
use napi::bindgen_prelude::{Buffer, Unknown};
use napi::{Env, JsValue, ValueType};
use napi_derive::napi;

use crate::error::IntoNapi;
use crate::files::{NativeFileReader, NativeFileWriter};
use crate::process::NativeProcess;

/// How a command runs (see the core's `process::Launch`).
#[napi(string_enum = "lowercase")]
pub enum Launch {
    Exec,
    Detached,
}

#[napi]
pub struct NativeSession {
    inner: Arc<Session>,
}

impl NativeSession {
    pub fn new(session: Arc<Session>) -> Self {
        Self { inner: session }
    }
}

#[napi]
impl NativeSession {
    #[napi(getter)]
    pub fn id(&self) -> String {
        self.inner.id().to_owned()
    }

    #[napi(getter)]
    pub fn default_working_directory(&self) -> String {
        self.inner.default_working_directory().to_owned()
    }

    #[napi(getter)]
    pub fn ports(&self) -> Vec<u32> {
        self.inner.guest_ports().into_iter().map(u32::from).collect()
    }

    /// Whether the session accepts request transformations (credential brokering).
    #[napi(getter)]
    pub fn brokers_credentials(&self) -> bool {
        self.inner.brokers_credentials()
    }

    /// `rules` are `HarnessV1RequestTransformation`s; `replace` drops the ones in force first.
    #[napi]
    pub async fn set_request_transformations(&self, rules: serde_json::Value, replace: bool) -> napi::Result<()> {
        self.inner.set_request_transformations(&rules, replace).await.napi()
    }

    #[napi(getter)]
    pub fn description(&self) -> String {
        self.inner.description()
    }

    /// Takes any JS values: the core validates them with coded errors.
    #[napi]
    pub fn port_url(&self, env: Env, port: Unknown<'_>, protocol: serde_json::Value) -> napi::Result<String> {
        // NaN has no JSON form: numbers are checked as numbers.
        let port = if port.get_type()? == ValueType::Number {
            input::port_number(port.coerce_to_number()?.get_double()?, "port")
        } else {
            input::port(&env.from_js_value::<serde_json::Value, _>(port)?, "port")
        }
        .napi()?;
        self.inner.port_url(port, input::protocol(&protocol).napi()?).napi()
    }

    /// Starts a command: `exec` for `run` (fastest, ends with this process),
    /// `detached` for `spawn` (survives this process).
    #[napi]
    pub async fn start(
        &self,
        launch: Launch,
        command: String,
        working_directory: Option<String>,
        env: Option<serde_json::Value>,
    ) -> napi::Result<NativeProcess> {
        let env = input::env(env.as_ref()).napi()?;
        let launch = match launch {
            Launch::Exec => process::Launch::Exec,
            Launch::Detached => process::Launch::Detached,
        };
        let process = self.inner.start(launch, &command, working_directory.as_deref(), &env).await.napi()?;
        Ok(NativeProcess::new(process))
    }

    #[napi]
    pub async fn read_file(&self, path: String) -> napi::Result<Option<Buffer>> {
        Ok(self.inner.read_file(&path).await.napi()?.map(|b| Buffer::from(Vec::from(b))))
    }

    #[napi]
    pub async fn open_read(&self, path: String) -> napi::Result<Option<NativeFileReader>> {
        Ok(self.inner.open_read(&path).await.napi()?.map(NativeFileReader::new))
    }

    #[napi]
    pub async fn open_write(&self, path: String) -> napi::Result<NativeFileWriter> {
        Ok(NativeFileWriter::new(self.inner.open_write(&path).await.napi()?))
    }

    /// The core's `workspace_changes::Changes`, as JSON.
    #[napi]
    pub async fn workspace_changes(&self) -> napi::Result<serde_json::Value> {
        crate::error::to_js(&self.inner.workspace_changes().await.napi()?)
    }

    /// `reviewed`: the `files` of a `workspace_changes` result; answers the paths written.
    #[napi]
    pub async fn apply_workspace_changes(&self, reviewed: serde_json::Value) -> napi::Result<Vec<String>> {
        let reviewed = input::changed_files(&reviewed).napi()?;
        self.inner.apply_workspace_changes(&reviewed).await.napi()
    }

    #[napi]
    pub async fn stop(&self) -> napi::Result<()> {
        self.inner.stop().await.napi()
    }

    #[napi]
    pub async fn destroy(&self) -> napi::Result<()> {
        self.inner.destroy().await.napi()
    }
}

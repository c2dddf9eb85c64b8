//! napi binding: thin wrappers that convert arguments, call the core and
//! convert results. No behaviour lives here.

mod error;
mod files;
pub mod inventory;
mod pending;
mod process;
pub mod provider;
mod session;
pub mod state;

use napi_derive::napi;

/// Tells the core where the npm runtime package's `msb` is (`MSB_PATH` and an
/// `MSB_HOME` holding a runtime still win), and turns on the stderr log when
/// `AI_SDK_MICROSANDBOX_LOG` asks for it. Called once, when the addon loads.
#[napi]
pub fn configure_runtime(packaged_msb_path: Option<String>) {
    ai_sdk_microsandbox_core::logging::init_from_env();
    ai_sdk_microsandbox_core::runtime::configure(packaged_msb_path.as_deref().map(std::path::Path::new));
}

/// The runtime the addon's async work runs on. Its worker threads get the
/// main thread's usual stack: a create nests the template bootstrap, the boot
/// and the SDK's first image-reference parse (a recursive regex compile), which
/// overflowed tokio's default worker stack in debug builds.
#[napi_derive::module_init]
fn init_runtime() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(8 * 1024 * 1024)
        .build()
        .expect("the addon's tokio runtime starts");
    napi::bindgen_prelude::create_custom_tokio_runtime(runtime);
}

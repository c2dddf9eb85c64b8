//! Core of ai-sdk-microsandbox: microVM lifecycle, host-port leasing and
//! snapshots on top of the microsandbox SDK. Knows nothing of napi or JS.

mod archive_hash;
pub mod brokering;
pub mod cache;
pub mod cancel;
pub mod error;
pub mod files;
mod guest;
pub mod host;
pub mod host_addresses;
pub mod image;
pub mod input;
pub mod inventory;
mod json_dir;
pub mod lifecycle;
mod liveness;
pub mod logging;
pub mod msb_home;
pub mod naming;
pub mod policy;
pub mod ports;
pub mod process;
pub mod progress;
mod pull_progress;
mod redact;
mod rootfs_image;
pub mod runtime;
mod sdk_text;
pub mod secrets;
pub mod settings;
pub mod snapshots;
pub mod source;
pub mod vm;
pub mod workspace;
pub mod workspace_changes;

pub use cancel::Cancel;
pub use error::{Error, ErrorCode, Result};
pub use lifecycle::{FirstCreate, Ownership, PoolStatus, Provider, Session};
pub use process::Process;
pub use settings::{Settings, Shape};

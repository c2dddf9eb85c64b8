//! Core of ai-sdk-microsandbox: microVM lifecycle, host-port leasing and
//! snapshots on top of the microsandbox SDK. Knows nothing of napi or JS.

pub mod error;
pub mod policy;
pub mod settings;

pub use error::{Error, ErrorCode, Result};

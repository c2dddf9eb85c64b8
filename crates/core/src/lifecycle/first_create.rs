//! The caller's one-time setup of a new machine (the harness's `onFirstCreate`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::session::Session;
use crate::error::Result;

/// Setup that runs once per identity, on the template microVM later sessions
/// fork from, or on a session itself when it cannot fork (no identity, an
/// image that cannot be snapshotted, a template that went away).
pub trait FirstCreate: Send + Sync {
    fn run(&self, session: Arc<Session>) -> Pin<Box<dyn Future<Output = Result<()>> + Send + '_>>;
}

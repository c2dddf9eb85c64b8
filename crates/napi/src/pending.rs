//! Native work that JS can abort: started synchronously, awaited with
//! `result()`, stopped with `cancel()` (the core cleans up what it created).

use ai_sdk_microsandbox_core::cancel::{CancelSource, cancel_pair};
use ai_sdk_microsandbox_core::{Cancel, Result};
use tokio::sync::{Mutex, oneshot};

pub struct Pending<T> {
    source: CancelSource,
    outcome: Mutex<Option<oneshot::Receiver<Result<T>>>>,
}

impl<T: Send + 'static> Pending<T> {
    pub fn start<F>(work: impl FnOnce(Cancel) -> F) -> Self
    where
        F: std::future::Future<Output = Result<T>> + Send + 'static,
    {
        let (source, cancel) = cancel_pair();
        let (tx, rx) = oneshot::channel();
        let work = work(cancel);
        napi::bindgen_prelude::spawn(async move {
            let _ = tx.send(work.await);
        });
        Self { source, outcome: Mutex::new(Some(rx)) }
    }

    pub fn cancel(&self) {
        self.source.cancel();
    }

    /// The work's result; only the first call gets it.
    pub async fn result(&self) -> napi::Result<T> {
        let rx = self.outcome.lock().await.take();
        let rx =
            rx.ok_or_else(|| napi::Error::from_reason("[ERR_MICROSANDBOX_INTERNAL] result() was already taken"))?;
        let outcome =
            rx.await.map_err(|_| napi::Error::from_reason("[ERR_MICROSANDBOX_INTERNAL] the native task ended"))?;
        outcome.map_err(crate::error::to_napi)
    }
}

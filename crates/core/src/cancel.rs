//! Cancellation of long native work (a boot, a wait for another process's
//! template). The caller keeps the [`CancelSource`]; the work selects on
//! [`Cancel::cancelled`] and cleans up what it created when it fires.

use tokio::sync::watch;

use crate::error::{Error, ErrorCode};

pub struct CancelSource(watch::Sender<bool>);

#[derive(Clone)]
pub struct Cancel(watch::Receiver<bool>);

pub fn cancel_pair() -> (CancelSource, Cancel) {
    let (tx, rx) = watch::channel(false);
    (CancelSource(tx), Cancel(rx))
}

impl CancelSource {
    pub fn cancel(&self) {
        let _ = self.0.send(true);
    }
}

impl Cancel {
    /// Never fires: for callers that cannot cancel.
    pub fn never() -> Self {
        cancel_pair().1
    }

    /// Resolves once cancelled; never, if the source is gone without cancelling.
    pub async fn cancelled(&self) {
        let mut rx = self.0.clone();
        if rx.wait_for(|c| *c).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// Runs `work` unless cancelled first; a cancelled `work` is dropped.
    pub async fn guard<T>(&self, work: impl std::future::Future<Output = crate::Result<T>>) -> crate::Result<T> {
        tokio::select! {
            result = work => result,
            () = self.cancelled() => Err(Error::new(ErrorCode::Aborted, "the operation was aborted")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_cancel_stops_work_in_progress_and_an_uncancelled_one_finishes() {
        let (source, cancel) = cancel_pair();
        let slow = cancel.guard(async {
            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
            Ok(())
        });
        source.cancel();
        assert_eq!(slow.await.unwrap_err().code, ErrorCode::Aborted);
        assert_eq!(Cancel::never().guard(async { Ok(7) }).await.unwrap(), 7);
    }
}

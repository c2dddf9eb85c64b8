//! One output stream of a guest process, drained as it comes and held until
//! read, within a bound per stream and a budget per session.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use tokio::sync::Notify;

use super::capped::CappedOutput;

/// Unread output kept per stream. Past it, new output is discarded (and
/// counted) rather than blocking the guest or growing host memory unbounded.
const MAX_UNREAD_BYTES: usize = 64 * 1024 * 1024;

/// Unread output kept for all spawned processes of one session together: a
/// guest that spawns many chatty processes nobody reads costs the host this much.
pub const SESSION_UNREAD_BYTES: usize = 128 * 1024 * 1024;

/// Unread output bytes held for one session's processes, against a limit.
pub struct UnreadBudget {
    used: std::sync::atomic::AtomicUsize,
    limit: usize,
}

impl UnreadBudget {
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self { used: Default::default(), limit })
    }

    /// Takes `n` bytes if they fit.
    fn take(&self, n: usize) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| used.checked_add(n).filter(|&u| u <= self.limit))
            .is_ok()
    }

    fn give_back(&self, n: usize) {
        self.used.fetch_sub(n, Ordering::AcqRel);
    }
}

/// One output stream (stdout or stderr) of a process.
pub struct OutputPipe {
    state: std::sync::Mutex<PipeState>,
    readable: Notify,
    budget: Arc<UnreadBudget>,
}

#[derive(Default)]
struct PipeState {
    chunks: VecDeque<Bytes>,
    unread: usize,
    closed: bool,
    cancelled: bool,
    discarded: u64,
}

impl OutputPipe {
    pub(super) fn new(budget: Arc<UnreadBudget>) -> Self {
        Self { state: Default::default(), readable: Notify::new(), budget }
    }

    pub(super) fn push(&self, data: Bytes) {
        let mut st = self.state.lock().unwrap();
        if st.cancelled {
            return;
        }
        if st.unread + data.len() > MAX_UNREAD_BYTES || !self.budget.take(data.len()) {
            if st.discarded == 0 {
                tracing::warn!("process output unread beyond the stream's or the session's bound; discarding the rest");
            }
            st.discarded += data.len() as u64;
            return;
        }
        st.unread += data.len();
        st.chunks.push_back(data);
        drop(st);
        self.readable.notify_one();
    }

    pub(super) fn close(&self) {
        self.state.lock().unwrap().closed = true;
        self.readable.notify_one();
    }

    /// The next chunk, or `None` once the process has exited and all output was read.
    pub async fn read(&self) -> Option<Bytes> {
        loop {
            let notified = self.readable.notified();
            {
                let mut st = self.state.lock().unwrap();
                if let Some(chunk) = st.chunks.pop_front() {
                    st.unread -= chunk.len();
                    self.budget.give_back(chunk.len());
                    return Some(chunk);
                }
                if st.closed || st.cancelled {
                    return None;
                }
            }
            notified.await;
        }
    }

    /// Reads until the process exits, keeping at most `limit` bytes (head and tail).
    pub async fn read_capped(&self, limit: usize) -> Vec<u8> {
        let mut out = CappedOutput::new(limit);
        while let Some(chunk) = self.read().await {
            out.push(chunk);
        }
        out.finish()
    }

    /// The consumer lost interest: drop what is buffered and discard the rest.
    /// The guest process keeps running and keeps being drained.
    pub fn cancel(&self) {
        let mut st = self.state.lock().unwrap();
        st.cancelled = true;
        st.chunks.clear();
        self.budget.give_back(st.unread);
        st.unread = 0;
        drop(st);
        self.readable.notify_one();
    }
}

/// Output nobody will read any more stops counting against the session.
impl Drop for OutputPipe {
    fn drop(&mut self) {
        let unread = self.state.get_mut().map(|st| st.unread).unwrap_or(0);
        self.budget.give_back(unread);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unread_output_is_capped_per_session_across_processes() {
        let budget = UnreadBudget::new(SESSION_UNREAD_BYTES);
        let chunk = Bytes::from(vec![0u8; 1024 * 1024]);
        // Three processes of one session, each flooding both streams, nobody reading.
        let pipes: Vec<OutputPipe> = (0..6).map(|_| OutputPipe::new(budget.clone())).collect();
        for _ in 0..(MAX_UNREAD_BYTES / chunk.len()) {
            for pipe in &pipes {
                pipe.push(chunk.clone());
            }
        }
        let held: usize = pipes.iter().map(|p| p.state.lock().unwrap().unread).sum();
        assert_eq!(held, SESSION_UNREAD_BYTES);
        // Cancelling or dropping a pipe gives its share back to the others.
        pipes[0].cancel();
        let mut pipes = pipes.into_iter().skip(1);
        drop(pipes.next());
        let last = pipes.next_back().unwrap();
        let before = last.state.lock().unwrap().unread;
        for _ in 0..4 {
            last.push(chunk.clone());
        }
        assert_eq!(last.state.lock().unwrap().unread, before + 4 * chunk.len());
    }

    #[test]
    fn unread_output_is_bounded_and_counted() {
        let pipe = OutputPipe::new(UnreadBudget::new(usize::MAX));
        let chunk = Bytes::from(vec![0u8; 1024 * 1024]);
        for _ in 0..(MAX_UNREAD_BYTES / chunk.len() + 3) {
            pipe.push(chunk.clone());
        }
        let st = pipe.state.lock().unwrap();
        assert_eq!(st.unread, MAX_UNREAD_BYTES);
        assert_eq!(st.discarded, 3 * 1024 * 1024);
    }
}

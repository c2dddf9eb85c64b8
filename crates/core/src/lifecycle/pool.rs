//! A warm pool: members made ahead of time for one plan (a template to fork,
//! or the image to boot), so that a create hands over a running microVM
//! instead of booting one. One background filler at a time keeps it full: on
//! an emulated or small host, boots in parallel cost more than they save.
//! A failed fill is logged and retried with backoff, never thrown at a caller.
//!
//! Generic over what a member is, so the policy is tested without a microVM.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::cancel::{Cancel, CancelSource, cancel_pair};
use crate::error::Result;

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Makes members for a plan and removes the ones nobody will take.
pub trait Maker<P, M>: Send + Sync + 'static {
    /// A new member; on `cancel` it stops and removes what it made.
    fn make(&self, plan: P, cancel: Cancel) -> BoxFuture<Result<M>>;
    fn discard(&self, member: M) -> BoxFuture<()>;
}

/// Backoff after consecutive failed fills: 1 s, doubling, at most a minute.
fn backoff(failures: u32) -> Duration {
    Duration::from_secs(1u64 << failures.saturating_sub(1).min(6)).min(Duration::from_secs(60))
}

pub struct WarmPool<K, P, M> {
    size: usize,
    state: Mutex<State<K, P, M>>,
    closing: CancelSource,
    cancel: Cancel,
    filler_done: tokio::sync::Notify,
}

struct State<K, P, M> {
    /// What members are made for: `take` hands them only to creates of the same key.
    target: Option<(K, P)>,
    ready: VecDeque<M>,
    /// Members of an earlier target, removed by the filler (or `close`).
    stale: Vec<M>,
    filling: bool,
    closed: bool,
}

/// How full the pool is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct PoolStatus {
    pub size: usize,
    pub ready: usize,
    pub filling: bool,
}

impl<K, P, M> WarmPool<K, P, M>
where
    K: PartialEq + Clone + Send + 'static,
    P: Clone + Send + 'static,
    M: Send + 'static,
{
    pub fn new(size: usize) -> Arc<Self> {
        let (closing, cancel) = cancel_pair();
        Arc::new(Self {
            size,
            state: Mutex::new(State {
                target: None,
                ready: VecDeque::new(),
                stale: Vec::new(),
                filling: false,
                closed: false,
            }),
            closing,
            cancel,
            filler_done: tokio::sync::Notify::new(),
        })
    }

    pub fn status(&self) -> PoolStatus {
        let state = self.state.lock().unwrap();
        PoolStatus { size: self.size, ready: state.ready.len(), filling: state.filling }
    }

    /// A ready member made for `key`, if there is one. Never waits.
    pub fn take(&self, key: &K) -> Option<M> {
        let mut state = self.state.lock().unwrap();
        match &state.target {
            Some((k, _)) if k == key => state.ready.pop_front(),
            _ => None,
        }
    }

    /// Keeps the pool full of members for `key`, made from `plan`: members of
    /// another key are dropped (a new template replaces the old one's forks).
    /// Returns at once; the filling happens in the background.
    pub fn fill_for(self: &Arc<Self>, key: K, plan: P, maker: Arc<dyn Maker<P, M>>) {
        let start = {
            let mut state = self.state.lock().unwrap();
            if state.closed || self.size == 0 {
                return;
            }
            if state.target.as_ref().is_none_or(|(k, _)| *k != key) {
                let old: Vec<M> = state.ready.drain(..).collect();
                state.stale.extend(old);
                state.target = Some((key, plan));
            }
            let start = !state.filling && (state.ready.len() < self.size || !state.stale.is_empty());
            state.filling |= start;
            start
        };
        if start {
            tokio::spawn(self.clone().fill(maker));
        }
    }

    /// The filler: removes stale members, then makes members until the pool is
    /// full, the pool closes, or (after a failure) the backoff is cancelled.
    async fn fill(self: Arc<Self>, maker: Arc<dyn Maker<P, M>>) {
        let mut failures = 0u32;
        loop {
            let stale = std::mem::take(&mut self.state.lock().unwrap().stale);
            for member in stale {
                maker.discard(member).await;
            }
            let (key, plan) = {
                let mut state = self.state.lock().unwrap();
                let full = state.ready.len() >= self.size;
                // Only this task holds the pool: its owner dropped it without closing.
                let orphaned = Arc::strong_count(&self) == 1;
                match (&state.target, state.closed || full || orphaned) {
                    (Some((key, plan)), false) => (key.clone(), plan.clone()),
                    _ => {
                        state.filling = false;
                        drop(state);
                        self.filler_done.notify_waiters();
                        return;
                    }
                }
            };
            match maker.make(plan, self.cancel.clone()).await {
                Ok(member) => {
                    failures = 0;
                    let unwanted = {
                        let mut state = self.state.lock().unwrap();
                        let wanted = !state.closed
                            && state.target.as_ref().is_some_and(|(k, _)| *k == key)
                            && state.ready.len() < self.size;
                        if wanted {
                            state.ready.push_back(member);
                            None
                        } else {
                            Some(member)
                        }
                    };
                    if let Some(member) = unwanted {
                        maker.discard(member).await;
                    }
                }
                Err(err) => {
                    failures += 1;
                    let wait = backoff(failures);
                    if !self.state.lock().unwrap().closed {
                        tracing::warn!("warm pool: making a member failed ({err}); retrying in {} s", wait.as_secs());
                    }
                    let _ = self
                        .cancel
                        .guard(async {
                            tokio::time::sleep(wait).await;
                            Ok(())
                        })
                        .await;
                }
            }
        }
    }

    /// Stops filling and removes every member; later `fill_for` calls do nothing.
    pub async fn close(&self, maker: Arc<dyn Maker<P, M>>) {
        let filler_running = {
            let mut state = self.state.lock().unwrap();
            state.closed = true;
            state.filling
        };
        self.closing.cancel();
        // Once closed, the filler adds nothing: it discards what it was making, then stops.
        if filler_running {
            let done = self.filler_done.notified();
            tokio::pin!(done);
            done.as_mut().enable();
            if self.state.lock().unwrap().filling {
                done.await;
            }
        }
        let members: Vec<M> = {
            let mut state = self.state.lock().unwrap();
            let mut members: Vec<M> = state.ready.drain(..).collect();
            members.append(&mut state.stale);
            members
        };
        for member in members {
            maker.discard(member).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Error, ErrorCode};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Members are numbers; `fail_first` makes that many calls fail.
    #[derive(Default)]
    struct Counter {
        made: AtomicUsize,
        discarded: Mutex<Vec<(String, usize)>>,
        fail_first: AtomicUsize,
    }

    impl Maker<String, (String, usize)> for Arc<Counter> {
        fn make(&self, plan: String, cancel: Cancel) -> BoxFuture<Result<(String, usize)>> {
            let me = self.clone();
            Box::pin(async move {
                cancel
                    .guard(async {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        if me.fail_first.load(Ordering::SeqCst) > 0 {
                            me.fail_first.fetch_sub(1, Ordering::SeqCst);
                            return Err(Error::new(ErrorCode::BootFailed, "no"));
                        }
                        Ok((plan, me.made.fetch_add(1, Ordering::SeqCst)))
                    })
                    .await
            })
        }
        fn discard(&self, member: (String, usize)) -> BoxFuture<()> {
            self.discarded.lock().unwrap().push(member);
            Box::pin(async {})
        }
    }

    async fn until(mut done: impl FnMut() -> bool) {
        for _ in 0..2000 {
            if done() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("condition not reached");
    }

    #[tokio::test]
    async fn fills_to_size_hands_members_only_to_their_key_and_refills() {
        let counter = Arc::new(Counter::default());
        let pool = WarmPool::new(2);
        assert_eq!(pool.take(&"a"), None, "an empty pool hands nothing over and does not wait");
        pool.fill_for("a", "plan-a".to_owned(), Arc::new(counter.clone()));
        until(|| pool.status() == PoolStatus { size: 2, ready: 2, filling: false }).await;
        assert_eq!(pool.take(&"b"), None, "members of another key are not handed over");
        assert_eq!(pool.take(&"a"), Some(("plan-a".to_owned(), 0)));
        pool.fill_for("a", "plan-a".to_owned(), Arc::new(counter.clone()));
        until(|| pool.status().ready == 2 && !pool.status().filling).await;
        assert_eq!(counter.made.load(Ordering::SeqCst), 3);
        assert!(counter.discarded.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_new_key_drains_the_old_members_and_fills_with_new_ones() {
        let counter = Arc::new(Counter::default());
        let pool = WarmPool::new(2);
        pool.fill_for("a", "plan-a".to_owned(), Arc::new(counter.clone()));
        until(|| pool.status().ready == 2 && !pool.status().filling).await;
        pool.fill_for("b", "plan-b".to_owned(), Arc::new(counter.clone()));
        assert_eq!(pool.take(&"a"), None);
        until(|| pool.status().ready == 2 && !pool.status().filling).await;
        let discarded = counter.discarded.lock().unwrap().clone();
        assert_eq!(discarded.iter().filter(|(p, _)| p == "plan-a").count(), 2);
        assert_eq!(pool.take(&"b").map(|m| m.0), Some("plan-b".to_owned()));
    }

    #[tokio::test(start_paused = true)]
    async fn failed_fills_back_off_and_retry_without_reaching_the_caller() {
        let counter = Arc::new(Counter::default());
        counter.fail_first.store(3, Ordering::SeqCst);
        let pool = WarmPool::new(1);
        pool.fill_for("a", "plan-a".to_owned(), Arc::new(counter.clone()));
        assert_eq!(pool.take(&"a"), None);
        until(|| pool.status().ready == 1).await;
        assert_eq!(counter.fail_first.load(Ordering::SeqCst), 0);
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(3), Duration::from_secs(4));
        assert_eq!(backoff(40), Duration::from_secs(60));
    }

    #[tokio::test]
    async fn close_removes_every_member_and_stops_filling_for_good() {
        let counter = Arc::new(Counter::default());
        let pool = WarmPool::new(3);
        pool.fill_for("a", "plan-a".to_owned(), Arc::new(counter.clone()));
        until(|| pool.status().ready >= 1).await;
        pool.close(Arc::new(counter.clone())).await;
        let status = pool.status();
        assert_eq!((status.ready, status.filling), (0, false));
        assert_eq!(counter.discarded.lock().unwrap().len(), counter.made.load(Ordering::SeqCst));
        pool.fill_for("a", "plan-a".to_owned(), Arc::new(counter.clone()));
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert_eq!(pool.status().ready, 0, "a closed pool stays empty");
    }
}

//! The state a process keeps for one cache root, shared by every provider of
//! the process that uses that root: what it is creating right now, the wrap
//! leases its sessions hold, whether orphans were reaped, whether the host can
//! run microVMs. On-disk state (records, leases, templates) lives under the
//! root itself, for every process.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::OnceCell;

use crate::error::Result;
use crate::liveness::ProcessMark;
use crate::vm::{Vms, sdk::SdkVms};

pub struct Host {
    cache_root: PathBuf,
    /// The microVM runtime: the microsandbox SDK, or a fake in unit tests.
    vms: Arc<dyn Vms>,
    /// Sandboxes being created here: their port leases are live although the
    /// runtime does not list them yet.
    creating: Mutex<HashSet<String>>,
    /// Wrap-mode lease owners whose sessions are open here.
    wrap_leases: Mutex<HashSet<String>>,
    orphans_reaped: OnceCell<()>,
    preflight: OnceCell<Result<()>>,
    /// Held while this host lives (sessions keep it): other processes see us alive.
    mark: std::sync::OnceLock<ProcessMark>,
}

/// Hosts by cache root, so that two providers on one root see each other's
/// creates and leases. The binding keeps one for its JS environment.
#[derive(Default)]
pub struct Hosts(Mutex<Vec<(PathBuf, Weak<Host>)>>);

impl Hosts {
    /// The host for `cache_root`, shared with the other providers using it.
    pub fn get(&self, cache_root: PathBuf) -> Arc<Host> {
        let mut hosts = self.0.lock().unwrap();
        hosts.retain(|(_, weak)| weak.strong_count() > 0);
        if let Some(host) = hosts.iter().find(|(root, _)| *root == cache_root).and_then(|(_, w)| w.upgrade()) {
            return host;
        }
        let host = Host::new(cache_root.clone());
        hosts.push((cache_root, Arc::downgrade(&host)));
        host
    }
}

impl Host {
    /// A host of its own, shared with nobody (a one-shot command, a test).
    pub fn new(cache_root: PathBuf) -> Arc<Host> {
        Self::with_vms(cache_root, Arc::new(SdkVms))
    }

    /// A host whose microVMs come from `vms`.
    pub fn with_vms(cache_root: PathBuf, vms: Arc<dyn Vms>) -> Arc<Host> {
        Arc::new(Host {
            cache_root,
            vms,
            creating: Mutex::default(),
            wrap_leases: Mutex::default(),
            orphans_reaped: OnceCell::new(),
            preflight: OnceCell::new(),
            mark: std::sync::OnceLock::new(),
        })
    }

    pub fn cache_root(&self) -> &Path {
        &self.cache_root
    }

    pub fn vms(&self) -> &dyn Vms {
        self.vms.as_ref()
    }

    /// How this process is named in records and leases, made on first use.
    pub fn process_token(&self) -> Result<&str> {
        if self.mark.get().is_none() {
            let _ = self.mark.set(ProcessMark::create(&self.cache_root)?);
        }
        Ok(self.mark.get().expect("set above").token())
    }

    /// Whether the process behind a record's or lease's token still runs.
    pub fn process_alive(&self, token: &str) -> bool {
        crate::liveness::alive(&self.cache_root, token)
    }

    /// Marks `name` as being created until the guard drops.
    pub fn creating(self: &Arc<Self>, name: &str) -> Creating {
        self.creating.lock().unwrap().insert(name.to_owned());
        Creating { host: self.clone(), name: name.to_owned() }
    }

    pub fn is_creating(&self, name: &str) -> bool {
        self.creating.lock().unwrap().contains(name)
    }

    pub fn hold_wrap_lease(&self, owner: &str) {
        self.wrap_leases.lock().unwrap().insert(owner.to_owned());
    }

    pub fn release_wrap_lease(&self, owner: &str) {
        self.wrap_leases.lock().unwrap().remove(owner);
    }

    pub fn holds_wrap_lease(&self, owner: &str) -> bool {
        self.wrap_leases.lock().unwrap().contains(owner)
    }

    /// Whether the runtime is installed and can run microVMs; asked once.
    pub async fn preflight(&self) -> Result<()> {
        self.preflight.get_or_init(|| self.vms.preflight()).await.clone()
    }

    /// Runs `reap` the first time it is asked for on this root.
    pub async fn reap_orphans_once<F: std::future::Future<Output = ()>>(&self, reap: impl FnOnce() -> F) {
        self.orphans_reaped.get_or_init(|| async { reap().await }).await;
    }
}

/// Drops the "being created" mark.
pub struct Creating {
    host: Arc<Host>,
    name: String,
}

impl Drop for Creating {
    fn drop(&mut self) {
        self.host.creating.lock().unwrap().remove(&self.name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_on_one_root_share_a_host_and_see_each_others_creates() {
        let root = std::env::temp_dir().join(format!("aisdk-host-test-{}", std::process::id()));
        let hosts = Hosts::default();
        let (a, b) = (hosts.get(root.clone()), hosts.get(root.clone()));
        assert!(Arc::ptr_eq(&a, &b));
        let other = hosts.get(root.join("other"));
        {
            let _creating = a.creating("aisdk-x");
            assert!(b.is_creating("aisdk-x"));
            assert!(!other.is_creating("aisdk-x"));
        }
        assert!(!b.is_creating("aisdk-x"));
        a.hold_wrap_lease("wrap-1");
        assert!(b.holds_wrap_lease("wrap-1"));
        b.release_wrap_lease("wrap-1");
        assert!(!a.holds_wrap_lease("wrap-1"));
    }
}

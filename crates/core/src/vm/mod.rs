//! The VM interface: what the lifecycle needs from a microVM runtime. The
//! microsandbox SDK implements it ([`sdk::SdkVms`]); unit tests use an
//! in-memory fake, so the lifecycle's decisions (cold boot or fork, pool
//! handover, replace, retry, cleanup, resume) are proven without a microVM.
//! Commands and files of a running session go to the SDK's sandbox directly
//! ([`Machine::sdk`]): they stream, and only a real guest can prove them.

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::net::IpAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

use crate::error::Result;
use crate::image::ImageSource;
use crate::ports::LeasedPort;
use crate::settings::CreateSettings;

#[cfg(test)]
pub mod fake;
pub mod sdk;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a new microVM starts from.
#[derive(Debug, Clone, Copy)]
pub enum Root<'a> {
    /// Cold from the image.
    Image(&'a ImageSource),
    /// Cold from a template snapshot's disk (the bootstrap is already in it).
    TemplateDisk(&'a str),
    /// A fork: the template snapshot's RAM and disk, resumed copy-on-write.
    Fork(&'a str),
}

/// One microVM to boot: everything the runtime is told.
pub struct BootSpec<'a> {
    pub name: &'a str,
    pub root: Root<'a>,
    pub settings: &'a CreateSettings,
    pub idle_timeout_secs: Option<u64>,
    pub max_duration_secs: Option<u64>,
    /// Outlives this process (forks always do).
    pub detached: bool,
    /// Boots with HTTPS interception and the settings' secrets.
    pub intercepts_https: bool,
    pub ports: &'a [LeasedPort],
    /// A host directory bound read-write at the settings' `workdir`.
    pub workspace: Option<&'a Path>,
    /// Where an image pull reports its bytes.
    pub progress: &'a crate::progress::Progress,
}

/// A boot that did not give a microVM. `transient`: the microVM exited or
/// hung before its agent came up, which a loaded host does now and then.
#[derive(Debug)]
pub struct BootFailure {
    pub error: crate::Error,
    pub transient: bool,
}

impl From<crate::Error> for BootFailure {
    fn from(error: crate::Error) -> Self {
        Self { error, transient: false }
    }
}

/// What the runtime says of a microVM by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VmStatus {
    Running,
    /// Stopped, crashed or paused: its disk is there, it is not running.
    NotRunning,
}

/// A host port a microVM publishes (wrap mode leases one of them).
#[derive(Debug, Clone)]
pub struct PublishedPort {
    pub guest: u16,
    pub host: u16,
    pub bind: IpAddr,
}

/// The output of a command run to completion, bounded like every command's.
#[derive(Debug, Clone, Default)]
pub struct Output {
    pub exit_code: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// The runtime: microVMs by name.
pub trait Vms: Send + Sync + 'static {
    /// Whether this host can run microVMs at all (asked once per host).
    fn preflight(&self) -> BoxFuture<'_, Result<()>>;
    fn boot<'a>(&'a self, spec: BootSpec<'a>) -> BoxFuture<'a, Result<Arc<dyn Machine>, BootFailure>>;
    /// `None` when no microVM has this name.
    fn status<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<VmStatus>>>;
    /// Connects to a running microVM; `start` starts a stopped one first (detached).
    fn connect<'a>(&'a self, name: &'a str, start: bool) -> BoxFuture<'a, Result<Arc<dyn Machine>>>;
    fn published_ports<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Vec<PublishedPort>>>;
    /// Stops (or kills) and removes a microVM with its disk; a missing one is fine.
    fn remove<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<()>>;
    fn names(&self) -> BoxFuture<'_, Result<HashSet<String>>>;
    /// Takes a full snapshot (RAM and disk) of a running microVM as `snapshot` (`group:name`).
    fn snapshot<'a>(&'a self, name: &'a str, snapshot: &'a str) -> BoxFuture<'a, Result<()>>;
    fn snapshot_exists<'a>(&'a self, snapshot: &'a str) -> BoxFuture<'a, bool>;
    /// The manifest digest of a cached image, to tell when a template's image changed.
    fn image_digest<'a>(&'a self, image: &'a str) -> BoxFuture<'a, Option<String>>;
}

/// One running microVM this process is connected to.
pub trait Machine: Send + Sync + 'static {
    fn name(&self) -> &str;
    /// Runs one of our short scripts, `/bin/sh -c script` with `env`, in the image's working
    /// directory (the configured one may not exist yet), as the microVM's user or as root.
    fn probe<'a>(
        &'a self,
        script: &'a str,
        env: &'a BTreeMap<String, String>,
        as_root: bool,
    ) -> BoxFuture<'a, Result<Output>>;
    /// Runs `shell -c command` in `cwd` to completion, as the microVM's user or as root.
    fn run<'a>(
        &'a self,
        shell: &'a str,
        command: &'a str,
        cwd: &'a str,
        env: &'a BTreeMap<String, String>,
        as_root: bool,
    ) -> BoxFuture<'a, Result<Output>>;
    /// Refreshes the runtime's idle timer.
    fn touch(&self) -> BoxFuture<'_, Result<()>>;
    /// Graceful stop with a deadline, then a kill; a microVM already down is fine.
    fn stop(&self) -> BoxFuture<'_, Result<()>>;
    /// The SDK's sandbox, for commands, files and live changes of a real microVM.
    fn sdk(&self) -> Option<Arc<microsandbox::Sandbox>>;
}

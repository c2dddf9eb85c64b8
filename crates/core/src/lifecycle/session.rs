//! One sandbox session: commands, files, port endpoints, stop and destroy.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use microsandbox::Sandbox;
use tokio::sync::Mutex;

use super::lifetime::{Lifetime, Ownership};
use crate::brokering::BrokeredSecret;
use crate::error::{Error, ErrorCode, Result};
use crate::files::{self, FileReader, FileWriter};
use crate::guest::GuestInfo;
use crate::host::Host;
use crate::ports::{LeasedPort, PortLeases};
use crate::process::{Launch, Process};
use crate::secrets::SecretSetting;
use crate::vm::Machine;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Running,
    Stopped,
    Destroyed,
}

pub struct Session {
    name: String,
    /// The caller's `sessionId` / `sandboxId`: what `id` reports to callers
    /// that create sessions by sandbox id (see [`Self::id`]).
    session_id: Option<String>,
    /// Whether `id` is the sandbox id (today's session factories) rather than the sandbox name.
    id_is_session_id: bool,
    /// Where this session's record is filed: its sandbox name, or for a
    /// warm-pool member handed over to a `sessionId`, the name of that id.
    record_key: String,
    /// Who holds this session's port leases: the sandbox name, or for a
    /// wrapped sandbox (shared by sessions) a per-session name.
    lease_owner: String,
    /// Replaced when the microVM restarts to take new brokered credentials.
    machine: std::sync::RwLock<Arc<dyn Machine>>,
    guest: GuestInfo,
    ports: Vec<LeasedPort>,
    public_hostname: Option<String>,
    ownership: Ownership,
    forked_from_template: bool,
    host: Arc<Host>,
    state: Mutex<State>,
    keepalive: std::sync::Mutex<Option<(tokio::task::JoinHandle<()>, Duration)>>,
    /// (real value, placeholder) of the `secrets` setting: commands get the placeholder.
    base_swaps: Vec<(String, String)>,
    /// Those and the brokered credentials'.
    swaps: std::sync::RwLock<Vec<(String, String)>>,
    /// Output of this session's spawned processes that nobody has read yet, all streams together.
    unread: Arc<crate::process::UnreadBudget>,
    /// Whether the microVM booted with HTTPS interception, so it can broker credentials.
    brokers_credentials: bool,
    /// The request transformations in force, as runtime secrets.
    brokered: Mutex<Vec<BrokeredSecret>>,
    workspace: Option<crate::workspace::BoundWorkspace>,
}

/// What a session is made of: a boot, a resume and an attach each fill one.
pub(crate) struct SessionParts {
    pub machine: Arc<dyn Machine>,
    pub guest: GuestInfo,
    pub ports: Vec<LeasedPort>,
    pub public_hostname: Option<String>,
    pub ownership: Ownership,
    pub forked_from_template: bool,
    pub host: Arc<Host>,
    /// The caller's `sessionId` / `sandboxId`, for a resumable session.
    pub session_id: Option<String>,
    /// Where the record is filed, when not under the sandbox's name.
    pub record_key: Option<String>,
    /// Who holds the port leases, when not the sandbox (a wrapped sandbox is shared).
    pub lease_owner: Option<String>,
    /// Kept fresh while the session is held, when it has an idle bound.
    pub lifetime: Lifetime,
    pub brokers_credentials: bool,
    /// Commands get placeholders for these secrets' real values.
    pub secrets: Vec<SecretSetting>,
    pub workspace: Option<crate::workspace::BoundWorkspace>,
}

impl Session {
    pub(crate) fn new(parts: SessionParts) -> Self {
        let name = parts.machine.name().to_owned();
        let base_swaps = crate::secrets::swaps(&parts.secrets);
        let session = Self {
            lease_owner: parts.lease_owner.unwrap_or_else(|| name.clone()),
            record_key: parts.record_key.unwrap_or_else(|| name.clone()),
            name,
            session_id: parts.session_id,
            id_is_session_id: false,
            machine: std::sync::RwLock::new(parts.machine),
            guest: parts.guest,
            ports: parts.ports,
            public_hostname: parts.public_hostname,
            ownership: parts.ownership,
            forked_from_template: parts.forked_from_template,
            host: parts.host,
            state: Mutex::new(State::Running),
            keepalive: std::sync::Mutex::new(None),
            swaps: std::sync::RwLock::new(base_swaps.clone()),
            base_swaps,
            unread: crate::process::UnreadBudget::new(crate::process::SESSION_UNREAD_BYTES),
            brokers_credentials: parts.brokers_credentials,
            brokered: Mutex::new(Vec::new()),
            workspace: parts.workspace,
        };
        if let Some(interval) = parts.lifetime.keepalive_interval() {
            session.start_keepalive(interval);
        }
        session
    }

    /// Stable across create and resume of one session: the sandbox id for
    /// sessions of the session factories (resume takes it back), else the
    /// sandbox name (the provider shape, whose resume takes the `sessionId`).
    pub fn id(&self) -> &str {
        match (&self.session_id, self.id_is_session_id) {
            (Some(id), true) => id,
            _ => &self.name,
        }
    }

    /// The microVM's name (`msb ls`).
    pub fn sandbox_name(&self) -> &str {
        &self.name
    }

    /// Reports the sandbox id as `id` (today's session factories).
    pub(crate) fn reporting_session_id(mut self, yes: bool) -> Self {
        self.id_is_session_id = yes;
        self
    }

    pub fn default_working_directory(&self) -> &str {
        &self.guest.working_directory
    }

    /// What the guest probe read when this session came up.
    pub(crate) fn probed_guest(&self) -> &crate::guest::Probed {
        &self.guest.probed
    }

    /// Asks the guest again what the probe reads (a template, after its setup).
    pub(crate) async fn probe_guest_again(&self) -> Result<crate::guest::Probed> {
        let working_directory = Some(self.guest.working_directory.as_str());
        Ok(crate::guest::probe(self.machine().as_ref(), working_directory, &Default::default()).await?.probed)
    }

    /// The shell commands run with.
    #[cfg(test)]
    pub(crate) fn shell(&self) -> &str {
        &self.guest.shell
    }

    /// Keeps the microVM's idle timer fresh while this session is held.
    fn start_keepalive(&self, interval: Duration) {
        let task = super::lifetime::keep_alive(Arc::downgrade(&self.machine()), interval);
        let previous = self.keepalive.lock().expect("keepalive lock").replace((task, interval));
        if let Some((old, _)) = previous {
            old.abort();
        }
    }

    /// The microVM's current handle (a restart for new credentials replaces it).
    fn machine(&self) -> Arc<dyn Machine> {
        self.machine.read().expect("machine lock").clone()
    }

    /// The SDK's sandbox, for commands, files and live changes.
    /// The host directory at the working directory, and how it is there.
    pub fn workspace(&self) -> Option<&crate::workspace::BoundWorkspace> {
        self.workspace.as_ref()
    }

    fn sandbox(&self) -> Result<Arc<Sandbox>> {
        self.machine().sdk().ok_or_else(|| {
            Error::new(
                ErrorCode::Unsupported,
                format!("microVM {} runs no commands (not a microsandbox VM)", self.name),
            )
        })
    }

    pub fn brokers_credentials(&self) -> bool {
        self.brokers_credentials
    }

    /// `setRequestTransformations` (`replace`) or `addRequestTransformations`:
    /// the rules become the runtime's secrets for this microVM. A rotation, a
    /// host change or a removal applies live; a new placeholder restarts the
    /// microVM (0.7.2 cannot add one to a running guest): its disk stays,
    /// its processes end.
    pub async fn set_request_transformations(&self, rules: &serde_json::Value, replace: bool) -> Result<()> {
        if !self.brokers_credentials {
            return Err(Error::new(
                ErrorCode::Unsupported,
                "this session cannot broker credentials: it was created with `brokerCredentials: false`",
            ));
        }
        let added = crate::brokering::parse_rules(rules)?;
        // Held throughout: a stop meanwhile must not see the restart start the microVM again.
        let state = self.state.lock().await;
        if *state != State::Running {
            return Err(Error::stopped(&self.name));
        }
        let mut brokered = self.brokered.lock().await;
        let desired = if replace { added } else { crate::brokering::merged(&brokered, added) };
        // Commands started meanwhile must not carry a new real value either.
        self.swaps
            .write()
            .expect("swaps lock")
            .extend(desired.iter().map(|s| (s.value.clone(), s.placeholder.clone())));
        // What the runtime holds, also from earlier processes that brokered for this session.
        let cache_root = self.host.cache_root();
        let mut record = super::record::SessionRecord::load(cache_root, &self.record_key);
        let in_runtime = record.as_ref().map(|r| r.brokered.clone()).unwrap_or_default();
        let sandbox = self.sandbox()?;
        let mut modify = sandbox.modify();
        for secret in &desired {
            modify = modify.secret(|s| {
                let s = s.env(&secret.env_name).value(secret.value.clone()).placeholder(&secret.placeholder);
                secret.hosts.iter().fold(s, |s, host| s.allow(host))
            });
        }
        // Only a replace withdraws what is not in its rules (an add after a resume keeps what
        // an earlier process brokered, whose values this process does not know).
        let stale: Vec<&String> =
            in_runtime.iter().filter(|name| replace && !desired.iter().any(|s| &s.env_name == *name)).collect();
        for name in &stale {
            modify = modify.remove_secret(*name);
        }
        // Recorded before they reach the runtime: a later replace, in any process, can withdraw
        // them even if what follows fails half-way.
        if let Some(record) = &mut record {
            for secret in &desired {
                if !record.brokered.contains(&secret.env_name) {
                    record.brokered.push(secret.env_name.clone());
                }
            }
            record.save(cache_root)?;
        }
        let plan = modify.clone().dry_run().await?;
        let restart = plan.changes.iter().any(|c| {
            matches!(c, microsandbox::sandbox::PlannedChange::Secret(s)
                if s.disposition == microsandbox::sandbox::ModificationDisposition::RequiresRestart)
        });
        if restart {
            modify.restart().apply().await?;
            self.reconnect().await?;
        } else {
            modify.apply().await?;
        }
        drop(state);
        if let Some(record) = &mut record {
            record.brokered.retain(|name| !stale.contains(&name) && !desired.iter().any(|s| &s.env_name == name));
            record.brokered.extend(desired.iter().map(|s| s.env_name.clone()));
            record.save(cache_root)?;
        }
        *self.swaps.write().expect("swaps lock") = self
            .base_swaps
            .iter()
            .cloned()
            .chain(desired.iter().map(|s| (s.value.clone(), s.placeholder.clone())))
            .collect();
        *brokered = desired;
        Ok(())
    }

    /// After a restart the old handle's connection is gone: take a new one.
    async fn reconnect(&self) -> Result<()> {
        let machine = self.host.vms().connect(&self.name, false).await?;
        *self.machine.write().expect("machine lock") = machine;
        let interval = self.keepalive.lock().expect("keepalive lock").as_ref().map(|(_, i)| *i);
        if let Some(interval) = interval {
            self.start_keepalive(interval);
        }
        Ok(())
    }

    /// A warm-pool member becomes the resumable session filed under `record_key`.
    pub(crate) fn handed_over(mut self, record_key: String, session_id: String) -> Self {
        self.record_key = record_key;
        self.session_id = Some(session_id);
        self.ownership = Ownership::Resumable;
        self
    }

    pub(crate) fn leased_ports(&self) -> &[LeasedPort] {
        &self.ports
    }

    /// Whether this session was forked from a bootstrapped template (so its
    /// first-create setup already ran there).
    pub fn forked_from_template(&self) -> bool {
        self.forked_from_template
    }

    /// Guest ports reachable through [`Self::port_url`].
    pub fn guest_ports(&self) -> Vec<u16> {
        self.ports.iter().map(|p| p.guest).collect()
    }

    /// `<protocol>://<host>:<host port>/` for a published guest port.
    pub fn port_url(&self, guest_port: u16, protocol: &str) -> Result<String> {
        let port = self.ports.iter().find(|p| p.guest == guest_port).ok_or_else(|| {
            let exposed: Vec<String> = self.ports.iter().map(|p| p.guest.to_string()).collect();
            Error::new(
                ErrorCode::PortNotExposed,
                format!(
                    "guest port {guest_port} is not exposed by this sandbox (exposed: {}); add it to `ports`",
                    if exposed.is_empty() { "none".to_owned() } else { exposed.join(", ") }
                ),
            )
        })?;
        let scheme = match protocol {
            "http" | "ws" => protocol,
            other => {
                return Err(Error::new(
                    ErrorCode::Unsupported,
                    format!("protocol '{other}' is not available: local ports are plain TCP, use 'http' or 'ws'"),
                ));
            }
        };
        let host = match (&self.public_hostname, port.bind) {
            (Some(h), _) => h.clone(),
            (None, ip) if ip.is_unspecified() && ip.is_ipv6() => "[::1]".to_owned(),
            (None, ip) if ip.is_unspecified() => "127.0.0.1".to_owned(),
            (None, std::net::IpAddr::V6(ip)) => format!("[{ip}]"),
            (None, ip) => ip.to_string(),
        };
        Ok(format!("{scheme}://{host}:{}/", port.host))
    }

    pub fn description(&self) -> String {
        let ports = if self.ports.is_empty() {
            "no ports are published".to_owned()
        } else {
            let list: Vec<String> = self.ports.iter().map(|p| p.guest.to_string()).collect();
            format!("guest ports {} are published to the host", list.join(", "))
        };
        let who = match self.guest.uid {
            0 => "you are root".to_owned(),
            uid => format!("you are an unprivileged user (uid {uid})"),
        };
        format!(
            "A Linux microVM (microsandbox) named '{}'. Commands run with {} in {}; {who}, and the \
             filesystem persists for the session. {ports}.",
            self.name, self.guest.shell, self.guest.working_directory
        )
    }

    async fn ensure_running(&self) -> Result<()> {
        match *self.state.lock().await {
            State::Running => Ok(()),
            State::Stopped | State::Destroyed => Err(Error::stopped(&self.name)),
        }
    }

    /// Resolves a guest path against the default working directory.
    pub fn resolve(&self, path: &str) -> Result<String> {
        files::resolve_path(&self.guest.working_directory, path)
    }

    /// Starts `command`: a plain exec for `run()` (the fastest; it ends if
    /// this host process exits), or detached for `spawn()` (it keeps running,
    /// its output flowing to guest files, after a detach or a crash of this process).
    pub async fn start(
        &self,
        launch: Launch,
        command: &str,
        working_directory: Option<&str>,
        env: &BTreeMap<String, String>,
    ) -> Result<Arc<Process>> {
        crate::input::command(command)?;
        self.ensure_running().await?;
        let (cwd, env) = self.command_context(working_directory, env)?;
        let budget = match launch {
            // `run()` reads as the output comes (and keeps a bounded head and tail), so its exec
            // draws on a budget of its own: unread `spawn()` output must not starve it.
            Launch::Exec => crate::process::UnreadBudget::new(crate::process::SESSION_UNREAD_BYTES),
            Launch::Detached => self.unread.clone(),
        };
        Process::start(self.sandbox()?, launch, &self.guest.shell, command, cwd, env, budget, None)
            .await
            .map_err(|e| self.stopped_or(e))
    }

    /// Runs one of the lifecycle's own steps (fetching `source`) to its end,
    /// in the default working directory, with the session's env under `env`.
    pub(crate) async fn run_step(&self, command: &str, env: &BTreeMap<String, String>) -> Result<crate::vm::Output> {
        self.ensure_running().await?;
        let (cwd, env) = self.command_context(None, env)?;
        self.machine().run(&self.guest.shell, command, &cwd, &env, false).await
    }

    /// The working directory and the env (caller's over the guest defaults),
    /// both passed out of band, never spliced into the script.
    fn command_context(
        &self,
        working_directory: Option<&str>,
        env: &BTreeMap<String, String>,
    ) -> Result<(String, BTreeMap<String, String>)> {
        let cwd = match working_directory {
            Some(dir) => self.resolve(dir)?,
            None => self.guest.working_directory.clone(),
        };
        let mut merged = self.guest.env.clone();
        merged.extend(env.iter().map(|(k, v)| (k.clone(), v.clone())));
        crate::secrets::scrub(&mut merged, &self.swaps.read().expect("swaps lock"));
        Ok((cwd, merged))
    }

    pub async fn read_file(&self, path: &str) -> Result<Option<bytes::Bytes>> {
        self.ensure_running().await?;
        files::read(&*self.sandbox()?, &self.resolve(path)?).await
    }

    pub async fn open_read(&self, path: &str) -> Result<Option<FileReader>> {
        self.ensure_running().await?;
        files::open_read(&*self.sandbox()?, &self.resolve(path)?).await
    }

    pub async fn open_write(&self, path: &str) -> Result<FileWriter> {
        self.ensure_running().await?;
        let owner = (self.guest.uid != 0).then_some((self.guest.uid, self.guest.gid));
        files::open_write(&self.sandbox()?, &self.resolve(path)?, owner).await
    }

    /// What the agent changed in the overlay workspace against the host directory.
    pub async fn workspace_changes(&self) -> Result<crate::workspace_changes::Changes> {
        let (sandbox, host) = self.overlay().await?;
        let layers = self.layers(&sandbox);
        crate::workspace_changes::changes(&layers, &host).await
    }

    /// Writes reviewed changes (from [`Self::workspace_changes`]) to the host directory.
    pub async fn apply_workspace_changes(
        &self,
        reviewed: &[crate::workspace_changes::ChangedFile],
    ) -> Result<Vec<String>> {
        let (sandbox, host) = self.overlay().await?;
        let layers = self.layers(&sandbox);
        crate::workspace_changes::apply(&layers, &host, reviewed).await
    }

    fn layers<'s>(&'s self, sandbox: &'s Arc<Sandbox>) -> crate::workspace_changes::SessionLayers<'s> {
        let guest = &self.workspace.as_ref().expect("checked by overlay()").guest;
        crate::workspace_changes::SessionLayers {
            sandbox,
            merged: guest,
            upper: crate::workspace::overlay_upper(),
            prefetched: Default::default(),
        }
    }

    async fn overlay(&self) -> Result<(Arc<Sandbox>, std::path::PathBuf)> {
        let Some(w) = self.workspace.as_ref().filter(|w| w.mode == crate::workspace::WorkspaceMode::Overlay) else {
            return Err(Error::new(
                ErrorCode::Unsupported,
                "this session has no overlay workspace: create it with workspace: { path, mode: 'overlay' }",
            ));
        };
        self.ensure_running().await?;
        Ok((self.sandbox()?, w.host.clone()))
    }

    /// Stops the microVM. A resumable session keeps its disk and port leases;
    /// an ephemeral one is removed (nobody could resume it); a borrowed one is
    /// left alone. Idempotent.
    pub async fn stop(&self) -> Result<()> {
        let mut state = self.state.lock().await;
        if *state != State::Running {
            return Ok(());
        }
        self.stop_keepalive();
        match self.ownership {
            Ownership::Borrowed => self.release_wrap_lease()?,
            Ownership::Resumable => self.machine().stop().await?,
            Ownership::Ephemeral => self.remove_everything().await?,
        }
        *state = State::Stopped;
        Ok(())
    }

    /// Stops and removes the microVM, its disk, record and port leases.
    /// Idempotent; removes even when the graceful stop fails.
    pub async fn destroy(&self) -> Result<()> {
        let mut state = self.state.lock().await;
        if *state == State::Destroyed {
            return Ok(());
        }
        self.stop_keepalive();
        match self.ownership {
            Ownership::Borrowed => self.release_wrap_lease()?,
            Ownership::Resumable | Ownership::Ephemeral => self.remove_everything().await?,
        }
        *state = State::Destroyed;
        Ok(())
    }

    fn release_wrap_lease(&self) -> Result<()> {
        PortLeases::new(self.host.cache_root()).release(&self.lease_owner, &self.ports)?;
        self.host.release_wrap_lease(&self.lease_owner);
        Ok(())
    }

    fn stop_keepalive(&self) {
        if let Some((task, _)) = self.keepalive.lock().expect("keepalive lock").take() {
            task.abort();
        }
    }

    async fn remove_everything(&self) -> Result<()> {
        self.host.vms().remove(&self.name).await?;
        super::record::SessionRecord::remove(self.host.cache_root(), &self.record_key);
        PortLeases::new(self.host.cache_root()).release(&self.name, &self.ports)
    }

    fn stopped_or(&self, err: Error) -> Error {
        match err.code {
            ErrorCode::SessionStopped | ErrorCode::SessionNotFound => Error::stopped(&self.name),
            _ => err,
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.stop_keepalive();
    }
}

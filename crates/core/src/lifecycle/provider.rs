//! Creates and resumes sessions, in create mode (we own the microVMs) or wrap
//! mode (the caller owns one sandbox and we attach to it).

use std::collections::HashSet;
use std::sync::Arc;

use microsandbox::{MicrosandboxError, Sandbox, Snapshot};

use super::lifetime::Lifetime;
use super::record::SessionRecord;
use super::session::{Ownership, Session, remove_sandbox};
use crate::cancel::Cancel;
use crate::error::{Error, ErrorCode, Result};
use crate::host::Host;
use crate::image::{self, ImageSource};
use crate::naming::{self, OWNER_LABEL};
use crate::ports::{LeasedPort, PortLeases};
use crate::progress::Progress;
use crate::settings::{CreateSettings, PortProtocol, Settings, WrapSettings};
use crate::snapshots::{self, TemplateLock, TemplateRecord, TemplateStore};
use crate::{guest, runtime};

pub struct Provider {
    pub(super) settings: Settings,
    pub(super) host: Arc<Host>,
    pub(super) progress: Progress,
    /// Sessions booted ahead of creates with a `sessionId` (`warmPool`).
    pub(super) pool: Option<Arc<super::pooled::MemberPool>>,
}

/// A template being bootstrapped: its microVM is up (pre-commands done) and
/// waits for the caller's first-create setup, then [`Self::publish`] or
/// [`Self::abandon`]. Holds the template's lock until then.
pub struct TemplateBootstrap {
    pub session: Arc<Session>,
    key: String,
    image: String,
    image_digest: Option<String>,
    host: Arc<Host>,
    progress: Progress,
    _lock: TemplateLock,
}

impl Provider {
    pub fn new(settings: Settings) -> Self {
        let pool = match &settings {
            Settings::Create(s) if s.warm_pool_size > 0 => Some(super::pool::WarmPool::new(s.warm_pool_size)),
            _ => None,
        };
        Self { settings, host: Host::shared(crate::cache::root()), progress: Progress::default(), pool }
    }

    /// Reports long steps to `progress` (the caller's `onProgress`).
    pub fn with_progress(mut self, progress: Progress) -> Self {
        self.progress = progress;
        self
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Whether sessions can fork from bootstrap templates: create mode with an
    /// OCI image (snapshots need one; a rootfs directory cannot be snapshotted).
    pub fn supports_templates(&self) -> bool {
        matches!(&self.settings, Settings::Create(s) if image::snapshot_capable(&s.image))
    }

    /// For an identity without a usable template: boots a template microVM,
    /// runs `bootstrapPreCommands`, and returns it for the caller's setup.
    /// `None` when a template is already published (maybe after waiting for
    /// another process that was bootstrapping it).
    pub async fn prepare_template(&self, identity: &str, cancel: &Cancel) -> Result<Option<TemplateBootstrap>> {
        let Settings::Create(settings) = &self.settings else { return Ok(None) };
        if !self.supports_templates() {
            return Ok(None);
        }
        runtime::preflight().await?;
        let source = image::resolve(&self.host, &settings.image, &self.progress).await?;
        let ImageSource::Reference(image_ref) = &source else { return Ok(None) };
        let key = snapshots::template_key(identity, settings, image_ref);
        // Checked before locking too: the lock waits for forks of the template in flight.
        if self.usable_template(&key, image_ref).await.is_some() {
            return Ok(None);
        }
        let lock = cancel.guard(TemplateStore::new(self.host.cache_root()).lock(&key)).await?;
        if self.usable_template(&key, image_ref).await.is_some() {
            return Ok(None);
        }
        let name = template_sandbox_name(&key);
        // Left over from a bootstrap that was interrupted: we hold the lock, nobody else uses it.
        remove_sandbox(&name).await?;
        self.progress.report("template", "booting a template microVM to bootstrap once for this identity");
        // No lifetime: the template microVM dies with this process, and its snapshot must not carry one into forks.
        let target =
            Target { name: &name, ownership: Ownership::Ephemeral, lifetime: Lifetime::default(), detached: false };
        let session = match cancel.guard(self.boot(settings, &source, &target, &[], None)).await {
            Ok(session) => session,
            Err(err) => {
                let _ = remove_sandbox(&name).await;
                return Err(err);
            }
        };
        Ok(Some(TemplateBootstrap {
            session: Arc::new(session),
            key,
            image: image_ref.clone(),
            image_digest: image_digest(image_ref).await,
            host: self.host.clone(),
            progress: self.progress.clone(),
            _lock: lock,
        }))
    }

    /// The published template for `key`, unless its image has changed since.
    async fn usable_template(&self, key: &str, image_ref: &str) -> Option<TemplateRecord> {
        let record = TemplateStore::new(self.host.cache_root()).get(key)?;
        let current = image_digest(image_ref).await;
        if record.image_digest.is_some() && current.is_some() && record.image_digest != current {
            return None;
        }
        Snapshot::get(&record.snapshot).await.ok()?;
        Some(record)
    }

    /// A new session. With a `session_id` the microVM is named after it,
    /// outlives this process and can be resumed; without one it is removed on
    /// stop, and by the next process if this one dies first. With an
    /// `identity` that has a published template, the session forks from it.
    pub async fn create_session(
        self: &Arc<Self>,
        session_id: Option<&str>,
        identity: Option<&str>,
        cancel: &Cancel,
    ) -> Result<Session> {
        match &self.settings {
            Settings::Create(s) => self.create(s, session_id, identity, cancel).await,
            Settings::Wrap(w) => self.attach(w).await,
        }
    }

    /// Reattaches to a running session, or restarts a stopped one, by `session_id`.
    pub async fn resume_session(&self, session_id: &str, cancel: &Cancel) -> Result<Session> {
        let settings = match &self.settings {
            Settings::Create(s) => s,
            Settings::Wrap(w) => return self.attach(w).await,
        };
        let name = self.session_name(settings, session_id);
        let not_found = || {
            Error::new(
                ErrorCode::SessionNotFound,
                format!(
                    "no sandbox session with id '{session_id}' exists (it was never created here, or was destroyed)"
                ),
            )
        };
        let record = SessionRecord::load(self.host.cache_root(), &name).ok_or_else(not_found)?;
        settings.secrets.iter().try_for_each(|s| s.host_value().map(drop))?;
        runtime::preflight().await?;
        let sandbox_name = record.sandbox_name().to_owned();
        let handle = match Sandbox::get(&sandbox_name).await {
            Ok(handle) => handle,
            Err(MicrosandboxError::SandboxNotFound(_)) => return Err(not_found()),
            Err(e) => return Err(e.into()),
        };
        // A stopped session's host ports were free while it ran; if another program took one
        // since, the runtime would only log it and the URL would reach that program instead.
        let running = matches!(handle.status_snapshot(), microsandbox::sandbox::SandboxStatus::Running);
        if !running
            && let Some(port) =
                record.ports.iter().find(|p| p.protocol == PortProtocol::Tcp && crate::ports::published(p))
        {
            return Err(Error::new(
                ErrorCode::PortUnavailable,
                format!(
                    "host port {} of session '{session_id}' (guest port {}) is now taken by another program; \
                     free it, then resume again",
                    port.host, port.guest
                ),
            ));
        }
        // An abort only stops waiting: a resumed session stays as it is, stopped or started.
        let (sandbox, guest) = cancel
            .guard(async {
                let sandbox = match handle.connect_or_start_detached().await {
                    Ok(sandbox) => sandbox,
                    Err(err @ MicrosandboxError::BootStart { .. }) => {
                        return Err(runtime::explain_boot_failure(&sandbox_name, err).await);
                    }
                    Err(e) => return Err(e.into()),
                };
                let guest = guest::probe(&sandbox, Some(&record.working_directory), &settings.guest_env()).await?;
                Ok((sandbox, guest))
            })
            .await?;
        Ok(Session::new(
            Arc::new(sandbox),
            guest,
            record.ports,
            record.public_hostname,
            Ownership::Resumable,
            false,
            self.host.clone(),
        )
        .with_record_key(name)
        .with_keepalive(Lifetime::of(settings, Ownership::Resumable))
        .with_secrets(settings.secrets.clone()))
    }

    /// Removes orphaned sandboxes (sessions without an id whose process is
    /// gone) and templates not used lately beyond the newest few.
    pub async fn prune(&self, options: snapshots::PruneOptions) -> (Vec<String>, snapshots::PruneReport) {
        super::state::prune(&self.host, options).await
    }

    /// An explicit `name` replaces the generic prefix, so `msb ls` shows whose sandboxes these are.
    fn session_name(&self, settings: &CreateSettings, session_id: &str) -> String {
        naming::session_name(settings.name.as_deref(), session_id)
    }

    async fn create(
        self: &Arc<Self>,
        settings: &CreateSettings,
        session_id: Option<&str>,
        identity: Option<&str>,
        cancel: &Cancel,
    ) -> Result<Session> {
        settings.secrets.iter().try_for_each(|s| s.host_value().map(drop))?;
        runtime::preflight().await?;
        self.host.reap_orphans_once(|| async { drop(super::orphans::reap(&self.host).await) }).await;
        let source = image::resolve(&self.host, &settings.image, &self.progress).await?;
        // A fork holds its template shared until it has booted, so pruning cannot remove it meanwhile.
        let (template, _template_hold) = match (identity, &source) {
            (Some(identity), ImageSource::Reference(image_ref)) if self.supports_templates() => {
                let key = snapshots::template_key(identity, settings, image_ref);
                let hold = cancel.guard(TemplateStore::new(self.host.cache_root()).lock_shared(&key)).await?;
                (self.usable_template(&key, image_ref).await, Some(hold))
            }
            _ => (None, None),
        };
        let Some(session_id) = session_id else {
            let target = Target {
                name: &naming::anonymous_name(),
                ownership: Ownership::Ephemeral,
                lifetime: Lifetime::of(settings, Ownership::Ephemeral),
                detached: false,
            };
            return self.boot_leased(settings, &source, &target, template.as_ref(), cancel).await;
        };
        let name = self.session_name(settings, session_id);
        self.clear_existing(&name, session_id, settings.replace).await?;
        let plan = super::pooled::MemberPlan { source: source.clone(), template: template.clone() };
        if let Some(session) = self.take_from_pool(&plan, &name)? {
            self.refill_pool(plan);
            return Ok(session);
        }
        let target = Target {
            name: &name,
            ownership: Ownership::Resumable,
            lifetime: Lifetime::of(settings, Ownership::Resumable),
            detached: true,
        };
        let session = self.boot_leased(settings, &source, &target, template.as_ref(), cancel).await?;
        self.refill_pool(plan);
        Ok(session)
    }

    /// Leases the target's host ports and boots it (cold, or forked from
    /// `template`). An abort drops the boot wherever it is; on any failure the
    /// sandbox, its leases and its record are removed.
    pub(super) async fn boot_leased(
        &self,
        settings: &CreateSettings,
        source: &ImageSource,
        target: &Target<'_>,
        template: Option<&TemplateRecord>,
        cancel: &Cancel,
    ) -> Result<Session> {
        let name = target.name;
        let _creating = self.host.creating(name);
        let live = live_sandbox_names().await?;
        let ports = PortLeases::new(self.host.cache_root()).acquire(
            name,
            &settings.ports,
            &|owner| live.contains(owner) || self.host.is_creating(owner),
            &self.host,
        )?;
        match cancel.guard(self.boot(settings, source, target, &ports, template)).await {
            Ok(session) => {
                if let Some(template) = template {
                    TemplateStore::new(self.host.cache_root()).touch(&template.key);
                }
                Ok(session)
            }
            Err(err) => {
                // A failed boot leaves a stopped row and our leases behind: clean both.
                let _ = remove_sandbox(name).await;
                let _ = PortLeases::new(self.host.cache_root()).release(name, &ports);
                SessionRecord::remove(self.host.cache_root(), name);
                Err(err)
            }
        }
    }

    /// A sandbox already carries this session's name: a retry after a failed
    /// create, or a second create of the same id. Replaced only when asked.
    async fn clear_existing(&self, name: &str, session_id: &str, replace: bool) -> Result<()> {
        let record = SessionRecord::load(self.host.cache_root(), name);
        let sandbox = record.as_ref().map_or(name, SessionRecord::sandbox_name).to_owned();
        let exists = match Sandbox::get(&sandbox).await {
            Ok(_) => true,
            Err(MicrosandboxError::SandboxNotFound(_)) => false,
            Err(e) => return Err(e.into()),
        };
        if !exists {
            SessionRecord::remove(self.host.cache_root(), name);
            return Ok(());
        }
        if !replace {
            return Err(Error::new(
                ErrorCode::SessionExists,
                format!(
                    "a sandbox session with id '{session_id}' already exists; resume it with resumeSession(), \
                     destroy it first, or set `replace: true` to recreate it"
                ),
            ));
        }
        remove_sandbox(&sandbox).await?;
        PortLeases::new(self.host.cache_root()).release(&sandbox, &record.map(|r| r.ports).unwrap_or_default())?;
        SessionRecord::remove(self.host.cache_root(), name);
        Ok(())
    }

    /// Boots a sandbox: cold from the image (then runs the pre-commands), or
    /// forked from a template snapshot (already bootstrapped).
    async fn boot(
        &self,
        settings: &CreateSettings,
        source: &ImageSource,
        target: &Target<'_>,
        ports: &[LeasedPort],
        template: Option<&TemplateRecord>,
    ) -> Result<Session> {
        let (name, ownership) = (target.name, target.ownership);
        let record = SessionRecord {
            name: name.to_owned(),
            working_directory: String::new(),
            ports: ports.to_vec(),
            public_hostname: settings.public_hostname.clone(),
            creator: match ownership {
                Ownership::Ephemeral => Some(self.host.process_token()?.to_owned()),
                _ => None,
            },
            sandbox: None,
        };
        // Saved before booting, so that an orphan is found even if this process dies mid-boot.
        record.save(self.host.cache_root())?;
        let started = std::time::Instant::now();
        match template {
            Some(t) => self.progress.report("fork", format!("forking microVM {name} from template {}", &t.key[..12])),
            None => self.progress.report("boot", format!("booting microVM {name}")),
        }
        let attempt = || async {
            match template {
                Some(template) => fork(settings, target, ports, template).await,
                None => cold_create(settings, source, target, ports).await,
            }
        };
        let created = match attempt().await {
            // A microVM that exits or hangs before its agent comes up is retried once: seen as a
            // transient failure on a loaded host. A persistent fault fails twice.
            Err(err) if agent_never_came_up(&err) => {
                tracing::warn!(sandbox = name, "microVM did not bring its agent up; retrying the boot once");
                remove_sandbox(name).await?;
                attempt().await
            }
            other => other,
        };
        let sandbox = match created {
            Ok(sandbox) => Arc::new(sandbox),
            Err(err @ MicrosandboxError::BootStart { .. }) => {
                return Err(runtime::explain_boot_failure(name, err).await);
            }
            Err(err) if agent_never_came_up(&err) => {
                return Err(Error::new(
                    ErrorCode::BootFailed,
                    format!("microVM {name} booted twice without its agent coming up; is the host overloaded? ({err})"),
                ));
            }
            Err(err @ (MicrosandboxError::Image(_) | MicrosandboxError::ImageNotFound(_))) => {
                return Err(image::missing_reference(&settings.image, &err));
            }
            Err(e) => return Err(e.into()),
        };
        // The runtime only logs a port it failed to bind; a session without its URL is useless.
        if let Some(port) = ports.iter().find(|p| p.protocol == PortProtocol::Tcp && !crate::ports::published(p)) {
            return Err(Error::new(
                ErrorCode::PortUnavailable,
                format!(
                    "host port {} for guest port {} could not be bound (taken by another program?)",
                    port.host, port.guest
                ),
            ));
        }
        let workdir = template.map(|t| t.working_directory.as_str()).or(settings.workdir.as_deref());
        let guest = guest::probe(&sandbox, workdir, &settings.guest_env()).await?;
        self.progress.report("boot", format!("microVM {name} is up after {} ms", started.elapsed().as_millis()));
        if template.is_none() {
            run_bootstrap_pre_commands(&sandbox, &guest, settings, &self.progress).await?;
        }
        SessionRecord { working_directory: guest.working_directory.clone(), ..record }.save(self.host.cache_root())?;
        Ok(Session::new(
            sandbox,
            guest,
            ports.to_vec(),
            settings.public_hostname.clone(),
            ownership,
            template.is_some(),
            self.host.clone(),
        )
        .with_keepalive(target.lifetime)
        .with_secrets(settings.secrets.clone()))
    }

    /// Wrap mode: attach to the caller's running sandbox. Never creates,
    /// starts, stops or removes it.
    async fn attach(&self, settings: &WrapSettings) -> Result<Session> {
        let handle = match Sandbox::get(&settings.sandbox).await {
            Ok(handle) => handle,
            Err(MicrosandboxError::SandboxNotFound(_)) => {
                return Err(Error::new(
                    ErrorCode::SessionNotFound,
                    format!("the wrapped sandbox '{}' does not exist", settings.sandbox),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        let published = handle.config().map(|c| c.spec.network.ports).unwrap_or_default();
        let mut candidates = Vec::new();
        for guest_port in &settings.bridge_ports {
            let spec = published.iter().find(|p| p.guest_port == *guest_port).ok_or_else(|| {
                Error::invalid(format!(
                    "`bridgePorts` lists guest port {guest_port}, but sandbox '{}' does not publish it",
                    settings.sandbox
                ))
            })?;
            candidates.push(LeasedPort {
                guest: spec.guest_port,
                host: spec.host_port,
                bind: spec.host_bind.parse().unwrap_or(std::net::IpAddr::from([127, 0, 0, 1])),
                protocol: PortProtocol::Tcp,
            });
        }
        let sandbox = handle.connect().await.map_err(|e| match e {
            MicrosandboxError::SandboxNotRunning(_) => Error::new(
                ErrorCode::SessionStopped,
                format!(
                    "the wrapped sandbox '{}' is not running; start it first (wrap mode never starts it)",
                    settings.sandbox
                ),
            ),
            other => other.into(),
        })?;
        let guest = guest::probe(&sandbox, None, &Default::default()).await?;
        let lease_owner = format!("wrap-{}-{}", settings.sandbox, naming::anonymous_name());
        let ports = if candidates.is_empty() {
            Vec::new()
        } else {
            let active = |owner: &str| self.host.holds_wrap_lease(owner);
            let port = PortLeases::new(self.host.cache_root()).acquire_one_of(
                &lease_owner,
                &candidates,
                &active,
                &self.host,
            )?;
            self.host.hold_wrap_lease(&lease_owner);
            vec![port]
        };
        Ok(Session::new(
            Arc::new(sandbox),
            guest,
            ports,
            settings.public_hostname.clone(),
            Ownership::Borrowed,
            false,
            self.host.clone(),
        )
        .with_lease_owner(lease_owner))
    }
}

impl TemplateBootstrap {
    /// Takes a full snapshot (disk and RAM) of the running template microVM,
    /// publishes it for every process, and removes the template microVM.
    /// Forks resume that machine instead of booting: in one measured run, 3.9 s
    /// against 5.4 s for a cold boot of the same disk and 8.7 s for a cold create
    /// (`examples/fork_options_bench.rs`).
    pub async fn publish(self) -> Result<()> {
        let name = self.session.id().to_owned();
        let working_directory = self.session.default_working_directory().to_owned();
        self.progress.report("template", "taking a full snapshot of the bootstrapped template");
        // A snapshot of an earlier, unpublished attempt would block the name.
        let _ = Snapshot::remove(&snapshots::snapshot_name(&self.key), true).await;
        Snapshot::builder(snapshots::snapshot_local_name(&self.key))
            .from_sandbox(&name)
            .group(snapshots::SNAPSHOT_GROUP)
            .full()
            .create()
            .await?;
        let now = snapshots::now();
        let store = TemplateStore::new(self.host.cache_root());
        store.publish(&TemplateRecord {
            key: self.key.clone(),
            snapshot: snapshots::snapshot_name(&self.key),
            image: self.image.clone(),
            image_digest: self.image_digest.clone(),
            working_directory,
            created_at: now,
            last_used_at: now,
        })?;
        self.progress.report("template", "template published: later sessions of this identity fork from it");
        self.session.destroy().await?;
        // Keep the cache bounded; a template just published is the newest and stays.
        snapshots::prune(self.host.cache_root(), snapshots::PruneOptions::default()).await;
        Ok(())
    }

    /// The first-create setup failed: nothing is published, the template microVM goes away.
    pub async fn abandon(self) -> Result<()> {
        self.session.destroy().await
    }
}

/// What a boot creates: its sandbox name, who owns it, how long it may live,
/// and whether it outlives this process (forks always do).
pub(super) struct Target<'a> {
    pub name: &'a str,
    pub ownership: Ownership,
    pub lifetime: Lifetime,
    pub detached: bool,
}

/// The microVM exited, or did not answer within the SDK's startup deadline.
fn agent_never_came_up(err: &MicrosandboxError) -> bool {
    match err {
        MicrosandboxError::BootStart { .. } => true,
        MicrosandboxError::Runtime(message) => crate::sdk_text::agent_startup_timed_out(message),
        _ => false,
    }
}

fn template_sandbox_name(key: &str) -> String {
    format!("aisdk-template-{}", &key[..24])
}

async fn image_digest(image_ref: &str) -> Option<String> {
    microsandbox::Image::get(image_ref).await.ok()?.manifest_digest().map(str::to_owned)
}

async fn cold_create(
    settings: &CreateSettings,
    source: &ImageSource,
    target: &Target<'_>,
    ports: &[LeasedPort],
) -> std::result::Result<Sandbox, MicrosandboxError> {
    let mut builder = source
        .apply(Sandbox::builder(target.name))
        .label(OWNER_LABEL, "1")
        .envs(settings.guest_env())
        // Resumable sessions outlive this process; the others stop with it (no leaked VMs).
        .detached(target.detached);
    if let Some(secs) = target.lifetime.idle_timeout_secs {
        builder = builder.idle_timeout(secs);
    }
    if let Some(secs) = target.lifetime.max_duration_secs {
        builder = builder.max_duration(secs);
    }
    if let Some(cpus) = settings.cpus {
        builder = builder.cpus(cpus);
    }
    if let Some(mib) = settings.memory_mib {
        builder = builder.memory(mib);
    }
    for port in ports {
        builder = match port.protocol {
            PortProtocol::Tcp => builder.port_bind(port.bind, port.host, port.guest),
            PortProtocol::Udp => builder.port_udp_bind(port.bind, port.host, port.guest),
        };
    }
    let policy = network_policy(settings)?;
    builder = builder.network(|n| n.policy(policy));
    for secret in &settings.secrets {
        builder = builder.secret(|s| {
            let s = s
                .env(&secret.name)
                .source(microsandbox::sandbox::SecretSource::env(&secret.host_env))
                .placeholder(crate::secrets::placeholder(&secret.name));
            secret.allowed_hosts.iter().fold(s, |s, host| s.allow(host))
        });
    }
    builder.create().await
}

/// Restores a template's full snapshot into a new, always detached, sandbox
/// with private copy-on-write RAM. Its cpus and memory are the template's (they
/// are part of the template key); env and workdir are not part of a snapshot,
/// commands get them per exec.
async fn fork(
    settings: &CreateSettings,
    target: &Target<'_>,
    ports: &[LeasedPort],
    template: &TemplateRecord,
) -> std::result::Result<Sandbox, MicrosandboxError> {
    let mut builder = Sandbox::restore(template.snapshot.clone()).name(target.name).forked();
    if let Some(secs) = target.lifetime.idle_timeout_secs {
        builder = builder.idle_timeout(secs);
    }
    if let Some(secs) = target.lifetime.max_duration_secs {
        builder = builder.max_duration(secs);
    }
    for port in ports {
        builder = match port.protocol {
            PortProtocol::Tcp => builder.port_bind(port.bind, port.host, port.guest),
            PortProtocol::Udp => builder.port_udp_bind(port.bind, port.host, port.guest),
        };
    }
    builder.network_policy(network_policy(settings)?).restore().await
}

fn network_policy(settings: &CreateSettings) -> std::result::Result<microsandbox::NetworkPolicy, MicrosandboxError> {
    settings
        .network_policy
        .to_microsandbox(&settings.allow_host_ports)
        .map_err(|e| MicrosandboxError::InvalidConfig(e.message))
}

/// Runs `bootstrapPreCommands` in order on a fresh sandbox; the first failure
/// fails the create with the end of its stderr. The command is named by its
/// index only, and env values are masked in the output: either may hold a token.
async fn run_bootstrap_pre_commands(
    sandbox: &Arc<Sandbox>,
    guest: &guest::GuestInfo,
    settings: &CreateSettings,
    progress: &Progress,
) -> Result<()> {
    let commands = &settings.bootstrap_pre_commands;
    for (i, command) in commands.iter().enumerate() {
        progress.report("bootstrap", format!("bootstrapPreCommands[{i}] of {}", commands.len()));
        let process = crate::process::Process::exec(
            sandbox.clone(),
            &guest.shell,
            command,
            guest.working_directory.clone(),
            guest.env.clone(),
        )
        .await?;
        let out = process.collect().await;
        if out.exit_code != 0 {
            let mut sensitive = settings.env.clone();
            sensitive.extend(settings.secrets.iter().filter_map(|s| Some((s.name.clone(), s.host_value().ok()?))));
            let stderr = crate::redact::env_values(&String::from_utf8_lossy(&out.stderr), &sensitive);
            let tail: String = stderr.chars().rev().take(2000).collect::<Vec<_>>().into_iter().rev().collect();
            return Err(Error::new(
                ErrorCode::BootFailed,
                format!("bootstrapPreCommands[{i}] exited with {}: {}", out.exit_code, tail.trim()),
            ));
        }
    }
    Ok(())
}

/// Names of all sandboxes the runtime knows, to tell live port leases from stale ones.
async fn live_sandbox_names() -> Result<HashSet<String>> {
    let mut names = HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = Sandbox::list_with(|l| match cursor.clone() {
            Some(c) => l.cursor(c),
            None => l,
        })
        .await?;
        names.extend(page.sandboxes.iter().map(|s| s.name().to_owned()));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(names),
        }
    }
}

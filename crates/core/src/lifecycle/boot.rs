//! Booting one sandbox: cold from the image (then the pre-commands), or
//! forked from a template's full snapshot; a boot whose agent never comes up
//! is retried once.

use std::sync::Arc;

use microsandbox::{MicrosandboxError, Sandbox};

use super::lifetime::Lifetime;
use super::provider::Provider;
use super::record::SessionRecord;
use super::session::{Ownership, Session, remove_sandbox};
use crate::error::{Error, ErrorCode, Result};
use crate::image::{self, ImageSource};
use crate::naming::OWNER_LABEL;
use crate::ports::LeasedPort;
use crate::progress::Progress;
use crate::settings::{CreateSettings, PortProtocol};
use crate::snapshots::TemplateRecord;
use crate::{guest, runtime};

impl Provider {
    /// Boots a sandbox: cold from the image (then runs the pre-commands), or
    /// forked from a template snapshot (already bootstrapped).
    pub(super) async fn boot(
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
            session_id: target.session_id.map(str::to_owned),
            env: Some(settings.guest_env(target.intercepts_https)),
            brokered: Vec::new(),
            allow_host_ports: settings.allow_host_ports.clone(),
            brokers_credentials: target.intercepts_https && settings.broker_credentials,
            idle_timeout_secs: target.lifetime.idle_timeout_secs,
            secrets: settings.secrets.clone(),
        };
        // Saved before booting, so that an orphan is found even if this process dies mid-boot.
        record.save(self.host.cache_root())?;
        let started = std::time::Instant::now();
        match template {
            Some(t) if target.intercepts_https => self.progress.report(
                "fork",
                format!("booting microVM {name} from the disk of template {} (HTTPS interception)", &t.key[..12]),
            ),
            Some(t) => self.progress.report("fork", format!("forking microVM {name} from template {}", &t.key[..12])),
            None => self.progress.report("boot", format!("booting microVM {name}")),
        }
        let attempt = || async {
            match template {
                // HTTPS interception cannot be switched on in a restored machine (0.7.2), so a
                // session that brokers credentials boots the template's disk instead of its RAM.
                Some(template) if target.intercepts_https => {
                    create(settings, Root::Template(template), target, ports, &self.progress).await
                }
                Some(template) => fork(settings, target, ports, template).await,
                None => create(settings, Root::Image(source), target, ports, &self.progress).await,
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
                )
                .caused_by(err));
            }
            Err(err @ (MicrosandboxError::Image(_) | MicrosandboxError::ImageNotFound(_))) => {
                return Err(image::missing_reference(&settings.image, err));
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
        let guest = guest::probe(&sandbox, workdir, &settings.guest_env(target.intercepts_https)).await?;
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
        .with_session_id(target.session_id.map(str::to_owned))
        .with_credential_brokering(target.intercepts_https && settings.broker_credentials)
        // Real values in commands' env become placeholders even where nothing swaps them back
        // (a template microVM): they must not reach a guest, or a snapshot.
        .with_secrets(settings.secrets.clone()))
    }
}

/// What a boot creates: its sandbox name, who owns it, how long it may live,
/// and whether it outlives this process (forks always do).
pub(super) struct Target<'a> {
    pub name: &'a str,
    /// The caller's `sessionId` / `sandboxId`, for a resumable session.
    pub session_id: Option<&'a str>,
    pub ownership: Ownership,
    pub lifetime: Lifetime,
    pub detached: bool,
    /// Boots with HTTPS interception (the `secrets` setting, credential
    /// brokering); never for a template microVM, whose RAM forks could not have it.
    pub intercepts_https: bool,
}

/// The microVM exited, or did not answer within the SDK's startup deadline.
fn agent_never_came_up(err: &MicrosandboxError) -> bool {
    match err {
        MicrosandboxError::BootStart { .. } => true,
        MicrosandboxError::Runtime(message) => crate::sdk_text::agent_startup_timed_out(message),
        _ => false,
    }
}

/// What a created sandbox's disk starts from.
enum Root<'a> {
    Image(&'a ImageSource),
    /// A template snapshot's disk, cold-booted (the bootstrap is already in it).
    Template(&'a TemplateRecord),
}

async fn create(
    settings: &CreateSettings,
    root: Root<'_>,
    target: &Target<'_>,
    ports: &[LeasedPort],
    progress: &Progress,
) -> std::result::Result<Sandbox, MicrosandboxError> {
    let builder = match root {
        Root::Image(source) => source.apply(Sandbox::builder(target.name)),
        Root::Template(template) => Sandbox::builder(target.name).override_snapshot(template.snapshot.clone()),
    };
    let mut builder = builder
        .label(OWNER_LABEL, "1")
        .envs(settings.guest_env(target.intercepts_https))
        // Resumable sessions outlive this process; the others stop with it (no leaked VMs).
        .detached(target.detached);
    if let Some(cpus) = settings.cpus {
        builder = builder.cpus(cpus);
    }
    if let Some(mib) = settings.memory_mib {
        builder = builder.memory(mib);
    }
    if target.intercepts_https {
        for secret in &settings.secrets {
            builder = builder.secret(|s| {
                let s = s
                    .env(&secret.name)
                    .source(microsandbox::sandbox::SecretSource::env(&secret.host_env))
                    .placeholder(crate::secrets::placeholder(&secret.name));
                secret.allowed_hosts.iter().fold(s, |s, host| s.allow(host))
            });
        }
        // Brokered credentials arrive later; the interception they need is only set at boot.
        builder = builder.network(|n| n.tls(|t| t.enabled(true)));
    }
    let builder = configure(builder, settings, target, ports)?;
    let needs_pull = match root {
        Root::Image(ImageSource::Reference(reference)) => microsandbox::Image::get(reference).await.is_err(),
        _ => false,
    };
    if !needs_pull {
        return builder.create().await;
    }
    // Only the SDK's pull reports bytes, and only from a task of its own: an abort of this
    // boot (most likely mid-download) stops that task too.
    let (events, task) = builder.create_with_pull_progress()?;
    let mut task = AbortOnDrop(task);
    tokio::spawn(crate::pull_progress::report(events, progress.clone()));
    (&mut task.0).await.map_err(|e| MicrosandboxError::Runtime(format!("the create task ended: {e}")))?
}

struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
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
    let builder = Sandbox::restore(template.snapshot.clone()).name(target.name).forked();
    configure(builder, settings, target, ports)?.restore().await
}

/// What a cold create and a fork set alike, on either builder.
trait BootBuilder: Sized {
    fn port(self, port: &LeasedPort) -> Self;
    fn idle_timeout_secs(self, secs: u64) -> Self;
    fn max_duration_secs(self, secs: u64) -> Self;
    fn policy(self, policy: microsandbox::NetworkPolicy) -> Self;
}

macro_rules! boot_builder {
    ($builder:ty, $policy:expr) => {
        impl BootBuilder for $builder {
            fn port(self, port: &LeasedPort) -> Self {
                match port.protocol {
                    PortProtocol::Tcp => self.port_bind(port.bind, port.host, port.guest),
                    PortProtocol::Udp => self.port_udp_bind(port.bind, port.host, port.guest),
                }
            }
            fn idle_timeout_secs(self, secs: u64) -> Self {
                self.idle_timeout(secs)
            }
            fn max_duration_secs(self, secs: u64) -> Self {
                self.max_duration(secs)
            }
            fn policy(self, policy: microsandbox::NetworkPolicy) -> Self {
                $policy(self, policy)
            }
        }
    };
}
boot_builder!(microsandbox::sandbox::SandboxBuilder, |b: Self, p| Self::network(b, |n| n.policy(p)));
boot_builder!(microsandbox::sandbox::RestoreBuilder, |b: Self, p| Self::network_policy(b, p));

/// The target's lifetime, the leased host ports and the network policy.
fn configure<B: BootBuilder>(
    builder: B,
    settings: &CreateSettings,
    target: &Target<'_>,
    ports: &[LeasedPort],
) -> std::result::Result<B, MicrosandboxError> {
    let mut builder = ports.iter().fold(builder, |b, port| b.port(port));
    if let Some(secs) = target.lifetime.idle_timeout_secs {
        builder = builder.idle_timeout_secs(secs);
    }
    if let Some(secs) = target.lifetime.max_duration_secs {
        builder = builder.max_duration_secs(secs);
    }
    Ok(builder.policy(network_policy(settings)?))
}

fn network_policy(settings: &CreateSettings) -> std::result::Result<microsandbox::NetworkPolicy, MicrosandboxError> {
    settings
        .network_policy
        .to_microsandbox(&settings.allow_host_ports, &crate::host_addresses::current())
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
            crate::process::UnreadBudget::new(crate::process::SESSION_UNREAD_BYTES),
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

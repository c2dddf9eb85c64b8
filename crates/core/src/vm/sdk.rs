//! The VM interface on the microsandbox SDK.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use microsandbox::{MicrosandboxError, Sandbox, Snapshot};

use super::{BootFailure, BootSpec, BoxFuture, Machine, Output, PublishedPort, Root, VmStatus, Vms};
use crate::error::{Error, ErrorCode, Result};
use crate::image::{self, ImageSource};
use crate::naming::OWNER_LABEL;
use crate::ports::LeasedPort;
use crate::settings::{CreateSettings, PortProtocol};
use crate::workspace::{self, WorkspaceMode};

/// Graceful shutdown budget before a sandbox is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// The runtime this package ships with (`msb`, found by [`crate::runtime::configure`]).
pub struct SdkVms;

struct SdkMachine(Arc<Sandbox>);

impl Vms for SdkVms {
    fn preflight(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(crate::runtime::preflight())
    }

    fn boot<'a>(&'a self, spec: BootSpec<'a>) -> BoxFuture<'a, Result<Arc<dyn Machine>, BootFailure>> {
        Box::pin(async move {
            let created = match spec.root {
                Root::Fork(snapshot) => fork(&spec, snapshot).await,
                _ => create(&spec).await,
            };
            match created {
                Ok(sandbox) => Ok(Arc::new(SdkMachine(Arc::new(sandbox))) as Arc<dyn Machine>),
                Err(err) => Err(failure(&spec, err).await),
            }
        })
    }

    fn status<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<VmStatus>>> {
        Box::pin(async move {
            match Sandbox::get(name).await {
                Ok(handle) => Ok(Some(match handle.status_snapshot() {
                    microsandbox::sandbox::SandboxStatus::Running => VmStatus::Running,
                    _ => VmStatus::NotRunning,
                })),
                Err(MicrosandboxError::SandboxNotFound(_)) => Ok(None),
                Err(e) => Err(e.into()),
            }
        })
    }

    fn connect<'a>(&'a self, name: &'a str, start: bool) -> BoxFuture<'a, Result<Arc<dyn Machine>>> {
        Box::pin(async move {
            let handle = Sandbox::get(name).await?;
            let connected = if start { handle.connect_or_start_detached().await } else { handle.connect().await };
            match connected {
                Ok(sandbox) => Ok(Arc::new(SdkMachine(Arc::new(sandbox))) as Arc<dyn Machine>),
                Err(err @ MicrosandboxError::BootStart { .. }) => {
                    Err(crate::runtime::explain_boot_failure(name, err).await)
                }
                Err(e) => Err(e.into()),
            }
        })
    }

    fn published_ports<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Vec<PublishedPort>>> {
        Box::pin(async move {
            let handle = Sandbox::get(name).await?;
            let ports = handle.config().map(|c| c.spec.network.ports).unwrap_or_default();
            Ok(ports
                .iter()
                .map(|p| PublishedPort {
                    guest: p.guest_port,
                    host: p.host_port,
                    bind: p.host_bind.parse().unwrap_or(std::net::IpAddr::from([127, 0, 0, 1])),
                })
                .collect())
        })
    }

    fn remove<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let handle = match Sandbox::get(name).await {
                Ok(handle) => handle,
                Err(MicrosandboxError::SandboxNotFound(_)) => return Ok(()),
                Err(e) => return Err(e.into()),
            };
            if let Err(err) = handle.stop_with_timeout(STOP_TIMEOUT).await
                && !matches!(err, MicrosandboxError::SandboxNotRunning(_) | MicrosandboxError::SandboxNotFound(_))
            {
                let _ = handle.kill().await;
            }
            match handle.remove().await {
                Ok(()) | Err(MicrosandboxError::SandboxNotFound(_)) => Ok(()),
                Err(e) => Err(e.into()),
            }
        })
    }

    fn names(&self) -> BoxFuture<'_, Result<HashSet<String>>> {
        Box::pin(async move {
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
        })
    }

    fn snapshot<'a>(&'a self, name: &'a str, snapshot: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            // A snapshot of an earlier, unpublished attempt would block the name.
            let _ = Snapshot::remove(snapshot, true).await;
            let (group, local) = snapshot
                .split_once(':')
                .ok_or_else(|| Error::internal(format!("snapshot name {snapshot} has no group")))?;
            Snapshot::builder(local).from_sandbox(name).group(group).full().create().await?;
            Ok(())
        })
    }

    fn snapshot_exists<'a>(&'a self, snapshot: &'a str) -> BoxFuture<'a, bool> {
        Box::pin(async move { Snapshot::get(snapshot).await.is_ok() })
    }

    fn image_digest<'a>(&'a self, image: &'a str) -> BoxFuture<'a, Option<String>> {
        Box::pin(async move { microsandbox::Image::get(image).await.ok()?.manifest_digest().map(str::to_owned) })
    }
}

impl Machine for SdkMachine {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn probe<'a>(
        &'a self,
        script: &'a str,
        env: &'a BTreeMap<String, String>,
        as_root: bool,
    ) -> BoxFuture<'a, Result<Output>> {
        Box::pin(async move {
            let output = self
                .0
                .exec_with("/bin/sh", |o| {
                    let o = o.args(["-c", script]).envs(env.clone()).stdin_null();
                    if as_root { o.user("root") } else { o }
                })
                .await
                .map_err(|e| {
                    Error::new(
                        ErrorCode::ExecFailed,
                        format!("cannot run /bin/sh in the guest (does the image have one?): {e}"),
                    )
                    .caused_by(e)
                })?;
            Ok(Output {
                exit_code: output.status().code,
                stdout: output.stdout_bytes().to_vec(),
                stderr: output.stderr_bytes().to_vec(),
            })
        })
    }

    fn run<'a>(
        &'a self,
        shell: &'a str,
        command: &'a str,
        cwd: &'a str,
        env: &'a BTreeMap<String, String>,
        as_root: bool,
    ) -> BoxFuture<'a, Result<Output>> {
        Box::pin(async move {
            // Through a process, so that its output is bounded like every command's.
            let budget = crate::process::UnreadBudget::new(crate::process::SESSION_UNREAD_BYTES);
            let process = crate::process::Process::start(
                self.0.clone(),
                crate::process::Launch::Exec,
                shell,
                command,
                cwd.to_owned(),
                env.clone(),
                budget,
                as_root.then_some("root"),
            )
            .await?;
            let out = process.collect().await;
            Ok(Output { exit_code: out.exit_code, stdout: out.stdout, stderr: out.stderr })
        })
    }

    fn touch(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            self.0.touch().await?;
            Ok(())
        })
    }

    fn stop(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            let sandbox = &self.0;
            match sandbox.stop_with_timeout(STOP_TIMEOUT).await {
                Ok(()) | Err(MicrosandboxError::SandboxNotRunning(_) | MicrosandboxError::SandboxNotFound(_)) => Ok(()),
                Err(_) => match sandbox.kill().await {
                    Ok(()) | Err(MicrosandboxError::SandboxNotRunning(_) | MicrosandboxError::SandboxNotFound(_)) => {
                        Ok(())
                    }
                    Err(e) => Err(e.into()),
                },
            }
        })
    }

    fn sdk(&self) -> Option<Arc<Sandbox>> {
        Some(self.0.clone())
    }
}

/// Says why a boot failed, and whether it is worth one more try.
async fn failure(spec: &BootSpec<'_>, err: MicrosandboxError) -> BootFailure {
    let transient = match &err {
        MicrosandboxError::BootStart { .. } => true,
        MicrosandboxError::Runtime(message) => crate::sdk_text::agent_startup_timed_out(message),
        _ => false,
    };
    let error = match err {
        err @ MicrosandboxError::BootStart { .. } => crate::runtime::explain_boot_failure(spec.name, err).await,
        err @ (MicrosandboxError::Image(_) | MicrosandboxError::ImageNotFound(_)) => {
            image::missing_reference(&spec.settings.image, err)
        }
        err => err.into(),
    };
    BootFailure { error, transient }
}

async fn create(spec: &BootSpec<'_>) -> std::result::Result<Sandbox, MicrosandboxError> {
    let settings = spec.settings;
    let builder = match spec.root {
        Root::Image(source) => source.apply(Sandbox::builder(spec.name)),
        Root::TemplateDisk(snapshot) | Root::Fork(snapshot) => {
            Sandbox::builder(spec.name).override_snapshot(snapshot.to_owned())
        }
    };
    let mut builder = builder
        .label(OWNER_LABEL, "1")
        .envs(settings.guest_env(spec.intercepts_https))
        // Resumable sessions outlive this process; the others stop with it (no leaked VMs).
        .detached(spec.detached);
    if let Some(cpus) = settings.cpus {
        builder = builder.cpus(cpus);
    }
    if let Some(mib) = settings.memory_mib {
        builder = builder.memory(mib);
    }
    if spec.intercepts_https {
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
    let builder = configure(builder, spec)?;
    let needs_pull = match spec.root {
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
    tokio::spawn(crate::pull_progress::report(events, spec.progress.clone()));
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
async fn fork(spec: &BootSpec<'_>, snapshot: &str) -> std::result::Result<Sandbox, MicrosandboxError> {
    let builder = Sandbox::restore(snapshot.to_owned()).name(spec.name).forked();
    configure(builder, spec)?.restore().await
}

/// What a cold create and a fork set alike, on either builder.
trait BootBuilder: Sized {
    fn port(self, port: &LeasedPort) -> Self;
    fn bind(self, guest: &str, host: &std::path::Path) -> Self;
    fn bind_readonly(self, guest: &str, host: &std::path::Path) -> Self;
    fn owned_disk(self, guest: &str, mib: u32) -> Self;
    fn default_user(self, user: &str) -> Self;
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
            // The agent's chmod +x reaches the host file; ownership and other mode bits stay in
            // the runtime's per-file overlay (a guest cannot make a setuid file on the host).
            fn bind(self, guest: &str, host: &std::path::Path) -> Self {
                self.volume(guest, |m| m.bind(host).host_permissions(microsandbox::sandbox::HostPermissions::Mirror))
            }
            // Refused by the runtime's file server on the host, whatever the guest remounts.
            fn bind_readonly(self, guest: &str, host: &std::path::Path) -> Self {
                self.volume(guest, |m| m.bind(host).readonly())
            }
            fn owned_disk(self, guest: &str, mib: u32) -> Self {
                self.volume(guest, |m| m.owned_with(|v| v.disk().size(mib)))
            }
            fn default_user(self, user: &str) -> Self {
                self.user(user)
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

/// The lifetime, the leased host ports, the workspace and the network policy. A fork
/// binds its own workspace where the template had its placeholder; an overlay's upper
/// disk is the runtime's to restore (a private copy of the template's, which is empty).
fn configure<B: BootBuilder>(builder: B, spec: &BootSpec<'_>) -> std::result::Result<B, MicrosandboxError> {
    let mut builder = spec.ports.iter().fold(builder, |b, port| b.port(port));
    let mode = spec.settings.workspace.as_ref().map(|w| w.mode);
    match (spec.workspace, spec.settings.workdir.as_deref(), mode) {
        (Some(host), Some(guest), Some(WorkspaceMode::Mount)) => builder = builder.bind(guest, host),
        (Some(host), Some(_), Some(WorkspaceMode::Overlay)) => {
            builder = builder.bind_readonly(workspace::OVERLAY_LOWER, host);
            if !matches!(spec.root, Root::Fork(_)) {
                builder = builder.owned_disk(workspace::OVERLAY_UPPER_DISK, workspace::OVERLAY_DISK_MIB);
            }
        }
        _ => {}
    }
    if let Some(user) = &spec.settings.user {
        builder = builder.default_user(user);
    }
    if let Some(secs) = spec.idle_timeout_secs {
        builder = builder.idle_timeout_secs(secs);
    }
    if let Some(secs) = spec.max_duration_secs {
        builder = builder.max_duration_secs(secs);
    }
    Ok(builder.policy(network_policy(spec.settings)?))
}

fn network_policy(settings: &CreateSettings) -> std::result::Result<microsandbox::NetworkPolicy, MicrosandboxError> {
    settings
        .network_policy
        .to_microsandbox(&settings.allow_host_ports, &crate::host_addresses::current())
        .map_err(|e| MicrosandboxError::InvalidConfig(e.message))
}

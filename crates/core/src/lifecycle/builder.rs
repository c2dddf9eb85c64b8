//! Booting one session's microVM: cold from the image (then the
//! pre-commands), cold from a template's disk, or forked from a template's
//! full snapshot; with its host ports leased, a boot whose agent never comes
//! up retried once, and everything removed when it fails. Creates, warm-pool
//! members and template bootstraps all boot here.

use std::path::Path;
use std::sync::Arc;

use super::lifetime::{Lifetime, Ownership};
use super::record::SessionRecord;
use super::session::{Session, SessionParts};
use crate::cancel::Cancel;
use crate::error::{Error, ErrorCode, Result};
use crate::guest;
use crate::host::Host;
use crate::image::ImageSource;
use crate::ports::{LeasedPort, PortLeases};
use crate::progress::{Progress, Timeline};
use crate::settings::{CreateSettings, PortProtocol};
use crate::snapshots::{TemplateRecord, TemplateStore};
use crate::vm::{BootSpec, Machine, Root};
use crate::workspace::{BoundWorkspace, WorkspaceMode};

/// Boots sessions on one host, reporting to the caller's progress.
pub(super) struct Builder {
    pub host: Arc<Host>,
    pub progress: Progress,
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
    /// The host directory bound at the workdir (`workspace`), resolved.
    pub workspace: Option<&'a Path>,
    /// A template microVM: its workspace is a placeholder that no overlay is mounted on.
    pub is_template: bool,
}

impl Builder {
    /// Leases the target's host ports and boots it (cold, or from `template`); `timeline`
    /// holds the caller's steps before this one.
    /// An abort drops the boot wherever it is; on any failure the sandbox, its
    /// leases and its record are removed.
    pub async fn boot_leased(
        &self,
        settings: &CreateSettings,
        source: &ImageSource,
        target: &Target<'_>,
        template: Option<&TemplateRecord>,
        mut timeline: Timeline,
        cancel: &Cancel,
    ) -> Result<Session> {
        let name = target.name;
        let _creating = self.host.creating(name);
        let ports = if settings.ports.is_empty() {
            Vec::new()
        } else {
            let live = self.host.vms().names().await?;
            // No session's guest may reach this one's ports through its `allowHostPorts`.
            let mut reserved = settings.allow_host_ports.clone();
            reserved.extend(SessionRecord::all(self.host.cache_root()).into_iter().flat_map(|r| r.allow_host_ports));
            PortLeases::new(self.host.cache_root()).acquire(
                name,
                &settings.ports,
                &reserved,
                &|owner| live.contains(owner) || self.host.is_creating(owner),
                &self.host,
            )?
        };
        timeline.lap("port leases");
        match cancel.guard(self.boot(settings, source, target, &ports, template, &mut timeline)).await {
            Ok(session) => {
                if let Some(template) = template {
                    TemplateStore::new(self.host.cache_root()).touch(&template.key);
                }
                timeline.report(&self.progress, &format!("microVM {name}"));
                Ok(session)
            }
            Err(err) => {
                // A failed boot leaves a stopped row and our leases behind: clean both.
                let _ = self.host.vms().remove(name).await;
                let _ = PortLeases::new(self.host.cache_root()).release(name, &ports);
                SessionRecord::remove(self.host.cache_root(), name);
                Err(err)
            }
        }
    }

    /// Boots on ports already leased: cold from the image (then runs the
    /// pre-commands), or from a template snapshot (already bootstrapped).
    pub async fn boot(
        &self,
        settings: &CreateSettings,
        source: &ImageSource,
        target: &Target<'_>,
        ports: &[LeasedPort],
        template: Option<&TemplateRecord>,
        timeline: &mut Timeline,
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
            workspace: None,
            guest: None,
        };
        // Saved before booting, so that an orphan is found even if this process dies mid-boot.
        record.save(self.host.cache_root())?;
        timeline.lap("record");
        let started = std::time::Instant::now();
        let root = match template {
            // HTTPS interception cannot be switched on in a restored machine (0.7.2), so a
            // session that brokers credentials boots the template's disk instead of its RAM.
            Some(t) if target.intercepts_https => {
                self.progress.report(
                    "fork",
                    format!("booting microVM {name} from the disk of template {} (HTTPS interception)", &t.key[..12]),
                );
                Root::TemplateDisk(&t.snapshot)
            }
            Some(t) => {
                self.progress.report("fork", format!("forking microVM {name} from template {}", &t.key[..12]));
                Root::Fork(&t.snapshot)
            }
            None => {
                self.progress.report("boot", format!("booting microVM {name}"));
                Root::Image(source)
            }
        };
        let machine = self.boot_retrying(settings, root, target, ports).await?;
        timeline.lap(if template.is_some() && !target.intercepts_https {
            "restore (runtime)"
        } else {
            "boot (runtime)"
        });
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
        let workspace = bound_workspace(settings, target);
        if let Some(w) = workspace.as_ref().filter(|w| w.mode == WorkspaceMode::Overlay && !target.is_template) {
            mount_overlay(machine.as_ref(), w, settings.user.as_deref()).await?;
            timeline.lap("overlay mount");
        }
        // The working directory must be the user's to write in (a fork's template saw to it).
        if let (Some(user), None) = (&settings.user, template) {
            prepare_workdir(machine.as_ref(), user, settings.workdir.as_deref()).await?;
        }
        let settings_env = settings.guest_env(target.intercepts_https);
        let guest = match template.and_then(|t| t.guest.clone()) {
            // A fork resumes the template's own machine: what its probe read still holds.
            Some(probed) if matches!(root, Root::Fork(_)) => guest::GuestInfo::of(probed, &settings_env),
            _ => {
                let guest = guest::probe(machine.as_ref(), workdir, &settings_env).await?;
                timeline.lap("guest probe");
                guest
            }
        };
        self.progress.report("boot", format!("microVM {name} is up after {} ms", started.elapsed().as_millis()));
        // The pre-commands may install what the probe looks for (bash): it asks again after them.
        let guest = if template.is_none() && !settings.bootstrap_pre_commands.is_empty() {
            run_bootstrap_pre_commands(machine.as_ref(), &guest, settings, &self.progress).await?;
            guest::probe(machine.as_ref(), workdir, &settings_env).await?
        } else {
            guest
        };
        SessionRecord {
            working_directory: guest.working_directory.clone(),
            workspace: workspace.clone(),
            guest: Some(guest.probed.clone()),
            ..record
        }
        .save(self.host.cache_root())?;
        timeline.lap("record");
        Ok(Session::new(SessionParts {
            workspace,
            machine,
            guest,
            ports: ports.to_vec(),
            public_hostname: settings.public_hostname.clone(),
            ownership,
            forked_from_template: template.is_some(),
            host: self.host.clone(),
            session_id: target.session_id.map(str::to_owned),
            record_key: None,
            lease_owner: None,
            lifetime: target.lifetime,
            brokers_credentials: target.intercepts_https && settings.broker_credentials,
            // Real values in commands' env become placeholders even where nothing swaps them back
            // (a template microVM): they must not reach a guest, or a snapshot.
            secrets: settings.secrets.clone(),
        }))
    }

    /// A microVM that exits or hangs before its agent comes up is booted once
    /// more: seen as a transient failure on a loaded host. A persistent fault fails twice.
    async fn boot_retrying(
        &self,
        settings: &CreateSettings,
        root: Root<'_>,
        target: &Target<'_>,
        ports: &[LeasedPort],
    ) -> Result<Arc<dyn Machine>> {
        let spec = || BootSpec {
            name: target.name,
            root,
            settings,
            idle_timeout_secs: target.lifetime.idle_timeout_secs,
            max_duration_secs: target.lifetime.max_duration_secs,
            detached: target.detached,
            intercepts_https: target.intercepts_https,
            ports,
            workspace: target.workspace,
            progress: &self.progress,
        };
        let vms = self.host.vms();
        match vms.boot(spec()).await {
            Ok(machine) => return Ok(machine),
            Err(failure) if !failure.transient => return Err(failure.error),
            Err(_) => {}
        }
        tracing::warn!(sandbox = target.name, "microVM did not bring its agent up; retrying the boot once");
        vms.remove(target.name).await?;
        match vms.boot(spec()).await {
            Ok(machine) => Ok(machine),
            Err(failure) if failure.transient && failure.error.code == ErrorCode::BootFailed => Err(Error::new(
                ErrorCode::BootFailed,
                format!(
                    "microVM {} booted twice without its agent coming up; is the host overloaded? ({})",
                    target.name, failure.error
                ),
            )
            .caused_by(failure.error)),
            Err(failure) => Err(failure.error),
        }
    }
}

fn bound_workspace(settings: &CreateSettings, target: &Target<'_>) -> Option<BoundWorkspace> {
    Some(BoundWorkspace {
        host: target.workspace?.to_path_buf(),
        mode: settings.workspace.as_ref()?.mode,
        guest: settings.workdir.clone()?,
    })
}

/// Mounts an overlay workspace (after a boot, fork or restart); fails the create or resume.
pub(super) async fn mount_overlay(machine: &dyn Machine, workspace: &BoundWorkspace, user: Option<&str>) -> Result<()> {
    let env = crate::workspace::mount_overlay_env(&workspace.guest, user);
    let out = machine.probe(crate::workspace::MOUNT_OVERLAY, &env, true).await?;
    if out.exit_code != 0 {
        return Err(Error::new(
            ErrorCode::BootFailed,
            format!(
                "cannot mount the overlay workspace at {} (does the guest kernel have overlayfs?): {}",
                workspace.guest,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ));
    }
    Ok(())
}

/// `$W` (or the image's working directory, unless `/`) made and given to `$U`, as root.
const PREPARE_WORKDIR: &str = r#"d=${W:-$(pwd -P)}; [ "$d" = / ] && exit 0; mkdir -p "$d" && { chown "$U:" "$d" 2>/dev/null || chown "$U" "$d"; }"#;

async fn prepare_workdir(machine: &dyn Machine, user: &str, workdir: Option<&str>) -> Result<()> {
    let env = std::collections::BTreeMap::from([
        ("W".to_owned(), workdir.unwrap_or("").to_owned()),
        ("U".to_owned(), user.to_owned()),
    ]);
    let out = machine.probe(PREPARE_WORKDIR, &env, true).await?;
    if out.exit_code != 0 {
        return Err(Error::new(
            ErrorCode::InvalidSettings,
            format!(
                "cannot give the working directory to `user` {user:?} (is it a user of the image?): {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ));
    }
    Ok(())
}

/// Runs `bootstrapPreCommands` in order on a fresh sandbox; the first failure
/// fails the create with the end of its stderr. The command is named by its
/// index only, and env values are masked in the output: either may hold a token.
async fn run_bootstrap_pre_commands(
    machine: &dyn Machine,
    guest: &guest::GuestInfo,
    settings: &CreateSettings,
    progress: &Progress,
) -> Result<()> {
    let commands = &settings.bootstrap_pre_commands;
    for (i, command) in commands.iter().enumerate() {
        progress.report("bootstrap", format!("bootstrapPreCommands[{i}] of {}", commands.len()));
        // As root, whoever the session's user is: they install what the image lacks.
        let out = machine.run(&guest.shell, command, &guest.working_directory, &guest.env, true).await?;
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

//! Creates and resumes sessions, in create mode (we own the microVMs) or wrap
//! mode (the caller owns one sandbox and we attach to it).

use std::collections::HashSet;
use std::sync::Arc;

use microsandbox::{MicrosandboxError, Sandbox};

use super::boot::Target;
use super::first_create::FirstCreate;
use super::lifetime::Lifetime;
use super::record::SessionRecord;
use super::session::{Ownership, Session, remove_sandbox};
use crate::cancel::Cancel;
use crate::error::{Error, ErrorCode, Result};
use crate::host::Host;
use crate::image::{self, ImageSource};
use crate::naming;
use crate::ports::PortLeases;
use crate::progress::Progress;
use crate::settings::{CreateSettings, PortProtocol, Settings, Shape};
use crate::snapshots::{self, TemplateRecord, TemplateStore};
use crate::{guest, runtime};

pub struct Provider {
    pub(super) settings: Settings,
    shape: Shape,
    pub(super) host: Arc<Host>,
    pub(super) progress: Progress,
    /// Sessions booted ahead of creates with a `sessionId` (`warmPool`).
    pub(super) pool: Option<Arc<super::pooled::MemberPool>>,
}

impl Provider {
    /// A provider on `host` (see [`crate::host::Hosts`]: providers of one cache root share it).
    pub fn new(settings: Settings, host: Arc<Host>) -> Self {
        let pool = match &settings {
            Settings::Create(s) if s.warm_pool_size > 0 => Some(super::pool::WarmPool::new(s.warm_pool_size)),
            _ => None,
        };
        let shape = match &settings {
            Settings::Create(s) => s.shape,
            Settings::Wrap(_) => Shape::Provider,
        };
        Self { settings, shape, host, progress: Progress::default(), pool }
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
    fn supports_templates(&self) -> bool {
        matches!(&self.settings, Settings::Create(s) if image::snapshot_capable(&s.image))
    }

    /// A new session. With a `session_id` the microVM is named after it,
    /// outlives this process and can be resumed; without one it is removed on
    /// stop, and by the next process if this one dies first. With an
    /// `identity`, `first_create` runs once on a template microVM whose
    /// snapshot this and later sessions of the identity fork from; a session
    /// that cannot fork runs it itself. A wrapped sandbox is the caller's:
    /// `first_create` never runs there.
    pub async fn create_session(
        self: &Arc<Self>,
        session_id: Option<&str>,
        identity: Option<&str>,
        first_create: Option<&dyn FirstCreate>,
        cancel: &Cancel,
    ) -> Result<Arc<Session>> {
        let settings = match &self.settings {
            Settings::Create(s) => s,
            Settings::Wrap(w) => return self.attach(w).await.map(Arc::new),
        };
        let generated;
        let session_id = match (session_id, self.shape) {
            (None, Shape::SessionFactory) => {
                generated = naming::sandbox_id();
                Some(generated.as_str())
            }
            (id, _) => id,
        };
        let session = Arc::new(self.create(settings, session_id, identity, first_create, cancel).await?);
        if let Some(setup) = first_create
            && !session.forked_from_template()
            && let Err(err) = cancel.guard(setup.run(session.clone())).await
        {
            let _ = session.destroy().await;
            return Err(err);
        }
        Ok(session)
    }

    /// Reattaches to a running session, or restarts a stopped one, by `session_id`.
    pub async fn resume_session(&self, session_id: &str, cancel: &Cancel) -> Result<Session> {
        let settings = match &self.settings {
            Settings::Create(s) => s,
            Settings::Wrap(w) => return self.attach(w).await,
        };
        settings.secrets.iter().try_for_each(|s| s.host_value().map(drop))?;
        let name = self.session_name(settings, session_id);
        let record = SessionRecord::load(self.host.cache_root(), &name)
            // A session created by a factory under another name prefix.
            .or_else(|| SessionRecord::find_by_session_id(self.host.cache_root(), session_id))
            .ok_or_else(|| not_found(session_id))?;
        let session = resume_record(&self.host, record, session_id, cancel).await?;
        Ok(session.reporting_session_id(self.shape == Shape::SessionFactory))
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
        first_create: Option<&dyn FirstCreate>,
        cancel: &Cancel,
    ) -> Result<Session> {
        settings.secrets.iter().try_for_each(|s| s.host_value().map(drop))?;
        self.host.preflight().await?;
        self.host.reap_orphans_once(|| async { drop(super::orphans::reap(&self.host).await) }).await;
        let source = image::resolve(&self.host, &settings.image, &self.progress).await?;
        let template_key = match (identity, &source) {
            (Some(identity), ImageSource::Reference(image_ref)) if self.supports_templates() => {
                Some(snapshots::template_key(identity, settings, image_ref))
            }
            _ => None,
        };
        if let (Some(key), Some(setup)) = (&template_key, first_create) {
            self.bootstrap_template(settings, &source, key, setup, cancel).await?;
        }
        // A fork holds its template shared until it has booted, so pruning cannot remove it meanwhile.
        let (template, _template_hold) = match (&template_key, &source) {
            (Some(key), ImageSource::Reference(image_ref)) => {
                let hold = cancel.guard(TemplateStore::new(self.host.cache_root()).lock_shared(key)).await?;
                (self.usable_template(key, image_ref).await, Some(hold))
            }
            _ => (None, None),
        };
        let Some(session_id) = session_id else {
            let target = Target {
                name: &naming::anonymous_name(),
                session_id: None,
                ownership: Ownership::Ephemeral,
                lifetime: Lifetime::of(settings, Ownership::Ephemeral),
                detached: false,
                intercepts_https: settings.intercepts_https(),
            };
            return self.boot_leased(settings, &source, &target, template.as_ref(), cancel).await;
        };
        let name = self.session_name(settings, session_id);
        self.clear_existing(&name, session_id, settings.replace).await?;
        let plan = super::pooled::MemberPlan { source: source.clone(), template: template.clone() };
        if let Some(session) = self.take_from_pool(&plan, &name, session_id)? {
            self.refill_pool(plan);
            return Ok(session.reporting_session_id(self.shape == Shape::SessionFactory));
        }
        let target = Target {
            name: &name,
            session_id: Some(session_id),
            ownership: Ownership::Resumable,
            lifetime: Lifetime::of(settings, Ownership::Resumable),
            detached: true,
            intercepts_https: settings.intercepts_https(),
        };
        let session = self.boot_leased(settings, &source, &target, template.as_ref(), cancel).await?;
        self.refill_pool(plan);
        Ok(session.reporting_session_id(self.shape == Shape::SessionFactory))
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
        // No session's guest may reach this one's ports through its `allowHostPorts`.
        let mut reserved = settings.allow_host_ports.clone();
        reserved.extend(SessionRecord::all(self.host.cache_root()).into_iter().flat_map(|r| r.allow_host_ports));
        let ports = PortLeases::new(self.host.cache_root()).acquire(
            name,
            &settings.ports,
            &reserved,
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
        // The same id under another name prefix is the same session to a resume by id.
        if let Some(other) = SessionRecord::find_by_session_id(self.host.cache_root(), session_id)
            && other.name != name
        {
            return Err(self.session_exists(session_id, &other.name));
        }
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
            return Err(self.session_exists(session_id, name));
        }
        remove_sandbox(&sandbox).await?;
        PortLeases::new(self.host.cache_root()).release(&sandbox, &record.map(|r| r.ports).unwrap_or_default())?;
        SessionRecord::remove(self.host.cache_root(), name);
        Ok(())
    }
}

impl Provider {
    fn session_exists(&self, session_id: &str, name: &str) -> Error {
        let what_to_do = match self.shape {
            Shape::SessionFactory => {
                "resume it with resumeMicrosandboxNetworkSandboxSession({ sandboxId }), or destroy it first"
            }
            Shape::Provider => {
                "resume it with resumeSession(), destroy it first, or set `replace: true` to recreate it"
            }
        };
        Error::new(
            ErrorCode::SessionExists,
            format!("a sandbox session with id '{session_id}' already exists (microVM {name}); {what_to_do}"),
        )
    }

    /// What callers of this shape call a session's id, for error messages.
    pub fn id_field(&self) -> &'static str {
        match self.shape {
            Shape::SessionFactory => "sandboxId",
            Shape::Provider => "sessionId",
        }
    }
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

fn not_found(session_id: &str) -> Error {
    Error::new(
        ErrorCode::SessionNotFound,
        format!("no sandbox session with id '{session_id}' exists (it was never created here, or was destroyed)"),
    )
}

/// Resumes the session a record describes, by the id the caller gave: a
/// record created for another id is refused. Running sessions are reattached,
/// stopped ones started again. The record holds all it takes, so both shapes
/// resume the same way.
pub(super) async fn resume_record(
    host: &Arc<Host>,
    record: SessionRecord,
    session_id: &str,
    cancel: &Cancel,
) -> Result<Session> {
    // The record must have been made for this very id: a name alone could collide.
    if record.session_id.as_deref() != Some(session_id) {
        return Err(not_found(session_id));
    }
    host.preflight().await?;
    let sandbox_name = record.sandbox_name().to_owned();
    let handle = match Sandbox::get(&sandbox_name).await {
        Ok(handle) => handle,
        Err(MicrosandboxError::SandboxNotFound(_)) => return Err(not_found(session_id)),
        Err(e) => return Err(e.into()),
    };
    // A stopped session's host ports were free while it ran; if another program took one
    // since, the runtime would only log it and the URL would reach that program instead.
    let running = matches!(handle.status_snapshot(), microsandbox::sandbox::SandboxStatus::Running);
    if !running
        && let Some(port) = record.ports.iter().find(|p| p.protocol == PortProtocol::Tcp && crate::ports::published(p))
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
    let env = record.env.clone().unwrap_or_default();
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
            let guest = guest::probe(&sandbox, Some(&record.working_directory), &env).await?;
            Ok((sandbox, guest))
        })
        .await?;
    // The bound the microVM booted with, whoever resumes it (the runtime keeps it).
    let lifetime = Lifetime { idle_timeout_secs: record.idle_timeout_secs, max_duration_secs: None };
    Ok(Session::new(
        Arc::new(sandbox),
        guest,
        record.ports,
        record.public_hostname,
        Ownership::Resumable,
        false,
        host.clone(),
    )
    .with_credential_brokering(record.brokers_credentials)
    .with_record_key(record.name)
    .with_session_id(Some(session_id.to_owned()))
    .with_keepalive(lifetime)
    .with_secrets(record.secrets))
}

/// Resumes the session created for `session_id` from the record alone, for
/// `resumeMicrosandboxNetworkSandboxSession({ sandboxId })`: no settings needed.
pub async fn resume_by_session_id(host: &Arc<Host>, session_id: &str, cancel: &Cancel) -> Result<Session> {
    let record =
        SessionRecord::find_by_session_id(host.cache_root(), session_id).ok_or_else(|| not_found(session_id))?;
    Ok(resume_record(host, record, session_id, cancel).await?.reporting_session_id(true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn session_identity_a_resume_under_another_id_than_the_records_is_refused_before_any_runtime_call() {
        let root = std::env::temp_dir().join(format!("aisdk-resume-id-{}", naming::sandbox_id()));
        let host = Host::new(root.clone());
        let record = |session_id: Option<&str>| SessionRecord {
            name: naming::session_name(None, "victim"),
            working_directory: "/root".to_owned(),
            session_id: session_id.map(str::to_owned),
            ..Default::default()
        };
        for (stored, asked) in [(Some("victim"), "attacker"), (None, "attacker")] {
            let err = resume_record(&host, record(stored), asked, &Cancel::never()).await.err().unwrap();
            assert_eq!(err.code, ErrorCode::SessionNotFound, "{stored:?}");
            assert!(err.message.contains("attacker"));
        }
        let _ = std::fs::remove_dir_all(root);
    }
}

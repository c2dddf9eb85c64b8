//! Creates and resumes sessions, in create mode (we own the microVMs) or wrap
//! mode (the caller owns one sandbox and we attach to it).

use std::sync::Arc;

use super::builder::{Builder, Target};
use super::first_create::FirstCreate;
use super::lifetime::{Lifetime, Ownership};
use super::pool::PoolStatus;
use super::pooled::{MemberPlan, SessionPool};
use super::record::SessionRecord;
use super::session::{Session, SessionParts};
use super::template::usable_template;
use crate::cancel::Cancel;
use crate::error::{Error, ErrorCode, Result};
use crate::host::Host;
use crate::image::{self, ImageSource};
use crate::naming;
use crate::ports::PortLeases;
use crate::progress::{Progress, Timeline};
use crate::settings::{CreateSettings, PortProtocol, Settings, Shape};
use crate::snapshots::{self, TemplateLock, TemplateRecord, TemplateStore};
use crate::vm::VmStatus;

pub struct Provider {
    settings: Settings,
    shape: Shape,
    builder: Arc<Builder>,
    /// Sessions booted ahead of creates with a `sessionId` (`warmPool`).
    pool: Option<SessionPool>,
}

impl Provider {
    /// A provider on `host` (see [`crate::host::Hosts`]: providers of one cache root share it).
    pub fn new(settings: Settings, host: Arc<Host>) -> Self {
        Self::assemble(settings, host, Progress::default())
    }

    /// Reports long steps to `progress` (the caller's `onProgress`).
    pub fn with_progress(self, progress: Progress) -> Self {
        Self::assemble(self.settings, self.builder.host.clone(), progress)
    }

    fn assemble(settings: Settings, host: Arc<Host>, progress: Progress) -> Self {
        let builder = Arc::new(Builder { host, progress });
        let (shape, pool) = match &settings {
            Settings::Create(s) => {
                (s.shape, (s.warm_pool_size > 0).then(|| SessionPool::new(s.warm_pool_size, &builder, s)))
            }
            Settings::Wrap(_) => (Shape::Provider, None),
        };
        Self { settings, shape, builder, pool }
    }

    fn host(&self) -> &Arc<Host> {
        &self.builder.host
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
            Settings::Wrap(w) => return super::wrap::attach(self.host(), w).await.map(Arc::new),
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
        // The code comes first (a setup may build it); a session that did not fork runs the setup
        // itself. Either failing removes the session.
        let prepared = async {
            if let Some(source) = &settings.source {
                fetch_source(&session, source).await?;
            }
            match first_create {
                Some(setup) if !session.forked_from_template() => setup.run(session.clone()).await,
                _ => Ok(()),
            }
        };
        if let Err(err) = cancel.guard(prepared).await {
            let _ = session.destroy().await;
            return Err(err);
        }
        Ok(session)
    }

    /// Reattaches to a running session, or restarts a stopped one, by `session_id`.
    pub async fn resume_session(&self, session_id: &str, cancel: &Cancel) -> Result<Session> {
        let settings = match &self.settings {
            Settings::Create(s) => s,
            Settings::Wrap(w) => return super::wrap::attach(self.host(), w).await,
        };
        settings.secrets.iter().try_for_each(|s| s.host_value().map(drop))?;
        let name = self.session_name(settings, session_id);
        let record = SessionRecord::load(self.host().cache_root(), &name)
            // A session created by a factory under another name prefix.
            .or_else(|| SessionRecord::find_by_session_id(self.host().cache_root(), session_id))
            .ok_or_else(|| not_found(session_id))?;
        let session = resume_record(self.host(), record, session_id, cancel).await?;
        Ok(session.reporting_session_id(self.shape == Shape::SessionFactory))
    }

    /// Removes orphaned sandboxes (sessions without an id whose process is
    /// gone) and templates not used lately beyond the newest few.
    pub async fn prune(&self, options: snapshots::PruneOptions) -> super::state::Pruned {
        super::state::prune(self.host(), options).await
    }

    /// An explicit `name` replaces the generic prefix, so `msb ls` shows whose sandboxes these are.
    fn session_name(&self, settings: &CreateSettings, session_id: &str) -> String {
        naming::session_name(settings.name.as_deref(), session_id)
    }

    /// What every create needs first, and all `prepare` does: the workspace
    /// resolved, the image pulled or loaded, and, for an identity with a
    /// setup, its template bootstrapped unless one is published.
    async fn ready(
        &self,
        settings: &CreateSettings,
        identity: Option<&str>,
        first_create: Option<&dyn FirstCreate>,
        cancel: &Cancel,
    ) -> Result<Ready> {
        let mut ready = self.ready_image(settings, identity).await?;
        ready.bootstrapped = match (&ready.template_key, first_create) {
            (Some(key), Some(setup)) => {
                self.builder.bootstrap_template(settings, &ready.source, key, setup, cancel).await?
            }
            _ => false,
        };
        Ok(ready)
    }

    /// [`Self::ready`] short of the bootstrap: the workspace, the image and the template key.
    async fn ready_image(&self, settings: &CreateSettings, identity: Option<&str>) -> Result<Ready> {
        settings.secrets.iter().try_for_each(|s| s.host_value().map(drop))?;
        let host = self.host();
        // A wrong path is the caller's to fix, whatever the host can run.
        let state_dirs = [host.cache_root(), &crate::msb_home::microsandbox_home()];
        let workspace = settings.workspace.as_ref().map(|w| crate::workspace::resolve(w, &state_dirs)).transpose()?;
        host.preflight().await?;
        host.reap_orphans_once(|| async { drop(super::orphans::reap(host).await) }).await;
        let source = image::resolve(host.cache_root(), &settings.image, &self.builder.progress).await?;
        let template_key = match (identity, &source) {
            (Some(identity), ImageSource::Reference(image_ref)) if self.supports_templates() => {
                Some(snapshots::template_key(identity, settings, image_ref))
            }
            _ => None,
        };
        Ok(Ready { workspace, source, template_key, bootstrapped: false })
    }

    /// Gets a configuration ready ahead of its first session (`npx
    /// ai-sdk-microsandbox prepare`): pulls or loads the image and bootstraps
    /// the identity's template, so that the first create forks.
    pub async fn prepare(
        &self,
        identity: Option<&str>,
        first_create: Option<&dyn FirstCreate>,
        cancel: &Cancel,
    ) -> Result<Prepared> {
        let Settings::Create(settings) = &self.settings else {
            return Err(Error::new(
                ErrorCode::Unsupported,
                "a sandbox you own is prepared by you: there is nothing to prepare",
            ));
        };
        let ready = self.ready(settings, identity, first_create, cancel).await?;
        let image = match &ready.source {
            ImageSource::Reference(reference) => reference.clone(),
            ImageSource::Path(path) => path.display().to_string(),
        };
        Ok(Prepared { image, template_key: ready.template_key, bootstrapped: ready.bootstrapped })
    }

    async fn create(
        &self,
        settings: &CreateSettings,
        session_id: Option<&str>,
        identity: Option<&str>,
        first_create: Option<&dyn FirstCreate>,
        cancel: &Cancel,
    ) -> Result<Session> {
        let mut timeline = Timeline::default();
        let Ready { workspace, source, template_key, .. } = self.ready_image(settings, identity).await?;
        timeline.lap("image");
        // Before anything of an existing session is replaced: a bootstrap may take minutes, and fail.
        let (template, _template_hold) =
            self.template_to_fork(settings, &source, template_key.as_deref(), first_create, cancel).await?;
        timeline.lap("template lookup");
        let Some(session_id) = session_id else {
            let target = Target {
                name: &naming::anonymous_name(),
                session_id: None,
                ownership: Ownership::Ephemeral,
                lifetime: Lifetime::of(settings, Ownership::Ephemeral),
                detached: false,
                intercepts_https: settings.intercepts_https(),
                workspace: workspace.as_deref(),
                is_template: false,
            };
            return self.builder.boot_leased(settings, &source, &target, template.as_ref(), timeline, cancel).await;
        };
        let name = self.session_name(settings, session_id);
        self.clear_existing(&name, session_id, settings.replace).await?;
        timeline.lap("session id check");
        let plan =
            MemberPlan { source: source.clone(), template_key: template_key.clone(), workspace: workspace.clone() };
        if let Some(pool) = &self.pool
            && let Some(session) = pool.take(&self.builder, &plan, template.is_some(), &name, session_id)?
        {
            pool.refill(plan);
            return Ok(session.reporting_session_id(self.shape == Shape::SessionFactory));
        }
        let target = Target {
            name: &name,
            session_id: Some(session_id),
            ownership: Ownership::Resumable,
            lifetime: Lifetime::of(settings, Ownership::Resumable),
            detached: true,
            intercepts_https: settings.intercepts_https(),
            workspace: workspace.as_deref(),
            is_template: false,
        };
        let session = self.builder.boot_leased(settings, &source, &target, template.as_ref(), timeline, cancel).await?;
        if let Some(pool) = &self.pool {
            pool.refill(plan);
        }
        Ok(session.reporting_session_id(self.shape == Shape::SessionFactory))
    }

    /// The published template a create forks from, bootstrapped first when
    /// missing and `first_create` is given; `None` boots cold. The hold keeps
    /// pruning from removing it until the fork has booted.
    async fn template_to_fork(
        &self,
        settings: &CreateSettings,
        source: &ImageSource,
        key: Option<&str>,
        first_create: Option<&dyn FirstCreate>,
        cancel: &Cancel,
    ) -> Result<(Option<TemplateRecord>, Option<TemplateLock>)> {
        let (Some(key), ImageSource::Reference(image_ref)) = (key, source) else { return Ok((None, None)) };
        let store = TemplateStore::new(self.host().cache_root());
        let hold = cancel.guard(store.lock_shared(key)).await?;
        let template = usable_template(self.host(), key, image_ref).await;
        let (None, Some(setup)) = (&template, first_create) else { return Ok((template, Some(hold))) };
        // Bootstrapping locks the template exclusively.
        drop(hold);
        self.builder.bootstrap_template(settings, source, key, setup, cancel).await?;
        let hold = cancel.guard(store.lock_shared(key)).await?;
        Ok((usable_template(self.host(), key, image_ref).await, Some(hold)))
    }

    /// How full the warm pool is; `None` without one.
    pub fn pool_status(&self) -> Option<PoolStatus> {
        self.pool.as_ref().map(SessionPool::status)
    }

    /// Stops the warm pool and removes its members (sessions handed over are
    /// not touched). Idempotent; creates still work, without a pool.
    pub async fn close(&self) {
        if let Some(pool) = &self.pool {
            pool.close().await;
        }
    }

    /// A sandbox already carries this session's name: a retry after a failed
    /// create, or a second create of the same id. Replaced only when asked.
    async fn clear_existing(&self, name: &str, session_id: &str, replace: bool) -> Result<()> {
        // The same id under another name prefix is the same session to a resume by id.
        let host = self.host();
        if let Some(other) = SessionRecord::find_by_session_id(host.cache_root(), session_id)
            && other.name != name
        {
            return Err(self.session_exists(session_id, &other.name));
        }
        let record = SessionRecord::load(host.cache_root(), name);
        let sandbox = record.as_ref().map_or(name, SessionRecord::sandbox_name).to_owned();
        if host.vms().status(&sandbox).await?.is_none() {
            SessionRecord::remove(host.cache_root(), name);
            return Ok(());
        }
        if !replace {
            return Err(self.session_exists(session_id, name));
        }
        host.vms().remove(&sandbox).await?;
        PortLeases::new(host.cache_root()).release(&sandbox, &record.map(|r| r.ports).unwrap_or_default())?;
        SessionRecord::remove(host.cache_root(), name);
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

/// Fetches `source` into the session's working directory, which must be empty.
async fn fetch_source(session: &Session, source: &crate::source::SourceSetting) -> Result<()> {
    let (script, env) = source.command(session.default_working_directory());
    let out = session.run_step(script, &env).await?;
    match out.exit_code {
        0 => Ok(()),
        code => Err(source.failure(code, &out.stderr)),
    }
}

/// What a create starts from.
struct Ready {
    workspace: Option<std::path::PathBuf>,
    source: ImageSource,
    template_key: Option<String>,
    bootstrapped: bool,
}

/// What `prepare` did: the image (as the runtime knows it) and the template,
/// when the configuration has one (an OCI image and a template identity).
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Prepared {
    pub image: String,
    pub template_key: Option<String>,
    /// Bootstrapped now (false: it was already published).
    pub bootstrapped: bool,
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
    let Some(status) = host.vms().status(&sandbox_name).await? else { return Err(not_found(session_id)) };
    // A stopped session's host ports were free while it ran; if another program took one
    // since, the runtime would only log it and the URL would reach that program instead.
    if status != VmStatus::Running
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
    let (machine, guest) = cancel
        .guard(async {
            let machine = host.vms().connect(&sandbox_name, true).await?;
            // A restarted microVM has lost its mounts (the upper disk is there and its owner kept).
            if let Some(w) = record.workspace.as_ref().filter(|w| w.mode == crate::workspace::WorkspaceMode::Overlay) {
                super::builder::mount_overlay(machine.as_ref(), w, None).await?;
            }
            // A running guest is as its record says; a restarted one is asked again (its working
            // directory may have been on a tmpfs, or deleted).
            let guest = match record.guest.clone().filter(|_| status == VmStatus::Running) {
                Some(probed) => crate::guest::GuestInfo::of(probed, &env),
                None => crate::guest::probe(machine.as_ref(), Some(&record.working_directory), &env).await?,
            };
            Ok((machine, guest))
        })
        .await?;
    Ok(Session::new(SessionParts {
        machine,
        guest,
        ports: record.ports,
        public_hostname: record.public_hostname,
        ownership: Ownership::Resumable,
        forked_from_template: false,
        host: host.clone(),
        session_id: Some(session_id.to_owned()),
        record_key: Some(record.name),
        lease_owner: None,
        // The bound the microVM booted with, whoever resumes it (the runtime keeps it).
        lifetime: Lifetime { idle_timeout_secs: record.idle_timeout_secs, max_duration_secs: None },
        brokers_credentials: record.brokers_credentials,
        secrets: record.secrets,
        workspace: record.workspace,
    }))
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

//! The provider's warm pool (`warmPool`): members are booted like any session
//! without a `sessionId` (anonymous names, records naming this process, so the
//! next process reaps them if this one dies), but detached and with the
//! lifetime of a resumable session, because that is what they become. A create
//! with a `sessionId` takes one and files its record under the id's name,
//! pointing at the member's sandbox (the runtime cannot rename a sandbox).

use std::sync::{Arc, Weak};

use super::builder::{Builder, Target};
use super::lifetime::{Lifetime, Ownership};
use super::pool::{BoxFuture, Maker, PoolStatus, WarmPool};
use super::record::SessionRecord;
use super::session::Session;
use super::template::usable_template;
use crate::cancel::Cancel;
use crate::error::{Error, ErrorCode, Result};
use crate::image::ImageSource;
use crate::naming;
use crate::progress::Timeline;
use crate::settings::CreateSettings;
use crate::snapshots::TemplateStore;

/// Members are made for a template key, or (`None`) booted from the image.
pub type PoolKey = Option<String>;

type MemberPool = WarmPool<PoolKey, MemberPlan, Session>;

/// The warm pool of one provider, booting members through its builder.
pub(super) struct SessionPool {
    pool: Arc<MemberPool>,
    builder: Weak<Builder>,
    settings: Arc<CreateSettings>,
}

/// What a member boots from: what a create resolved for itself.
#[derive(Clone)]
pub struct MemberPlan {
    pub source: ImageSource,
    /// The key of the template members fork from, looked up when each is made (a template
    /// pruned since the plan was made gives a cold member).
    pub template_key: Option<String>,
    pub workspace: Option<std::path::PathBuf>,
}

impl MemberPlan {
    fn key(&self) -> PoolKey {
        self.template_key.clone()
    }
}

/// Makes members through a provider's builder, which may be dropped meanwhile.
struct BuilderMaker {
    builder: Weak<Builder>,
    settings: Arc<CreateSettings>,
}

impl Maker<MemberPlan, Session> for BuilderMaker {
    fn make(&self, plan: MemberPlan, cancel: Cancel) -> BoxFuture<Result<Session>> {
        let (builder, settings) = (self.builder.clone(), self.settings.clone());
        Box::pin(async move {
            let builder =
                builder.upgrade().ok_or_else(|| Error::new(ErrorCode::Aborted, "the provider was dropped"))?;
            make_member(&builder, &settings, &plan, &cancel).await
        })
    }

    fn discard(&self, member: Session) -> BoxFuture<()> {
        Box::pin(async move {
            if let Err(err) = member.destroy().await {
                tracing::warn!(sandbox = member.sandbox_name(), "warm pool: removing a member failed: {err}");
            }
        })
    }
}

impl SessionPool {
    pub fn new(size: usize, builder: &Arc<Builder>, settings: &CreateSettings) -> Self {
        Self { pool: WarmPool::new(size), builder: Arc::downgrade(builder), settings: Arc::new(settings.clone()) }
    }

    fn maker(&self) -> Arc<dyn Maker<MemberPlan, Session>> {
        Arc::new(BuilderMaker { builder: self.builder.clone(), settings: self.settings.clone() })
    }

    /// A ready member for `plan`, handed over as the session filed under
    /// `name`; `None` when the pool is empty, or when its member booted cold
    /// although a template is there now (made while it was pruned: discarded).
    pub fn take(
        &self,
        builder: &Builder,
        plan: &MemberPlan,
        template_usable: bool,
        name: &str,
        session_id: &str,
    ) -> Result<Option<Session>> {
        let settings = &self.settings;
        let Some(member) = self.pool.take(&plan.key()) else { return Ok(None) };
        if template_usable && !member.forked_from_template() {
            let maker = self.maker();
            tokio::spawn(async move { maker.discard(member).await });
            return Ok(None);
        }
        let cache_root = builder.host.cache_root();
        let record = SessionRecord {
            name: name.to_owned(),
            working_directory: member.default_working_directory().to_owned(),
            ports: member.leased_ports().to_vec(),
            public_hostname: settings.public_hostname.clone(),
            creator: None,
            sandbox: Some(member.sandbox_name().to_owned()),
            session_id: Some(session_id.to_owned()),
            env: Some(settings.guest_env(settings.intercepts_https())),
            brokered: Vec::new(),
            allow_host_ports: settings.allow_host_ports.clone(),
            brokers_credentials: member.brokers_credentials(),
            idle_timeout_secs: member_lifetime(settings).idle_timeout_secs,
            secrets: settings.secrets.clone(),
            workspace: member.workspace().cloned(),
            guest: Some(member.probed_guest().clone()),
        };
        if let Err(err) = record.save(cache_root) {
            let maker = self.maker();
            tokio::spawn(async move { maker.discard(member).await });
            return Err(err);
        }
        SessionRecord::remove(cache_root, member.sandbox_name());
        if let Some(key) = &plan.template_key {
            TemplateStore::new(cache_root).touch(key);
        }
        builder.progress.report("pool", format!("session {name} takes warm microVM {}", member.sandbox_name()));
        Ok(Some(member.handed_over(name.to_owned(), session_id.to_owned())))
    }

    /// Fills the pool with members for `plan` in the background (after a
    /// create, so that its own boot does not compete with the filler).
    pub fn refill(&self, plan: MemberPlan) {
        self.pool.fill_for(plan.key(), plan, self.maker());
    }

    /// How full the warm pool is.
    pub fn status(&self) -> PoolStatus {
        self.pool.status()
    }

    /// Stops the warm pool and removes its members (sessions handed over are
    /// not touched). Idempotent; creates still work, without a pool.
    pub async fn close(&self) {
        self.pool.close(self.maker()).await;
    }
}

async fn make_member(
    builder: &Builder,
    settings: &CreateSettings,
    plan: &MemberPlan,
    cancel: &Cancel,
) -> Result<Session> {
    // Held until the member has booted, so that pruning cannot remove the template meanwhile; a
    // template gone since the plan was made gives a cold member (the create then runs the setup).
    let (template, _template_hold) = match (&plan.template_key, &plan.source) {
        (Some(key), ImageSource::Reference(image_ref)) => {
            let hold = cancel.guard(TemplateStore::new(builder.host.cache_root()).lock_shared(key)).await?;
            (usable_template(&builder.host, key, image_ref).await, Some(hold))
        }
        _ => (None, None),
    };
    let target = Target {
        name: &naming::anonymous_name(),
        session_id: None,
        ownership: Ownership::Ephemeral,
        lifetime: member_lifetime(settings),
        detached: true,
        intercepts_https: settings.intercepts_https(),
        workspace: plan.workspace.as_deref(),
        is_template: false,
    };
    let member =
        builder.boot_leased(settings, &plan.source, &target, template.as_ref(), Timeline::default(), cancel).await?;
    builder.progress.report("pool", format!("warm microVM {} is ready", member.sandbox_name()));
    Ok(member)
}

/// A member waits for a create that may never come, in a microVM that outlives
/// its process: it gets the idle bound of sessions without an id, so that a
/// member of a killed process stops by itself (its process kept it fresh while
/// alive). The runtime keeps a boot's bound, so a session handed over keeps it
/// too: stopped once no process has held it that long, its disk kept for a resume.
fn member_lifetime(settings: &CreateSettings) -> Lifetime {
    Lifetime::of(settings, Ownership::Ephemeral)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warm_pool_members_of_a_killed_process_stop_by_themselves_after_the_idle_bound() {
        use crate::settings::Settings;
        let settings = |v: serde_json::Value| match Settings::parse(&v).unwrap() {
            Settings::Create(s) => s,
            Settings::Wrap(_) => unreachable!(),
        };
        let default = member_lifetime(&settings(serde_json::json!({ "image": "x", "warmPool": { "size": 1 } })));
        assert_eq!(default.idle_timeout_secs, Some(super::super::lifetime::DEFAULT_EPHEMERAL_IDLE_SECS));
        assert!(default.keepalive_interval().is_some(), "a live owner keeps its members fresh");
        let chosen = member_lifetime(&settings(serde_json::json!({ "image": "x", "idleTimeoutMs": 60_000 })));
        assert_eq!(chosen.idle_timeout_secs, Some(60));
    }
}

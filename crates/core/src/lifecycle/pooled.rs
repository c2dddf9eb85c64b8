//! The provider's warm pool (`warmPool`): members are booted like any session
//! without a `sessionId` (anonymous names, records naming this process, so the
//! next process reaps them if this one dies), but detached and with the
//! lifetime of a resumable session, because that is what they become. A create
//! with a `sessionId` takes one and files its record under the id's name,
//! pointing at the member's sandbox (the runtime cannot rename a sandbox).

use std::sync::{Arc, Weak};

use super::boot::Target;
use super::lifetime::Lifetime;
use super::pool::{BoxFuture, Maker, PoolStatus, WarmPool};
use super::provider::Provider;
use super::record::SessionRecord;
use super::session::{Ownership, Session};
use crate::cancel::Cancel;
use crate::error::{Error, ErrorCode, Result};
use crate::image::ImageSource;
use crate::naming;
use crate::settings::Settings;
use crate::snapshots::{TemplateRecord, TemplateStore};

/// Members are made for a template key, or (`None`) booted from the image.
pub type PoolKey = Option<String>;

pub type MemberPool = WarmPool<PoolKey, MemberPlan, Session>;

/// What a member boots from: what a create resolved for itself.
#[derive(Clone)]
pub struct MemberPlan {
    pub source: ImageSource,
    pub template: Option<TemplateRecord>,
}

impl MemberPlan {
    fn key(&self) -> PoolKey {
        self.template.as_ref().map(|t| t.key.clone())
    }
}

/// Makes members through a provider that may be dropped meanwhile.
struct ProviderMaker(Weak<Provider>);

impl Maker<MemberPlan, Session> for ProviderMaker {
    fn make(&self, plan: MemberPlan, cancel: Cancel) -> BoxFuture<Result<Session>> {
        let provider = self.0.clone();
        Box::pin(async move {
            let provider =
                provider.upgrade().ok_or_else(|| Error::new(ErrorCode::Aborted, "the provider was dropped"))?;
            provider.make_member(&plan, &cancel).await
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

impl Provider {
    fn pool_maker(self: &Arc<Self>) -> Arc<dyn Maker<MemberPlan, Session>> {
        Arc::new(ProviderMaker(Arc::downgrade(self)))
    }

    /// A ready member for `plan`, handed over as the session filed under
    /// `name`; `None` when the pool is off or empty.
    pub(super) fn take_from_pool(
        self: &Arc<Self>,
        plan: &MemberPlan,
        name: &str,
        session_id: &str,
    ) -> Result<Option<Session>> {
        let (Some(pool), Settings::Create(settings)) = (&self.pool, &self.settings) else { return Ok(None) };
        let Some(member) = pool.take(&plan.key()) else { return Ok(None) };
        let cache_root = self.host.cache_root();
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
        };
        if let Err(err) = record.save(cache_root) {
            let maker = self.pool_maker();
            tokio::spawn(async move { maker.discard(member).await });
            return Err(err);
        }
        SessionRecord::remove(cache_root, member.sandbox_name());
        if let Some(template) = &plan.template {
            TemplateStore::new(cache_root).touch(&template.key);
        }
        self.progress.report("pool", format!("session {name} takes warm microVM {}", member.sandbox_name()));
        Ok(Some(member.handed_over(name.to_owned(), session_id.to_owned())))
    }

    /// Fills the pool with members for `plan` in the background (after a
    /// create, so that its own boot does not compete with the filler).
    pub(super) fn refill_pool(self: &Arc<Self>, plan: MemberPlan) {
        if let Some(pool) = &self.pool {
            pool.fill_for(plan.key(), plan, self.pool_maker());
        }
    }

    async fn make_member(&self, plan: &MemberPlan, cancel: &Cancel) -> Result<Session> {
        let Settings::Create(settings) = &self.settings else {
            return Err(Error::internal("a warm pool needs create settings"));
        };
        let _template_hold = match &plan.template {
            Some(t) => Some(cancel.guard(TemplateStore::new(self.host.cache_root()).lock_shared(&t.key)).await?),
            None => None,
        };
        let target = Target {
            name: &naming::anonymous_name(),
            session_id: None,
            ownership: Ownership::Ephemeral,
            lifetime: member_lifetime(settings),
            detached: true,
            intercepts_https: settings.intercepts_https(),
        };
        let member = self.boot_leased(settings, &plan.source, &target, plan.template.as_ref(), cancel).await?;
        self.progress.report("pool", format!("warm microVM {} is ready", member.sandbox_name()));
        Ok(member)
    }

    /// How full the warm pool is; `None` without one.
    pub fn pool_status(&self) -> Option<PoolStatus> {
        self.pool.as_ref().map(|p| p.status())
    }

    /// Stops the warm pool and removes its members (sessions handed over are
    /// not touched). Idempotent; creates still work, without a pool.
    pub async fn close(self: &Arc<Self>) {
        if let Some(pool) = &self.pool {
            pool.close(self.pool_maker()).await;
        }
    }
}

/// A member waits for a create that may never come, in a microVM that outlives
/// its process: it gets the idle bound of sessions without an id, so that a
/// member of a killed process stops by itself (its process kept it fresh while
/// alive). The runtime keeps a boot's bound, so a session handed over keeps it
/// too: stopped once no process has held it that long, its disk kept for a resume.
fn member_lifetime(settings: &crate::settings::CreateSettings) -> Lifetime {
    Lifetime::of(settings, Ownership::Ephemeral)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warm_pool_members_of_a_killed_process_stop_by_themselves_after_the_idle_bound() {
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

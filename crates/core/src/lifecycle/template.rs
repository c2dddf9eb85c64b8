//! Bootstrap templates: the first session of an identity boots a template
//! microVM, the caller's setup runs there once, and a full snapshot of it is
//! published for every process to fork from.

use std::sync::Arc;

use super::builder::{Builder, Target};
use super::first_create::FirstCreate;
use super::lifetime::{Lifetime, Ownership};
use super::session::Session;
use crate::cancel::Cancel;
use crate::error::Result;
use crate::host::Host;
use crate::image::ImageSource;
use crate::progress::Progress;
use crate::settings::CreateSettings;
use crate::snapshots::{self, TemplateLock, TemplateRecord, TemplateStore};

/// A template being bootstrapped: its microVM is up (pre-commands done) and
/// waits for the caller's first-create setup, then [`Self::publish`] or
/// [`Self::abandon`]. Holds the template's lock until then.
struct TemplateBootstrap {
    session: Arc<Session>,
    key: String,
    image: String,
    image_digest: Option<String>,
    host: Arc<Host>,
    progress: Progress,
    _lock: TemplateLock,
}

impl Builder {
    /// Makes sure `key` has a usable template: unless one is published (maybe
    /// by another process this waited for), boots a template microVM, runs
    /// `bootstrapPreCommands` and the caller's `setup` there, and publishes
    /// its snapshot. On failure or abort nothing is published. True when this
    /// call bootstrapped it.
    pub async fn bootstrap_template(
        &self,
        settings: &CreateSettings,
        source: &ImageSource,
        key: &str,
        setup: &dyn FirstCreate,
        cancel: &Cancel,
    ) -> Result<bool> {
        let ImageSource::Reference(image_ref) = source else { return Ok(false) };
        // Checked before locking too: the lock waits for forks of the template in flight.
        if usable_template(&self.host, key, image_ref).await.is_some() {
            return Ok(false);
        }
        let lock = cancel.guard(TemplateStore::new(self.host.cache_root()).lock(key)).await?;
        if usable_template(&self.host, key, image_ref).await.is_some() {
            return Ok(false);
        }
        let name = template_sandbox_name(key);
        // Left over from a bootstrap that was interrupted: we hold the lock, nobody else uses it.
        self.host.vms().remove(&name).await?;
        self.progress.report("template", "booting a template microVM to bootstrap once for this identity");
        let placeholder = match settings.workspace {
            Some(_) => Some(crate::workspace::template_placeholder(self.host.cache_root(), key)?),
            None => None,
        };
        // No lifetime: the template microVM dies with this process, and its snapshot must not carry one into forks.
        let target = Target {
            name: &name,
            session_id: None,
            ownership: Ownership::Ephemeral,
            lifetime: Lifetime::default(),
            detached: false,
            intercepts_https: false,
            workspace: placeholder.as_deref(),
            is_template: true,
        };
        let session = match cancel.guard(self.boot(settings, source, &target, &[], None, &mut Default::default())).await
        {
            Ok(session) => Arc::new(session),
            Err(err) => {
                let _ = self.host.vms().remove(&name).await;
                remove_placeholder(placeholder);
                return Err(err);
            }
        };
        let bootstrap = TemplateBootstrap {
            session: session.clone(),
            key: key.to_owned(),
            image: image_ref.clone(),
            image_digest: self.host.vms().image_digest(image_ref).await,
            host: self.host.clone(),
            progress: self.progress.clone(),
            _lock: lock,
        };
        let outcome = match cancel.guard(setup.run(session)).await {
            Ok(()) => bootstrap.publish().await.map(|()| true),
            Err(err) => {
                let _ = bootstrap.abandon().await;
                Err(err)
            }
        };
        // Forks bind their own workspace where it was; the template microVM is gone.
        remove_placeholder(placeholder);
        outcome
    }
}

fn remove_placeholder(placeholder: Option<std::path::PathBuf>) {
    if let Some(dir) = placeholder {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// The published template for `key`, unless its image has changed since.
pub(super) async fn usable_template(host: &Host, key: &str, image_ref: &str) -> Option<TemplateRecord> {
    let record = TemplateStore::new(host.cache_root()).get(key)?;
    // Two runtime lookups, independent: at once.
    let vms = host.vms();
    let (current, exists) = tokio::join!(vms.image_digest(image_ref), vms.snapshot_exists(&record.snapshot));
    if record.image_digest.is_some() && current.is_some() && record.image_digest != current {
        return None;
    }
    exists.then_some(record)
}

impl TemplateBootstrap {
    /// Takes a full snapshot (disk and RAM) of the running template microVM,
    /// publishes it for every process, and removes the template microVM.
    /// Forks resume that machine instead of booting: in one measured run, 3.9 s
    /// against 5.4 s for a cold boot of the same disk and 8.7 s for a cold create
    /// (`examples/fork_options_bench.rs`).
    async fn publish(self) -> Result<()> {
        let name = self.session.sandbox_name().to_owned();
        let working_directory = self.session.default_working_directory().to_owned();
        // The guest as the setup left it (it may have installed bash): what every fork starts from.
        let guest = self.session.probe_guest_again().await?;
        self.progress.report("template", "taking a full snapshot of the bootstrapped template");
        self.host.vms().snapshot(&name, &snapshots::snapshot_name(&self.key)).await?;
        let now = snapshots::now();
        let store = TemplateStore::new(self.host.cache_root());
        store.publish(&TemplateRecord {
            key: self.key.clone(),
            snapshot: snapshots::snapshot_name(&self.key),
            image: self.image.clone(),
            image_digest: self.image_digest.clone(),
            working_directory,
            guest: Some(guest),
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
    async fn abandon(self) -> Result<()> {
        self.session.destroy().await
    }
}

fn template_sandbox_name(key: &str) -> String {
    format!("aisdk-template-{}", &key[..24])
}

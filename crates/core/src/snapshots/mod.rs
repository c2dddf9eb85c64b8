//! Bootstrap templates: the first session of an identity bootstraps a
//! template microVM once and snapshots it; later sessions, in any process,
//! fork from the snapshot instead of bootstrapping again.

mod key;
mod memory_cache;
mod prune;
mod store;

pub use key::template_key;
pub use prune::{PruneOptions, PruneReport, prune};
pub use store::{TemplateLock, TemplateRecord, TemplateStore, now, snapshot_name};

/// Snapshot group holding every template snapshot of this package.
pub const SNAPSHOT_GROUP: &str = "ai-sdk-microsandbox";

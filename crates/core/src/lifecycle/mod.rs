//! MicroVM lifecycle: the provider creates or resumes sessions; a session owns
//! (or borrows) one sandbox and runs commands and file operations in it.

mod lifetime;
mod orphans;
mod pool;
mod pooled;
mod provider;
mod record;
mod session;
pub mod state;

pub use pool::PoolStatus;
pub use provider::{Provider, TemplateBootstrap};
pub use session::{Ownership, Session};

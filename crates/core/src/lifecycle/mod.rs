//! MicroVM lifecycle: the provider creates or resumes sessions; a session owns
//! (or borrows) one sandbox and runs commands and file operations in it.

mod builder;
mod first_create;
mod lifetime;
mod orphans;
mod pool;
mod pooled;
mod provider;
mod record;
mod session;
pub mod state;
mod template;
mod wrap;

pub use first_create::FirstCreate;
pub use lifetime::{Lifetime, Ownership};
pub use pool::PoolStatus;
pub use provider::{Prepared, Provider, resume_by_session_id};
pub use session::Session;

#[cfg(test)]
mod tests;

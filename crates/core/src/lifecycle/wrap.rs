//! Wrap mode: sessions attach to a sandbox the caller owns and leases one of
//! the bridge ports it publishes; the sandbox itself is never touched.

use std::sync::Arc;

use microsandbox::{MicrosandboxError, Sandbox};

use super::provider::Provider;
use super::session::{Ownership, Session};
use crate::error::{Error, ErrorCode, Result};
use crate::guest;
use crate::naming;
use crate::ports::{LeasedPort, PortLeases};
use crate::settings::{PortProtocol, WrapSettings};

impl Provider {
    /// Wrap mode: attach to the caller's running sandbox. Never creates,
    /// starts, stops or removes it.
    pub(super) async fn attach(&self, settings: &WrapSettings) -> Result<Session> {
        let handle = match Sandbox::get(&settings.sandbox).await {
            Ok(handle) => handle,
            Err(MicrosandboxError::SandboxNotFound(_)) => {
                return Err(Error::new(
                    ErrorCode::SessionNotFound,
                    format!("the wrapped sandbox '{}' does not exist", settings.sandbox),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        let published = handle.config().map(|c| c.spec.network.ports).unwrap_or_default();
        let mut candidates = Vec::new();
        for guest_port in &settings.bridge_ports {
            let spec = published.iter().find(|p| p.guest_port == *guest_port).ok_or_else(|| {
                Error::invalid(format!(
                    "`bridgePorts` lists guest port {guest_port}, but sandbox '{}' does not publish it",
                    settings.sandbox
                ))
            })?;
            candidates.push(LeasedPort {
                guest: spec.guest_port,
                host: spec.host_port,
                bind: spec.host_bind.parse().unwrap_or(std::net::IpAddr::from([127, 0, 0, 1])),
                protocol: PortProtocol::Tcp,
            });
        }
        let sandbox = handle.connect().await.map_err(|e| match e {
            MicrosandboxError::SandboxNotRunning(_) => Error::new(
                ErrorCode::SessionStopped,
                format!(
                    "the wrapped sandbox '{}' is not running; start it first (wrap mode never starts it)",
                    settings.sandbox
                ),
            ),
            other => other.into(),
        })?;
        let guest = guest::probe(&sandbox, None, &Default::default()).await?;
        let lease_owner = format!("wrap-{}-{}", settings.sandbox, naming::anonymous_name());
        let ports = if candidates.is_empty() {
            Vec::new()
        } else {
            let active = |owner: &str| self.host.holds_wrap_lease(owner);
            let port = PortLeases::new(self.host.cache_root()).acquire_one_of(
                &lease_owner,
                &candidates,
                &active,
                &self.host,
            )?;
            self.host.hold_wrap_lease(&lease_owner);
            vec![port]
        };
        Ok(Session::new(
            Arc::new(sandbox),
            guest,
            ports,
            settings.public_hostname.clone(),
            Ownership::Borrowed,
            false,
            self.host.clone(),
        )
        .with_lease_owner(lease_owner))
    }
}

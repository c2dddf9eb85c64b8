//! Wrap mode: sessions attach to a sandbox the caller owns and lease one of
//! the bridge ports it publishes; the sandbox itself is never touched.

use std::sync::Arc;

use super::lifetime::{Lifetime, Ownership};
use super::session::{Session, SessionParts};
use crate::error::{Error, ErrorCode, Result};
use crate::guest;
use crate::host::Host;
use crate::naming;
use crate::ports::{LeasedPort, PortLeases};
use crate::settings::{PortProtocol, WrapSettings};

/// Attaches to the caller's running sandbox. Never creates, starts, stops or removes it.
pub(super) async fn attach(host: &Arc<Host>, settings: &WrapSettings) -> Result<Session> {
    let vms = host.vms();
    if vms.status(&settings.sandbox).await?.is_none() {
        return Err(Error::new(
            ErrorCode::SessionNotFound,
            format!("the wrapped sandbox '{}' does not exist", settings.sandbox),
        ));
    }
    let published = vms.published_ports(&settings.sandbox).await?;
    let mut candidates = Vec::new();
    for guest_port in &settings.bridge_ports {
        let spec = published.iter().find(|p| p.guest == *guest_port).ok_or_else(|| {
            Error::invalid(format!(
                "`bridgePorts` lists guest port {guest_port}, but sandbox '{}' does not publish it",
                settings.sandbox
            ))
        })?;
        candidates.push(LeasedPort {
            guest: spec.guest,
            host: spec.host,
            bind: spec.bind,
            protocol: PortProtocol::Tcp,
        });
    }
    let machine = vms.connect(&settings.sandbox, false).await.map_err(|e| match e.code {
        ErrorCode::SessionStopped => Error::new(
            ErrorCode::SessionStopped,
            format!(
                "the wrapped sandbox '{}' is not running; start it first (wrap mode never starts it)",
                settings.sandbox
            ),
        )
        .caused_by(e),
        _ => e,
    })?;
    let guest = guest::probe(machine.as_ref(), None, &Default::default()).await?;
    let lease_owner = format!("wrap-{}-{}", settings.sandbox, naming::anonymous_name());
    let ports = if candidates.is_empty() {
        Vec::new()
    } else {
        let active = |owner: &str| host.holds_wrap_lease(owner);
        let port = PortLeases::new(host.cache_root()).acquire_one_of(&lease_owner, &candidates, &active, host)?;
        host.hold_wrap_lease(&lease_owner);
        vec![port]
    };
    Ok(Session::new(SessionParts {
        workspace: None,
        machine,
        guest,
        ports,
        public_hostname: settings.public_hostname.clone(),
        ownership: Ownership::Borrowed,
        forked_from_template: false,
        host: host.clone(),
        session_id: None,
        record_key: None,
        lease_owner: Some(lease_owner),
        lifetime: Lifetime::default(),
        brokers_credentials: false,
        secrets: Vec::new(),
    }))
}

//! Cross-process host-port leases.
//!
//! A lease is a file `<cache>/ports/<proto>-<port>` naming the sandbox that
//! holds it and the process that took it. Leases are taken under an exclusive
//! file lock, outlive the process (a stopped session keeps its URL for
//! resume), and are released on destroy. A lease is stale, and reclaimed, when
//! its sandbox does not exist and no live process is still creating it.

use std::fs::File;
use std::net::{IpAddr, TcpListener, UdpSocket};
use std::path::PathBuf;

use crate::error::{Error, ErrorCode, Result};
use crate::host::Host;
use crate::settings::{PortProtocol, PortSetting};

/// A guest port and the host port leased for it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LeasedPort {
    pub guest: u16,
    pub host: u16,
    pub bind: IpAddr,
    pub protocol: PortProtocol,
}

pub struct PortLeases {
    dir: PathBuf,
}

impl PortLeases {
    pub fn new(cache_root: &std::path::Path) -> Self {
        Self { dir: cache_root.join("ports") }
    }

    /// Leases one host port per setting for `owner`: the configured host port
    /// when it is free, otherwise one the OS hands out. `is_alive` tells
    /// whether another lease's sandbox exists. TCP ports in `reserved` (some
    /// session's `allowHostPorts`) are never leased: that session's guest could
    /// reach this one's published port.
    pub fn acquire(
        &self,
        owner: &str,
        wanted: &[PortSetting],
        reserved: &[u16],
        is_alive: &dyn Fn(&str) -> bool,
        host: &Host,
    ) -> Result<Vec<LeasedPort>> {
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let _guard = self.lock()?;
        let mut leased = Vec::new();
        let result = wanted.iter().try_for_each(|want| {
            let port = self.pick(owner, want, reserved, is_alive, host)?;
            self.write_lease(want.protocol, port, owner, host)?;
            leased.push(LeasedPort { guest: want.guest, host: port, bind: want.bind, protocol: want.protocol });
            Ok(())
        });
        if let Err(err) = result {
            for port in &leased {
                let _ = std::fs::remove_file(self.lease_path(port.protocol, port.host));
            }
            return Err(err);
        }
        Ok(leased)
    }

    /// Leases one of `candidates` (ports a wrapped sandbox already publishes)
    /// for `owner`, so concurrent sessions on one sandbox get distinct ports.
    pub fn acquire_one_of(
        &self,
        owner: &str,
        candidates: &[LeasedPort],
        is_alive: &dyn Fn(&str) -> bool,
        host: &Host,
    ) -> Result<LeasedPort> {
        let _guard = self.lock()?;
        let port =
            candidates.iter().find(|p| self.available(owner, p.protocol, p.host, is_alive, host)).ok_or_else(|| {
                Error::new(
                    ErrorCode::PortUnavailable,
                    "every port in `bridgePorts` is leased by a live session; add ports or end a session",
                )
            })?;
        self.write_lease(port.protocol, port.host, owner, host)?;
        Ok(port.clone())
    }

    /// Releases the leases `owner` holds on these ports; others' are left alone.
    pub fn release(&self, owner: &str, ports: &[LeasedPort]) -> Result<()> {
        let _guard = self.lock()?;
        for port in ports {
            let path = self.lease_path(port.protocol, port.host);
            if std::fs::read_to_string(&path).is_ok_and(|lease| parse_lease(&lease).0 == owner) {
                std::fs::remove_file(&path)?;
            }
        }
        Ok(())
    }

    fn pick(
        &self,
        owner: &str,
        want: &PortSetting,
        reserved: &[u16],
        is_alive: &dyn Fn(&str) -> bool,
        host: &Host,
    ) -> Result<u16> {
        let allowed = |port: u16| !(want.protocol == PortProtocol::Tcp && reserved.contains(&port));
        if allowed(want.host)
            && self.available(owner, want.protocol, want.host, is_alive, host)
            && bindable(want.protocol, want.bind, want.host)
        {
            return Ok(want.host);
        }
        // The OS picks an unused ephemeral port; retry the rare one leased by a stopped session.
        for _ in 0..64 {
            let port = ephemeral_port(want.protocol, want.bind)?;
            if allowed(port) && self.available(owner, want.protocol, port, is_alive, host) {
                return Ok(port);
            }
        }
        Err(Error::new(
            ErrorCode::PortUnavailable,
            format!("no free host port for guest port {} on {}", want.guest, want.bind),
        ))
    }

    fn available(
        &self,
        owner: &str,
        protocol: PortProtocol,
        port: u16,
        is_alive: &dyn Fn(&str) -> bool,
        host: &Host,
    ) -> bool {
        match std::fs::read_to_string(self.lease_path(protocol, port)) {
            Err(_) => true,
            Ok(lease) => {
                let (held_by, taker) = parse_lease(&lease);
                held_by == owner || (!is_alive(held_by) && !creator_running(taker, host))
            }
        }
    }

    fn write_lease(&self, protocol: PortProtocol, port: u16, owner: &str, host: &Host) -> Result<()> {
        let lease = format!("{owner}\n{}", host.process_token()?);
        crate::cache::write_atomic(&self.lease_path(protocol, port), lease.as_bytes())?;
        Ok(())
    }

    fn lease_path(&self, protocol: PortProtocol, port: u16) -> PathBuf {
        let proto = match protocol {
            PortProtocol::Tcp => "tcp",
            PortProtocol::Udp => "udp",
        };
        self.dir.join(format!("{proto}-{port}"))
    }

    fn lock(&self) -> Result<File> {
        let file = crate::cache::lock_file(&self.dir.join(".lock"))?;
        file.lock()?;
        Ok(file)
    }
}

/// `owner\ntoken`: the sandbox name and the process that took the lease.
fn parse_lease(lease: &str) -> (&str, Option<&str>) {
    let mut lines = lease.lines();
    let owner = lines.next().unwrap_or("");
    (owner, lines.next().map(str::trim).filter(|t| !t.is_empty()))
}

/// Whether the process that took a lease may still be creating its sandbox.
/// This process's own leases are judged by their sandbox alone: a create in
/// flight here holds the lease lock only while leasing, and its leases name a
/// sandbox that `is_alive` learns about from the creator.
fn creator_running(taker: Option<&str>, host: &Host) -> bool {
    match taker {
        Some(token) if host.process_token().ok() != Some(token) => host.process_alive(token),
        _ => false,
    }
}

/// Whether something (the microVM's port forwarder) now listens on this host port.
pub fn published(port: &LeasedPort) -> bool {
    !bindable(port.protocol, port.bind, port.host)
}

fn bindable(protocol: PortProtocol, bind: IpAddr, port: u16) -> bool {
    match protocol {
        PortProtocol::Tcp => TcpListener::bind((bind, port)).is_ok(),
        PortProtocol::Udp => UdpSocket::bind((bind, port)).is_ok(),
    }
}

fn ephemeral_port(protocol: PortProtocol, bind: IpAddr) -> Result<u16> {
    let port = match protocol {
        PortProtocol::Tcp => TcpListener::bind((bind, 0)).and_then(|l| l.local_addr()),
        PortProtocol::Udp => UdpSocket::bind((bind, 0)).and_then(|s| s.local_addr()),
    };
    port.map(|a| a.port()).map_err(|e| {
        Error::new(ErrorCode::PortUnavailable, format!("cannot bind a host port on {bind}: {e}")).caused_by(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(host: u16, guest: u16) -> PortSetting {
        PortSetting { host, guest, bind: IpAddr::from([127, 0, 0, 1]), protocol: PortProtocol::Tcp }
    }

    fn temp_leases(tag: &str) -> (PortLeases, PathBuf, std::sync::Arc<Host>) {
        let dir = std::env::temp_dir().join(format!("aisdk-ms-lease-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        (PortLeases::new(&dir), dir.clone(), Host::new(dir))
    }

    #[test]
    fn two_owners_of_the_same_guest_port_get_different_host_ports() {
        let (leases, dir, host) = temp_leases("distinct");
        let free = ephemeral_port(PortProtocol::Tcp, IpAddr::from([127, 0, 0, 1])).unwrap();
        let alive = |_: &str| true;
        let a = leases.acquire("a", &[tcp(free, 4000)], &[], &alive, &host).unwrap();
        let b = leases.acquire("b", &[tcp(free, 4000)], &[], &alive, &host).unwrap();
        assert_eq!(a[0].host, free, "first owner gets the configured host port");
        assert_ne!(b[0].host, free, "second owner gets another one");
        assert_eq!(
            leases.acquire("a", &[tcp(free, 4000)], &[], &alive, &host).unwrap()[0].host,
            free,
            "re-acquire keeps it"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn stale_and_released_leases_are_reclaimed() {
        let (leases, dir, host) = temp_leases("stale");
        let free = ephemeral_port(PortProtocol::Tcp, IpAddr::from([127, 0, 0, 1])).unwrap();
        let a = leases.acquire("gone", &[tcp(free, 80)], &[], &|_| true, &host).unwrap();
        assert_eq!(leases.acquire("b", &[tcp(free, 80)], &[], &|owner| owner != "gone", &host).unwrap()[0].host, free);
        leases.release("gone", &a).unwrap();
        assert!(dir.join("ports").join(format!("tcp-{free}")).exists(), "release leaves b's lease alone");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn leases_and_allow_host_ports_a_port_in_some_sessions_allow_host_ports_is_never_leased() {
        let (leases, dir, host) = temp_leases("reserved");
        let free = ephemeral_port(PortProtocol::Tcp, IpAddr::from([127, 0, 0, 1])).unwrap();
        let got = leases.acquire("a", &[tcp(free, 4000)], &[free], &|_| true, &host).unwrap();
        assert_ne!(got[0].host, free, "the preferred port is another session's allowHostPorts");
        let udp = PortSetting { protocol: PortProtocol::Udp, ..tcp(free, 53) };
        assert_eq!(
            leases.acquire("b", &[udp], &[free], &|_| true, &host).unwrap()[0].host,
            free,
            "allowHostPorts are TCP"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_port_in_use_on_the_host_is_skipped() {
        let (leases, dir, host) = temp_leases("busy");
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let busy = listener.local_addr().unwrap().port();
        let got = leases.acquire("a", &[tcp(busy, 4000)], &[], &|_| true, &host).unwrap();
        assert_ne!(got[0].host, busy);
        std::fs::remove_dir_all(dir).unwrap();
    }
}

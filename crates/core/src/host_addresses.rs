//! The host's own addresses, on every interface. The runtime knows only its
//! gateway as "the host"; any other address of the host (a public IPv4 on a
//! NIC, a global IPv6, an address on another interface) it would dial like
//! the internet, reaching every host service listening on `0.0.0.0` / `::`.
//! Read when a microVM boots: its rules cannot change while it runs.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Every address configured on the host's interfaces now, loopback aside
/// (the guard denies loopback as a group). Linux only: elsewhere the runtime
/// does not run, and nothing is listed.
pub fn current() -> Vec<IpAddr> {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let mut addresses: Vec<IpAddr> = local_ipv4(&read("/proc/net/fib_trie")).into_iter().map(IpAddr::V4).collect();
    addresses.extend(ipv6(&read("/proc/net/if_inet6")).into_iter().map(IpAddr::V6));
    addresses.retain(|a| !a.is_loopback());
    addresses.sort();
    addresses.dedup();
    addresses
}

/// The `/32 host LOCAL` entries of `/proc/net/fib_trie`: the host's IPv4 addresses.
fn local_ipv4(fib_trie: &str) -> Vec<Ipv4Addr> {
    let mut found = Vec::new();
    let mut last: Option<Ipv4Addr> = None;
    for line in fib_trie.lines() {
        let line = line.trim();
        if let Some(address) = line.strip_prefix("|-- ").or_else(|| line.strip_prefix("+-- ")) {
            last = address.split_whitespace().next().and_then(|a| a.parse().ok());
        } else if line.starts_with("/32 host LOCAL")
            && let Some(address) = last
        {
            found.push(address);
        }
    }
    found
}

/// The first column of `/proc/net/if_inet6`: every IPv6 address, as 32 hex digits.
fn ipv6(if_inet6: &str) -> Vec<Ipv6Addr> {
    if_inet6
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter_map(|hex| u128::from_str_radix(hex, 16).ok().filter(|_| hex.len() == 32))
        .map(Ipv6Addr::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ipv4_local_addresses_and_every_ipv6_address() {
        let fib_trie = "Main:\n  +-- 0.0.0.0/0 3 0 5\n     |-- 0.0.0.0\n        /0 universe UNICAST\n     +-- 127.0.0.0/8 2 0 2\n        +-- 127.0.0.0/31 1 0 0\n           |-- 127.0.0.0\n              /8 host LOCAL\n           |-- 127.0.0.1\n              /32 host LOCAL\n     |-- 192.0.2.2\n        /32 host LOCAL\n     |-- 198.51.100.7\n        /32 host LOCAL\n     |-- 192.0.2.255\n        /32 link BROADCAST\n";
        assert_eq!(
            local_ipv4(fib_trie),
            vec![Ipv4Addr::new(127, 0, 0, 1), Ipv4Addr::new(192, 0, 2, 2), Ipv4Addr::new(198, 51, 100, 7)]
        );
        let if_inet6 = "fe8000000000000000fc00fffe000001 04 40 20 80     eth0\n20010db8000000000000000000000007 01 80 00 80       lo\n00000000000000000000000000000001 01 80 10 80       lo\nbogus\n";
        assert_eq!(
            ipv6(if_inet6),
            vec![
                "fe80::fc:ff:fe00:1".parse::<Ipv6Addr>().unwrap(),
                "2001:db8::7".parse().unwrap(),
                Ipv6Addr::LOCALHOST
            ]
        );
    }

    #[test]
    fn this_hosts_addresses_leave_loopback_to_the_guard() {
        assert!(current().iter().all(|a| !a.is_loopback()));
    }
}

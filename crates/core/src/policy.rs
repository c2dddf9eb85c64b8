//! Network policy: the harness's `HarnessV1NetworkPolicy` shape mapped onto
//! microsandbox's first-match-wins rule list.

use std::net::IpAddr;

use serde_json::Value;

use crate::error::{Error, Result};

/// `{ mode: 'allow-all' } | { mode: 'deny-all' } | { mode: 'custom', allowedHosts?, allowedCIDRs?, deniedCIDRs? }`
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkPolicySetting {
    AllowAll,
    DenyAll,
    Custom { allowed_hosts: Vec<String>, allowed_cidrs: Vec<String>, denied_cidrs: Vec<String> },
}

impl NetworkPolicySetting {
    pub fn parse(value: &Value) -> Result<Self> {
        let obj = value.as_object().ok_or_else(|| {
            Error::invalid("`networkPolicy` must be { mode: 'allow-all' | 'deny-all' | 'custom', ... }")
        })?;
        let list = |key: &str| -> Result<Vec<String>> {
            match obj.get(key) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|v| {
                        v.as_str()
                            .map(str::to_owned)
                            .ok_or_else(|| Error::invalid(format!("`networkPolicy.{key}` must be an array of strings")))
                    })
                    .collect(),
                Some(_) => Err(Error::invalid(format!("`networkPolicy.{key}` must be an array of strings"))),
            }
        };
        let policy = match obj.get("mode").and_then(Value::as_str) {
            Some("allow-all") => Self::AllowAll,
            Some("deny-all") => Self::DenyAll,
            Some("custom") => Self::Custom {
                allowed_hosts: list("allowedHosts")?,
                allowed_cidrs: list("allowedCIDRs")?,
                denied_cidrs: list("deniedCIDRs")?,
            },
            _ => {
                return Err(Error::invalid("`networkPolicy.mode` must be 'allow-all', 'deny-all' or 'custom'"));
            }
        };
        let allowed_keys: &[&str] = match policy {
            Self::Custom { .. } => &["mode", "allowedHosts", "allowedCIDRs", "deniedCIDRs"],
            _ => &["mode"],
        };
        if let Some(key) = obj.keys().find(|k| !allowed_keys.contains(&k.as_str())) {
            return Err(Error::invalid(format!("unknown key `networkPolicy.{key}` for this mode")));
        }
        if let Self::Custom { allowed_hosts, allowed_cidrs, .. } = &policy {
            if allowed_hosts.is_empty() && allowed_cidrs.is_empty() {
                return Err(Error::new(
                    crate::error::ErrorCode::Unsupported,
                    "a custom `networkPolicy` needs at least one of `allowedHosts` or `allowedCIDRs`; use { mode: 'deny-all' } to block all egress",
                ));
            }
            for (i, host) in allowed_hosts.iter().enumerate() {
                check_host(host, i)?;
            }
        }
        // Build once now so malformed CIDRs fail at construction time.
        policy.to_microsandbox(&[], &[])?;
        Ok(policy)
    }

    /// The microsandbox rule list (first match wins). Every mode starts with
    /// the same guard: the host only on the ports the caller opted into, and
    /// never loopback, private ranges, link-local, cloud metadata or multicast.
    /// Then allow-all adds DNS and the public internet; custom adds its hosts
    /// (which also makes exactly those names resolve) and CIDRs; deny-all adds
    /// nothing. Ingress stays allowed: published ports (the agent bridge) need it.
    ///
    /// `host_addresses` are the host's own addresses (see [`crate::host_addresses`]),
    /// denied in every mode: the runtime would dial them like the internet.
    pub fn to_microsandbox(
        &self,
        host_ports: &[u16],
        host_addresses: &[IpAddr],
    ) -> Result<microsandbox::NetworkPolicy> {
        use microsandbox::{NetworkAction, NetworkPolicy};
        let mut builder = NetworkPolicy::builder().default_deny().default_ingress(NetworkAction::Allow);
        if let Self::Custom { denied_cidrs, .. } = self {
            for cidr in denied_cidrs {
                builder = builder.egress(|r| r.deny().cidr(cidr.clone()));
            }
        }
        for &port in host_ports {
            builder = builder.egress(|r| r.tcp().port(port).allow_host());
        }
        // The gateway's DNS port stays out of this rule: DNS is answered by the
        // runtime's resolver, filtered by name below.
        builder = builder.egress(|r| r.port_range(0, 52).port_range(54, u16::MAX).deny_host());
        builder = builder.egress(|r| r.deny_loopback());
        builder = builder.egress(|r| r.deny_private());
        builder = builder.egress(|r| r.deny_link_local());
        builder = builder.egress(|r| r.deny_meta());
        builder = builder.egress(|r| r.deny_multicast());
        for cidr in METADATA_CIDRS.iter().chain(&UNROUTED_OR_TRANSLATED_CIDRS) {
            builder = builder.egress(|r| r.deny().cidr(*cidr));
        }
        for address in host_addresses {
            let bits = if address.is_ipv4() { 32 } else { 128 };
            builder = builder.egress(|r| r.deny().cidr(format!("{address}/{bits}")));
        }
        builder = match self {
            Self::AllowAll => builder.egress(|r| r.udp().tcp().port(53).allow_host()).egress(|r| r.allow_public()),
            Self::DenyAll => builder,
            Self::Custom { allowed_hosts, allowed_cidrs, .. } => {
                for host in allowed_hosts {
                    builder = match host.strip_prefix("*.") {
                        Some(suffix) => builder.egress(|r| r.allow().domain_suffix(suffix.to_owned())),
                        None => builder.egress(|r| r.allow().domain(host.clone())),
                    };
                }
                for cidr in allowed_cidrs {
                    builder = builder.egress(|r| r.allow().cidr(cidr.clone()));
                }
                builder
            }
        };
        builder.build().map_err(|e| Error::invalid(format!("`networkPolicy`: {e}")))
    }
}

/// Cloud metadata endpoints beyond the runtime's metadata group (an IPv4
/// address): its IPv4-mapped IPv6 form and AWS's IPv6 endpoint.
const METADATA_CIDRS: [&str; 3] = ["169.254.169.254/32", "::ffff:169.254.169.254/128", "fd00:ec2::254/128"];

/// Addresses the runtime's groups count as public although they are not a
/// public host: "this network" (`0.0.0.0/8`, which Linux routes to the host
/// itself), IPv4-compatible IPv6 (`::/96`), and the translation prefixes that
/// carry an embedded IPv4 address a gateway would dial (NAT64's well-known and
/// local-use prefixes, 6to4, Teredo): each could reach a private or host address.
const UNROUTED_OR_TRANSLATED_CIDRS: [&str; 6] =
    ["0.0.0.0/8", "::/96", "64:ff9b::/96", "64:ff9b:1::/48", "2002::/16", "2001::/32"];

/// `allowHostPorts`: host TCP ports a guest may reach at `host.microsandbox.internal`.
pub fn parse_host_ports(value: Option<&Value>) -> Result<Vec<u16>> {
    let items = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(Error::invalid("`allowHostPorts` must be an array of host TCP port numbers, e.g. [11434]"));
        }
    };
    let mut ports = Vec::new();
    for (i, v) in items.iter().enumerate() {
        let port = v.as_u64().and_then(|n| u16::try_from(n).ok()).filter(|&n| n > 0).ok_or_else(|| {
            Error::invalid(format!("`allowHostPorts[{i}]` must be a port number in 1..65535 (got {v})"))
        })?;
        // The host's port 53 is the runtime's resolver: TCP to it would resolve any name, in every mode.
        if port == 53 {
            return Err(Error::invalid(format!(
                "`allowHostPorts[{i}]` is 53, the runtime's DNS resolver on the host: allowing it would let the guest \
                 resolve names its network policy does not allow; DNS follows `networkPolicy`"
            )));
        }
        if !ports.contains(&port) {
            ports.push(port);
        }
    }
    Ok(ports)
}

/// The runtime's own name for the host: reachable only through `allowHostPorts`.
const HOST_ALIAS_SUFFIX: &str = "microsandbox.internal";

/// A bare host name or `*.suffix` pattern; the error says what is wrong with it.
pub(crate) fn check_host_name(host: &str) -> std::result::Result<(), String> {
    let name = host.strip_prefix("*.").unwrap_or(host);
    let well_formed = !name.is_empty()
        && name.len() <= 253
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        && !name.starts_with(['.', '-'])
        && !name.contains("..");
    if well_formed {
        Ok(())
    } else {
        Err(format!(
            "must be a bare host name such as 'api.anthropic.com' or '*.example.com' (no scheme, port or path; got {host:?})"
        ))
    }
}

fn check_host(host: &str, i: usize) -> Result<()> {
    check_host_name(host).map_err(|problem| Error::invalid(format!("`networkPolicy.allowedHosts[{i}]` {problem}")))?;
    let lower = host.strip_prefix("*.").unwrap_or(host).to_ascii_lowercase();
    if lower == HOST_ALIAS_SUFFIX || lower.ends_with(&format!(".{HOST_ALIAS_SUFFIX}")) {
        return Err(Error::invalid(format!(
            "`networkPolicy.allowedHosts[{i}]` names the host machine; grant host ports with `allowHostPorts` instead"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The rule list as the runtime receives it, one compact line per rule.
    fn rules(policy: &Value, host_ports: &[u16]) -> Vec<String> {
        rules_with(policy, host_ports, &[])
    }

    fn rules_with(policy: &Value, host_ports: &[u16], host_addresses: &[IpAddr]) -> Vec<String> {
        let ms = NetworkPolicySetting::parse(policy).unwrap().to_microsandbox(host_ports, host_addresses).unwrap();
        let ms = serde_json::to_value(ms).unwrap();
        assert_eq!(ms["default_egress"], "deny");
        assert_eq!(ms["default_ingress"], "allow", "published ports need ingress");
        ms["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                assert_eq!(r["direction"], "egress");
                let ports: Vec<String> = r["ports"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| {
                        if p["start"] == p["end"] {
                            p["start"].to_string()
                        } else {
                            format!("{}-{}", p["start"], p["end"])
                        }
                    })
                    .collect();
                let protocols: Vec<&str> =
                    r["protocols"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
                let dest = match r["destination"].as_object().map(|o| o.iter().next().unwrap()) {
                    Some((kind, v)) => format!("{kind}:{}", v.as_str().unwrap()),
                    None => r["destination"].as_str().unwrap().to_owned(),
                };
                format!("{} {dest} {} {}", r["action"].as_str().unwrap(), protocols.join("+"), ports.join(","))
                    .trim_end()
                    .to_owned()
            })
            .collect()
    }

    const GUARD: [&str; 15] = [
        "deny group:host  0-52,54-65535",
        "deny group:loopback",
        "deny group:private",
        "deny group:link_local",
        "deny group:metadata",
        "deny group:multicast",
        "deny cidr:169.254.169.254/32",
        "deny cidr:::ffff:169.254.169.254/128",
        "deny cidr:fd00:ec2::254/128",
        "deny cidr:0.0.0.0/8",
        "deny cidr:::/96",
        "deny cidr:64:ff9b::/96",
        "deny cidr:64:ff9b:1::/48",
        "deny cidr:2002::/16",
        "deny cidr:2001::/32",
    ];

    #[test]
    fn guard_gaps_nat64_6to4_teredo_ipv4_compatible_and_this_network_are_denied_in_every_mode() {
        for policy in [
            json!({ "mode": "allow-all" }),
            json!({ "mode": "deny-all" }),
            json!({ "mode": "custom", "allowedCIDRs": ["0.0.0.0/0", "::/0"] }),
        ] {
            let r = rules(&policy, &[]);
            for cidr in ["0.0.0.0/8", "::/96", "64:ff9b::/96", "64:ff9b:1::/48", "2002::/16", "2001::/32"] {
                let deny = r.iter().position(|rule| rule == &format!("deny cidr:{cidr}"));
                let first_allow = r.iter().position(|rule| rule.starts_with("allow")).unwrap_or(r.len());
                assert!(
                    deny.is_some_and(|d| d < first_allow),
                    "{policy}: {cidr} is not denied before any allow: {r:?}"
                );
            }
        }
    }

    #[test]
    fn host_own_addresses_are_denied_in_every_mode_before_any_allow() {
        let own: Vec<IpAddr> = vec!["198.51.100.7".parse().unwrap(), "2001:db8::7".parse().unwrap()];
        for policy in [
            json!({ "mode": "allow-all" }),
            json!({ "mode": "deny-all" }),
            json!({ "mode": "custom", "allowedCIDRs": ["0.0.0.0/0", "::/0"], "allowedHosts": ["example.com"] }),
        ] {
            let r = rules_with(&policy, &[8080], &own);
            for cidr in ["198.51.100.7/32", "2001:db8::7/128"] {
                let deny = r.iter().position(|rule| rule == &format!("deny cidr:{cidr}"));
                // Only the host ports the caller opted into (at the gateway) come first.
                let first_allow = r
                    .iter()
                    .position(|rule| rule.starts_with("allow") && !rule.contains("group:host tcp 8080"))
                    .unwrap_or(r.len());
                assert!(
                    deny.is_some_and(|d| d < first_allow),
                    "{policy}: {cidr} is not denied before the allows: {r:?}"
                );
            }
        }
    }

    #[test]
    fn guard_gap_allow_host_port_53_is_refused() {
        let e = parse_host_ports(Some(&json!([8080, 53]))).unwrap_err();
        assert!(e.message.contains("`allowHostPorts[1]`") && e.message.contains("DNS"), "{}", e.message);
    }

    #[test]
    fn allow_all_is_the_public_internet_with_dns_and_nothing_of_the_host() {
        let mut expected: Vec<&str> = GUARD.to_vec();
        expected.extend(["allow group:host udp+tcp 53", "allow group:public"]);
        assert_eq!(rules(&json!({ "mode": "allow-all" }), &[]), expected);
    }

    #[test]
    fn host_ports_are_granted_one_by_one_before_the_guard() {
        let r = rules(&json!({ "mode": "allow-all" }), &[11434, 8080]);
        assert_eq!(r[..3], ["allow group:host tcp 11434", "allow group:host tcp 8080", GUARD[0]]);
    }

    #[test]
    fn deny_all_has_no_egress_and_no_dns() {
        assert_eq!(rules(&json!({ "mode": "deny-all" }), &[]), GUARD.to_vec());
    }

    #[test]
    fn custom_denies_first_then_guard_then_allows_and_private_allows_stay_denied() {
        let r = rules(
            &json!({
                "mode": "custom", "allowedHosts": ["registry.npmjs.org", "*.anthropic.com"],
                "allowedCIDRs": ["0.0.0.0/0", "10.1.0.0/16"], "deniedCIDRs": ["1.2.3.0/24"]
            }),
            &[],
        );
        assert_eq!(r[0], "deny cidr:1.2.3.0/24");
        assert_eq!(r[1..16], GUARD);
        assert_eq!(
            r[16..],
            [
                "allow domain:registry.npmjs.org",
                "allow domain_suffix:anthropic.com",
                "allow cidr:0.0.0.0/0",
                "allow cidr:10.1.0.0/16"
            ]
        );
        // No rule lets DNS through by port: only the allowed names resolve.
        assert!(!r.iter().any(|rule| rule.starts_with("allow group:host")));
    }

    #[test]
    fn malformed_entries_are_refused_naming_the_field() {
        for (policy, field) in [
            (json!({ "mode": "custom", "allowedCIDRs": ["nope"] }), "networkPolicy"),
            (json!({ "mode": "custom", "allowedHosts": ["https://x.com"] }), "allowedHosts[0]"),
            (json!({ "mode": "custom", "allowedHosts": ["a.com", "x.com/path"] }), "allowedHosts[1]"),
            (json!({ "mode": "custom", "allowedHosts": ["x.com:443"] }), "allowedHosts[0]"),
            (json!({ "mode": "custom", "allowedHosts": ["host.microsandbox.internal"] }), "allowHostPorts"),
            (json!({ "mode": "custom", "allowedHosts": [42] }), "allowedHosts"),
        ] {
            let e = NetworkPolicySetting::parse(&policy).unwrap_err();
            assert_eq!(e.code, crate::error::ErrorCode::InvalidSettings, "{policy}");
            assert!(e.message.contains(field), "{}", e.message);
        }
        assert!(parse_host_ports(Some(&json!([0]))).unwrap_err().message.contains("`allowHostPorts[0]`"));
        assert!(parse_host_ports(Some(&json!(8080))).is_err());
    }

    #[test]
    fn empty_custom_policy_is_unsupported() {
        let e = NetworkPolicySetting::parse(&json!({ "mode": "custom" })).unwrap_err();
        assert_eq!(e.code, crate::error::ErrorCode::Unsupported);
    }
}

//! Network policy: the harness's `HarnessV1NetworkPolicy` shape mapped onto
//! microsandbox's first-match-wins rule list.

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
                return Err(Error::invalid(
                    "`networkPolicy.mode` must be 'allow-all', 'deny-all' or 'custom'",
                ));
            }
        };
        let allowed_keys: &[&str] = match policy {
            Self::Custom { .. } => &["mode", "allowedHosts", "allowedCIDRs", "deniedCIDRs"],
            _ => &["mode"],
        };
        if let Some(key) = obj.keys().find(|k| !allowed_keys.contains(&k.as_str())) {
            return Err(Error::invalid(format!("unknown key `networkPolicy.{key}` for this mode")));
        }
        if let Self::Custom { allowed_hosts, allowed_cidrs, .. } = &policy
            && allowed_hosts.is_empty() && allowed_cidrs.is_empty() {
                return Err(Error::new(
                    crate::error::ErrorCode::Unsupported,
                    "a custom `networkPolicy` needs at least one of `allowedHosts` or `allowedCIDRs`; use { mode: 'deny-all' } to block all egress",
                ));
            }
        // Build once now so malformed CIDRs and domains fail at construction time.
        policy.to_microsandbox()?;
        Ok(policy)
    }

    /// The microsandbox policy. Ingress stays allowed in every mode: it is how
    /// published ports (the agent bridge) reach the guest.
    pub fn to_microsandbox(&self) -> Result<microsandbox::NetworkPolicy> {
        use microsandbox::NetworkPolicy;
        let builder = NetworkPolicy::builder();
        let built = match self {
            Self::AllowAll => return Ok(NetworkPolicy::allow_all()),
            Self::DenyAll => builder.default_deny().default_ingress(microsandbox::NetworkAction::Allow).build(),
            Self::Custom { allowed_hosts, allowed_cidrs, denied_cidrs } => {
                let mut builder = builder.default_deny().default_ingress(microsandbox::NetworkAction::Allow);
                // First match wins, so denied CIDRs go first.
                for cidr in denied_cidrs {
                    builder = builder.egress(|r| r.deny().cidr(cidr.clone()));
                }
                for cidr in allowed_cidrs {
                    builder = builder.egress(|r| r.allow().cidr(cidr.clone()));
                }
                for host in allowed_hosts {
                    builder = match host.strip_prefix("*.") {
                        Some(suffix) => builder.egress(|r| r.allow().domain_suffix(suffix.to_owned())),
                        None => builder.egress(|r| r.allow().domain(host.clone())),
                    };
                }
                builder.build()
            }
        };
        built.map_err(|e| Error::invalid(format!("`networkPolicy`: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn denied_cidrs_come_first_and_ingress_stays_open() {
        let p = NetworkPolicySetting::parse(&json!({
            "mode": "custom", "allowedHosts": ["registry.npmjs.org", "*.anthropic.com"],
            "allowedCIDRs": ["10.1.0.0/16"], "deniedCIDRs": ["10.1.2.0/24"]
        }))
        .unwrap();
        let ms = serde_json::to_value(p.to_microsandbox().unwrap()).unwrap();
        assert_eq!(ms["default_ingress"], "allow");
        assert_eq!(ms["default_egress"], "deny");
        let rules = ms["rules"].as_array().unwrap();
        assert_eq!(rules[0]["action"], "deny");
        assert_eq!(rules.len(), 4);
    }

    #[test]
    fn malformed_cidr_is_rejected_at_parse() {
        let e = NetworkPolicySetting::parse(&json!({ "mode": "custom", "allowedCIDRs": ["nope"] })).unwrap_err();
        assert!(e.message.contains("networkPolicy"), "{}", e.message);
    }

    #[test]
    fn empty_custom_policy_is_unsupported() {
        let e = NetworkPolicySetting::parse(&json!({ "mode": "custom" })).unwrap_err();
        assert_eq!(e.code, crate::error::ErrorCode::Unsupported);
    }
}

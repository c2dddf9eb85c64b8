//! Credentials that never enter the microVM. A declared secret's real value
//! stays in this process's environment; the guest sees a placeholder, and the
//! runtime's network layer swaps it for the real value only in requests to the
//! secret's allowed hosts (TLS is intercepted for that, so the guest must trust
//! the runtime's CA). Commands that pass the real value in their env get the
//! placeholder instead, so adapters that forward API keys work unchanged.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::{Error, ErrorCode, Result};

/// `{ name, allowedHosts, hostEnv? }`: the guest variable `name` holds a
/// placeholder; the real value is the host environment variable `hostEnv`
/// (default: `name`), read when a microVM starts, never stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SecretSetting {
    pub name: String,
    pub host_env: String,
    pub allowed_hosts: Vec<String>,
}

/// Where the runtime puts its interception CA in the guest.
pub const GUEST_CA_PATH: &str = "/.msb/tls/ca.pem";

/// What the guest sees instead of the value: the runtime's own convention.
pub fn placeholder(name: &str) -> String {
    format!("$MSB_{name}")
}

pub fn parse(value: Option<&Value>) -> Result<Vec<SecretSetting>> {
    let items = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(Error::invalid(
                "`secrets` must be an array like [{ name: 'ANTHROPIC_API_KEY', allowedHosts: ['api.anthropic.com'] }]",
            ));
        }
    };
    let mut secrets: Vec<SecretSetting> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let field = format!("secrets[{i}]");
        let obj = item.as_object().ok_or_else(|| Error::invalid(format!("`{field}` must be an object")))?;
        if let Some(key) = obj.keys().find(|k| !["name", "allowedHosts", "hostEnv"].contains(&k.as_str())) {
            return Err(Error::invalid(format!(
                "unknown key `{field}.{key}` (a secret takes name, allowedHosts and hostEnv; its value is read from the host environment)"
            )));
        }
        let string = |key: &str| -> Result<Option<String>> {
            match obj.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(Error::invalid(format!("`{field}.{key}` must be a string"))),
            }
        };
        let name = string("name")?.ok_or_else(|| Error::invalid(format!("`{field}.name` is required")))?;
        env_name(&name, &format!("{field}.name"))?;
        let host_env = string("hostEnv")?.unwrap_or_else(|| name.clone());
        env_name(&host_env, &format!("{field}.hostEnv"))?;
        let allowed_hosts: Vec<String> = match obj.get("allowedHosts") {
            Some(Value::Array(hosts)) if !hosts.is_empty() => hosts
                .iter()
                .enumerate()
                .map(|(j, h)| {
                    let host = h.as_str().unwrap_or_default();
                    crate::policy::check_host_name(host)
                        .map(|()| host.to_owned())
                        .map_err(|problem| Error::invalid(format!("`{field}.allowedHosts[{j}]` {problem}")))
                })
                .collect::<Result<_>>()?,
            _ => {
                return Err(Error::invalid(format!(
                    "`{field}.allowedHosts` must list the hosts that may receive the real value, e.g. ['api.anthropic.com']"
                )));
            }
        };
        if secrets.iter().any(|s| s.name == name) {
            return Err(Error::invalid(format!("`{field}.name` declares {name} twice")));
        }
        secrets.push(SecretSetting { name, host_env, allowed_hosts });
    }
    Ok(secrets)
}

fn env_name(name: &str, field: &str) -> Result<()> {
    let valid = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with("MSB_");
    if valid {
        Ok(())
    } else {
        Err(Error::invalid(format!("`{field}` must be an environment variable name (letters, digits and _, not MSB_)")))
    }
}

impl SecretSetting {
    /// The real value, from this process's environment.
    pub fn host_value(&self) -> Result<String> {
        match std::env::var(&self.host_env) {
            Ok(v) if !v.is_empty() => Ok(v),
            _ => Err(Error::new(
                ErrorCode::InvalidSettings,
                format!(
                    "secret {} reads its value from the host environment variable {}, which is not set",
                    self.name, self.host_env
                ),
            )),
        }
    }
}

/// (real value, placeholder) for each declared secret whose value is set.
pub fn swaps(secrets: &[SecretSetting]) -> Vec<(String, String)> {
    secrets.iter().filter_map(|s| Some((s.host_value().ok()?, placeholder(&s.name)))).collect()
}

/// Every occurrence of a real value inside an env value (`Bearer <key>` as
/// well as `<key>`) becomes its placeholder: the real value never reaches the guest.
pub fn scrub(env: &mut BTreeMap<String, String>, swaps: &[(String, String)]) {
    for (real, placeholder) in swaps.iter().filter(|(real, _)| !real.is_empty()) {
        for value in env.values_mut().filter(|v| v.contains(real.as_str())) {
            *value = value.replace(real.as_str(), placeholder);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_parse_with_defaults_and_refuse_bad_declarations() {
        let s = parse(Some(&json!([{ "name": "ANTHROPIC_API_KEY", "allowedHosts": ["api.anthropic.com"] }]))).unwrap();
        assert_eq!(s[0].host_env, "ANTHROPIC_API_KEY");
        for (bad, field) in [
            (json!([{ "name": "K", "allowedHosts": [] }]), "secrets[0].allowedHosts"),
            (json!([{ "name": "K" }]), "secrets[0].allowedHosts"),
            (json!([{ "name": "A-B", "allowedHosts": ["x.com"] }]), "secrets[0].name"),
            (json!([{ "name": "K", "allowedHosts": ["https://x.com"] }]), "secrets[0].allowedHosts[0]"),
            (json!([{ "name": "K", "allowedHosts": ["x.com"], "value": "sk-123" }]), "secrets[0].value"),
            (json!([{ "name": "K", "allowedHosts": ["x.com"], "hostEnv": "1X" }]), "secrets[0].hostEnv"),
            (json!({ "name": "K" }), "secrets"),
        ] {
            let e = parse(Some(&bad)).unwrap_err();
            assert!(e.message.contains(field), "{bad}: {}", e.message);
            assert!(!e.message.contains("sk-123"));
        }
    }

    #[test]
    fn real_values_in_a_command_env_become_placeholders() {
        // A variable only this test sets, so it does not race other tests.
        let var = "AISDK_TEST_SECRET_SCRUB";
        unsafe { std::env::set_var(var, "sk-real-value") };
        let secrets =
            vec![SecretSetting { name: "KEY".into(), host_env: var.into(), allowed_hosts: vec!["x.com".into()] }];
        let mut env = BTreeMap::from([
            ("KEY".to_owned(), "sk-real-value".to_owned()),
            ("OTHER".to_owned(), "sk-real-value".to_owned()),
            ("AUTH".to_owned(), "Bearer sk-real-value".to_owned()),
            ("TWICE".to_owned(), "sk-real-value,sk-real-value".to_owned()),
            ("PLAIN".to_owned(), "keep".to_owned()),
        ]);
        scrub(&mut env, &swaps(&secrets));
        assert_eq!(env["KEY"], "$MSB_KEY");
        assert_eq!(env["OTHER"], "$MSB_KEY");
        assert_eq!(env["AUTH"], "Bearer $MSB_KEY");
        assert_eq!(env["TWICE"], "$MSB_KEY,$MSB_KEY");
        assert_eq!(env["PLAIN"], "keep");
    }
}

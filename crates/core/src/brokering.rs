//! Credential brokering: the harness's request transformations as the
//! runtime's secret substitution. An adapter gives the guest a random
//! placeholder and asks that requests to a host carrying it in a header get the
//! real value there instead; the runtime does exactly that for HTTPS (it
//! intercepts TLS), so a rule maps to one runtime secret: that placeholder, the
//! real value, that host. What the runtime cannot express is refused with the
//! rule named, never silently dropped.

use serde_json::{Map, Value};

use crate::error::{Error, ErrorCode, Result};

/// Prefix of the guest variables that hold brokered placeholders (the runtime
/// names every secret by a guest variable).
const ENV_PREFIX: &str = "AISDK_BROKERED_";

/// Shortest placeholder accepted: the runtime swaps every occurrence in a
/// request's headers, so a short one could match innocent text.
const MIN_PLACEHOLDER_CHARS: usize = 16;

/// One brokered credential: requests to `host` carrying `placeholder` in a
/// header get `value` in its place.
#[derive(Clone, PartialEq, Eq)]
pub struct BrokeredSecret {
    /// The guest variable the runtime sets to the placeholder, named after its hash.
    pub env_name: String,
    pub placeholder: String,
    pub value: String,
    pub hosts: Vec<String>,
}

// Never print the value.
impl std::fmt::Debug for BrokeredSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokeredSecret").field("env_name", &self.env_name).field("hosts", &self.hosts).finish()
    }
}

/// The secrets a list of `HarnessV1RequestTransformation`s asks for. Malformed
/// rules are `InvalidArgument`; rules the runtime cannot express are
/// `Unsupported`. Messages name the rule, its host and header, never a value.
pub fn parse_rules(rules: &Value) -> Result<Vec<BrokeredSecret>> {
    let rules = rules.as_array().ok_or_else(|| {
        invalid("request transformations must be an array of { match: { host, headers }, transform: { headers } }")
    })?;
    let mut secrets: Vec<BrokeredSecret> = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        for secret in parse_rule(i, rule)? {
            merge(&mut secrets, secret).map_err(|why| unsupported(i, &why))?;
        }
    }
    Ok(secrets)
}

/// `addRequestTransformations`: `added` joins `current`. A placeholder already
/// brokered with the same value gains the new rule's hosts; with another value
/// it is rotated, for the new rule's hosts.
pub fn merged(current: &[BrokeredSecret], added: Vec<BrokeredSecret>) -> Vec<BrokeredSecret> {
    let mut all = current.to_vec();
    for secret in added {
        match all.iter_mut().find(|s| s.placeholder == secret.placeholder) {
            Some(existing) if existing.value == secret.value => {
                for host in secret.hosts {
                    if !existing.hosts.contains(&host) {
                        existing.hosts.push(host);
                    }
                }
            }
            Some(existing) => *existing = secret,
            None => all.push(secret),
        }
    }
    all
}

/// Whether a guest variable is one this module named.
pub fn is_brokered_env(name: &str) -> bool {
    name.starts_with(ENV_PREFIX)
}

fn parse_rule(i: usize, rule: &Value) -> Result<Vec<BrokeredSecret>> {
    let rule = object(rule, &format!("rules[{i}]"))?;
    if let Some(key) = rule.keys().find(|k| !["match", "transform"].contains(&k.as_str())) {
        return Err(invalid(format!("unknown key `rules[{i}].{key}`; a rule has match and transform")));
    }
    let matcher = object(rule.get("match").unwrap_or(&Value::Null), &format!("rules[{i}].match"))?;
    let transform = object(rule.get("transform").unwrap_or(&Value::Null), &format!("rules[{i}].transform"))?;
    let host = match matcher.get("host") {
        Some(Value::String(h)) => h.clone(),
        _ => return Err(invalid(format!("`rules[{i}].match.host` must be a host name string"))),
    };
    crate::policy::check_host_name(&host).map_err(|problem| invalid(format!("`rules[{i}].match.host` {problem}")))?;
    for key in matcher.keys() {
        match key.as_str() {
            "host" | "headers" => {}
            "path" | "method" | "queryString" => {
                return Err(unsupported(
                    i,
                    &format!(
                        "it matches on `{key}` (host {host}); the runtime substitutes credentials per host only, \
                         so it cannot limit a rule to a {}",
                        match key.as_str() {
                            "path" => "path",
                            "method" => "method",
                            _ => "query string",
                        }
                    ),
                ));
            }
            other => return Err(invalid(format!("unknown key `rules[{i}].match.{other}`"))),
        }
    }
    if let Some(key) = transform.keys().find(|k| k.as_str() != "headers") {
        return Err(unsupported(i, &format!("it transforms `{key}`; only request headers can carry a credential")));
    }
    let headers = object(transform.get("headers").unwrap_or(&Value::Null), &format!("rules[{i}].transform.headers"))?;
    if headers.is_empty() {
        return Err(invalid(format!("`rules[{i}].transform.headers` sets no header")));
    }
    let matched = header_matches(i, matcher.get("headers"))?;
    for (name, _) in &matched {
        if !headers.keys().any(|h| h.eq_ignore_ascii_case(name)) {
            return Err(unsupported(
                i,
                &format!(
                    "it matches header `{name}` (host {host}) without transforming it; only the placeholder header can be matched"
                ),
            ));
        }
    }
    let mut secrets = Vec::new();
    for (name, value) in headers {
        let Value::String(real) = value else {
            return Err(invalid(format!("`rules[{i}].transform.headers.{name}` must be a string")));
        };
        let Some((_, sent)) = matched.iter().find(|(m, _)| m.eq_ignore_ascii_case(name)) else {
            return Err(unsupported(
                i,
                &format!(
                    "it sets header `{name}` (host {host}) without matching the placeholder the request carries there; \
                     the runtime can only swap a placeholder for the real value"
                ),
            ));
        };
        let (placeholder, value) = substitution(sent, real).ok_or_else(|| {
            unsupported(
                i,
                &format!(
                    "header `{name}` (host {host}) is not a placeholder substitution: the matched and the new value \
                     must differ only in one token of at least {MIN_PLACEHOLDER_CHARS} characters"
                ),
            )
        })?;
        secrets.push(BrokeredSecret {
            env_name: env_name(&placeholder),
            placeholder,
            value,
            hosts: vec![host.clone()],
        });
    }
    Ok(secrets)
}

/// `[{ key: { exact }, value: { exact } }]` as (name, value) pairs; any other matcher is unsupported.
fn header_matches(i: usize, value: Option<&Value>) -> Result<Vec<(String, String)>> {
    let items = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(invalid(format!("`rules[{i}].match.headers` must be an array"))),
    };
    let exact = |m: Option<&Value>| -> Option<String> {
        let m = m?.as_object()?;
        if m.len() != 1 {
            return None;
        }
        m.get("exact")?.as_str().map(str::to_owned)
    };
    items
        .iter()
        .enumerate()
        .map(|(j, item)| {
            let item = object(item, &format!("rules[{i}].match.headers[{j}]"))?;
            match (exact(item.get("key")), exact(item.get("value"))) {
                (Some(name), Some(sent)) if item.len() == 2 => Ok((name, sent)),
                _ => Err(unsupported(
                    i,
                    &format!(
                        "`match.headers[{j}]` is not an exact header name and value; the runtime matches only the \
                         exact placeholder a header carries"
                    ),
                )),
            }
        })
        .collect()
}

/// The token that differs between the value the guest sends and the one the
/// rule puts in its place, split at whitespace: `Bearer <placeholder>` →
/// `Bearer <real>` gives (placeholder, real). `None` when they differ in more
/// than one token, or the placeholder is too short to be unambiguous.
fn substitution(sent: &str, real: &str) -> Option<(String, String)> {
    let (sent_tokens, real_tokens): (Vec<&str>, Vec<&str>) = (sent.split(' ').collect(), real.split(' ').collect());
    if sent_tokens.len() != real_tokens.len() {
        return None;
    }
    let mut differing = sent_tokens.iter().zip(&real_tokens).filter(|(s, r)| s != r);
    let (placeholder, value) = differing.next()?;
    let usable = differing.next().is_none()
        && placeholder.chars().count() >= MIN_PLACEHOLDER_CHARS
        && !value.is_empty()
        && !value.contains(['\r', '\n', '\0'])
        && !placeholder.contains(char::is_whitespace);
    usable.then(|| ((*placeholder).to_owned(), (*value).to_owned()))
}

/// Two rules for one placeholder must agree on its value (the runtime keeps
/// one value per placeholder); their hosts are joined.
fn merge(secrets: &mut Vec<BrokeredSecret>, secret: BrokeredSecret) -> std::result::Result<(), String> {
    match secrets.iter_mut().find(|s| s.placeholder == secret.placeholder) {
        None => secrets.push(secret),
        Some(existing) if existing.value == secret.value => {
            for host in secret.hosts {
                if !existing.hosts.contains(&host) {
                    existing.hosts.push(host);
                }
            }
        }
        Some(_) => return Err("it gives a placeholder another value than an earlier rule does".to_owned()),
    }
    Ok(())
}

fn env_name(placeholder: &str) -> String {
    format!("{ENV_PREFIX}{}", blake3::hash(placeholder.as_bytes()).to_hex()[..16].to_ascii_uppercase())
}

fn object<'a>(value: &'a Value, field: &str) -> Result<&'a Map<String, Value>> {
    value.as_object().ok_or_else(|| invalid(format!("`{field}` must be an object")))
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidArgument, message)
}

fn unsupported(i: usize, why: &str) -> Error {
    Error::new(ErrorCode::Unsupported, format!("request transformation rules[{i}] cannot be brokered: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PH: &str = "aisdkhc_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG";

    fn rule(host: &str, header: &str, sent: &str, real: &str) -> Value {
        json!({
            "match": { "host": host, "headers": [{ "key": { "exact": header }, "value": { "exact": sent } }] },
            "transform": { "headers": { header: real } }
        })
    }

    fn refused(rules: Value) -> Error {
        parse_rules(&rules).unwrap_err()
    }

    #[test]
    fn claude_codes_api_key_rule_becomes_one_secret_for_its_host() {
        let secrets = parse_rules(&json!([rule("api.anthropic.com", "x-api-key", PH, "sk-ant-real")])).unwrap();
        assert_eq!(secrets.len(), 1);
        assert_eq!(secrets[0].placeholder, PH);
        assert_eq!(secrets[0].value, "sk-ant-real");
        assert_eq!(secrets[0].hosts, vec!["api.anthropic.com"]);
        assert!(is_brokered_env(&secrets[0].env_name));
    }

    #[test]
    fn a_bearer_rule_swaps_only_the_token() {
        let secrets =
            parse_rules(&json!([rule("api.openai.com", "Authorization", &format!("Bearer {PH}"), "Bearer sk-real")]))
                .unwrap();
        assert_eq!((secrets[0].placeholder.as_str(), secrets[0].value.as_str()), (PH, "sk-real"));
    }

    #[test]
    fn rules_the_runtime_cannot_express_are_refused_naming_the_rule_never_the_value() {
        let with = |extra: Value| {
            let mut r = rule("api.example.com", "x-api-key", PH, "sk-secret-value");
            r["match"].as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            json!([r])
        };
        for (rules, what) in [
            (with(json!({ "path": { "startsWith": "/v1" } })), "`path`"),
            (with(json!({ "method": ["POST"] })), "`method`"),
            (with(json!({ "queryString": [{ "key": { "exact": "k" } }] })), "`queryString`"),
            (
                json!([{ "match": { "host": "api.example.com" }, "transform": { "headers": { "x-org": "sk-secret-value" } } }]),
                "without matching the placeholder",
            ),
            (
                json!([{
                    "match": { "host": "api.example.com", "headers": [{ "key": { "exact": "x-api-key" }, "value": { "startsWith": "aisdkhc_" } }] },
                    "transform": { "headers": { "x-api-key": "sk-secret-value" } }
                }]),
                "not an exact header name and value",
            ),
            (
                json!([{
                    "match": { "host": "api.example.com", "headers": [
                        { "key": { "exact": "x-api-key" }, "value": { "exact": PH } },
                        { "key": { "exact": "x-tenant" }, "value": { "exact": "acme" } }
                    ] },
                    "transform": { "headers": { "x-api-key": "sk-secret-value" } }
                }]),
                "without transforming it",
            ),
            (
                json!([rule("api.example.com", "x-api-key", "short", "sk-secret-value")]),
                "not a placeholder substitution",
            ),
            (
                json!([rule("api.example.com", "x-api-key", &format!("a {PH}"), "b sk-secret-value")]),
                "not a placeholder",
            ),
            (
                json!([{ "match": { "host": "api.example.com", "headers": [] }, "transform": { "body": "x" } }]),
                "`body`",
            ),
        ] {
            let e = refused(rules.clone());
            assert_eq!(e.code, ErrorCode::Unsupported, "{rules}: {}", e.message);
            assert!(e.message.contains("rules[0]") && e.message.contains(what), "{what}: {}", e.message);
            assert!(!e.message.contains("sk-secret-value") && !e.message.contains(PH), "{}", e.message);
        }
    }

    #[test]
    fn malformed_rules_are_invalid_arguments() {
        for (rules, what) in [
            (json!({}), "must be an array"),
            (json!([{ "match": { "host": 42 }, "transform": { "headers": {} } }]), "match.host"),
            (json!([{ "match": { "host": "https://x.com" }, "transform": { "headers": {} } }]), "match.host"),
            (json!([{ "match": { "host": "x.com" }, "transform": { "headers": {} } }]), "sets no header"),
            (json!([{ "match": { "host": "x.com" } }]), "transform"),
        ] {
            let e = refused(rules);
            assert_eq!(e.code, ErrorCode::InvalidArgument, "{}", e.message);
            assert!(e.message.contains(what), "{what}: {}", e.message);
        }
    }

    #[test]
    fn one_placeholder_for_two_hosts_is_one_secret_and_conflicting_values_are_refused() {
        let both = parse_rules(&json!([
            rule("a.example.com", "x-api-key", PH, "v"),
            rule("b.example.com", "x-api-key", PH, "v")
        ]))
        .unwrap();
        assert_eq!(both.len(), 1);
        assert_eq!(both[0].hosts, vec!["a.example.com", "b.example.com"]);
        let e =
            refused(json!([rule("a.example.com", "x-api-key", PH, "v"), rule("b.example.com", "x-api-key", PH, "w")]));
        assert_eq!(e.code, ErrorCode::Unsupported);
        assert!(e.message.contains("rules[1]"));
    }

    #[test]
    fn adding_a_known_placeholder_rotates_it() {
        let first = parse_rules(&json!([rule("a.example.com", "x-api-key", PH, "old")])).unwrap();
        let rotated = parse_rules(&json!([rule("a.example.com", "x-api-key", PH, "new")])).unwrap();
        let all = merged(&first, rotated);
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].value, "new");
        assert!(!format!("{all:?}").contains("new"));
        // The same value for another host, in a later add: both hosts keep it.
        let other_host = parse_rules(&json!([rule("b.example.com", "x-api-key", PH, "new")])).unwrap();
        assert_eq!(merged(&all, other_host)[0].hosts, vec!["a.example.com", "b.example.com"]);
    }
}

//! Provider settings: parsed and validated synchronously, before any I/O, so a
//! typo fails at `createMicrosandbox()` with a message naming the field.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::policy::NetworkPolicySetting;

/// Transport of a published port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PortProtocol {
    Tcp,
    Udp,
}

/// One `ports` entry: a guest port published on the host. `host` is the first
/// choice of host port; another free one is leased when it is taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSetting {
    pub host: u16,
    pub guest: u16,
    pub bind: IpAddr,
    pub protocol: PortProtocol,
}

/// Which API the caller uses: it decides a session's `id`, which settings
/// apply, and their defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `createMicrosandbox()`, the harness's sandbox provider (up to
    /// `@ai-sdk/harness` 1.0.125): `id` is the sandbox name, and a create
    /// without a `sessionId` makes a session nobody can resume.
    Provider,
    /// `createMicrosandboxNetworkSandboxSession()`: every session is
    /// resumable, `id` is its sandbox id (generated when the caller gives none).
    SessionFactory,
}

/// What sessions boot when the settings name no `image`: Debian (glibc, bash)
/// with Node.js 24, which the harness adapters' bridges and CLIs need; slim
/// keeps the first pull small.
pub const DEFAULT_IMAGE: &str = "node:24-bookworm-slim";

/// With the default image only: the Claude Code and Codex adapters install
/// their CLIs with pnpm 10, which the Node image lacks.
pub const DEFAULT_IMAGE_BOOTSTRAP: &str = "command -v pnpm >/dev/null || npm install -g pnpm@10";

/// Settings of a provider that creates and owns its microVMs.
#[derive(Debug, Clone)]
pub struct CreateSettings {
    pub shape: Shape,
    pub image: String,
    pub cpus: Option<u8>,
    pub memory_mib: Option<u32>,
    pub workdir: Option<String>,
    /// A host directory bound at `workdir` (which then defaults to `/workspace`).
    pub workspace: Option<crate::workspace::WorkspaceSetting>,
    /// Code fetched into `workdir` when a session is created.
    pub source: Option<crate::source::SourceSetting>,
    /// Who commands run as (a name or uid in the image, `uid:gid` too); unset: the image's `USER`, else root.
    pub user: Option<String>,
    pub ports: Vec<PortSetting>,
    pub env: BTreeMap<String, String>,
    /// Omitted means allow-all: the public internet, nothing of the host.
    pub network_policy: NetworkPolicySetting,
    /// Host TCP ports the guest may reach at `host.microsandbox.internal`.
    pub allow_host_ports: Vec<u16>,
    /// Credentials the guest only sees as placeholders.
    pub secrets: Vec<crate::secrets::SecretSetting>,
    /// Sessions accept request transformations (credential brokering): they
    /// boot with HTTPS interception, so they never fork a template's RAM.
    pub broker_credentials: bool,
    /// The runtime stops a sandbox idle this long (see `lifecycle::Lifetime`).
    pub idle_timeout_secs: Option<u64>,
    /// The runtime stops a sandbox this long after it starts.
    pub max_duration_secs: Option<u64>,
    pub name: Option<String>,
    pub public_hostname: Option<String>,
    pub replace: bool,
    pub bootstrap_pre_commands: Vec<String>,
    /// Sessions kept booted ahead of creates with a `sessionId` (0: no pool).
    pub warm_pool_size: usize,
}

/// Largest `warmPool.size`: every member is a running microVM.
pub const MAX_WARM_POOL_SIZE: usize = 16;

/// Settings of a provider that attaches to a sandbox the caller owns.
#[derive(Debug, Clone)]
pub struct WrapSettings {
    /// Name of the caller's microsandbox sandbox.
    pub sandbox: String,
    /// Guest ports already published by that sandbox that sessions may lease.
    pub bridge_ports: Vec<u16>,
    pub public_hostname: Option<String>,
}

#[derive(Debug, Clone)]
// One per provider: the size difference costs nothing worth a Box.
#[allow(clippy::large_enum_variant)]
pub enum Settings {
    Create(CreateSettings),
    Wrap(WrapSettings),
}

const CREATE_KEYS: &[&str] = &[
    "image",
    "cpus",
    "memory",
    "workdir",
    "ports",
    "env",
    "networkPolicy",
    "allowHostPorts",
    "idleTimeoutMs",
    "secrets",
    "maxDurationMs",
    "name",
    "publicHostname",
    "replace",
    "bootstrapPreCommands",
    "warmPool",
    "timeout",
    "resources",
    "brokerCredentials",
    "workspace",
    "source",
    "user",
];
/// Provider settings that a session factory refuses, with what to do instead.
const PROVIDER_ONLY_KEYS: &[(&str, &str)] = &[
    ("replace", "creation never replaces a session: destroy it first, or resume it by `sandboxId`"),
    ("warmPool", "a warm pool belongs to a long-lived provider: use createMicrosandbox({ warmPool })"),
    ("sandbox", "to wrap a sandbox you own, use createMicrosandboxNetworkSandboxSessionFromNativeSandbox(sandbox)"),
    ("bridgePorts", "to wrap a sandbox you own, use createMicrosandboxNetworkSandboxSessionFromNativeSandbox(sandbox)"),
];
/// `@ai-sdk/sandbox-vercel` settings with no equivalent, and what to use instead.
const VERCEL_KEYS: &[(&str, &str)] = &[
    ("runtime", "choose an OCI image instead, e.g. `image: 'node:24-bookworm-slim'`"),
    ("teamId", "no account is needed: microVMs run on this machine"),
    ("projectId", "no account is needed: microVMs run on this machine"),
    ("token", "no account is needed: microVMs run on this machine"),
    ("persistent", "sessions are always resumable by `sandboxId` until destroy()"),
    ("snapshotExpiration", "templates are pruned by age and use: see prune()"),
    ("templateName", "templates are named by their key (identity, image and settings)"),
];
const WRAP_KEYS: &[&str] = &["sandbox", "bridgePorts", "publicHostname"];

impl Settings {
    /// Parses the settings object given to `createMicrosandbox()`.
    pub fn parse(value: &Value) -> Result<Self> {
        let obj = value.as_object().ok_or_else(|| {
            Error::invalid("createMicrosandbox() expects a settings object, e.g. { image: 'node:22-bookworm-slim' }")
        })?;
        let wrap = obj.contains_key("sandbox");
        for key in obj.keys() {
            if let Some((_, hint)) = VERCEL_KEYS.iter().find(|(k, _)| k == key) {
                return Err(Error::invalid(format!(
                    "`{key}` (a @ai-sdk/sandbox-vercel setting) does not apply here: {hint}"
                )));
            }
            let known_here = if wrap { WRAP_KEYS } else { CREATE_KEYS };
            if known_here.contains(&key.as_str()) {
                continue;
            }
            if wrap && CREATE_KEYS.contains(&key.as_str()) {
                return Err(Error::invalid(format!(
                    "`{key}` cannot be combined with `sandbox`: a wrapped sandbox is configured by its owner. \
                     Use either create settings (image, cpus, ...) or wrap settings (sandbox, bridgePorts, publicHostname)"
                )));
            }
            if !wrap && key == "bridgePorts" {
                return Err(Error::invalid(
                    "`bridgePorts` only applies with `sandbox` (wrap mode); in create mode use `ports`",
                ));
            }
            return Err(Error::invalid(format!("unknown setting `{key}`; expected one of: {}", known_here.join(", "))));
        }
        if wrap { parse_wrap(obj).map(Self::Wrap) } else { parse_create(obj, Shape::Provider).map(Self::Create) }
    }

    /// Checks the options of `resumeMicrosandboxNetworkSandboxSession()` besides
    /// `sandboxId` and `abortSignal`: there are none, a resume takes no settings.
    pub fn check_resume_options(value: &Value) -> Result<()> {
        match value.as_object().and_then(|o| o.keys().next()) {
            None => Ok(()),
            Some(key) => Err(Error::invalid(format!(
                "unknown option `{key}`; a resume takes sandboxId and abortSignal (the session keeps the settings it was created with)"
            ))),
        }
    }

    /// Parses the creation settings of `createMicrosandboxNetworkSandboxSession()`
    /// (its options without `sandboxId`, `template`, `abortSignal` and `onProgress`).
    pub fn parse_session_options(value: &Value) -> Result<Self> {
        let obj = match value {
            Value::Null => &Map::new(),
            Value::Object(obj) => obj,
            _ => {
                return Err(Error::invalid(
                    "createMicrosandboxNetworkSandboxSession() expects an options object, e.g. { ports: [4000] }",
                ));
            }
        };
        for key in obj.keys() {
            if let Some((_, hint)) = PROVIDER_ONLY_KEYS.iter().find(|(k, _)| k == key) {
                return Err(Error::invalid(format!("`{key}` is not an option of a session factory: {hint}")));
            }
            if let Some((_, hint)) = VERCEL_KEYS.iter().find(|(k, _)| k == key) {
                return Err(Error::invalid(format!(
                    "`{key}` (a @ai-sdk/sandbox-vercel setting) does not apply here: {hint}"
                )));
            }
            if !CREATE_KEYS.contains(&key.as_str()) {
                let known: Vec<&str> = CREATE_KEYS
                    .iter()
                    .filter(|k| !PROVIDER_ONLY_KEYS.iter().any(|(p, _)| p == *k))
                    .copied()
                    .chain(["sandboxId", "template", "abortSignal", "onProgress"])
                    .collect();
                return Err(Error::invalid(format!("unknown option `{key}`; expected one of: {}", known.join(", "))));
            }
        }
        parse_create(obj, Shape::SessionFactory).map(Self::Create)
    }
}

fn parse_create(obj: &Map<String, Value>, shape: Shape) -> Result<CreateSettings> {
    let image = opt_string(obj, "image")?;
    if image.as_ref().is_some_and(|i| i.trim().is_empty()) {
        return Err(Error::invalid("`image` must not be empty"));
    }
    let default_image = image.is_none();
    let image = image.unwrap_or_else(|| DEFAULT_IMAGE.to_owned());
    let mut cpus = match obj.get("cpus") {
        None | Some(Value::Null) => None,
        Some(v) => Some(int_in(v, "cpus", 1, u8::MAX as i64, "an integer number of vCPUs >= 1")? as u8),
    };
    let mut memory_mib = match obj.get("memory") {
        None | Some(Value::Null) => None,
        Some(v) => Some(int_in(v, "memory", 64, u32::MAX as i64, "an integer number of MiB >= 64")? as u32),
    };
    if let Some(vcpus) = parse_resources(obj.get("resources"))? {
        if cpus.is_some() {
            return Err(Error::invalid("give either `cpus` or `resources.vcpus`, not both"));
        }
        cpus = Some(vcpus);
        // sandbox-vercel's sizing: 2 GiB per vCPU, unless `memory` says otherwise.
        memory_mib = memory_mib.or(Some(u32::from(vcpus) * 2048));
    }
    let workdir = opt_string(obj, "workdir")?;
    if let Some(dir) = &workdir
        && (!dir.starts_with('/') || dir.contains('\0'))
    {
        return Err(Error::invalid(format!(
            "`workdir` must be an absolute guest path such as '/workspace' (got {dir:?})"
        )));
    }
    let workspace = crate::workspace::parse(obj.get("workspace"))?;
    let source = crate::source::parse(obj.get("source"))?;
    if workspace.is_some() && source.is_some() {
        return Err(Error::invalid(
            "give either `workspace` (your directory, mounted) or `source` (code fetched into the microVM), not both",
        ));
    }
    let workdir = match (workdir, &workspace) {
        (None, Some(_)) => Some(crate::workspace::DEFAULT_GUEST_PATH.to_owned()),
        (workdir, _) => workdir,
    };
    let user = opt_string(obj, "user")?;
    if let Some(user) = &user {
        let valid =
            |part: &str| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        let (name, group) = user.split_once(':').map_or((user.as_str(), None), |(u, g)| (u, Some(g)));
        if !valid(name) || group.is_some_and(|g| !valid(g)) || name.starts_with('-') {
            return Err(Error::invalid(format!(
                "`user` must be a user of the image: a name or uid, optionally `:group` (got {user:?})"
            )));
        }
    }
    let ports = parse_ports(obj.get("ports"))?;
    let env = parse_env(obj.get("env"))?;
    let network_policy = match obj.get("networkPolicy") {
        None | Some(Value::Null) => NetworkPolicySetting::AllowAll,
        Some(v) => NetworkPolicySetting::parse(v)?,
    };
    let allow_host_ports = crate::policy::parse_host_ports(obj.get("allowHostPorts"))?;
    let secrets = crate::secrets::parse(obj.get("secrets"))?;
    let idle_timeout_secs = opt_whole_seconds(obj, "idleTimeoutMs")?;
    let max_duration_secs = match (opt_whole_seconds(obj, "maxDurationMs")?, opt_whole_seconds(obj, "timeout")?) {
        (Some(_), Some(_)) => {
            return Err(Error::invalid("give either `timeout` or `maxDurationMs` (the same bound), not both"));
        }
        (a, b) => a.or(b),
    };
    let broker_credentials = match obj.get("brokerCredentials") {
        None | Some(Value::Null) => shape == Shape::SessionFactory,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(Error::invalid("`brokerCredentials` must be a boolean")),
    };
    let name = opt_string(obj, "name")?;
    if let Some(name) = &name {
        microsandbox::validate_sandbox_name(name).map_err(|e| Error::invalid(format!("`name`: {e}")))?;
        if name.len() > crate::naming::MAX_PREFIX_BYTES {
            return Err(Error::invalid(format!(
                "`name` must be at most {} bytes: session names append the session id and a hash",
                crate::naming::MAX_PREFIX_BYTES
            )));
        }
    }
    let public_hostname = parse_hostname(obj)?;
    let replace = match obj.get("replace") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(Error::invalid("`replace` must be a boolean")),
    };
    let bootstrap_pre_commands = match obj.get("bootstrapPreCommands") {
        None | Some(Value::Null) if default_image => vec![DEFAULT_IMAGE_BOOTSTRAP.to_owned()],
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_str().map(str::to_owned).ok_or_else(|| {
                    Error::invalid(format!("`bootstrapPreCommands[{i}]` must be a shell command string"))
                })
            })
            .collect::<Result<_>>()?,
        Some(_) => return Err(Error::invalid("`bootstrapPreCommands` must be an array of shell command strings")),
    };
    let warm_pool_size = parse_warm_pool(obj.get("warmPool"))?;
    Ok(CreateSettings {
        shape,
        image,
        cpus,
        memory_mib,
        workdir,
        workspace,
        source,
        user,
        ports,
        env,
        network_policy,
        allow_host_ports,
        secrets,
        broker_credentials,
        idle_timeout_secs,
        max_duration_secs,
        name,
        public_hostname,
        replace,
        bootstrap_pre_commands,
        warm_pool_size,
    })
}

/// sandbox-vercel's `resources: { vcpus }`.
fn parse_resources(value: Option<&Value>) -> Result<Option<u8>> {
    let obj = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(obj)) => obj,
        Some(_) => return Err(Error::invalid("`resources` must be an object like { vcpus: 2 }")),
    };
    if let Some(key) = obj.keys().find(|k| k.as_str() != "vcpus") {
        return Err(Error::invalid(format!(
            "unknown key `resources.{key}`; expected vcpus (memory is `memory`, in MiB)"
        )));
    }
    let vcpus = obj.get("vcpus").ok_or_else(|| Error::invalid("`resources.vcpus` is required"))?;
    Ok(Some(int_in(vcpus, "resources.vcpus", 1, u8::MAX as i64, "an integer number of vCPUs >= 1")? as u8))
}

fn parse_warm_pool(value: Option<&Value>) -> Result<usize> {
    let obj = match value {
        None | Some(Value::Null) => return Ok(0),
        Some(Value::Object(obj)) => obj,
        Some(_) => return Err(Error::invalid("`warmPool` must be an object like { size: 2 }")),
    };
    if let Some(key) = obj.keys().find(|k| k.as_str() != "size") {
        return Err(Error::invalid(format!("unknown key `warmPool.{key}`; expected size")));
    }
    let size = obj.get("size").ok_or_else(|| Error::invalid("`warmPool.size` is required (sessions kept ready)"))?;
    let what = format!("an integer number of sessions in 0..{MAX_WARM_POOL_SIZE}");
    Ok(int_in(size, "warmPool.size", 0, MAX_WARM_POOL_SIZE as i64, &what)? as usize)
}

fn parse_wrap(obj: &Map<String, Value>) -> Result<WrapSettings> {
    let sandbox = opt_string(obj, "sandbox")?
        .ok_or_else(|| Error::invalid("`sandbox` must be a microsandbox Sandbox object or a sandbox name"))?;
    microsandbox::validate_sandbox_name(&sandbox).map_err(|e| Error::invalid(format!("`sandbox`: {e}")))?;
    let bridge_ports = match obj.get("bridgePorts") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => {
            let mut ports = Vec::new();
            for (i, v) in items.iter().enumerate() {
                let p = int_in(v, &format!("bridgePorts[{i}]"), 1, 65535, "a guest port number in 1..65535")? as u16;
                if ports.contains(&p) {
                    return Err(Error::invalid(format!("`bridgePorts` lists guest port {p} twice")));
                }
                ports.push(p);
            }
            ports
        }
        Some(_) => return Err(Error::invalid("`bridgePorts` must be an array of guest port numbers")),
    };
    Ok(WrapSettings { sandbox, bridge_ports, public_hostname: parse_hostname(obj)? })
}

fn parse_ports(value: Option<&Value>) -> Result<Vec<PortSetting>> {
    let items = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(Error::invalid("`ports` must be an array like [4000] or [{ host: 4000, guest: 4000 }]")),
    };
    let mut ports: Vec<PortSetting> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let field = format!("ports[{i}]");
        // A bare number publishes that guest port, preferring the same host port (sandbox-vercel's shape).
        let same = item.is_number().then(|| serde_json::json!({ "host": item, "guest": item }));
        let obj = same.as_ref().unwrap_or(item).as_object().ok_or_else(|| {
            Error::invalid(format!("`{field}` must be a port number or an object like {{ host: 4000, guest: 4000 }}"))
        })?;
        if let Some(key) = obj.keys().find(|k| !["host", "guest", "bind", "protocol"].contains(&k.as_str())) {
            return Err(Error::invalid(format!("unknown key `{field}.{key}`; expected host, guest, bind, protocol")));
        }
        let port_of = |key: &str| -> Result<u16> {
            let v = obj
                .get(key)
                .ok_or_else(|| Error::invalid(format!("`{field}.{key}` is required (a port number in 1..65535)")))?;
            Ok(int_in(v, &format!("{field}.{key}"), 1, 65535, "a port number in 1..65535")? as u16)
        };
        let host = port_of("host")?;
        let guest = port_of("guest")?;
        let bind = match obj.get("bind") {
            None | Some(Value::Null) => IpAddr::from([127, 0, 0, 1]),
            Some(Value::String(s)) => s.parse().map_err(|_| {
                Error::invalid(format!("`{field}.bind` must be an IP address such as '127.0.0.1' (got {s:?})"))
            })?,
            Some(_) => return Err(Error::invalid(format!("`{field}.bind` must be an IP address string"))),
        };
        let protocol = match obj.get("protocol") {
            None | Some(Value::Null) => PortProtocol::Tcp,
            Some(Value::String(s)) if s == "tcp" => PortProtocol::Tcp,
            Some(Value::String(s)) if s == "udp" => PortProtocol::Udp,
            Some(_) => return Err(Error::invalid(format!("`{field}.protocol` must be 'tcp' or 'udp'"))),
        };
        if let Some(prev) = ports.iter().find(|p| p.host == host && p.protocol == protocol) {
            return Err(Error::invalid(format!(
                "`ports` uses host port {host} twice (guest {} and guest {guest}); give each entry its own host port",
                prev.guest
            )));
        }
        if ports.iter().any(|p| p.guest == guest && p.protocol == protocol) {
            return Err(Error::invalid(format!("`ports` publishes guest port {guest} twice")));
        }
        ports.push(PortSetting { host, guest, bind, protocol });
    }
    Ok(ports)
}

impl CreateSettings {
    /// Whether sessions boot with HTTPS interception: declared secrets or credential brokering.
    pub fn intercepts_https(&self) -> bool {
        self.broker_credentials || !self.secrets.is_empty()
    }

    /// The env every command starts from: the settings' env with real secret
    /// values replaced by placeholders, and, in a microVM that intercepts
    /// HTTPS, Node pointed at the runtime's interception CA.
    pub fn guest_env(&self, intercepts_https: bool) -> BTreeMap<String, String> {
        let mut env = self.env.clone();
        crate::secrets::scrub(&mut env, &crate::secrets::swaps(&self.secrets));
        if intercepts_https {
            env.entry("NODE_EXTRA_CA_CERTS".to_owned()).or_insert_with(|| crate::secrets::GUEST_CA_PATH.to_owned());
        }
        env
    }
}

fn parse_env(value: Option<&Value>) -> Result<BTreeMap<String, String>> {
    crate::input::env_map(value, "env", crate::error::ErrorCode::InvalidSettings)
}

fn parse_hostname(obj: &Map<String, Value>) -> Result<Option<String>> {
    let host = opt_string(obj, "publicHostname")?;
    if let Some(h) = &host {
        // Host names, IPv4 and bracketed IPv6 only: it is spliced into URLs.
        let ok = !h.is_empty()
            && h.len() <= 253
            && h.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'));
        if !ok {
            return Err(Error::invalid(format!(
                "`publicHostname` must be a bare host name or IP such as 'sandbox.example.com' (got {h:?})"
            )));
        }
    }
    Ok(host)
}

/// A duration given in milliseconds, at least one second, kept in whole seconds
/// (the runtime's unit), rounded up.
fn opt_whole_seconds(obj: &Map<String, Value>, key: &str) -> Result<Option<u64>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => {
            let ms = int_in(v, key, 1000, i64::from(u32::MAX) * 1000, "a whole number of milliseconds >= 1000")?;
            Ok(Some((ms as u64).div_ceil(1000)))
        }
    }
}

fn opt_string(obj: &Map<String, Value>, key: &str) -> Result<Option<String>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Error::invalid(format!("`{key}` must be a string"))),
    }
}

fn int_in(v: &Value, field: &str, min: i64, max: i64, what: &str) -> Result<i64> {
    let n = v.as_f64().ok_or_else(|| Error::invalid(format!("`{field}` must be {what} (got {v})")))?;
    if n.fract() != 0.0 || n < min as f64 || n > max as f64 {
        return Err(Error::invalid(format!("`{field}` must be {what} (got {v})")));
    }
    Ok(n as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(v: Value) -> String {
        Settings::parse(&v).unwrap_err().message
    }

    #[test]
    fn create_settings_parse_with_defaults() {
        let Settings::Create(s) = Settings::parse(&json!({
            "image": "node:22", "cpus": 2, "memory": 1024,
            "ports": [{ "host": 4000, "guest": 4000 }], "env": { "A": "1" }
        }))
        .unwrap() else {
            panic!("expected create mode")
        };
        assert_eq!(s.cpus, Some(2));
        assert_eq!(s.memory_mib, Some(1024));
        assert_eq!(s.ports[0].bind, IpAddr::from([127, 0, 0, 1]));
        assert_eq!(s.ports[0].protocol, PortProtocol::Tcp);
        assert_eq!(s.env["A"], "1");
    }

    #[test]
    fn bad_fields_are_named() {
        assert!(err(json!({ "image": "x", "cpus": 0 })).contains("`cpus`"));
        assert!(err(json!({ "image": "x", "memory": 512.5 })).contains("`memory`"));
        assert!(err(json!({ "image": "x", "ports": [{ "host": 70000, "guest": 1 }] })).contains("`ports[0].host`"));
        assert!(
            err(json!({ "image": "x", "ports": [{ "host": 1, "guest": 1 }, { "host": 1, "guest": 2 }] }))
                .contains("host port 1 twice")
        );
        assert!(err(json!({ "image": "x", "imgae": "y" })).contains("unknown setting `imgae`"));
        assert!(err(json!({ "sandbox": "sb", "image": "x" })).contains("`image` cannot be combined with `sandbox`"));
        assert!(err(json!({ "image": " " })).contains("`image` must not be empty"));
    }

    #[test]
    fn out_of_range_numbers_and_injected_host_names_are_refused() {
        assert!(err(json!({ "image": "x", "cpus": 256 })).contains("`cpus`"));
        assert!(err(json!({ "image": "x", "memory": 4294967296u64 })).contains("`memory`"));
        assert!(err(json!({ "image": "x", "memory": 1e300 })).contains("`memory`"));
        assert!(
            err(json!({ "image": "x", "publicHostname": "evil.com\r\nX-Injected: 1" })).contains("`publicHostname`")
        );
        assert!(err(json!({ "image": "x", "publicHostname": "http://x" })).contains("`publicHostname`"));
        assert!(Settings::parse(&json!({ "image": "x", "publicHostname": "[::1]" })).is_ok());
    }

    #[test]
    fn env_errors_never_echo_values() {
        let msg = err(json!({ "image": "x", "env": { "TOKEN": 42 } }));
        assert!(msg.contains("`env.TOKEN`") && !msg.contains("42"));
    }

    #[test]
    fn warm_pool_is_off_by_default_and_its_size_is_bounded() {
        let size = |v: Value| match Settings::parse(&v).unwrap() {
            Settings::Create(s) => s.warm_pool_size,
            Settings::Wrap(_) => unreachable!(),
        };
        assert_eq!(size(json!({ "image": "x" })), 0);
        assert_eq!(size(json!({ "image": "x", "warmPool": { "size": 2 } })), 2);
        assert!(err(json!({ "image": "x", "warmPool": { "size": 17 } })).contains("`warmPool.size`"));
        assert!(err(json!({ "image": "x", "warmPool": { "size": 1.5 } })).contains("`warmPool.size`"));
        assert!(err(json!({ "image": "x", "warmPool": 2 })).contains("`warmPool`"));
        assert!(err(json!({ "image": "x", "warmPool": { "sise": 2 } })).contains("`warmPool.sise`"));
        assert!(err(json!({ "sandbox": "sb", "warmPool": { "size": 1 } })).contains("`warmPool` cannot be combined"));
    }

    #[test]
    fn sandbox_vercel_names_map_where_they_can() {
        let Settings::Create(s) = Settings::parse_session_options(
            &json!({ "ports": [3000], "timeout": 60_000, "resources": { "vcpus": 2 } }),
        )
        .unwrap() else {
            panic!("expected create mode")
        };
        assert_eq!((s.ports[0].host, s.ports[0].guest), (3000, 3000));
        assert_eq!(s.max_duration_secs, Some(60));
        assert_eq!((s.cpus, s.memory_mib), (Some(2), Some(4096)));
        assert_eq!(s.image, DEFAULT_IMAGE);
        assert_eq!(s.bootstrap_pre_commands, vec![DEFAULT_IMAGE_BOOTSTRAP.to_owned()]);
        assert!(s.broker_credentials);
        let session_err = |v: Value| Settings::parse_session_options(&v).unwrap_err().message;
        assert!(session_err(json!({ "runtime": "node24" })).contains("image: 'node:24-bookworm-slim'"));
        assert!(session_err(json!({ "teamId": "t" })).contains("no account is needed"));
        assert!(session_err(json!({ "replace": true })).contains("creation never replaces"));
        assert!(session_err(json!({ "sandbox": "mine" })).contains("FromNativeSandbox"));
        assert!(session_err(json!({ "timeout": 60_000, "maxDurationMs": 1000 })).contains("not both"));
        assert!(session_err(json!({ "resources": { "vcpus": 2, "memory": 1 } })).contains("`resources.memory`"));
        assert!(session_err(json!({ "imagee": "x" })).contains("expected one of"));
        assert!(session_err(json!(7)).contains("options object"));
        assert!(err(json!({ "image": "x", "runtime": "node24" })).contains("sandbox-vercel"));
        let Settings::Create(p) = Settings::parse(&json!({ "image": "x" })).unwrap() else { panic!() };
        assert!(!p.broker_credentials && p.bootstrap_pre_commands.is_empty());
    }

    #[test]
    fn wrap_settings_parse() {
        let Settings::Wrap(w) = Settings::parse(&json!({ "sandbox": "mine", "bridgePorts": [4000, 4001] })).unwrap()
        else {
            panic!("expected wrap mode")
        };
        assert_eq!(w.sandbox, "mine");
        assert_eq!(w.bridge_ports, vec![4000, 4001]);
    }
}

//! The template key: everything that changes what the bootstrapped guest
//! contains, RAM included (templates are full snapshots). The harness identity
//! alone does not know our image or env.

use crate::settings::CreateSettings;

/// Bumped when the template layout or bootstrap semantics change.
const SCHEMA: &str = "ai-sdk-microsandbox-template-3";

/// A blake3 hash of the identity, the resolved image reference, the workdir,
/// the user, whether a workspace is mounted, env, pre-commands, the network
/// policy and host ports the bootstrap ran under, cpus and memory (a fork
/// resumes the template's running machine, so it has the template's), and the
/// runtime version. Not secrets (a template microVM never boots with them, see
/// `lifecycle::builder`) nor `source` (sessions fetch it). The image's manifest
/// digest is checked at use instead (a registry tag may move; see the record).
pub fn template_key(identity: &str, settings: &CreateSettings, image_ref: &str) -> String {
    let mut h = blake3::Hasher::new();
    let mut field = |name: &str, value: &str| {
        h.update(name.as_bytes());
        h.update(&(value.len() as u64).to_le_bytes());
        h.update(value.as_bytes());
    };
    field("schema", SCHEMA);
    field("runtime", crate::msb_home::RUNTIME_VERSION);
    field("identity", identity);
    field("image", image_ref);
    field("workdir", settings.workdir.as_deref().unwrap_or(""));
    // The setup runs as this user and its files belong to it.
    field("user", settings.user.as_deref().unwrap_or(""));
    // Forks rebind the template's workspace mount to their own: it must be there (the host path is not part of the key).
    field("workspace", settings.workspace.as_ref().map_or("", |w| w.mode.as_str()));
    for (k, v) in &settings.env {
        field("env", &format!("{k}={v}"));
    }
    for command in &settings.bootstrap_pre_commands {
        field("pre", command);
    }
    // The bootstrap ran under this egress: a template made under allow-all must not serve deny-all sessions.
    // (The host's own addresses are left out: they change with the host's network, not the guest.)
    let rules = settings.network_policy.to_microsandbox(&settings.allow_host_ports, &[]).ok();
    field("network", &rules.and_then(|r| serde_json::to_string(&r).ok()).unwrap_or_default());
    field("cpus", &settings.cpus.map(|c| c.to_string()).unwrap_or_default());
    field("memory", &settings.memory_mib.map(|m| m.to_string()).unwrap_or_default());
    h.finalize().to_hex()[..32].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;

    fn settings(extra: serde_json::Value) -> CreateSettings {
        let mut base = serde_json::json!({ "image": "img" });
        base.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        match Settings::parse(&base).unwrap() {
            Settings::Create(s) => s,
            Settings::Wrap(_) => unreachable!(),
        }
    }

    #[test]
    fn key_changes_with_everything_that_changes_the_guest() {
        let base = template_key("id", &settings(serde_json::json!({})), "img");
        assert_eq!(base, template_key("id", &settings(serde_json::json!({})), "img"));
        assert_ne!(base, template_key("id2", &settings(serde_json::json!({})), "img"));
        assert_ne!(base, template_key("id", &settings(serde_json::json!({})), "img2"));
        assert_ne!(base, template_key("id", &settings(serde_json::json!({ "env": { "A": "1" } })), "img"));
        assert_ne!(base, template_key("id", &settings(serde_json::json!({ "workdir": "/w" })), "img"));
        assert_ne!(base, template_key("id", &settings(serde_json::json!({ "bootstrapPreCommands": ["x"] })), "img"));
        assert_ne!(base, template_key("id", &settings(serde_json::json!({ "user": "node" })), "img"));
        let mounted = template_key("id", &settings(serde_json::json!({ "workspace": { "path": "/a" } })), "img");
        assert_ne!(template_key("id", &settings(serde_json::json!({ "workdir": "/workspace" })), "img"), mounted);
        let elsewhere = template_key("id", &settings(serde_json::json!({ "workspace": { "path": "/b" } })), "img");
        assert_eq!(mounted, elsewhere, "whose workspace is not the template's business");
        let overlay = template_key(
            "id",
            &settings(serde_json::json!({ "workspace": { "path": "/a", "mode": "overlay" } })),
            "img",
        );
        assert_ne!(mounted, overlay, "an overlay template has the read-only bind and the upper disk");
        let fetched = settings(serde_json::json!({ "source": { "type": "tarball", "url": "http://h/a.tgz" } }));
        assert_eq!(base, template_key("id", &fetched, "img"), "sources are fetched by sessions, never templates");
    }

    #[test]
    fn key_changes_with_the_machine_size_and_ignores_ports() {
        let base = template_key("id", &settings(serde_json::json!({})), "img");
        assert_ne!(base, template_key("id", &settings(serde_json::json!({ "cpus": 2 })), "img"));
        assert_ne!(base, template_key("id", &settings(serde_json::json!({ "memory": 2048 })), "img"));
        let ported = settings(serde_json::json!({ "ports": [{ "host": 1, "guest": 2 }] }));
        assert_eq!(base, template_key("id", &ported, "img"));
    }

    #[test]
    fn template_identity_keys_the_network_policy_and_host_ports_the_bootstrap_ran_under() {
        let base = template_key("id", &settings(serde_json::json!({})), "img");
        let deny = settings(serde_json::json!({ "networkPolicy": { "mode": "deny-all" } }));
        assert_ne!(base, template_key("id", &deny, "img"));
        let custom = settings(serde_json::json!({ "networkPolicy": { "mode": "custom", "allowedHosts": ["a.com"] } }));
        assert_ne!(template_key("id", &custom, "img"), template_key("id", &deny, "img"));
        assert_ne!(base, template_key("id", &settings(serde_json::json!({ "allowHostPorts": [8080] })), "img"));
        let explicit = settings(serde_json::json!({ "networkPolicy": { "mode": "allow-all" } }));
        assert_eq!(base, template_key("id", &explicit, "img"));
    }

    #[test]
    fn sessions_with_secrets_or_brokering_share_the_template_which_never_holds_them() {
        let base = template_key("id", &settings(serde_json::json!({})), "img");
        let secret = settings(serde_json::json!({ "secrets": [{ "name": "K", "allowedHosts": ["x.com"] }] }));
        assert_eq!(base, template_key("id", &secret, "img"));
        assert_eq!(base, template_key("id", &settings(serde_json::json!({ "brokerCredentials": true })), "img"));
    }
}

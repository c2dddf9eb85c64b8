//! What a session needs to know about its guest, read from the guest itself:
//! the working directory (exactly what `pwd` prints there), the shell, and
//! the default environment every command gets.

use std::collections::BTreeMap;

use crate::error::{Error, ErrorCode, Result};
use crate::vm::Machine;

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

#[derive(Debug, Clone)]
pub struct GuestInfo {
    pub working_directory: String,
    /// `bash` when the image has it (commands may use bash syntax), else `/bin/sh`.
    pub shell: String,
    /// Merged under every command's own env: PATH, HOME, LANG, IS_SANDBOX and the settings' env.
    pub env: BTreeMap<String, String>,
    /// Who commands run as: files written through the session are given to them.
    pub uid: u32,
    pub gid: u32,
    /// What the probe read, kept in a template's and a session's record.
    pub probed: Probed,
}

/// Prints NUL-separated: physical working directory, HOME, PATH, LANG, uid, bash path, gid.
/// `$W` is the configured workdir, created if missing; without one, the image's
/// working directory (where the probe starts) is used unless it is `/`, then `$HOME`.
const PROBE_SCRIPT: &str = include_str!("sh/probe.sh");

/// What the probe script read from a guest, before the settings' env is merged in. A template
/// keeps it, so that its forks (the same disk, RAM, user and workdir) need not ask again.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Probed {
    working_directory: String,
    home: String,
    path: String,
    lang: String,
    uid: u32,
    gid: u32,
    bash: String,
}

pub async fn probe(
    machine: &dyn Machine,
    workdir: Option<&str>,
    settings_env: &BTreeMap<String, String>,
) -> Result<GuestInfo> {
    let env = BTreeMap::from([("W".to_owned(), workdir.unwrap_or("").to_owned())]);
    let output = machine.probe(PROBE_SCRIPT, &env, false).await?;
    if output.exit_code != 0 {
        return Err(Error::new(
            ErrorCode::InvalidSettings,
            format!(
                "cannot use working directory {:?} in the guest: {}",
                workdir.unwrap_or("(image default)"),
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        ));
    }
    let fields: Vec<String> =
        output.stdout.split(|b| *b == 0).map(|f| String::from_utf8_lossy(f).into_owned()).collect();
    if fields.len() < 7 {
        return Err(Error::internal("unexpected output from the guest environment probe"));
    }
    let [working_directory, home, path, lang, uid, bash, gid] =
        <[String; 7]>::try_from(fields[..7].to_vec()).expect("seven fields");
    let probed = Probed {
        working_directory,
        home,
        path,
        lang,
        uid: uid.parse().unwrap_or(0),
        gid: gid.parse().unwrap_or(0),
        bash,
    };
    Ok(GuestInfo::of(probed, settings_env))
}

impl GuestInfo {
    /// The guest as a session sees it: the probe's answers under the settings' env.
    pub fn of(probed: Probed, settings_env: &BTreeMap<String, String>) -> Self {
        let or = |value: &str, default: &str| if value.is_empty() { default.to_owned() } else { value.to_owned() };
        let mut env = BTreeMap::from([
            ("PATH".to_owned(), or(&probed.path, DEFAULT_PATH)),
            ("HOME".to_owned(), or(&probed.home, "/root")),
            ("LANG".to_owned(), or(&probed.lang, "C.UTF-8")),
        ]);
        // Claude Code refuses bypass-permissions mode as root unless it is told it runs in a sandbox.
        if probed.uid == 0 {
            env.insert("IS_SANDBOX".to_owned(), "1".to_owned());
        }
        env.extend(settings_env.iter().map(|(k, v)| (k.clone(), v.clone())));
        Self {
            working_directory: probed.working_directory.clone(),
            shell: or(&probed.bash, "/bin/sh"),
            env,
            uid: probed.uid,
            gid: probed.gid,
            probed,
        }
    }
}

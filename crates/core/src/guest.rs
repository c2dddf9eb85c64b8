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
}

/// Prints NUL-separated: physical working directory, HOME, PATH, LANG, uid, bash path, gid.
/// `$W` is the configured workdir, created if missing; without one, the image's
/// working directory (where the probe starts) is used unless it is `/`, then `$HOME`.
const PROBE_SCRIPT: &str = include_str!("sh/probe.sh");

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
    let stdout = &output.stdout;
    let fields: Vec<String> = stdout.split(|b| *b == 0).map(|f| String::from_utf8_lossy(f).into_owned()).collect();
    if fields.len() < 7 {
        return Err(Error::internal("unexpected output from the guest environment probe"));
    }
    let [wd, home, path, lang, uid, bash, gid] = <[String; 7]>::try_from(fields[..7].to_vec()).expect("seven fields");
    let mut env = BTreeMap::new();
    env.insert("PATH".to_owned(), if path.is_empty() { DEFAULT_PATH.to_owned() } else { path });
    env.insert("HOME".to_owned(), if home.is_empty() { "/root".to_owned() } else { home });
    env.insert("LANG".to_owned(), if lang.is_empty() { "C.UTF-8".to_owned() } else { lang });
    // Claude Code refuses bypass-permissions mode as root unless it is told it runs in a sandbox.
    if uid == "0" {
        env.insert("IS_SANDBOX".to_owned(), "1".to_owned());
    }
    env.extend(settings_env.iter().map(|(k, v)| (k.clone(), v.clone())));
    Ok(GuestInfo {
        working_directory: wd,
        shell: if bash.is_empty() { "/bin/sh".to_owned() } else { bash },
        env,
        uid: uid.parse().unwrap_or(0),
        gid: gid.parse().unwrap_or(0),
    })
}

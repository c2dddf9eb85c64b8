//! The session's code, fetched when it is created (`source`, as sandbox-vercel
//! has it): a git repository at a revision, or a tarball, into the working
//! directory. Never part of a template, so a fork gets the current revision.
//! Credentials travel in that one command's environment only, and are masked
//! in what an error quotes.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

use crate::error::{Error, ErrorCode, Result};

#[derive(Clone, PartialEq, Eq)]
pub enum SourceSetting {
    Git {
        url: String,
        revision: Option<String>,
        depth: Option<u32>,
        username: Option<String>,
        password: Option<String>,
    },
    Tarball {
        url: String,
    },
}

/// Never prints credentials (settings are `Debug`).
impl fmt::Debug for SourceSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Git { url, revision, depth, .. } => {
                f.debug_struct("Git").field("url", url).field("revision", revision).field("depth", depth).finish()
            }
            Self::Tarball { url } => f.debug_struct("Tarball").field("url", url).finish(),
        }
    }
}

const FETCH_SCRIPT: &str = include_str!("sh/fetch-source.sh");

/// Parses `source: { type: 'git', url, revision?, depth?, username?, password? }` or `{ type: 'tarball', url }`.
pub fn parse(value: Option<&Value>) -> Result<Option<SourceSetting>> {
    let obj = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(obj)) => obj,
        Some(_) => {
            return Err(Error::invalid("`source` must be { type: 'git', url, ... } or { type: 'tarball', url }"));
        }
    };
    let known: &[&str] = match obj.get("type").and_then(Value::as_str) {
        Some("git") => &["type", "url", "revision", "depth", "username", "password"],
        Some("tarball") => &["type", "url"],
        _ => return Err(Error::invalid("`source.type` must be 'git' or 'tarball'")),
    };
    if let Some(key) = obj.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(Error::invalid(format!("`source.{key}` is not a setting here (known: {})", known.join(", "))));
    }
    let url = text(obj, "url")?.ok_or_else(|| Error::invalid("`source.url` is required"))?;
    if known.len() == 2 {
        return Ok(Some(SourceSetting::Tarball { url }));
    }
    let revision = text(obj, "revision")?;
    // Given to git as an argument: it must not read as an option.
    if revision.as_deref().is_some_and(|r| r.starts_with('-')) {
        return Err(Error::invalid("`source.revision` must be a branch, tag or commit id, not start with '-'"));
    }
    let depth = match obj.get("depth") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .filter(|d| (1..=u64::from(u32::MAX)).contains(d))
                .ok_or_else(|| Error::invalid("`source.depth` must be a whole number of commits >= 1"))?
                as u32,
        ),
    };
    let (username, password) = (text(obj, "username")?, text(obj, "password")?);
    Ok(Some(SourceSetting::Git { url, revision, depth, username, password }))
}

/// A non-empty string without NUL, or absent; the message never quotes the value.
fn text(obj: &Map<String, Value>, key: &str) -> Result<Option<String>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.is_empty() && !s.contains('\0') => Ok(Some(s.clone())),
        Some(_) => Err(Error::invalid(format!("`source.{key}` must be a non-empty string"))),
    }
}

impl SourceSetting {
    /// The fetch command (`sh -c` script) and its environment, for `dest`.
    pub(crate) fn command(&self, dest: &str) -> (&'static str, BTreeMap<String, String>) {
        let mut env = BTreeMap::from([("D".to_owned(), dest.to_owned())]);
        let mut set = |k: &str, v: Option<&String>| {
            if let Some(v) = v {
                env.insert(k.to_owned(), v.clone());
            }
        };
        match self {
            Self::Git { url, revision, depth, username, password } => {
                set("S_TYPE", Some(&"git".to_owned()));
                set("S_URL", Some(url));
                set("S_REV", revision.as_ref());
                set("S_DEPTH", depth.map(|d| d.to_string()).as_ref());
                set("S_USER", username.as_ref());
                set("S_PASSWORD", password.as_ref());
            }
            Self::Tarball { url } => {
                set("S_TYPE", Some(&"tarball".to_owned()));
                set("S_URL", Some(url));
            }
        }
        (FETCH_SCRIPT, env)
    }

    /// The fetch failed with `exit_code` and `stderr`: an error that names the
    /// source by its URL and quotes the end of stderr, credentials masked.
    pub(crate) fn failure(&self, exit_code: i32, stderr: &[u8]) -> Error {
        let mut text = String::from_utf8_lossy(stderr).into_owned();
        let (url, secrets): (&str, Vec<&String>) = match self {
            Self::Git { url, username, password, .. } => (url, username.iter().chain(password).collect()),
            Self::Tarball { url } => (url, Vec::new()),
        };
        for secret in secrets {
            text = text.replace(secret.as_str(), "***");
        }
        let tail: String = text.chars().rev().take(2000).collect::<Vec<_>>().into_iter().rev().collect();
        Error::new(
            ErrorCode::SourceFailed,
            format!("fetching `source` {url} failed (exit {exit_code}): {}", tail.trim()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sources_are_git_or_tarball_and_bad_ones_say_what_is_wrong() {
        let git = parse(Some(&json!({ "type": "git", "url": "git://h/r", "revision": "v1", "depth": 1 }))).unwrap();
        assert!(matches!(git, Some(SourceSetting::Git { depth: Some(1), .. })));
        let tarball = parse(Some(&json!({ "type": "tarball", "url": "http://h/a.tgz" }))).unwrap();
        assert_eq!(tarball, Some(SourceSetting::Tarball { url: "http://h/a.tgz".into() }));
        for (bad, says) in [
            (json!("git://h/r"), "`source` must be"),
            (json!({ "type": "svn", "url": "x" }), "`source.type`"),
            (json!({ "type": "git" }), "`source.url` is required"),
            (json!({ "type": "git", "url": "x", "revision": "--upload-pack=evil" }), "not start with '-'"),
            (json!({ "type": "git", "url": "x", "depth": 0 }), "`source.depth`"),
            (json!({ "type": "tarball", "url": "x", "depth": 1 }), "`source.depth` is not a setting here"),
            (json!({ "type": "git", "url": "x", "password": 42 }), "`source.password` must be"),
        ] {
            let err = parse(Some(&bad)).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidSettings, "{bad}");
            assert!(err.message.contains(says), "{bad}: {}", err.message);
        }
    }

    #[test]
    fn credentials_stay_out_of_the_script_the_debug_form_and_errors() {
        let source = SourceSetting::Git {
            url: "https://git.example/r.git".into(),
            revision: None,
            depth: None,
            username: Some("robot-user".into()),
            password: Some("hunter2-secret".into()),
        };
        let (script, env) = source.command("/workspace");
        assert!(!script.contains("hunter2"));
        assert_eq!(env["S_PASSWORD"], "hunter2-secret", "they travel in the command's environment");
        assert!(!format!("{source:?}").contains("hunter2") && !format!("{source:?}").contains("robot-user"));
        let err = source.failure(128, b"fatal: Authentication failed for robot-user:hunter2-secret@git.example");
        assert_eq!(err.code, ErrorCode::SourceFailed);
        assert!(!err.message.contains("hunter2") && !err.message.contains("robot-user"), "{}", err.message);
        assert!(err.message.contains("https://git.example/r.git"));
    }
}

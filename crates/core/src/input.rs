//! Per-call input (commands, env, session ids, ports): bad input fails with
//! `ERR_MICROSANDBOX_INVALID_ARGUMENT`, naming the field and never its value
//! (env values and commands may hold tokens).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::{Error, ErrorCode, Result};

/// Linux's limit for one argument or one `KEY=value` env entry of an exec
/// (`MAX_ARG_STRLEN`, NUL included): the guest kernel refuses longer ones.
pub const MAX_ARG_BYTES: usize = 128 * 1024 - 1;

/// Longest `sessionId`: it becomes part of a sandbox name and a record file name.
pub const MAX_SESSION_ID_BYTES: usize = 256;

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidArgument, message)
}

pub fn command(command: &str) -> Result<()> {
    if command.contains('\0') {
        return Err(invalid("`command` must not contain NUL characters"));
    }
    if command.len() > MAX_ARG_BYTES {
        return Err(invalid(format!(
            "`command` has {} bytes, more than the guest kernel accepts ({MAX_ARG_BYTES}); write long scripts to a file and run that",
            command.len()
        )));
    }
    Ok(())
}

/// `applyWorkspaceChanges(changes)`: a `getWorkspaceChanges()` result, or its `files`.
pub fn changed_files(value: &Value) -> Result<Vec<crate::workspace_changes::ChangedFile>> {
    let files = value.get("files").unwrap_or(value);
    serde_json::from_value(files.clone())
        .map_err(|e| invalid(format!("`changes` must be what getWorkspaceChanges() returned (or its `files`): {e}")))
}

/// A command's `env`: an object of strings with valid, unreserved names.
pub fn env(value: Option<&Value>) -> Result<BTreeMap<String, String>> {
    env_map(value, "env", ErrorCode::InvalidArgument)
}

/// Shared by the provider's `env` setting and each command's `env`.
pub(crate) fn env_map(value: Option<&Value>, field: &str, code: ErrorCode) -> Result<BTreeMap<String, String>> {
    let err = |message: String| Error::new(code, message);
    let obj = match value {
        None | Some(Value::Null) => return Ok(BTreeMap::new()),
        Some(Value::Object(obj)) => obj,
        Some(_) => {
            return Err(err(format!("`{field}` must be an object of string values, e.g. {{ NODE_ENV: 'test' }}")));
        }
    };
    let mut env = BTreeMap::new();
    for (key, v) in obj {
        let valid_name = !key.is_empty()
            && !key.starts_with(|c: char| c.is_ascii_digit())
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid_name {
            // Named by position shape only: a key is not secret, but may be garbage.
            let shown: String = key.chars().filter(|c| !c.is_control()).take(64).collect();
            return Err(err(format!(
                "`{field}` key {shown:?} is not a valid variable name (letters, digits and _, not starting with a digit)"
            )));
        }
        if key.starts_with("MSB_") {
            return Err(err(format!("`{field}.{key}`: names starting with MSB_ are reserved by microsandbox")));
        }
        let v = v.as_str().ok_or_else(|| err(format!("`{field}.{key}` must be a string")))?;
        if v.contains('\0') {
            return Err(err(format!("`{field}.{key}` must not contain NUL characters")));
        }
        if key.len() + 1 + v.len() > MAX_ARG_BYTES {
            return Err(err(format!(
                "`{field}.{key}` has {} bytes, more than the guest kernel accepts for one variable ({MAX_ARG_BYTES})",
                v.len()
            )));
        }
        env.insert(key.clone(), v.to_owned());
    }
    Ok(env)
}

/// A `sessionId`: printable ASCII without path separators or `..`, at most
/// [`MAX_SESSION_ID_BYTES`]. It names a sandbox and records on disk.
/// A `sessionId` (or, for the session factories, a `sandboxId`: `field` names it in errors).
pub fn session_id(value: &Value, field: &str) -> Result<String> {
    let id = value.as_str().ok_or_else(|| invalid(format!("`{field}` must be a string")))?;
    let problem = if id.is_empty() {
        Some("is empty".to_owned())
    } else if id.len() > MAX_SESSION_ID_BYTES {
        Some(format!("has {} bytes, more than {MAX_SESSION_ID_BYTES}", id.len()))
    } else if !id.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
        Some("contains characters other than printable ASCII".to_owned())
    } else if id.contains(['/', '\\']) || id.contains("..") {
        Some("contains a path separator or `..`".to_owned())
    } else {
        None
    };
    match problem {
        Some(problem) => Err(invalid(format!(
            "`{field}` {problem}; use letters, digits and -_.:@ (e.g. a UUID), up to {MAX_SESSION_ID_BYTES} characters"
        ))),
        None => Ok(id.to_owned()),
    }
}

/// A guest port: an integer in 1..=65535.
pub fn port(value: &Value, field: &str) -> Result<u16> {
    match value.as_f64() {
        Some(n) => port_number(n, field),
        None => Err(bad_port(field, &shape(value))),
    }
}

/// A guest port given as a JS number (which may be NaN or fractional).
pub fn port_number(n: f64, field: &str) -> Result<u16> {
    if n.fract() == 0.0 && (1.0..=65535.0).contains(&n) { Ok(n as u16) } else { Err(bad_port(field, &n.to_string())) }
}

fn bad_port(field: &str, got: &str) -> Error {
    invalid(format!("`{field}` must be an integer port number in 1..65535 (got {got})"))
}

/// A protocol name for a port endpoint; which ones are available is the session's call.
pub fn protocol(value: &Value) -> Result<&str> {
    value.as_str().ok_or_else(|| invalid(format!("`protocol` must be 'http' or 'ws' (got {})", shape(value))))
}

/// A non-negative whole number, for options such as `prune({ keepNewest })`.
pub fn count(value: &Value, field: &str) -> Result<u64> {
    value.as_u64().ok_or_else(|| invalid(format!("`{field}` must be a whole number >= 0 (got {})", shape(value))))
}

/// A non-negative duration (the caller's unit is named in `field`).
pub fn non_negative(value: &Value, field: &str) -> Result<f64> {
    value
        .as_f64()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .ok_or_else(|| invalid(format!("`{field}` must be a number >= 0 (got {})", shape(value))))
}

/// What a bad value looked like: numbers are shown, strings only by kind.
fn shape(value: &Value) -> String {
    match value {
        Value::Number(n) => n.to_string(),
        Value::String(_) => "a string".to_owned(),
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn code(r: Result<impl std::fmt::Debug>) -> ErrorCode {
        r.unwrap_err().code
    }

    #[test]
    fn bad_env_is_refused_without_echoing_values() {
        for bad in [
            json!({ "A": 1 }),
            json!({ "A=B": "x" }),
            json!({ "": "x" }),
            json!({ "A\u{0}": "x" }),
            json!({ "MSB_X": "x" }),
            json!({ "1A": "x" }),
            json!({ "A": "a\u{0}b" }),
            json!({ "A": "x".repeat(MAX_ARG_BYTES) }),
            json!("A=1"),
        ] {
            let err = env(Some(&bad)).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidArgument, "{bad}");
            assert!(err.message.contains("`env"), "{}", err.message);
            assert!(!err.message.contains("xxxx") && !err.message.contains("a\u{0}b"), "{}", err.message);
        }
        assert_eq!(env(Some(&json!({ "TOKEN": "secret-1", "_x1": "" }))).unwrap().len(), 2);
    }

    #[test]
    fn commands_with_nul_or_beyond_the_kernel_limit_are_refused() {
        assert_eq!(code(command("echo a\u{0}b")), ErrorCode::InvalidArgument);
        assert_eq!(code(command(&"x".repeat(2 * 1024 * 1024))), ErrorCode::InvalidArgument);
        command(&"x".repeat(MAX_ARG_BYTES)).unwrap();
    }

    #[test]
    fn session_ids_are_printable_ascii_without_paths() {
        for bad in [
            json!(""),
            json!("x".repeat(1_000_000)),
            json!("a/b"),
            json!(".."),
            json!("a\u{0}"),
            json!("chat-😀"),
            json!(42),
            json!(null),
        ] {
            let err = session_id(&bad, "sessionId").unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidArgument);
            assert!(err.message.contains("`sessionId`") && !err.message.contains("xxxx"), "{}", err.message);
        }
        assert_eq!(session_id(&json!("chat 42:abc-DEF_1.x@y"), "sessionId").unwrap(), "chat 42:abc-DEF_1.x@y");
        assert!(session_id(&json!(""), "sandboxId").unwrap_err().message.contains("`sandboxId`"));
    }

    #[test]
    fn ports_are_whole_numbers_in_range() {
        for bad in [json!(-1), json!(0), json!(1.5), json!("4000"), json!(65536), json!(null)] {
            assert_eq!(code(port(&bad, "port")), ErrorCode::InvalidArgument, "{bad}");
        }
        assert_eq!(port(&json!(4000), "port").unwrap(), 4000);
        assert!(port_number(f64::NAN, "port").unwrap_err().message.contains("got NaN"));
        assert_eq!(code(protocol(&json!(null))), ErrorCode::InvalidArgument);
        assert_eq!(code(count(&json!(-1), "keepNewest")), ErrorCode::InvalidArgument);
    }
}

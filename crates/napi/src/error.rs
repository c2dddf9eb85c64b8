//! Core errors cross into JS as `[CODE] message`, then, when the error has
//! causes, a record separator and their messages as a JSON array; the JS layer
//! turns the prefix into `err.code` and the causes into `err.cause` (napi-rs
//! async functions can carry only a message).

use ai_sdk_microsandbox_core::Error;

/// Never in our JSON (serde escapes control characters), so the last one in a
/// message starts the causes even if guest text before it holds one.
const CAUSES_SEPARATOR: char = '\u{1e}';

pub fn to_napi(err: Error) -> napi::Error {
    let mut reason = format!("[{}] {}", err.code.as_str(), err.message);
    let causes = err.causes();
    if !causes.is_empty() {
        reason.push(CAUSES_SEPARATOR);
        reason.push_str(&serde_json::to_string(&causes).unwrap_or_else(|_| "[]".to_owned()));
    }
    napi::Error::from_reason(reason)
}

pub trait IntoNapi<T> {
    fn napi(self) -> napi::Result<T>;
}

impl<T> IntoNapi<T> for Result<T, Error> {
    fn napi(self) -> napi::Result<T> {
        self.map_err(to_napi)
    }
}

/// A core value as JS receives it: its serde form, so the binding copies no struct field by field.
pub fn to_js(value: &impl serde::Serialize) -> napi::Result<serde_json::Value> {
    serde_json::to_value(value).map_err(|e| napi::Error::from_reason(format!("[ERR_MICROSANDBOX_INTERNAL] {e}")))
}

//! Core errors cross into JS as `[CODE] message`; the JS layer turns the
//! prefix into `err.code` (napi-rs async functions cannot set a custom code).

use ai_sdk_microsandbox_core::Error;

pub fn to_napi(err: Error) -> napi::Error {
    napi::Error::from_reason(format!("[{}] {}", err.code.as_str(), err.message))
}

pub trait IntoNapi<T> {
    fn napi(self) -> napi::Result<T>;
}

impl<T> IntoNapi<T> for Result<T, Error> {
    fn napi(self) -> napi::Result<T> {
        self.map_err(to_napi)
    }
}

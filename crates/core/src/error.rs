//! The core's error type. Every variant has a stable code that the binding
//! carries to JS (`err.code`), so callers can branch without parsing messages.

use std::fmt;
use std::sync::Arc;

/// What went wrong, as a stable category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// A setting or argument is invalid; the message names it and says what to fix.
    InvalidSettings,
    /// An argument of a call (command, env, session id, port) is invalid; the message names it.
    InvalidArgument,
    /// The microsandbox runtime (`msb` + libkrunfw) cannot be found or is the wrong version.
    RuntimeMissing,
    /// Hardware virtualization (KVM / Hypervisor.framework) is not usable on this host.
    KvmUnavailable,
    /// The image is not in the local cache, cannot be pulled, or the path does not exist.
    ImageNotFound,
    /// No sandbox exists for the given session id.
    SessionNotFound,
    /// A sandbox with this name already exists and `replace` was not set.
    SessionExists,
    /// The session was stopped or destroyed; start a new one or resume it.
    SessionStopped,
    /// No free host port could be leased.
    PortUnavailable,
    /// The guest port is not exposed by this session.
    PortNotExposed,
    /// The operation needs a capability this session does not have.
    Unsupported,
    /// A file operation failed inside the guest (directory, permission, ...).
    FileSystem,
    /// The command could not be started in the guest.
    ExecFailed,
    /// The microVM failed to boot.
    BootFailed,
    /// The session's `source` (git repository or tarball) could not be fetched.
    SourceFailed,
    /// A workspace change cannot be applied: the host file or the session's changed since the diff.
    WorkspaceConflict,
    /// The caller aborted; what the call had created was cleaned up.
    Aborted,
    /// This package's state directory cannot be written (read-only, full, owned by another user).
    CacheUnavailable,
    /// microsandbox's state (`MSB_HOME`) was written by another microsandbox version.
    StateMismatch,
    /// Anything else: a bug or an unexpected runtime failure.
    Internal,
}

impl ErrorCode {
    /// Every code, for checks that the documented list is this one.
    pub const ALL: [Self; 20] = [
        Self::InvalidSettings,
        Self::InvalidArgument,
        Self::RuntimeMissing,
        Self::KvmUnavailable,
        Self::ImageNotFound,
        Self::SessionNotFound,
        Self::SessionExists,
        Self::SessionStopped,
        Self::PortUnavailable,
        Self::PortNotExposed,
        Self::Unsupported,
        Self::FileSystem,
        Self::ExecFailed,
        Self::BootFailed,
        Self::SourceFailed,
        Self::WorkspaceConflict,
        Self::Aborted,
        Self::CacheUnavailable,
        Self::StateMismatch,
        Self::Internal,
    ];

    /// The stable string form, used as `err.code` in JS.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidSettings => "ERR_MICROSANDBOX_INVALID_SETTINGS",
            Self::InvalidArgument => "ERR_MICROSANDBOX_INVALID_ARGUMENT",
            Self::RuntimeMissing => "ERR_MICROSANDBOX_RUNTIME_MISSING",
            Self::KvmUnavailable => "ERR_MICROSANDBOX_KVM_UNAVAILABLE",
            Self::ImageNotFound => "ERR_MICROSANDBOX_IMAGE_NOT_FOUND",
            Self::SessionNotFound => "ERR_MICROSANDBOX_SESSION_NOT_FOUND",
            Self::SessionExists => "ERR_MICROSANDBOX_SESSION_EXISTS",
            Self::SessionStopped => "ERR_MICROSANDBOX_SESSION_STOPPED",
            Self::PortUnavailable => "ERR_MICROSANDBOX_PORT_UNAVAILABLE",
            Self::PortNotExposed => "ERR_MICROSANDBOX_PORT_NOT_EXPOSED",
            Self::Unsupported => "ERR_MICROSANDBOX_UNSUPPORTED",
            Self::FileSystem => "ERR_MICROSANDBOX_FS",
            Self::ExecFailed => "ERR_MICROSANDBOX_EXEC_FAILED",
            Self::BootFailed => "ERR_MICROSANDBOX_BOOT_FAILED",
            Self::SourceFailed => "ERR_MICROSANDBOX_SOURCE_FAILED",
            Self::WorkspaceConflict => "ERR_MICROSANDBOX_WORKSPACE_CONFLICT",
            Self::Aborted => "ERR_MICROSANDBOX_ABORTED",
            Self::CacheUnavailable => "ERR_MICROSANDBOX_CACHE_UNAVAILABLE",
            Self::StateMismatch => "ERR_MICROSANDBOX_STATE_MISMATCH",
            Self::Internal => "ERR_MICROSANDBOX_INTERNAL",
        }
    }
}

/// An error from the core: a code plus a message written for the person who must fix it,
/// and the error that caused it (an SDK or I/O error), kept whole for whoever debugs.
/// Messages never contain env values or tokens.
#[derive(Debug, Clone)]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), source: None }
    }

    /// The same error, caused by `source`.
    pub fn caused_by(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    /// The messages of the causes, outermost first.
    pub fn causes(&self) -> Vec<String> {
        let mut causes = Vec::new();
        let mut next = std::error::Error::source(self);
        while let Some(cause) = next {
            causes.push(cause.to_string());
            next = cause.source();
        }
        causes
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidSettings, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Internal, message)
    }

    pub fn stopped(name: &str) -> Self {
        Self::new(
            ErrorCode::SessionStopped,
            format!("sandbox session '{name}' is stopped; resume it with resumeSession() or create a new one"),
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        Self::internal(format!("I/O error: {err}")).caused_by(err)
    }
}

impl From<microsandbox::MicrosandboxError> for Error {
    fn from(err: microsandbox::MicrosandboxError) -> Self {
        use microsandbox::MicrosandboxError as E;
        if crate::sdk_text::foreign_state(&err.to_string()) {
            return Self::new(
                ErrorCode::StateMismatch,
                format!(
                    "microsandbox's state in {} was written by a microsandbox other than {} ({err}); give this \
                     package a home of its own (MSB_HOME=~/.msb-{1}, a short path) or remove that state",
                    crate::msb_home::microsandbox_home().display(),
                    crate::msb_home::RUNTIME_VERSION,
                ),
            )
            .caused_by(err);
        }
        let code = match &err {
            E::RuntimeNotInstalled(_) | E::RuntimeIncomplete { .. } | E::LibkrunfwNotFound(_) => {
                ErrorCode::RuntimeMissing
            }
            E::SandboxNotFound(_) => ErrorCode::SessionNotFound,
            E::SandboxAlreadyExists(_) => ErrorCode::SessionExists,
            E::SandboxNotRunning(_) => ErrorCode::SessionStopped,
            E::ImageNotFound(_) | E::Image(_) => ErrorCode::ImageNotFound,
            E::InvalidConfig(_) => ErrorCode::InvalidSettings,
            E::Unsupported { .. } => ErrorCode::Unsupported,
            E::SandboxFsOps(_) => ErrorCode::FileSystem,
            E::ExecFailed(_) => ErrorCode::ExecFailed,
            E::BootStart { .. } => ErrorCode::BootFailed,
            _ => ErrorCode::Internal,
        };
        Self::new(code, err.to_string()).caused_by(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_sdk_error_survives_as_the_cause_not_only_as_text() {
        let sdk = microsandbox::MicrosandboxError::SandboxNotFound("box".into());
        let text = sdk.to_string();
        let err = Error::from(sdk);
        assert_eq!(err.code, ErrorCode::SessionNotFound);
        let cause = std::error::Error::source(&err).expect("a cause");
        assert!(cause.downcast_ref::<microsandbox::MicrosandboxError>().is_some());
        assert_eq!(err.causes(), vec![text]);
        // A reworded error keeps the one it rewords, and its own cause.
        let outer = Error::new(ErrorCode::BootFailed, "reworded").caused_by(err);
        assert_eq!(outer.causes().len(), 2);
    }

    /// index.d.ts's `MicrosandboxErrorCode` and the README's Errors section list exactly the core's codes
    /// (plus the two that only `import` throws, from the JS layer).
    #[test]
    fn the_documented_error_codes_are_the_cores() {
        const JS_ONLY: [&str; 2] = ["ERR_MICROSANDBOX_UNSUPPORTED_PLATFORM", "ERR_MICROSANDBOX_BINDING_MISSING"];
        let dts = include_str!("../../../index.d.ts");
        let union =
            dts.split("export type MicrosandboxErrorCode =").nth(1).expect("the union").split("';").next().unwrap();
        let mut listed: Vec<&str> = union.split('\'').filter(|s| s.starts_with("ERR_MICROSANDBOX_")).collect();
        listed.sort();
        let mut expected: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).chain(JS_ONLY).collect();
        expected.sort();
        assert_eq!(listed, expected, "index.d.ts");
        let readme = include_str!("../../../README.md");
        let errors =
            readme.split("\n## Errors\n").nth(1).expect("README has an Errors section").split("\n## ").next().unwrap();
        for code in &expected {
            let suffix = code.trim_start_matches("ERR_MICROSANDBOX");
            assert!(
                errors.contains(&format!("`{code}`")) || errors.contains(&format!("`{suffix}`")),
                "README lacks {code}"
            );
        }
    }
}

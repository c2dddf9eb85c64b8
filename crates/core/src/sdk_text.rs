//! The microsandbox 0.7.2 messages this package acts on. The SDK reports
//! these conditions only as text, so every match lives here, each pinned by a
//! test with the text as 0.7.2 produces it: an SDK upgrade that rewords one
//! fails here, not in a user's session.

/// What a guest filesystem error says about the path (the agent reports the
/// guest's errno as `std::io::Error` text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsErrno {
    /// ENOENT, or ENOTDIR (a file used as a directory): the path does not exist.
    Missing,
    IsDirectory,
    PermissionDenied,
    Other,
}

pub fn fs_errno(text: &str) -> FsErrno {
    let lower = text.to_ascii_lowercase();
    let any = |needles: &[&str]| needles.iter().any(|n| lower.contains(n));
    if any(&["no such file", "(os error 2)", "not a directory", "(os error 20)"]) {
        FsErrno::Missing
    } else if any(&["is a directory", "(os error 21)"]) {
        FsErrno::IsDirectory
    } else if any(&["permission denied", "(os error 13)"]) {
        FsErrno::PermissionDenied
    } else {
        FsErrno::Other
    }
}

/// The SDK gave up waiting for the guest agent (a `Runtime` error).
pub fn agent_startup_timed_out(text: &str) -> bool {
    text.contains("before agent readiness")
}

/// microsandbox refuses a state database written by another version of it
/// (an unknown migration history, or a newer schema).
pub fn foreign_state(text: &str) -> bool {
    text.contains("unrecognized catalog")
        || text.contains("database schema is newer than this msb binary")
        || text.contains("this migration has been applied but its file is missing")
}

/// libkrun's runtime log when KVM exists but cannot run guests (nested virtualization).
pub fn kvm_unusable(runtime_log: &str) -> bool {
    runtime_log.contains("KVM_EXIT_INTERNAL_ERROR") || runtime_log.contains("KVM_CREATE_VM")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_errno_texts_of_0_7_2() {
        assert_eq!(fs_errno("filesystem operation failed: No such file or directory (os error 2)"), FsErrno::Missing);
        assert_eq!(fs_errno("filesystem operation failed: Not a directory (os error 20)"), FsErrno::Missing);
        assert_eq!(fs_errno("filesystem operation failed: Is a directory (os error 21)"), FsErrno::IsDirectory);
        assert_eq!(fs_errno("filesystem operation failed: Permission denied (os error 13)"), FsErrno::PermissionDenied);
        assert_eq!(fs_errno("filesystem operation failed: Input/output error (os error 5)"), FsErrno::Other);
        // "(os error 2)" must not match os error 20-29 by prefix.
        assert_eq!(fs_errno("Read-only file system (os error 30)"), FsErrno::Other);
    }

    #[test]
    fn agent_startup_timeout_text_of_0_7_2() {
        // microsandbox-0.7.2 lib/backend/local/sandbox/create.rs, startup timeout.
        let text = "sandbox \"aisdk-x\" startup timed out after 180 seconds before agent readiness; \
                    restore preparation may still be pending; last connection error: refused";
        assert!(agent_startup_timed_out(text));
        assert!(!agent_startup_timed_out("sandbox \"aisdk-x\" exited with status 1"));
    }

    #[test]
    fn foreign_state_texts_of_0_7_2() {
        // microsandbox-0.7.2 lib/db/admission.rs, and sea-orm-migration's check of applied migrations.
        for text in [
            "unrecognized catalog migration history; refusing configuration write",
            "database has tables but no migration history; refusing to initialize an unrecognized catalog",
            "database schema is newer than this msb binary or has an unknown migration prefix; refusing to change an \
             unrecognized catalog",
            "Migration file of version 'm20270101_000001_x' is missing, this migration has been applied but its file \
             is missing",
        ] {
            assert!(foreign_state(text), "{text}");
        }
        assert!(!foreign_state("sandbox \"aisdk-x\" not found"));
        let err = crate::Error::from(microsandbox::MicrosandboxError::Runtime(
            "unrecognized catalog release v0.6.99".to_owned(),
        ));
        assert_eq!(err.code, crate::ErrorCode::StateMismatch);
        assert!(err.message.contains("MSB_HOME=~/.msb-0.7.2"), "{}", err.message);
    }

    #[test]
    fn kvm_exit_texts_of_libkrun() {
        assert!(kvm_unusable("[ERROR vmm] Received KVM_EXIT_INTERNAL_ERROR signal"));
        assert!(kvm_unusable("ioctl KVM_CREATE_VM failed"));
        assert!(!kvm_unusable("Received KVM_EXIT_SHUTDOWN"));
    }
}

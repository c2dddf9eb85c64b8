//! Sandbox names. A session's name derives from its `sessionId` alone, so any
//! process can find it again; other sandboxes get unique throwaway names.

use microsandbox::MAX_SANDBOX_NAME_BYTES;

const PREFIX: &str = "aisdk";

/// Label put on every sandbox this package creates, to find its own.
pub const OWNER_LABEL: &str = "ai-sdk-microsandbox";

/// Readable characters of a session id kept in its sandbox name.
const MAX_READABLE_CHARS: usize = 40;

/// `<prefix>-<readable part of the id>-<hash>` (prefix `aisdk` unless the
/// settings' `name` replaces it): valid for microsandbox whatever the id
/// contains, and unique per id. Only the readable part is ever shortened, so
/// two ids never share a name however long the prefix.
pub fn session_name(prefix: Option<&str>, session_id: &str) -> String {
    let prefix = prefix.unwrap_or(PREFIX);
    let hash = &blake3::hash(session_id.as_bytes()).to_hex()[..HASH_HEX_CHARS];
    let budget = MAX_SANDBOX_NAME_BYTES.saturating_sub(prefix.len() + hash.len() + 2).min(MAX_READABLE_CHARS);
    let readable: String = session_id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' })
        .take(budget)
        .collect();
    format!("{prefix}-{readable}-{hash}")
}

/// Hex characters of the id's hash in a session name: 128 bits, so that nobody can search for an id
/// whose session name is someone else's (records also keep the id, see `SessionRecord`).
const HASH_HEX_CHARS: usize = 32;

/// Longest settings `name` that still leaves room for the hash in session names.
pub const MAX_PREFIX_BYTES: usize = MAX_SANDBOX_NAME_BYTES - HASH_HEX_CHARS - 2 - 8;

/// A unique name for a session that cannot be resumed (no `sessionId`).
pub fn anonymous_name() -> String {
    format!("{PREFIX}-anon-{:016x}", nonce())
}

/// A sandbox id for a session factory's create without one: 128 random bits.
pub fn sandbox_id() -> String {
    format!("sbx-{:016x}{:016x}", nonce(), nonce())
}

/// A random number, different on every call: std seeds each `RandomState` apart.
pub(crate) fn nonce() -> u64 {
    use std::hash::BuildHasher;
    std::collections::hash_map::RandomState::new().hash_one(std::process::id())
}

/// Whether `name` is one [`anonymous_name`] makes.
pub fn is_anonymous(name: &str) -> bool {
    name.strip_prefix(&format!("{PREFIX}-anon-"))
        .is_some_and(|hash| hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_names_are_deterministic_valid_and_distinct() {
        let a = session_name(None, "chat 42/üñí");
        assert_eq!(a, session_name(None, "chat 42/üñí"));
        assert_ne!(a, session_name(None, "chat 42/üñí "));
        microsandbox::validate_sandbox_name(&a).unwrap();
        microsandbox::validate_sandbox_name(&session_name(None, &"x".repeat(500))).unwrap();
        microsandbox::validate_sandbox_name(&session_name(None, "")).unwrap();
    }

    #[test]
    fn session_identity_names_keep_128_bits_of_the_ids_hash() {
        let name = session_name(None, "chat");
        let hash = name.rsplit('-').next().unwrap();
        assert_eq!(hash.len(), 32, "{name}");
        assert_eq!(hash, &blake3::hash(b"chat").to_hex()[..32]);
    }

    #[test]
    fn a_long_custom_prefix_shortens_the_readable_part_never_the_hash() {
        let prefix = "p".repeat(MAX_PREFIX_BYTES);
        let (a, b) = (
            session_name(Some(&prefix), &"a".repeat(80)),
            session_name(Some(&prefix), &format!("{}b", "a".repeat(79))),
        );
        assert_ne!(a, b);
        for name in [&a, &b] {
            microsandbox::validate_sandbox_name(name).unwrap();
            assert!(name.starts_with(&prefix) && name.len() <= MAX_SANDBOX_NAME_BYTES, "{name}");
        }
    }

    #[test]
    fn anonymous_names_are_unique_and_recognised() {
        assert_ne!(anonymous_name(), anonymous_name());
        assert!(is_anonymous(&anonymous_name()));
        for other in ["aisdk-anon-", "aisdk-chat-0123456789abcdef", "aisdk-anon-0123456789abcdeg", "my-db"] {
            assert!(!is_anonymous(other), "{other}");
        }
    }
}

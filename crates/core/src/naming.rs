//! Sandbox names. A session's name derives from its `sessionId` alone, so any
//! process can find it again; other sandboxes get unique throwaway names.

use microsandbox::MAX_SANDBOX_NAME_BYTES;

const PREFIX: &str = "aisdk";

/// Label put on every sandbox this package creates, to find its own.
pub const OWNER_LABEL: &str = "ai-sdk-microsandbox";

/// `aisdk-<readable part of the id>-<hash>`: valid for microsandbox whatever
/// the id contains, and unique per id.
pub fn session_name(session_id: &str) -> String {
    let hash = blake3::hash(session_id.as_bytes()).to_hex();
    let readable: String = session_id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' })
        .take(40)
        .collect();
    let name = format!("{PREFIX}-{readable}-{}", &hash[..12]);
    debug_assert!(name.len() <= MAX_SANDBOX_NAME_BYTES);
    name
}

/// A unique name for a session that cannot be resumed (no `sessionId`).
pub fn anonymous_name() -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nonce = format!(
        "{}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos(),
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    format!("{PREFIX}-anon-{}", &blake3::hash(nonce.as_bytes()).to_hex()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_names_are_deterministic_valid_and_distinct() {
        let a = session_name("chat 42/üñí");
        assert_eq!(a, session_name("chat 42/üñí"));
        assert_ne!(a, session_name("chat 42/üñí "));
        microsandbox::validate_sandbox_name(&a).unwrap();
        microsandbox::validate_sandbox_name(&session_name(&"x".repeat(500))).unwrap();
        microsandbox::validate_sandbox_name(&session_name("")).unwrap();
    }

    #[test]
    fn anonymous_names_are_unique() {
        assert_ne!(anonymous_name(), anonymous_name());
    }
}

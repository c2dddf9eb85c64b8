//! Keeps env values (which may be tokens) out of messages that quote guest output.

use std::collections::BTreeMap;

/// Values shorter than this are not masked: they cannot be tokens, and
/// masking words like `test` would garble the message for nothing.
const MIN_MASKED_LEN: usize = 8;

/// `text` with every occurrence of an env value of `env` replaced by `***`.
pub fn env_values(text: &str, env: &BTreeMap<String, String>) -> String {
    let mut values: Vec<&str> = env.values().map(String::as_str).filter(|v| v.len() >= MIN_MASKED_LEN).collect();
    // Longest first, so a value that contains another is masked whole.
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    values.iter().fold(text.to_owned(), |out, value| out.replace(value, "***"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_values_are_masked_and_short_ones_left_alone() {
        let env = BTreeMap::from([
            ("TOKEN".to_owned(), "sk-secret-123456".to_owned()),
            ("MODE".to_owned(), "test".to_owned()),
        ]);
        assert_eq!(env_values("auth sk-secret-123456 failed in test", &env), "auth *** failed in test");
    }
}

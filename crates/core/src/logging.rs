//! Diagnostic logs on stderr, off unless `AI_SDK_MICROSANDBOX_LOG` is set to
//! `error`, `warn`, `info`, `debug` or `trace`. Events of this package are
//! shown at that level; the microsandbox SDK's only from `warn` up, since its
//! detailed events can carry request contents. Our own events never carry
//! env values or commands.

use std::fmt::Write as _;
use std::io::Write as _;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

pub const ENV_VAR: &str = "AI_SDK_MICROSANDBOX_LOG";

/// Installs the stderr logger if the env var asks for one; an unknown value
/// is reported once and ignored.
pub fn init_from_env() {
    let Ok(value) = std::env::var(ENV_VAR) else { return };
    match parse_level(&value) {
        Some(level) => {
            let _ = tracing::subscriber::set_global_default(StderrLog { level });
        }
        None => eprintln!("ai-sdk-microsandbox: {ENV_VAR}={value:?} is not one of error, warn, info, debug, trace"),
    }
}

fn parse_level(value: &str) -> Option<Level> {
    match value.trim().to_ascii_lowercase().as_str() {
        "error" => Some(Level::ERROR),
        "warn" => Some(Level::WARN),
        "info" => Some(Level::INFO),
        "debug" => Some(Level::DEBUG),
        "trace" => Some(Level::TRACE),
        _ => None,
    }
}

struct StderrLog {
    level: Level,
}

impl StderrLog {
    fn shown(&self, meta: &Metadata<'_>) -> bool {
        shown(self.level, meta.target(), *meta.level())
    }
}

fn shown(limit: Level, target: &str, level: Level) -> bool {
    let limit = if target.starts_with("ai_sdk_microsandbox") { limit } else { limit.min(Level::WARN) };
    level <= limit
}

impl Subscriber for StderrLog {
    fn enabled(&self, meta: &Metadata<'_>) -> bool {
        meta.is_event() && self.shown(meta)
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let line = format_event(event);
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

fn format_event(event: &Event<'_>) -> String {
    struct Fields(String, String);
    impl Visit for Fields {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            if field.name() == "message" {
                let _ = write!(self.0, "{value:?}");
            } else {
                let _ = write!(self.1, " {}={value:?}", field.name());
            }
        }
        fn record_str(&mut self, field: &Field, value: &str) {
            if field.name() == "message" {
                self.0.push_str(value);
            } else {
                let _ = write!(self.1, " {}={value}", field.name());
            }
        }
    }
    let mut fields = Fields(String::new(), String::new());
    event.record(&mut fields);
    let meta = event.metadata();
    format!("ai-sdk-microsandbox {} {}: {}{}", meta.level(), meta.target(), fields.0, fields.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_and_the_sdk_is_held_to_warnings() {
        assert_eq!(parse_level(" Debug "), Some(Level::DEBUG));
        assert_eq!(parse_level("verbose"), None);
        assert!(shown(Level::DEBUG, "ai_sdk_microsandbox_core::progress", Level::DEBUG));
        assert!(!shown(Level::DEBUG, "microsandbox::backend", Level::INFO));
        assert!(shown(Level::DEBUG, "microsandbox::backend", Level::WARN));
        assert!(!shown(Level::ERROR, "microsandbox::backend", Level::WARN));
        assert!(!shown(Level::INFO, "ai_sdk_microsandbox_core::x", Level::DEBUG));
    }
}

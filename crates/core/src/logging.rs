//! Diagnostic logs on stderr, off unless `AI_SDK_MICROSANDBOX_LOG` is set to
//! `error`, `warn`, `info`, `debug` or `trace`. Events of this package are
//! shown at that level; the microsandbox SDK's only from `warn` up, since its
//! detailed events can carry request contents. Our own events never carry
//! env values or commands.

use tracing::{Level, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::prelude::*;

pub const ENV_VAR: &str = "AI_SDK_MICROSANDBOX_LOG";

/// Installs the stderr logger if the env var asks for one; an unknown value
/// is reported once and ignored. A subscriber already installed stays.
pub fn init_from_env() {
    let Ok(value) = std::env::var(ENV_VAR) else { return };
    match parse_level(&value) {
        Some(level) => {
            let _ = tracing::subscriber::set_global_default(subscriber(level, std::io::stderr));
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

/// Targets match by prefix, so `ai_sdk_microsandbox` covers both our crates.
/// Every other target, the SDK's `microsandbox*` crates among them, is held to
/// warnings.
fn filter(level: Level) -> Targets {
    Targets::new().with_target("ai_sdk_microsandbox", level).with_default(level.min(Level::WARN))
}

fn subscriber<W>(level: Level, writer: W) -> impl Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    // Plain text even if another crate turns on tracing-subscriber's `ansi` feature.
    let fmt = tracing_subscriber::fmt::layer().with_writer(writer).with_ansi(false);
    tracing_subscriber::registry().with(filter(level)).with(fmt)
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    const SDK_TARGETS: [&str; 3] = ["microsandbox", "microsandbox::backend", "microsandbox_network::proxy"];

    #[test]
    fn levels_parse() {
        assert_eq!(parse_level(" Debug "), Some(Level::DEBUG));
        assert_eq!(parse_level("verbose"), None);
    }

    #[test]
    fn our_events_follow_the_level_and_the_sdk_is_held_to_warnings() {
        let debug = filter(Level::DEBUG);
        assert!(debug.would_enable("ai_sdk_microsandbox_core::progress", &Level::DEBUG));
        assert!(debug.would_enable("ai_sdk_microsandbox_napi", &Level::DEBUG));
        for sdk in SDK_TARGETS {
            assert!(!debug.would_enable(sdk, &Level::INFO), "{sdk}");
            assert!(debug.would_enable(sdk, &Level::WARN), "{sdk}");
        }
        assert!(!filter(Level::ERROR).would_enable("microsandbox::backend", &Level::WARN));
        assert!(!filter(Level::INFO).would_enable("ai_sdk_microsandbox_core::x", &Level::DEBUG));
    }

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().write(bytes)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn at_debug_the_sdk_s_detailed_events_are_not_printed_and_ours_are() {
        let captured = Captured::default();
        let writer = captured.clone();
        tracing::subscriber::with_default(subscriber(Level::DEBUG, move || writer.clone()), || {
            tracing::debug!(target: "microsandbox::backend", "request body SECRET");
            tracing::info!(target: "microsandbox_network::proxy", "request header SECRET");
            tracing::warn!(target: "microsandbox::backend", "sdk warning");
            tracing::debug!(phase = "boot", "our progress");
        });
        let out = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(!out.contains("SECRET"), "{out}");
        assert!(out.contains("WARN microsandbox::backend: sdk warning"), "{out}");
        assert!(out.contains("DEBUG ai_sdk_microsandbox_core::logging::tests: our progress phase=\"boot\""), "{out}");
    }
}

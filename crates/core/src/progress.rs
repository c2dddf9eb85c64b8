//! What a long step is doing (image load, boot, bootstrap, snapshot, fork),
//! for the caller to show and for the debug log. Messages name steps and
//! sizes, never env values or commands.

use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProgressEvent {
    /// `image`, `boot`, `bootstrap`, `template`, `fork`, `pool` or `timeline`.
    pub phase: &'static str,
    pub message: String,
}

/// Where progress goes: the caller's callback, if any.
#[derive(Clone, Default)]
pub struct Progress(Option<Arc<dyn Fn(ProgressEvent) + Send + Sync>>);

impl Progress {
    pub fn to(sink: impl Fn(ProgressEvent) + Send + Sync + 'static) -> Self {
        Self(Some(Arc::new(sink)))
    }

    pub fn report(&self, phase: &'static str, message: impl Into<String>) {
        let message = message.into();
        tracing::debug!(phase, "{message}");
        if let Some(sink) = &self.0 {
            sink(ProgressEvent { phase, message });
        }
    }
}

/// Where one boot's time went, step by step, reported as one `timeline` event when it
/// is up (for the benchmark's breakdown of a fork).
pub struct Timeline {
    last: std::time::Instant,
    steps: Vec<String>,
}

impl Default for Timeline {
    fn default() -> Self {
        Self { last: std::time::Instant::now(), steps: Vec::new() }
    }
}

impl Timeline {
    /// Ends `step` now.
    pub fn lap(&mut self, step: &str) {
        let now = std::time::Instant::now();
        self.steps.push(format!("{step} {} ms", (now - self.last).as_millis()));
        self.last = now;
    }

    pub fn report(&self, progress: &Progress, what: &str) {
        progress.report("timeline", format!("{what}: {}", self.steps.join(", ")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn events_reach_the_sink_in_order_and_nowhere_without_one() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let into = seen.clone();
        let progress = Progress::to(move |e| into.lock().unwrap().push(format!("{} {}", e.phase, e.message)));
        progress.report("image", "loading");
        progress.report("boot", "booting");
        assert_eq!(*seen.lock().unwrap(), ["image loading", "boot booting"]);
        Progress::default().report("boot", "nobody listens");
    }
}

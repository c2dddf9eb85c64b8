//! Turns the SDK's per-layer pull events into a few progress messages with
//! bytes: what is pulled and how big it is, then every tenth of the download.

use microsandbox::sandbox::PullProgress;

use crate::progress::Progress;

const MIB: f64 = 1024.0 * 1024.0;
/// Without a known total, a message per this many downloaded bytes.
const STEP_WITHOUT_TOTAL: u64 = 64 * 1024 * 1024;

#[derive(Default)]
pub struct PullReport {
    total: Option<u64>,
    /// Bytes downloaded so far, per layer.
    layers: Vec<u64>,
    /// The last step reported: a tenth of the total, or a [`STEP_WITHOUT_TOTAL`].
    step: u64,
}

impl PullReport {
    /// The message this event is worth, if any.
    pub fn message(&mut self, event: &PullProgress) -> Option<String> {
        match event {
            PullProgress::Resolved { reference, layer_count, total_download_bytes, .. } => {
                self.total = *total_download_bytes;
                self.layers = vec![0; *layer_count];
                let size =
                    total_download_bytes.map_or("size unknown".to_owned(), |b| format!("{:.1} MiB", b as f64 / MIB));
                Some(format!("pulling image {reference}: {layer_count} layers, {size}"))
            }
            PullProgress::LayerDownloadProgress { layer_index, downloaded_bytes, .. } => {
                if *layer_index >= self.layers.len() {
                    self.layers.resize(layer_index + 1, 0);
                }
                self.layers[*layer_index] = *downloaded_bytes;
                let done: u64 = self.layers.iter().sum();
                let step = match self.total {
                    Some(total) if total > 0 => done.saturating_mul(10) / total,
                    _ => done / STEP_WITHOUT_TOTAL,
                };
                if step <= self.step {
                    return None;
                }
                self.step = step;
                Some(match self.total {
                    Some(total) => format!("downloaded {:.1} of {:.1} MiB", done as f64 / MIB, total as f64 / MIB),
                    None => format!("downloaded {:.1} MiB", done as f64 / MIB),
                })
            }
            PullProgress::StitchMergingTrees { .. } => Some("unpacking the image's layers".to_owned()),
            PullProgress::Complete { reference, .. } => Some(format!("image {reference} is in the local cache")),
            _ => None,
        }
    }
}

/// Reports the events of one pull until the SDK closes the channel.
pub async fn report(mut events: microsandbox::sandbox::PullProgressHandle, progress: Progress) {
    let mut report = PullReport::default();
    while let Some(event) = events.recv().await {
        if let Some(message) = report.message(&event) {
            progress.report("image", message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn download(layer_index: usize, downloaded_bytes: u64) -> PullProgress {
        PullProgress::LayerDownloadProgress {
            layer_index,
            digest: "sha256:x".into(),
            downloaded_bytes,
            total_bytes: None,
        }
    }

    #[test]
    fn a_pull_reports_its_size_then_each_tenth_of_the_bytes_across_layers_then_the_end() {
        let mut report = PullReport::default();
        let resolved = PullProgress::Resolved {
            reference: "node:22".into(),
            manifest_digest: "sha256:m".into(),
            layer_count: 2,
            total_download_bytes: Some(100 * 1024 * 1024),
        };
        assert_eq!(report.message(&resolved).unwrap(), "pulling image node:22: 2 layers, 100.0 MiB");
        let mut messages = Vec::new();
        for mib in 1..=50 {
            messages.extend(report.message(&download(0, mib * 1024 * 1024)));
            messages.extend(report.message(&download(1, mib * 1024 * 1024)));
        }
        assert_eq!(messages.len(), 10, "{messages:?}");
        assert_eq!(messages[0], "downloaded 10.0 of 100.0 MiB");
        assert_eq!(messages[9], "downloaded 100.0 of 100.0 MiB");
        let complete = PullProgress::Complete { reference: "node:22".into(), layer_count: 2 };
        assert_eq!(report.message(&complete).unwrap(), "image node:22 is in the local cache");
    }

    #[test]
    fn without_a_known_size_it_reports_every_step_of_bytes() {
        let mut report = PullReport::default();
        let messages: Vec<_> = (1..=200u64).filter_map(|mib| report.message(&download(0, mib * 1024 * 1024))).collect();
        assert_eq!(messages, ["downloaded 64.0 MiB", "downloaded 128.0 MiB", "downloaded 192.0 MiB"]);
    }
}

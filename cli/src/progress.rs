//! Progress on stderr when it is a terminal: a spinner with the connector's
//! latest message, and a byte bar for downloads. Elsewhere, messages are logged.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

/// The progress display of one action.
#[derive(Clone)]
pub struct Progress {
    bar: Option<ProgressBar>,
    /// The total the byte display was last set up for: `Some(None)` for a
    /// download of unknown size, `None` before any download.
    shown: std::sync::Arc<std::sync::Mutex<Option<Option<u64>>>>,
}

impl Progress {
    /// A spinner on a terminal, nothing otherwise.
    pub fn new() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        Self { bar, shown: Default::default() }
    }

    /// Shows a progress message.
    pub fn message(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(message.to_string()),
            None => tracing::info!("{message}"),
        }
    }

    /// Shows download progress: bytes, rate and (when the size is known) a bar.
    /// A download of unknown size (a chunked answer) shows bytes and rate too:
    /// the display switches to bytes on the first report, whatever the total,
    /// and the message of what came before (a token request) is cleared.
    pub fn bytes(&self, done: u64, total: Option<u64>) {
        let Some(bar) = &self.bar else { return };
        let Ok(mut shown) = self.shown.lock() else { return };
        if *shown != Some(total) {
            let template = match total {
                Some(_) => "{spinner} {bytes}/{total_bytes} {bar:30} {bytes_per_sec} {msg}",
                None => "{spinner} {bytes} {bytes_per_sec} {msg}",
            };
            bar.set_style(ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_spinner()));
            bar.set_message("");
            match total {
                Some(total) => bar.set_length(total),
                None => bar.unset_length(),
            }
            *shown = Some(total);
        }
        bar.set_position(done);
    }

    /// Shows a running count (`1200 containers`).
    pub fn count(&self, count: u64, what: &str) {
        if let Some(bar) = &self.bar {
            if count == 1 {
                let style = ProgressStyle::with_template("{spinner} {prefix} {msg}");
                bar.set_style(style.unwrap_or_else(|_| ProgressStyle::default_spinner()));
            }
            bar.set_prefix(format!("{count} {what}"));
        }
    }

    /// Shows the progress of the action `options` are for.
    pub fn attach(&self, options: &mut soar_host::InvokeOptions) {
        let messages = self.clone();
        options.progress = Some(std::sync::Arc::new(move |message| messages.message(message)));
        let bytes = self.clone();
        options.download_progress = Some(std::sync::Arc::new(move |done, total| bytes.bytes(done, total)));
        let containers = self.clone();
        options.ingest_progress = Some(std::sync::Arc::new(move |count| containers.count(count, "containers")));
    }

    /// Removes the display.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A display drawn nowhere, with the state a terminal would show.
    fn hidden() -> Progress {
        Progress { bar: Some(ProgressBar::hidden()), shown: Default::default() }
    }

    #[test]
    fn a_download_of_unknown_size_switches_to_bytes_and_drops_the_old_message() {
        let progress = hidden();
        progress.message("Generating new access token");
        progress.bytes(4096, None);
        let bar = progress.bar.as_ref().unwrap();
        assert_eq!(bar.message(), "", "the token message no longer shows");
        assert_eq!(bar.position(), 4096);
        assert_eq!(bar.length(), None);
        assert_eq!(*progress.shown.lock().unwrap(), Some(None), "the byte display is on");
        progress.bytes(1 << 20, None);
        assert_eq!(bar.position(), 1 << 20);
    }

    #[test]
    fn a_download_of_known_size_shows_a_bar() {
        let progress = hidden();
        progress.bytes(10, Some(100));
        let bar = progress.bar.as_ref().unwrap();
        assert_eq!((bar.position(), bar.length()), (10, Some(100)));
    }
}

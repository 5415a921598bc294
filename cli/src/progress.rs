//! Progress on stderr when it is a terminal: a spinner with the connector's
//! latest message, and a byte bar for downloads. Elsewhere, messages are logged.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

/// The progress display of one action.
#[derive(Clone)]
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A spinner on a terminal, nothing otherwise.
    pub fn new() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        Self { bar }
    }

    /// Shows a progress message.
    pub fn message(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(message.to_string()),
            None => tracing::info!("{message}"),
        }
    }

    /// Shows download progress.
    pub fn bytes(&self, done: u64, total: Option<u64>) {
        let Some(bar) = &self.bar else { return };
        if bar.length() != total {
            let template = match total {
                Some(_) => "{spinner} {bytes}/{total_bytes} {bar:30} {bytes_per_sec} {msg}",
                None => "{spinner} {bytes} {bytes_per_sec} {msg}",
            };
            bar.set_style(ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_spinner()));
            match total {
                Some(total) => bar.set_length(total),
                None => bar.unset_length(),
            }
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

    /// Removes the display.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

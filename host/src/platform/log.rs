//! `soar:connector/log`: the connector's log records and progress messages,
//! shown on the host's stderr through `tracing`, with secrets masked, control
//! characters escaped (a vendor's CR/LF cannot forge a log line) and their
//! length capped.

use crate::bindings::soar::connector::log::{self, Host, Level};
use crate::redact::{Redactor, printable};
use std::sync::Arc;
use wasmtime::component::{HasData, Linker};

/// The longest log record or progress message shown, in bytes.
pub const MAX_MESSAGE: usize = 4096;

/// Receives progress messages (a terminal spinner, say).
pub type OnProgress = Arc<dyn Fn(&str) + Send + Sync>;

/// Where a connector's messages go.
pub struct LogCtx {
    connector: String,
    progress: Option<OnProgress>,
    redactor: Arc<Redactor>,
}

impl LogCtx {
    /// Messages of `connector`, with `redactor`'s secrets masked; `progress`
    /// receives progress messages (a terminal spinner, say) instead of the log.
    pub fn new(connector: &str, progress: Option<OnProgress>, redactor: Arc<Redactor>) -> Self {
        Self { connector: connector.to_string(), progress, redactor }
    }

    fn clean(&self, message: &str) -> String {
        printable(&self.redactor.text(message), MAX_MESSAGE)
    }
}

/// Access to a [`LogCtx`] in the store's data.
pub trait LogView: Send {
    fn log(&mut self) -> &mut LogCtx;
}

struct HasLog;

impl HasData for HasLog {
    type Data<'a> = &'a mut LogCtx;
}

/// Adds `soar:connector/log` to `linker`.
pub fn add_to_linker<T: LogView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    log::add_to_linker::<T, HasLog>(linker, T::log)
}

impl Host for LogCtx {
    fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        let message = self.clean(&message);
        let connector = self.connector.as_str();
        match level {
            Level::Trace => tracing::trace!(connector, "{message}"),
            Level::Debug => tracing::debug!(connector, "{message}"),
            Level::Info => tracing::info!(connector, "{message}"),
            Level::Warn => tracing::warn!(connector, "{message}"),
            Level::Error => tracing::error!(connector, "{message}"),
        }
        Ok(())
    }

    fn progress(&mut self, message: String) -> wasmtime::Result<()> {
        let message = self.clean(&message);
        match &self.progress {
            Some(progress) => progress(&message),
            None => tracing::info!(connector = self.connector.as_str(), "{message}"),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn progress_messages_are_redacted_escaped_and_bounded_before_anyone_sees_them() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let progress: OnProgress = Arc::new(move |message: &str| sink.lock().unwrap().push(message.to_string()));
        let redactor = Arc::new(Redactor::new(["token-0123456789"]));
        let mut ctx = LogCtx::new("probe", Some(progress), redactor);
        ctx.progress("using token-0123456789\r\nforged: line\u{1b}[2J".into()).unwrap();
        ctx.progress("x".repeat(MAX_MESSAGE * 2)).unwrap();
        // Log records go to the log, not to the progress display.
        ctx.log(Level::Info, "a record".into()).unwrap();
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2);
        assert!(!seen[0].contains("token-0123456789") && seen[0].contains("***"), "{}", seen[0]);
        assert!(!seen[0].contains('\r') && !seen[0].contains('\n') && !seen[0].contains('\u{1b}'), "{:?}", seen[0]);
        assert!(seen[1].len() <= MAX_MESSAGE + 64, "{}", seen[1].len());
    }
}

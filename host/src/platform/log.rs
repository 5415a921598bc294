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

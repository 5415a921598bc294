//! The command's end: handing an action to the resident host.

use super::{Event, Request, build};
use crate::invoke::{Call, Outcome, RunSettings};
use crate::progress::Progress;
use soar_host::Error;
use soar_host::storage::fs::current_uid;
use std::path::Path;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

/// What became of an action handed to the resident host.
pub enum Forwarded {
    /// It ran there (or was refused for a reason that is the action's).
    Done(Outcome),
    /// Nothing of it ran there, for this reason: run it here.
    Elsewhere(String),
}

/// Hands `call` to the resident host at `socket` and shows its progress on
/// `progress`.
///
/// A socket no one listens on, or a resident host of another version, is
/// [`Forwarded::Elsewhere`]. A socket another user listens on gets nothing:
/// they would see the parameters and could answer anything. A resident host
/// that goes away during the action is an error, not a reason to run the action
/// again here: it may have reached the vendor already.
pub async fn forward(socket: &Path, call: &Call, settings: &RunSettings, progress: &Progress) -> Forwarded {
    let failed = |message: String| {
        Forwarded::Done(Outcome::failed(&Error::Host(message), call, settings.output, settings.compact))
    };
    let stream = match UnixStream::connect(socket).await {
        Ok(stream) => stream,
        Err(err) => return Forwarded::Elsewhere(format!("no resident host at {}: {err}", socket.display())),
    };
    match stream.peer_cred() {
        Ok(peer) if peer.uid() == current_uid() => {}
        Ok(peer) => {
            return failed(format!(
                "the resident host at {} ({}) runs as user {}, not as you: refusing to hand it the action",
                socket.display(),
                super::SOCKET_VAR,
                peer.uid()
            ));
        }
        Err(err) => return failed(format!("cannot tell who serves {}: {err}", socket.display())),
    }
    let request = Request {
        version: build(),
        call: call.clone(),
        settings: settings.clone(),
        env: std::env::vars_os()
            .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
            .collect(),
        log: crate::logging(),
    };
    let mut line = match serde_json::to_vec(&request) {
        Ok(line) => line,
        Err(err) => return Forwarded::Elsewhere(format!("cannot write the request: {err}")),
    };
    line.push(b'\n');
    let (reader, mut writer) = stream.into_split();
    if let Err(err) = writer.write_all(&line).await {
        return Forwarded::Elsewhere(format!("the resident host at {} took no request: {err}", socket.display()));
    }
    let mut lines = BufReader::new(reader).lines();
    loop {
        let event = match lines.next_line().await {
            Ok(Some(line)) => serde_json::from_str::<Event>(&line).map_err(|err| err.to_string()),
            Ok(None) => Err("it closed the connection".into()),
            Err(err) => Err(err.to_string()),
        };
        match event {
            Ok(Event::Progress(message)) => progress.message(&message),
            Ok(Event::Bytes(done, total)) => progress.bytes(done, total),
            Ok(Event::Count(count)) => progress.count(count, "containers"),
            Ok(Event::Log(line)) => eprint!("{line}"),
            Ok(Event::Done(outcome)) => return Forwarded::Done(outcome),
            Ok(Event::Refused(reason)) => {
                return Forwarded::Elsewhere(format!("the resident host at {} refused: {reason}", socket.display()));
            }
            Err(err) => {
                return failed(format!(
                    "the resident host at {} stopped answering before the action ended ({err}); the action may have run in part",
                    socket.display()
                ));
            }
        }
    }
}

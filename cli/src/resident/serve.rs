//! `host serve`: the resident host's end.

use super::{Event, Logging, MAX_REQUEST, Request, SOCKET_VAR, build};
use crate::invoke::{Outcome, RunSettings, Which, run_on};
use crate::options::LoadSettings;
use crate::report_error;
use clap::Args;
use soar_host::sandbox::outbound::TlsSettings;
use soar_host::storage::fs::{current_uid, writable_by_others};
use soar_host::{Error, FileStamp, InvokeOptions, Runtime, Trust, exit};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;
use tracing::instrument::WithSubscriber;

/// Arguments of `host serve`.
#[derive(Args)]
pub struct ServeArgs {
    /// The socket to listen on; commands hand it their actions when SOAR_HOST_SOCKET names it. Its directory is created (mode 0700) and must be writable by you alone
    #[arg(long, env = SOCKET_VAR, value_name = "PATH")]
    socket: PathBuf,
}

/// How many runtimes (one per distinct set of load settings, limits and
/// trusted keys) are kept warm; the least recently used goes first.
const KEPT: usize = 4;

/// Instances each kept runtime holds ready; more actions at once wait for one.
const POOL: u32 = 16;

/// Events queued for a slow command; past that, progress and log lines are
/// dropped rather than held (the outcome never is).
const QUEUED_EVENTS: usize = 256;

/// Runs `host serve` until SIGINT or SIGTERM; returns the exit code.
pub async fn run(args: ServeArgs) -> i32 {
    let socket = crate::options::absolute(args.socket);
    let listener = match bind(&socket) {
        Ok(listener) => listener,
        Err(message) => {
            report_error(&message);
            return exit::HOST;
        }
    };
    let (Ok(mut terminate), Ok(mut interrupt)) = (
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()),
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()),
    ) else {
        report_error("cannot watch for SIGTERM and SIGINT");
        return exit::HOST;
    };
    eprintln!("serving actions on {} until SIGINT or SIGTERM", socket.display());
    let warm = Arc::new(Warm::default());
    let build: Arc<str> = build().into();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(serve(stream, warm.clone(), build.clone()));
                }
                Err(err) => {
                    // Out of file descriptors, say: wait for some to close.
                    tracing::warn!("cannot accept a connection: {err}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
        }
    }
    let _ = std::fs::remove_file(&socket);
    exit::SUCCESS
}

/// Listens on `socket`, in a directory no other user may write to (they could
/// put their own socket in its place), readable and writable by this user only.
/// A socket left by a resident host that stopped is replaced; one that answers
/// is another resident host's, and left alone.
fn bind(socket: &Path) -> Result<UnixListener, String> {
    use std::os::unix::fs::{DirBuilderExt, FileTypeExt, PermissionsExt};
    let dir = socket.parent().unwrap_or(Path::new("/"));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
    let meta = std::fs::metadata(dir).map_err(|err| format!("cannot read {}: {err}", dir.display()))?;
    if let Some(reason) = writable_by_others(&meta, false) {
        return Err(format!(
            "refusing to serve in {}: {reason}; another user could put their own socket in its place",
            dir.display()
        ));
    }
    match std::fs::symlink_metadata(socket) {
        Ok(meta) if meta.file_type().is_socket() => {
            if std::os::unix::net::UnixStream::connect(socket).is_ok() {
                return Err(format!("a resident host already serves on {}", socket.display()));
            }
            std::fs::remove_file(socket).map_err(|err| format!("cannot remove {}: {err}", socket.display()))?;
        }
        Ok(_) => return Err(format!("{} exists and is not a socket", socket.display())),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(format!("cannot read {}: {err}", socket.display())),
    }
    let listener = UnixListener::bind(socket).map_err(|err| format!("cannot listen on {}: {err}", socket.display()))?;
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600))
        .map_err(|err| format!("cannot make {} private: {err}", socket.display()))?;
    Ok(listener)
}

/// Serves one connection: one action.
async fn serve(stream: UnixStream, warm: Arc<Warm>, build: Arc<str>) {
    match stream.peer_cred() {
        Ok(peer) if peer.uid() == current_uid() => {}
        Ok(peer) => return tracing::warn!("refused a connection from user {}", peer.uid()),
        Err(err) => return tracing::warn!("refused a connection from an unknown user: {err}"),
    }
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    let (events, mut queued) = mpsc::channel::<Event>(QUEUED_EVENTS);
    let writing = tokio::spawn(async move {
        while let Some(event) = queued.recv().await {
            let Ok(mut line) = serde_json::to_vec(&event) else { continue };
            line.push(b'\n');
            if writer.write_all(&line).await.is_err() {
                break;
            }
        }
    });
    match read_request(&mut reader, &build).await {
        Err(reason) => {
            tracing::info!("refused a request: {reason}");
            let _ = events.send(Event::Refused(reason)).await;
        }
        Ok(request) => {
            let mut byte = [0u8; 1];
            // Anything the command sends after its request, or its going away,
            // stops the action.
            let outcome = tokio::select! {
                outcome = act(request, &warm, events.clone()) => Some(outcome),
                _ = reader.read(&mut byte) => None,
            };
            if let Some(outcome) = outcome {
                let _ = events.send(Event::Done(outcome)).await;
            }
        }
    }
    drop(events);
    let _ = writing.await;
}

/// Reads and checks the request: one line of JSON, from a command of this
/// `build`, with every path resolved.
async fn read_request(reader: &mut BufReader<tokio::net::unix::OwnedReadHalf>, build: &str) -> Result<Request, String> {
    let mut line = Vec::new();
    (&mut *reader)
        .take(MAX_REQUEST)
        .read_until(b'\n', &mut line)
        .await
        .map_err(|err| format!("cannot read the request: {err}"))?;
    if !line.ends_with(b"\n") {
        return Err(format!("the request is not one line of at most {MAX_REQUEST} bytes"));
    }
    let request: Request = serde_json::from_slice(&line).map_err(|err| format!("malformed request: {err}"))?;
    if request.version != build {
        return Err(format!("it is {build}; the command is {}", request.version));
    }
    let settings = &request.settings;
    let paths = [
        settings.asset.as_deref(),
        Some(&settings.assets_dir),
        Some(&settings.plugin_dir),
        Some(&settings.data_dir),
        Some(&settings.load.trust),
        Some(&settings.load.cache_dir),
        settings.tls.ca_bundle.as_deref(),
    ];
    if let Some(relative) = paths.into_iter().flatten().find(|path| !path.is_absolute()) {
        return Err(format!("{} is not an absolute path", relative.display()));
    }
    Ok(request)
}

/// Runs the request's action, logging as the command would, and sending its
/// progress as events.
async fn act(request: Request, warm: &Warm, events: mpsc::Sender<Event>) -> Outcome {
    let Request { call, settings, env, log, .. } = request;
    let dispatch = log_to(&log, events.clone());
    let started = std::time::Instant::now();
    let outcome = async {
        match warm.runtime(&settings) {
            Ok(runtime) => {
                let env = |name: &str| env.get(name).cloned();
                let report = run_on(&runtime, &call, &settings, &env, &|options| attach(options, &events)).await;
                Outcome::of(&report, settings.output, settings.compact)
            }
            Err(err) => Outcome::failed(&err, &call, settings.output, settings.compact),
        }
    }
    .with_subscriber(dispatch)
    .await;
    let action = match &call.which {
        Which::Named(name) => name.clone(),
        Which::Kind(kind) => format!("{kind:?}").to_lowercase(),
    };
    tracing::info!("ran {} {action}: exit code {} in {:.1?}", call.connector, outcome.exit, started.elapsed());
    outcome
}

/// Sends the action's progress to the command. A full queue drops it: progress
/// is for display, and the next report supersedes it.
fn attach(options: &mut InvokeOptions, events: &mpsc::Sender<Event>) {
    let sender = events.clone();
    options.progress = Some(Arc::new(move |message| drop(sender.try_send(Event::Progress(message.into())))));
    let sender = events.clone();
    options.download_progress = Some(Arc::new(move |done, total| drop(sender.try_send(Event::Bytes(done, total)))));
    let sender = events.clone();
    options.ingest_progress = Some(Arc::new(move |count| drop(sender.try_send(Event::Count(count)))));
}

/// A log subscriber that formats as the command's own would and sends each
/// line to it.
fn log_to(log: &Logging, events: mpsc::Sender<Event>) -> tracing::Dispatch {
    tracing::Dispatch::new(crate::log_subscriber(log, move || LogLine { events: events.clone(), line: Vec::new() }))
}

/// One log line on its way to the command: sent whole when dropped.
struct LogLine {
    events: mpsc::Sender<Event>,
    line: Vec<u8>,
}

impl std::io::Write for LogLine {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.line.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LogLine {
    fn drop(&mut self) {
        if !self.line.is_empty() {
            let _ = self.events.try_send(Event::Log(String::from_utf8_lossy(&self.line).into_owned()));
        }
    }
}

/// What a runtime is made of: two actions share one when these are equal.
#[derive(PartialEq)]
struct Key {
    load: LoadSettings,
    /// The trusted keys as they were read for the action.
    trust: Trust,
    limits: (usize, Duration, u64),
    tls: TlsSettings,
    /// The CA bundle's file, which the runtime read when it was made.
    ca_bundle: Option<FileStamp>,
}

/// A runtime kept between actions.
struct Kept {
    key: Key,
    runtime: Arc<Runtime>,
}

/// The runtimes kept warm, the most recently used first. Each keeps the
/// connectors it loaded (verified and loaded again when their file changes)
/// and its idle vendor connections.
#[derive(Default)]
struct Warm {
    kept: Mutex<Vec<Kept>>,
}

impl Warm {
    /// The runtime for `settings`, made if none is kept. The trusted keys are
    /// read again for every action: one taken out of them stops the very next
    /// action of a connector only it signed.
    fn runtime(&self, settings: &RunSettings) -> Result<Arc<Runtime>, Error> {
        let ca_bundle = settings.tls.ca_bundle.as_ref().and_then(|path| std::fs::metadata(path).ok());
        let key = Key {
            load: settings.load.clone(),
            trust: settings.load.trust()?,
            limits: (settings.memory, settings.time, settings.max_download),
            tls: settings.tls.clone(),
            ca_bundle: ca_bundle.as_ref().map(FileStamp::of),
        };
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(at) = kept.iter().position(|kept| kept.key == key) {
            let found = kept.remove(at);
            let runtime = found.runtime.clone();
            kept.insert(0, found);
            return Ok(runtime);
        }
        drop(kept);
        let options = settings.load.options(key.trust.clone(), settings.limits(), settings.tls.clone(), Some(POOL));
        let runtime = Arc::new(Runtime::new(options)?);
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        kept.insert(0, Kept { key, runtime: runtime.clone() });
        kept.truncate(KEPT);
        Ok(runtime)
    }
}

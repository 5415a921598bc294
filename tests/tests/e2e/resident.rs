//! The resident host (`host serve`): an action handed to it prints exactly what
//! it prints when the command runs it; it checks what it keeps loaded again for
//! every action; and neither end trusts a socket, a peer or a request it should
//! not.

use soar_host::exit;
use soar_tests::harness::{HostEnv, Resident, Run, component, host_binary, trust_dir, unsigned_component};
use soar_tests::kit::Vendor;
use soar_tests::sim::cofense_vision::CofenseSim;
use soar_tests::sim::{Fault, FaultRule};
use std::io::{BufRead, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

/// Runs `host args` in `env`, handing the action to the resident host on
/// `socket` when one is given.
async fn run(env: &HostEnv, socket: Option<&Path>, args: &[&str]) -> Run {
    run_with(env, socket, &[], args).await
}

/// [`run`] with `vars` in the command's environment.
async fn run_with(env: &HostEnv, socket: Option<&Path>, vars: &[(&str, &str)], args: &[&str]) -> Run {
    let mut command = env.command();
    if let Some(socket) = socket {
        command.env("SOAR_HOST_SOCKET", socket);
    }
    Run::from_output(command.envs(vars.iter().copied()).args(args).output().await.expect("run host"))
}

fn resident() -> Resident {
    Resident::start(HostEnv::new().std_command()).expect("start host serve")
}

/// The actions `log` says the resident host ran.
fn served(log: &str) -> usize {
    log.lines().filter(|line| line.contains(" ran ")).count()
}

/// A private plugin directory holding the signed cofense component, and a
/// private trust directory holding the tests' key.
fn private_install(dir: &Path) -> (PathBuf, PathBuf) {
    let (plugins, trust) = (dir.join("plugins"), dir.join("trust"));
    std::fs::create_dir(&plugins).unwrap();
    std::fs::create_dir(&trust).unwrap();
    std::fs::set_permissions(&trust, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::copy(component("cofense.wasm"), plugins.join("cofense.wasm")).unwrap();
    std::fs::copy(trust_dir().join("dev.pub"), trust.join("dev.pub")).unwrap();
    (plugins, trust)
}

/// Where an asset of the tests takes its secret from.
const SECRET_VAR: &str = "SOAR_TEST_VISION_SECRET";

const UNREACHABLE_ASSET: &str = "base_url = \"http://127.0.0.1:9\"\nclient_id = \"a\"\nclient_secret = \"b\"\n";

#[tokio::test(flavor = "multi_thread")]
async fn an_action_through_the_resident_host_prints_what_it_prints_when_run_here() {
    let vision = Vendor::<CofenseSim>::start().await;
    // The secret an asset takes from the environment is the command's: the
    // resident host's own environment has another.
    let mut serve = HostEnv::new().std_command();
    serve.env(SECRET_VAR, "not the secret");
    let resident = Resident::start(serve).unwrap();
    let ioc = vision.sim.iocs("Vision-UI")[0]["id"].as_str().unwrap().to_string();
    let id = format!("id={ioc}");
    let asset = vision.asset.to_str().unwrap();
    let text = std::fs::read_to_string(&vision.asset).unwrap();
    let secret = text.lines().find_map(|line| line.strip_prefix("client_secret = ")).unwrap().trim_matches('"');
    let from_env =
        vision.env.asset("from-env", &text.replace(&format!("\"{secret}\""), &format!("{{ env = \"{SECRET_VAR}\" }}")));
    let from_env = from_env.to_str().unwrap();
    // The same asset, readable by others while it holds a secret: a warning
    // the library logs during the action.
    let shared = vision.env.root().join("shared.toml");
    std::fs::copy(&vision.asset, &shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o644)).unwrap();
    let shared = shared.to_str().unwrap();
    let get = ["invoke", "cofense", "get-ioc", "--param", &id, "--param", "source=Vision-UI", "--asset"];
    let cases: Vec<Vec<&str>> = vec![
        [&get[..], &[asset]].concat(),
        [&get[..], &[asset, "--compact"]].concat(),
        [&get[..], &[asset, "--output", "table"]].concat(),
        [&get[..], &[shared]].concat(),
        [&get[..], &[from_env]].concat(),
        // Bad input, found in the resident host: a parameter, the asset file,
        // the connector, the action's kind, a container.
        vec!["invoke", "cofense", "get-ioc", "--param", "source=Vision-UI", "--asset", asset],
        vec!["invoke", "cofense", "get-ioc", "--param", &id, "--param", "source=Vision-UI", "--asset", "nosuch.toml"],
        vec!["invoke", "nosuch", "get-ioc", "--asset", asset],
        vec!["poll", "cofense", "--asset", asset],
        [&get[..], &[asset, "--container", "7"]].concat(),
    ];
    let vars = [(SECRET_VAR, secret)];
    for (args, vars) in cases.iter().map(|args| (args, &vars[..])).chain([(&cases[4], &[][..])]) {
        let here = run_with(&vision.env, None, vars, args).await;
        let there = run_with(&vision.env, Some(&resident.socket), vars, args).await;
        assert_eq!(
            (there.code, &there.stdout, &there.stderr),
            (here.code, &here.stdout, &here.stderr),
            "host {} with {vars:?}",
            args.join(" ")
        );
    }
    run_with(&vision.env, Some(&resident.socket), &vars, &cases[4]).await.success();
    let unset = run(&vision.env, Some(&resident.socket), &cases[4]).await;
    assert!(unset.failure("invalid-config", exit::INVALID_INPUT).contains(SECRET_VAR), "{unset:#?}");
    assert!(
        run(&vision.env, None, &cases[3]).await.stderr.contains("readable by other users"),
        "the warning is there to be forwarded"
    );
    assert_eq!(served(&resident.log()), cases.len() + 3, "the resident host ran each: {}", resident.log());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_resident_host_checks_the_component_and_the_trusted_keys_again_for_every_action() {
    let dir = tempfile::tempdir().unwrap();
    let (plugins, trust) = private_install(dir.path());
    let env = HostEnv::with_plugins(plugins.clone()).with_trust(&trust);
    let asset = env.asset("cofense", UNREACHABLE_ASSET);
    let resident = resident();
    let socket = Some(resident.socket.as_path());
    // An action that stops at its parameters: the connector was verified and loaded.
    let args = ["invoke", "cofense", "get-ioc", "--param", "source=Vision-UI", "--asset", asset.to_str().unwrap()];
    run(&env, socket, &args).await.rejected("id", "The required parameter 'id' is missing");

    // Replaced by a component no trusted key signed.
    std::fs::write(plugins.join("cofense.wasm"), std::fs::read(unsigned_component("cofense.wasm")).unwrap()).unwrap();
    run(&env, socket, &args).await.failure("untrusted-connector", exit::CONNECTOR);

    std::fs::copy(component("cofense.wasm"), plugins.join("cofense.wasm")).unwrap();
    run(&env, socket, &args).await.rejected("id", "The required parameter 'id' is missing");

    // The key that signed it taken out of the trusted keys.
    std::fs::remove_file(trust.join("dev.pub")).unwrap();
    run(&env, socket, &args).await.failure("untrusted-connector", exit::CONNECTOR);
    assert_eq!(served(&resident.log()), 4, "{}", resident.log());
}

#[tokio::test]
async fn serve_refuses_a_socket_another_user_could_replace_or_that_is_not_its_own() {
    let env = HostEnv::new();
    let dir = tempfile::tempdir().unwrap();
    let open = dir.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let socket = open.join("host.sock");
    let run = env.run(&["serve", "--socket", socket.to_str().unwrap()]).await;
    assert_eq!(run.code, exit::HOST, "{run:#?}");
    assert!(run.stderr.contains("refusing to serve in") && run.stderr.contains("writable by every user"), "{run:#?}");
    assert!(!socket.exists());

    let file = dir.path().join("private").join("host.sock");
    std::fs::create_dir(file.parent().unwrap()).unwrap();
    std::fs::write(&file, "mine").unwrap();
    let run = env.run(&["serve", "--socket", file.to_str().unwrap()]).await;
    assert_eq!(run.code, exit::HOST, "{run:#?}");
    assert!(run.stderr.contains("exists and is not a socket"), "{run:#?}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine");

    // A socket left by a resident host that was killed is taken over.
    let stale = file.with_file_name("stale.sock");
    drop(UnixListener::bind(&stale).unwrap());
    let mut taking_over = env.command().args(["serve", "--socket", stale.to_str().unwrap()]).spawn().unwrap();
    until_listening(&stale).await;
    taking_over.start_kill().unwrap();

    let first = resident();
    let run = env.run(&["serve", "--socket", first.socket.to_str().unwrap()]).await;
    assert_eq!(run.code, exit::HOST, "{run:#?}");
    assert!(run.stderr.contains("already serves"), "{run:#?}");
    let mode = std::fs::metadata(&first.socket).unwrap().permissions().mode();
    let dir_mode = std::fs::metadata(first.socket.parent().unwrap()).unwrap().permissions().mode();
    assert_eq!((mode & 0o777, dir_mode & 0o777), (0o600, 0o700), "the socket and its directory are private");
    // The first still serves.
    let asset = env.asset("cofense", UNREACHABLE_ASSET);
    let args = ["invoke", "cofense", "get-ioc", "--param", "source=x", "--asset", asset.to_str().unwrap()];
    run_checked(&env, &first, &args).await;
}

/// Waits (20 s at most) until something listens on `socket`.
async fn until_listening(socket: &Path) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::os::unix::net::UnixStream::connect(socket).is_err() {
        assert!(std::time::Instant::now() < deadline, "nothing listens on {}", socket.display());
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// Runs `args` through `resident` and checks it ran there and stopped at the
/// missing `id`.
async fn run_checked(env: &HostEnv, resident: &Resident, args: &[&str]) {
    let before = served(&resident.log());
    run(env, Some(&resident.socket), args).await.rejected("id", "The required parameter 'id' is missing");
    assert_eq!(served(&resident.log()), before + 1, "{}", resident.log());
}

/// A stand-in for a resident host on a socket of its own: it takes one
/// connection, reads the request line and answers with `answer` (nothing: it
/// closes). Returns the socket and what it was sent.
fn stand_in(dir: &Path, answer: &'static str) -> (PathBuf, std::thread::JoinHandle<String>) {
    let socket = dir.join("stand-in.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = std::io::BufReader::new(&stream);
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        (&stream).write_all(answer.as_bytes()).unwrap();
        line
    });
    (socket, handle)
}

/// `invoke cofense get-ioc` of a seeded IOC, with `vision`'s asset.
fn get_ioc(vision: &Vendor<CofenseSim>) -> Vec<String> {
    let ioc = vision.sim.iocs("Vision-UI")[0]["id"].as_str().unwrap().to_string();
    let asset = vision.asset.to_str().unwrap();
    let id = format!("id={ioc}");
    ["invoke", "cofense", "get-ioc", "--param", &id, "--param", "source=Vision-UI", "--asset", asset]
        .map(String::from)
        .to_vec()
}

/// One answer of the resident host to a raw request line.
fn answer_to(socket: &Path, request: &[u8]) -> serde_json::Value {
    let stream = std::os::unix::net::UnixStream::connect(socket).unwrap();
    // A request cut short at the limit makes the resident host answer before
    // reading the rest: what it did not read is no error here.
    let _ = (&stream).write_all(request);
    let mut line = String::new();
    std::io::BufReader::new(&stream).read_line(&mut line).unwrap();
    serde_json::from_str(&line).unwrap_or_else(|err| panic!("{err}: {line}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_requests_are_refused_without_running_anything_and_the_resident_host_keeps_serving() {
    let vision = Vendor::<CofenseSim>::start().await;
    let args = get_ioc(&vision);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // A real request, as a command sends it.
    let dir = tempfile::tempdir().unwrap();
    let (socket, sent) = stand_in(dir.path(), "{\"refused\":\"a stand-in\"}\n");
    run(&vision.env, Some(&socket), &args).await.success();
    let request: serde_json::Value = serde_json::from_str(&sent.join().unwrap()).unwrap();
    vision.take_requests();

    let resident = resident();
    let with = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut request = request.clone();
        edit(&mut request);
        let mut line = serde_json::to_vec(&request).unwrap();
        line.push(b'\n');
        line
    };
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"not json\n".to_vec(), "malformed request"),
        (b"{}\n".to_vec(), "malformed request"),
        (vec![b' '; 4 << 20], "not one line"),
        (with(&|r| r["version"] = "soar-cli 0.0.1 protocol 0".into()), "the command is soar-cli 0.0.1"),
        (with(&|r| r["settings"]["data_dir"] = "data".into()), "data is not an absolute path"),
        (with(&|r| r["settings"]["asset"] = "../cofense.toml".into()), "../cofense.toml is not an absolute path"),
        (with(&|r| r["settings"]["load"]["trust"] = "keys".into()), "keys is not an absolute path"),
        (with(&|r| r["settings"]["time"] = serde_json::json!({"secs": -1, "nanos": 0})), "malformed request"),
    ];
    for (line, reason) in &cases {
        let answer = answer_to(&resident.socket, line);
        let refused = answer["refused"].as_str().unwrap_or_else(|| panic!("not refused: {answer}"));
        assert!(refused.contains(reason), "{refused} (expected {reason})");
    }
    assert!(vision.take_requests().is_empty(), "nothing reached the vendor");
    assert_eq!(served(&resident.log()), 0, "{}", resident.log());

    // The request as the command sent it runs.
    let answer = answer_to(&resident.socket, &with(&|_| {}));
    assert_eq!(answer["done"]["exit"], 0, "{answer}");
    assert_eq!(vision.take_requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_command_runs_the_action_itself_only_when_nothing_of_it_ran_elsewhere() {
    let vision = Vendor::<CofenseSim>::start().await;
    let args = get_ioc(&vision);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let dir = tempfile::tempdir().unwrap();
    // The token, fetched once.
    run(&vision.env, None, &args).await.success();
    vision.take_requests();

    // No resident host there: the command runs the action.
    run(&vision.env, Some(&dir.path().join("nobody.sock")), &args).await.success();
    assert_eq!(vision.take_requests().len(), 1);

    // One that refuses (another version): the command runs it, and says why with -v.
    let (socket, _) = stand_in(dir.path(), "{\"refused\":\"it is another version\"}\n");
    let refused = run(&vision.env, Some(&socket), &[&["-v"], &args[..]].concat()).await.success();
    assert!(
        refused.stderr.contains("refused: it is another version; running the action in this process"),
        "{refused:#?}"
    );
    assert_eq!(vision.take_requests().len(), 1);
    std::fs::remove_file(&socket).unwrap();

    // One that goes away once it has the request may have reached the vendor:
    // an error, and no second run here.
    // So may one that answers what no resident host says.
    for answer in ["", "{\"done\":", "not json\n", "{\"launch\":\"missiles\"}\n"] {
        let (socket, _) = stand_in(dir.path(), answer);
        let gone = run(&vision.env, Some(&socket), &args).await;
        let message = gone.failure("host-error", exit::HOST);
        assert!(message.contains("stopped answering before the action ended"), "{answer:?}: {message}");
        assert!(vision.take_requests().is_empty(), "{answer:?}: the action did not run again here");
        std::fs::remove_file(&socket).unwrap();
    }
}

/// The user the tests run other users' processes as.
const NOBODY: u32 = 65534;

/// Makes `command` run as [`NOBODY`]. Only root can: elsewhere this says the
/// test is skipped and returns `false`.
fn as_nobody(command: &mut std::process::Command) -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: only root can run a process as another user");
        return false;
    }
    // SAFETY: setgid and setuid are async-signal-safe; nothing else runs in the
    // child yet.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(command, || match (libc::setgid(NOBODY), libc::setuid(NOBODY)) {
            (0, 0) => Ok(()),
            _ => Err(std::io::Error::last_os_error()),
        });
    }
    true
}

#[tokio::test(flavor = "multi_thread")]
async fn a_socket_another_user_serves_is_handed_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let socket = dir.path().join("theirs.sock");
    // Another user's listener: it reports how many bytes it was sent.
    let script = "import socket,sys\ns=socket.socket(socket.AF_UNIX)\ns.bind(sys.argv[1])\ns.listen(1)\nprint('ready',flush=True)\nc,_=s.accept()\ndata=b''\nwhile True:\n  b=c.recv(65536)\n  if not b: break\n  data+=b\nprint(len(data),flush=True)\n";
    let mut theirs = std::process::Command::new("python3");
    theirs.arg("-c").arg(script).arg(&socket).stdout(std::process::Stdio::piped());
    if !as_nobody(&mut theirs) {
        return;
    }
    let mut theirs = theirs.spawn().unwrap();
    let mut out = std::io::BufReader::new(theirs.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready");

    let env = HostEnv::new();
    let asset = env.asset("cofense", UNREACHABLE_ASSET);
    let args = ["invoke", "cofense", "get-ioc", "--param", "source=secret-source", "--asset", asset.to_str().unwrap()];
    let run = run(&env, Some(&socket), &args).await;
    let message = run.failure("host-error", exit::HOST);
    assert!(message.contains(&format!("runs as user {NOBODY}, not as you")), "{message}");
    line.clear();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "0", "the other user's listener was sent nothing");
    theirs.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resident_host_answers_no_other_user() {
    let mut serve = HostEnv::new().std_command();
    if !as_nobody(&mut serve) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("run");
    std::fs::create_dir(&run_dir).unwrap();
    std::os::unix::fs::chown(&run_dir, Some(NOBODY), Some(NOBODY)).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let socket = run_dir.join("host.sock");
    serve.args(["serve", "--socket", socket.to_str().unwrap()]).stderr(std::process::Stdio::piped());
    let mut serve = tokio::process::Command::from(serve).kill_on_drop(true).spawn().unwrap();
    until_listening(&socket).await;
    // Root may open the socket; the resident host still answers nothing.
    let stream = std::os::unix::net::UnixStream::connect(&socket).unwrap();
    (&stream).write_all(b"{}\n").unwrap();
    let mut line = String::new();
    match std::io::BufReader::new(&stream).read_line(&mut line) {
        // Closed without a word (a reset, since the request went unread).
        Ok(0) => {}
        Err(err) if err.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("{other:?}: {line}"),
    }
    serve.start_kill().unwrap();
    let output = serve.wait_with_output().await.unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(log.contains("refused a connection from user 0"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn more_commands_at_once_than_the_pool_holds_all_get_their_result() {
    let vision = Vendor::<CofenseSim>::start().await;
    let args = get_ioc(&vision);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let resident = resident();
    let socket = Some(resident.socket.as_path());
    let first = run(&vision.env, socket, &args).await.success();
    // Half again as many as a runtime's 16 instances.
    let runs = futures_util::future::join_all((0..24).map(|_| run(&vision.env, socket, &args))).await;
    for run in &runs {
        assert_eq!((run.code, &run.stdout), (0, &first.stdout), "{run:#?}");
    }
    assert_eq!(served(&resident.log()), 25, "{}", resident.log());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_command_that_goes_away_stops_its_action() {
    let vision = Vendor::<CofenseSim>::start().await;
    let args = get_ioc(&vision);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let resident = resident();
    let socket = Some(resident.socket.as_path());
    run(&vision.env, socket, &args).await.success();
    vision.take_requests();
    let slow = std::time::Duration::from_secs(3);
    vision.sim.server().inject(FaultRule::on("/iocrepository", Fault::Slow { millis: slow.as_millis() as u64 }));
    let started = std::time::Instant::now();
    let mut command = vision.env.command();
    command.env("SOAR_HOST_SOCKET", &resident.socket).args(&args).stdout(std::process::Stdio::null());
    let mut waiting = command.spawn().unwrap();
    while vision.sim.server().requests().is_empty() {
        assert!(started.elapsed() < slow, "the request never reached the vendor");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    waiting.start_kill().unwrap();
    waiting.wait().await.unwrap();
    // Past the vendor's delay: an action still running would have ended by now.
    run(&vision.env, socket, &args).await.success();
    tokio::time::sleep(slow.saturating_sub(started.elapsed()) + std::time::Duration::from_millis(500)).await;
    assert_eq!(served(&resident.log()), 2, "the stopped action never ended: {}", resident.log());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_command_of_another_build_runs_its_action_itself() {
    // The same version, but another executable: as after a rebuild or an
    // upgrade in place, with the old resident host still running.
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("host");
    std::fs::copy(host_binary(), &old).unwrap();
    let earlier = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1 << 30);
    std::fs::File::options().write(true).open(&old).unwrap().set_modified(earlier).unwrap();
    let resident = Resident::start(std::process::Command::new(&old)).unwrap();

    let env = HostEnv::new();
    let asset = env.asset("cofense", UNREACHABLE_ASSET);
    let args = ["-v", "invoke", "cofense", "get-ioc", "--param", "source=x", "--asset", asset.to_str().unwrap()];
    let run = run(&env, Some(&resident.socket), &args).await;
    run.rejected("id", "The required parameter 'id' is missing");
    assert!(
        run.stderr.contains("refused: it is") && run.stderr.contains("running the action in this process"),
        "{run:#?}"
    );
    assert_eq!(served(&resident.log()), 0, "{}", resident.log());
}

//! A real OCI registry for the distribution tests: Debian's `docker-registry`
//! (Distribution v2, installed by `make test`), started on a free loopback
//! port with its own temporary storage, optionally with htpasswd basic auth
//! or TLS, and stopped when dropped.

use crate::tls::TestCa;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// The registry program.
const PROGRAM: &str = "docker-registry";

/// How the registry is started.
#[derive(Default)]
pub struct RegistryConfig {
    /// Basic auth with one user and password (bcrypt htpasswd).
    pub user: Option<(String, String)>,
    /// HTTPS with a certificate for 127.0.0.1 signed by this CA.
    pub tls: Option<TestCa>,
}

/// A running registry.
pub struct RegistryServer {
    child: Child,
    dir: TempDir,
    port: u16,
    tls: bool,
}

impl RegistryServer {
    /// A registry without auth, over plain HTTP.
    pub fn start() -> Self {
        Self::start_with(RegistryConfig::default())
    }

    /// A registry configured by `config`.
    pub fn start_with(config: RegistryConfig) -> Self {
        let dir = tempfile::tempdir().expect("registry directory");
        let mut yaml = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n",
            dir.path().join("storage").display()
        );
        if let Some((user, password)) = &config.user {
            let hash = bcrypt::hash(password, 4).expect("bcrypt");
            std::fs::write(dir.path().join("htpasswd"), format!("{user}:{hash}\n")).expect("htpasswd");
            yaml.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: soar-tests\n    path: {}\n",
                dir.path().join("htpasswd").display()
            ));
        }
        let mut tls = String::new();
        if let Some(ca) = &config.tls {
            let (cert, key) = (dir.path().join("server.pem"), dir.path().join("server.key"));
            ca.write_server_pem(&cert, &key).expect("server certificate");
            tls = format!("  tls:\n    certificate: {}\n    key: {}\n", cert.display(), key.display());
        }
        // A port is free when asked for; the registry binds it a moment later,
        // so a start that loses the race is retried on another.
        let config_path = dir.path().join("config.yml");
        for _ in 0..5 {
            let port = free_port();
            let http = format!("http:\n  addr: 127.0.0.1:{port}\n  secret: soar-tests-secret\n{tls}");
            std::fs::write(&config_path, format!("{yaml}{http}")).expect("registry config");
            let mut child = Command::new(PROGRAM)
                .arg("serve")
                .arg(&config_path)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|err| {
                    panic!("cannot start {PROGRAM} ({err}): `make test` installs it (Debian package docker-registry)")
                });
            if wait_ready(&mut child, port) {
                return Self { child, dir, port, tls: config.tls.is_some() };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("{PROGRAM} did not start");
    }

    /// `127.0.0.1:PORT`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `oci://127.0.0.1:PORT/<repository>:<tag>`.
    pub fn reference(&self, repository: &str, tag: &str) -> String {
        format!("oci://{}/{repository}:{tag}", self.address())
    }

    /// `oci://127.0.0.1:PORT/<repository>@<digest>`.
    pub fn pinned(&self, repository: &str, digest: &str) -> String {
        format!("oci://{}/{repository}@{digest}", self.address())
    }

    /// Where the registry keeps the blob `digest` (`sha256:...`) on disk.
    pub fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self.dir.path().join("storage/docker/registry/v2/blobs/sha256").join(&hex[..2]).join(hex).join("data")
    }

    /// The registry's directory (storage, configuration).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Whether it serves HTTPS.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// GET `path` over plain HTTP with `accept`, as an independent client
    /// would: (status, body).
    pub async fn get(&self, path: &str, accept: &str) -> (u16, Vec<u8>) {
        use http_body_util::{BodyExt, Empty};
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.expect("connect to the registry");
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.expect("handshake");
        tokio::spawn(connection);
        let request = http::Request::get(path)
            .header("host", self.address())
            .header("accept", accept)
            .body(Empty::<bytes::Bytes>::new())
            .expect("request");
        let response = sender.send_request(request).await.expect("registry answers");
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.expect("body").to_bytes().to_vec();
        (status, body)
    }
}

impl Drop for RegistryServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Up when its port accepts connections, within 10 s; false if it exited.
fn wait_ready(child: &mut Child, port: u16) -> bool {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|listener| listener.local_addr()).expect("a free port").port()
}

//! A real OCI registry for the distribution tests: Debian's `docker-registry`
//! (Distribution v2, installed by `make test`), started on a free loopback
//! port with its own temporary storage, optionally with htpasswd basic auth
//! or TLS, and stopped when dropped.

use crate::tls::TestCa;
use std::io::Write;
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
        let mut dir = tempfile::tempdir().expect("registry directory");
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
        // A port is free when asked for; the registry binds it a moment later,
        // so a start that loses the race is retried on another.
        for _ in 0..5 {
            let port = free_port();
            let mut http = format!("http:\n  addr: 127.0.0.1:{port}\n  secret: soar-tests-secret\n");
            if let Some(ca) = &config.tls {
                let (cert, key) = (dir.path().join("server.pem"), dir.path().join("server.key"));
                ca.write_server_pem(&cert, &key).expect("server certificate");
                http.push_str(&format!("  tls:\n    certificate: {}\n    key: {}\n", cert.display(), key.display()));
            }
            let config_path = dir.path().join("config.yml");
            let mut file = std::fs::File::create(&config_path).expect("registry config");
            file.write_all(yaml.as_bytes()).and_then(|()| file.write_all(http.as_bytes())).expect("registry config");
            let child = Command::new(PROGRAM)
                .arg("serve")
                .arg(&config_path)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|err| {
                    panic!("cannot start {PROGRAM} ({err}): `make test` installs it (Debian package docker-registry)")
                });
            let mut server = Self { child, dir, port, tls: config.tls.is_some() };
            if server.wait_ready() {
                return server;
            }
            let _ = server.child.kill();
            let _ = server.child.wait();
            dir = server.into_dir();
        }
        panic!("{PROGRAM} did not start");
    }

    fn into_dir(mut self) -> TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let placeholder = tempfile::tempdir().expect("temporary directory");
        let dir = std::mem::replace(&mut self.dir, placeholder);
        drop(self);
        dir
    }

    /// Up when its port accepts connections, within 10 s; false if it exited.
    fn wait_ready(&mut self) -> bool {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
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

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|listener| listener.local_addr()).expect("a free port").port()
}

//! Outbound HTTP: only to the schemes, hosts and ports of the asset's origins
//! (the configuration variables its connector declares `origin`).
//!
//! Every request a connector sends passes through [`OutboundHooks::send_request`].
//! A request to anywhere else is refused with `HttpRequestDenied` before any
//! connection is made. Hosts are compared in their canonical form (the one the
//! asset hands the connector, see [`crate::asset::canonical_url`]), so
//! `127.1` and `127.0.0.1` are one host. Each allowed host name is resolved once
//! per action and connections go only to those addresses, so a DNS answer that
//! changes during the action (DNS rebinding) cannot redirect it.
//!
//! Connections are kept for reuse across the actions of one asset
//! ([`ConnectionPool`]): an idle HTTP/1.1 connection to an allowed origin is
//! taken for the next request to the same origin from an action of the same
//! asset (connector, asset name and data directory), and never for another
//! asset's, so one tenant's connection never carries another's request.
//!
//! Certificates are checked against the system's trust store and an operator's
//! CA bundle ([`TlsSettings`]); the connector's `tls-verification` variable set
//! to `false` turns the checks off for that asset only. The credentials a request carries (`Authorization`
//! and similar headers) are handed to the action's [`Redactor`] before the
//! request leaves, so a vendor echoing them cannot get them printed.

use crate::redact::{Added, Redactor};
use bytes::Bytes;
use http::uri::Uri;
use http_body::Body;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::OnceCell;
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

/// Used when the connector sets no timeout of its own.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// Headers whose values are credentials.
const CREDENTIAL_HEADERS: &[&str] = &["authorization", "proxy-authorization", "cookie", "x-api-key", "api-key"];

/// How the host checks vendors' TLS certificates.
#[derive(Debug, Clone, Default)]
pub struct TlsSettings {
    /// A PEM file of CA certificates trusted besides the system's (an
    /// on-premises deployment's internal CA).
    pub ca_bundle: Option<PathBuf>,
}

/// The TLS client configurations of one runtime, built on first use (loading
/// the system trust store costs milliseconds that plain-HTTP actions skip).
pub struct TlsClients {
    settings: TlsSettings,
    verifying: OnceLock<Result<tokio_rustls::TlsConnector, String>>,
    unchecked: OnceLock<tokio_rustls::TlsConnector>,
}

impl std::fmt::Debug for TlsClients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsClients").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl TlsClients {
    /// Clients for `settings`.
    pub fn new(settings: TlsSettings) -> Self {
        Self { settings, verifying: OnceLock::new(), unchecked: OnceLock::new() }
    }

    fn connector(&self, verify: bool) -> Result<tokio_rustls::TlsConnector, Error> {
        if !verify {
            return Ok(self.unchecked.get_or_init(|| tls_connector(None)).clone());
        }
        let connector = self.verifying.get_or_init(|| roots(&self.settings).map(|roots| tls_connector(Some(roots))));
        connector.clone().map_err(|message| Error::InternalError(Some(message)))
    }
}

/// The system's trusted roots and the operator's CA bundle.
fn roots(settings: &TlsSettings) -> Result<rustls::RootCertStore, String> {
    let mut roots = rustls::RootCertStore::empty();
    let system = rustls_native_certs::load_native_certs();
    let (added, _) = roots.add_parsable_certificates(system.certs);
    if added == 0 {
        tracing::debug!("no system trust store found; using the bundled Mozilla roots");
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    if let Some(bundle) = &settings.ca_bundle {
        for cert in ca_bundle(bundle)? {
            roots.add(cert).map_err(|err| format!("cannot use the CA bundle {}: {err}", bundle.display()))?;
        }
    }
    Ok(roots)
}

/// The certificates of the operator's CA bundle (PEM, one or more).
pub(crate) fn ca_bundle(bundle: &std::path::Path) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let unreadable = |err: &dyn std::fmt::Display| format!("cannot read the CA bundle {}: {err}", bundle.display());
    let certs = CertificateDer::pem_file_iter(bundle)
        .map_err(|err| unreadable(&err))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| unreadable(&err))?;
    if certs.is_empty() {
        return Err(unreadable(&"it holds no PEM certificate"));
    }
    Ok(certs)
}

/// How long an idle connection is kept: short enough to expire before most
/// servers' own keep-alive timeouts, so a request rarely meets a connection the
/// server is closing.
const IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// The most idle connections kept per asset and origin.
const MAX_IDLE: usize = 256;

/// Idle connections of one runtime, by asset and origin (see the module
/// documentation).
#[derive(Default)]
pub struct ConnectionPool {
    idle: Mutex<std::collections::HashMap<PoolKey, Vec<Idle>>>,
}

impl std::fmt::Debug for ConnectionPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionPool").finish_non_exhaustive()
    }
}

/// Whose connection to where: the asset (`tenant`), the origin, and how its
/// certificate was checked.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PoolKey {
    tenant: Arc<str>,
    https: bool,
    host: url::Host,
    port: u16,
    verify_tls: bool,
}

struct Idle {
    sender: hyper::client::conn::http1::SendRequest<WasiBody>,
    since: std::time::Instant,
}

impl ConnectionPool {
    /// A connection of `key` ready for a request, if one is idle.
    fn take(&self, key: &PoolKey) -> Option<hyper::client::conn::http1::SendRequest<WasiBody>> {
        let mut idle = self.idle.lock().ok()?;
        let connections = idle.get_mut(key)?;
        // Closed and expired connections go; those still busy with a response
        // body stay for later.
        connections.retain(|c| !c.sender.is_closed() && c.since.elapsed() < IDLE_TIMEOUT);
        let ready = connections.iter().position(|c| c.sender.is_ready());
        ready.map(|at| connections.swap_remove(at).sender)
    }

    /// Keeps `sender` for later requests of `key`; it is taken only once its
    /// current response has been read.
    fn keep(&self, key: PoolKey, sender: hyper::client::conn::http1::SendRequest<WasiBody>) {
        if let Ok(mut idle) = self.idle.lock() {
            let connections = idle.entry(key).or_default();
            if connections.len() < MAX_IDLE {
                connections.push(Idle { sender, since: std::time::Instant::now() });
            }
        }
    }
}

/// Where an action may send requests: the origins its connector declares and
/// its asset sets, and nothing else.
#[derive(Debug)]
pub struct OutboundPolicy {
    origins: Vec<Origin>,
    verify_tls: bool,
    tls: Arc<TlsClients>,
    /// Where connections are kept for reuse, and the asset they belong to.
    pool: Arc<ConnectionPool>,
    tenant: Arc<str>,
}

/// One allowed scheme, host and port, with its addresses once resolved.
#[derive(Debug)]
struct Origin {
    https: bool,
    host: url::Host,
    port: u16,
    addresses: OnceCell<Vec<SocketAddr>>,
}

impl OutboundPolicy {
    /// Allows the scheme, host and port of each of `urls`, `(variable, URL)`
    /// pairs (the variable names the URL in errors).
    pub fn for_origins(urls: &[(&str, &str)], verify_tls: bool, tls: Arc<TlsClients>) -> Result<Self, String> {
        let origins = urls.iter().map(|(name, url)| Origin::parse(name, url)).collect::<Result<_, _>>()?;
        // Until `reusing` says otherwise, connections are this policy's own.
        Ok(Self { origins, verify_tls, tls, pool: Arc::default(), tenant: Arc::from("") })
    }

    /// Keeps connections in `pool` for reuse by later requests of the asset
    /// `tenant` names (and only of that asset).
    pub fn reusing(mut self, pool: Arc<ConnectionPool>, tenant: &str) -> Self {
        self.pool = pool;
        self.tenant = Arc::from(tenant);
        self
    }

    /// The allowed origins, for messages.
    pub fn origin(&self) -> String {
        if self.origins.is_empty() {
            return "nothing".into();
        }
        self.origins.iter().map(Origin::to_string).collect::<Vec<_>>().join(", ")
    }

    /// The origin `uri` has, if it is one of the allowed: exactly its scheme,
    /// host and port. Both sides are parsed the same way, so each host has one
    /// spelling.
    fn origin_of(&self, uri: &Uri) -> Option<&Origin> {
        let (scheme, authority) = (uri.scheme_str()?, uri.authority()?);
        let url = url::Url::parse(&format!("{scheme}://{authority}/")).ok()?;
        let https = match url.scheme() {
            "https" => true,
            "http" => false,
            _ => return None,
        };
        if !url.username().is_empty() || url.password().is_some() {
            return None;
        }
        self.origins.iter().find(|origin| {
            origin.https == https
                && url.host().is_some_and(|host| host.to_owned() == origin.host)
                && url.port_or_known_default() == Some(origin.port)
        })
    }

    /// Whether `uri` is on one of the allowed origins.
    pub fn allows(&self, uri: &Uri) -> bool {
        self.origin_of(uri).is_some()
    }
}

impl Origin {
    fn parse(name: &str, url: &str) -> Result<Self, String> {
        let url = url::Url::parse(url.trim()).map_err(|err| format!("'{name}' is not a valid URL: {err}"))?;
        let https = match url.scheme() {
            "https" => true,
            "http" => false,
            other => return Err(format!("'{name}' must be http or https, not {other}")),
        };
        let host = url.host().ok_or_else(|| format!("'{name}' has no host"))?.to_owned();
        let port = url.port_or_known_default().ok_or_else(|| format!("'{name}' has no port"))?;
        Ok(Self { https, host, port, addresses: OnceCell::new() })
    }

    /// The host's addresses, resolved on first use and then fixed.
    async fn addresses(&self) -> Result<&[SocketAddr], Error> {
        let addresses = self
            .addresses
            .get_or_try_init(|| async {
                let name = match &self.host {
                    url::Host::Ipv4(ip) => return Ok(vec![SocketAddr::new(IpAddr::V4(*ip), self.port)]),
                    url::Host::Ipv6(ip) => return Ok(vec![SocketAddr::new(IpAddr::V6(*ip), self.port)]),
                    url::Host::Domain(name) => name.as_str(),
                };
                let resolved: Vec<SocketAddr> = tokio::net::lookup_host((name, self.port))
                    .await
                    .map_err(|err| Error::DnsError { rcode: Some(err.to_string()), info_code: None })?
                    .collect();
                if resolved.is_empty() {
                    return Err(Error::DestinationNotFound);
                }
                Ok(resolved)
            })
            .await?;
        Ok(addresses)
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        write!(f, "{scheme}://{}:{}", self.host, self.port)
    }
}

/// The `wasi:http` hooks of one action: the policy, the redactor that learns
/// the credentials sent, and a record of refusals.
pub struct OutboundHooks {
    policy: Option<Arc<OutboundPolicy>>,
    redactor: Arc<Redactor>,
    denied: Arc<Mutex<Vec<String>>>,
    untrusted_certificate: Arc<AtomicBool>,
}

impl OutboundHooks {
    /// Enforces `policy`; credentials sent are added to `redactor`.
    pub fn new(policy: Arc<OutboundPolicy>, redactor: Arc<Redactor>) -> Self {
        Self { policy: Some(policy), redactor, denied: Arc::default(), untrusted_certificate: Arc::default() }
    }

    /// Refuses every request (while a connector describes itself, or for an
    /// asset that sets none of its connector's origins).
    pub fn deny_all(redactor: Arc<Redactor>) -> Self {
        Self { policy: None, redactor, denied: Arc::default(), untrusted_certificate: Arc::default() }
    }

    /// The URLs refused so far.
    pub fn denied(&self) -> Vec<String> {
        self.denied.lock().map(|denied| denied.clone()).unwrap_or_default()
    }

    /// Whether a server's certificate was refused.
    pub fn untrusted_certificate(&self) -> bool {
        self.untrusted_certificate.load(Ordering::Relaxed)
    }

    /// Hands the credentials `request` carries to the redactor.
    fn learn_credentials(&self, request: &http::Request<WasiBody>) {
        for (name, value) in request.headers() {
            if !CREDENTIAL_HEADERS.contains(&name.as_str()) {
                continue;
            }
            let Ok(value) = value.to_str() else { continue };
            // `Bearer <token>`, `Basic <base64>`, `TC <id>:<signature>`: the
            // credential is what follows the scheme.
            let credential = value.split_once(' ').map_or(value, |(_, credential)| credential).trim();
            if self.redactor.add(credential) == Added::Weak {
                tracing::warn!(
                    "the {name} credential this action sends is weak ({} characters): it is masked in output only where a whole value equals it",
                    credential.chars().count()
                );
            }
        }
    }
}

type ResponseFuture = Box<
    dyn Future<Output = Result<(http::Response<WasiBody>, Box<dyn Future<Output = Result<(), Error>> + Send>), Error>>
        + Send,
>;

impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> ResponseFuture {
        let Some(policy) = self.policy.clone().filter(|policy| policy.allows(request.uri())) else {
            let url = request.uri().to_string();
            let allowed = self.policy.as_ref().map_or_else(|| "nothing".to_string(), |policy| policy.origin());
            tracing::warn!(url, allowed, "HttpRequestDenied: outbound request outside the asset's origins");
            if let Ok(mut denied) = self.denied.lock() {
                denied.push(url);
            }
            return Box::new(async { Err(Error::HttpRequestDenied) });
        };
        self.learn_credentials(&request);
        let untrusted = self.untrusted_certificate.clone();
        Box::new(async move {
            let sent = send(&policy, request, options).await;
            if matches!(sent, Err(Error::TlsCertificateError)) {
                untrusted.store(true, Ordering::Relaxed);
            }
            // Connections are driven by tasks of their own (see `send`): there
            // is nothing for `wasi:http` to drive.
            let worker: Box<dyn Future<Output = Result<(), Error>> + Send> = Box::new(async { Ok(()) });
            Ok((sent?, worker))
        })
    }
}

/// Sends `request` to its allowed origin over HTTP/1.1 (with TLS for https): on
/// an idle connection of the asset's if there is one, else on a new connection
/// to a pinned address of the origin.
async fn send(
    policy: &OutboundPolicy,
    mut request: http::Request<WasiBody>,
    options: Option<RequestOptions>,
) -> Result<http::Response<WasiBody>, Error> {
    let timeout =
        |pick: fn(&RequestOptions) -> Option<Duration>| options.as_ref().and_then(pick).unwrap_or(DEFAULT_TIMEOUT);
    let connect_timeout = timeout(|o| o.connect_timeout);
    let first_byte_timeout = timeout(|o| o.first_byte_timeout);
    let between_bytes_timeout = timeout(|o| o.between_bytes_timeout);
    let body = |response: http::Response<hyper::body::Incoming>| {
        use http_body_util::BodyExt;
        response.map(|incoming| ReadTimeout::new(incoming, between_bytes_timeout).boxed_unsync())
    };

    let origin = policy.origin_of(request.uri()).ok_or(Error::HttpRequestDenied)?;
    // The request line carries only the path; the authority went into `Host`.
    let path = request.uri().path_and_query().map_or("/", |p| p.as_str()).to_string();
    *request.uri_mut() = Uri::try_from(path).map_err(|_| Error::HttpRequestUriInvalid)?;

    let key = PoolKey {
        tenant: policy.tenant.clone(),
        https: origin.https,
        host: origin.host.clone(),
        port: origin.port,
        verify_tls: policy.verify_tls,
    };
    while let Some(mut sender) = policy.pool.take(&key) {
        let sent = tokio::time::timeout(first_byte_timeout, sender.try_send_request(request))
            .await
            .map_err(|_| Error::ConnectionReadTimeout)?;
        match sent {
            Ok(response) => {
                policy.pool.keep(key, sender);
                return Ok(body(response));
            }
            // The connection closed before the request went out: it is given
            // back unsent, and tried on the next connection.
            Err(mut unsent) => match unsent.take_message() {
                Some(back) => request = back,
                None => return Err(Error::from(unsent.into_error())),
            },
        }
    }
    let (mut sender, connection) = connect(policy, origin, connect_timeout).await?;
    // The connection is driven by a task of its own, which ends when the server
    // closes it or when it is dropped from the pool; a response that ends with
    // the connection (`Connection: close`) is read in full first.
    tokio::spawn(connection);
    let response = tokio::time::timeout(first_byte_timeout, sender.send_request(request))
        .await
        .map_err(|_| Error::ConnectionReadTimeout)?
        .map_err(Error::from)?;
    policy.pool.keep(key, sender);
    Ok(body(response))
}

type Connection = hyper::client::conn::http1::Connection<TokioIo<Box<dyn Stream>>, WasiBody>;

/// A new connection to a pinned address of `origin`, with TLS for https.
async fn connect(
    policy: &OutboundPolicy,
    origin: &Origin,
    connect_timeout: Duration,
) -> Result<(hyper::client::conn::http1::SendRequest<WasiBody>, Connection), Error> {
    let addresses = origin.addresses().await?;
    let tcp = tokio::time::timeout(connect_timeout, TcpStream::connect(addresses))
        .await
        .map_err(|_| Error::ConnectionTimeout)?
        .map_err(|err| match err.kind() {
            std::io::ErrorKind::ConnectionRefused => Error::ConnectionRefused,
            _ => Error::Connect(err),
        })?;
    let _ = tcp.set_nodelay(true);
    if origin.https {
        let connector = policy.tls.connector(policy.verify_tls)?;
        let tls = connector.connect(server_name(&origin.host)?, tcp).await.map_err(|err| {
            if err.kind() == std::io::ErrorKind::InvalidData { Error::TlsCertificateError } else { Error::Tls(err) }
        })?;
        handshake(Box::new(tls), connect_timeout).await
    } else {
        handshake(Box::new(tcp), connect_timeout).await
    }
}

trait Stream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static> Stream for T {}

async fn handshake(
    stream: Box<dyn Stream>,
    timeout: Duration,
) -> Result<(hyper::client::conn::http1::SendRequest<WasiBody>, Connection), Error> {
    tokio::time::timeout(timeout, hyper::client::conn::http1::handshake(TokioIo::new(stream)))
        .await
        .map_err(|_| Error::ConnectionTimeout)?
        .map_err(Error::from)
}

fn server_name(host: &url::Host) -> Result<rustls::pki_types::ServerName<'static>, Error> {
    match host {
        url::Host::Ipv4(ip) => Ok(rustls::pki_types::ServerName::from(IpAddr::V4(*ip))),
        url::Host::Ipv6(ip) => Ok(rustls::pki_types::ServerName::from(IpAddr::V6(*ip))),
        url::Host::Domain(name) => rustls::pki_types::ServerName::try_from(name.clone())
            .map_err(|err| Error::DnsError { rcode: Some(format!("invalid DNS name: {err}")), info_code: None }),
    }
}

/// A TLS connector checking certificates against `roots`, or checking none.
fn tls_connector(roots: Option<rustls::RootCertStore>) -> tokio_rustls::TlsConnector {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions");
    let config = if let Some(roots) = roots {
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
            .with_no_client_auth()
    };
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// Certificate checking turned off by the asset's `tls-verification`
/// variable: the
/// handshake signatures are still verified, the certificate chain is not.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A response body that fails when no bytes arrive for `timeout`.
struct ReadTimeout {
    incoming: hyper::body::Incoming,
    timeout: Duration,
    sleep: std::pin::Pin<Box<tokio::time::Sleep>>,
}

impl ReadTimeout {
    fn new(incoming: hyper::body::Incoming, timeout: Duration) -> Self {
        Self { incoming, timeout, sleep: Box::pin(tokio::time::sleep(timeout)) }
    }
}

impl Body for ReadTimeout {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Error>>> {
        use std::task::Poll;
        match std::pin::Pin::new(&mut self.incoming).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let deadline = tokio::time::Instant::now() + self.timeout;
                self.sleep.as_mut().reset(deadline);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(err))) => Poll::Ready(Some(Err(Error::from(err)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match self.sleep.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(Error::ConnectionReadTimeout))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.incoming.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.incoming.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_declared_origins_are_allowed() {
        let tls = Arc::new(TlsClients::new(TlsSettings::default()));
        let policy =
            OutboundPolicy::for_origins(&[("base_url", "http://127.0.0.1:8080/api")], true, tls.clone()).unwrap();
        let allowed = |uri: &str| policy.allows(&uri.parse::<Uri>().unwrap());
        assert!(allowed("http://127.0.0.1:8080/anything?x=1"));
        assert!(!allowed("https://127.0.0.1:8080/"));
        assert!(!allowed("http://127.0.0.1:8081/"));
        assert!(!allowed("http://localhost:8080/"));
        assert!(!allowed("http://user@127.0.0.1:8080/"));
        assert!(allowed("http://2130706433:8080/"));
        // Other spellings of the same address are the same host.
        assert!(allowed("http://127.1:8080/"));
        let policy =
            OutboundPolicy::for_origins(&[("base_url", "http://[0:0:0:0:0:0:0:1]:8080")], true, tls.clone()).unwrap();
        assert!(policy.allows(&"http://[::1]:8080/x".parse().unwrap()));
        assert!(!policy.allows(&"http://127.0.0.1:8080/x".parse().unwrap()));
        let policy =
            OutboundPolicy::for_origins(&[("base_url", "https://Vision.Example.com")], true, tls.clone()).unwrap();
        assert!(policy.allows(&"https://vision.example.com:443/x".parse().unwrap()));
        assert!(!policy.allows(&"http://vision.example.com/x".parse().unwrap()));
        assert_eq!(policy.origin(), "https://vision.example.com:443");
        // Several origins: each, and nothing between them.
        let two = [("api", "https://api.example.com/v3"), ("login", "https://login.example.com:8443")];
        let policy = OutboundPolicy::for_origins(&two, true, tls.clone()).unwrap();
        assert!(policy.allows(&"https://api.example.com/x".parse().unwrap()));
        assert!(policy.allows(&"https://login.example.com:8443/token".parse().unwrap()));
        assert!(!policy.allows(&"https://login.example.com/token".parse().unwrap()));
        assert!(!policy.allows(&"https://example.com/".parse().unwrap()));
        let none = OutboundPolicy::for_origins(&[], true, tls.clone()).unwrap();
        assert!(!none.allows(&"https://api.example.com/x".parse().unwrap()));
        assert_eq!(none.origin(), "nothing");
        let err = OutboundPolicy::for_origins(&[("login", "ftp://x")], true, tls).unwrap_err();
        assert!(err.contains("'login'"), "{err}");
    }
}

//! Outbound HTTP: only to the scheme, host and port of the asset's `base_url`.
//!
//! Every request a connector sends passes through [`OutboundHooks::send_request`].
//! A request to anywhere else is refused with `HttpRequestDenied` before any
//! connection is made. The allowed host name is resolved once per action and
//! connections go only to those addresses, so a DNS answer that changes during
//! the action (DNS rebinding) cannot redirect it. `verify_server_cert = false`
//! turns off certificate checks for that asset only.

use bytes::Bytes;
use http::uri::{Scheme, Uri};
use http_body::Body;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::OnceCell;
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

/// Used when the connector sets no timeout of its own.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// Where an action may send requests.
#[derive(Debug)]
pub struct OutboundPolicy {
    https: bool,
    host: String,
    port: u16,
    verify_tls: bool,
    addresses: OnceCell<Vec<SocketAddr>>,
}

impl OutboundPolicy {
    /// Allows the scheme, host and port of `base_url`.
    pub fn for_base_url(base_url: &str, verify_tls: bool) -> Result<Self, String> {
        let url = url::Url::parse(base_url.trim()).map_err(|err| format!("'base_url' is not a valid URL: {err}"))?;
        let https = match url.scheme() {
            "https" => true,
            "http" => false,
            other => return Err(format!("'base_url' must be http or https, not {other}")),
        };
        let host = url.host_str().ok_or("'base_url' has no host")?.trim_matches(['[', ']']).to_ascii_lowercase();
        let port = url.port_or_known_default().ok_or("'base_url' has no port")?;
        Ok(Self { https, host, port, verify_tls, addresses: OnceCell::new() })
    }

    /// The allowed origin, for messages.
    pub fn origin(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        if self.host.contains(':') {
            format!("{scheme}://[{}]:{}", self.host, self.port)
        } else {
            format!("{scheme}://{}:{}", self.host, self.port)
        }
    }

    /// Whether `uri` has exactly the allowed scheme, host and port.
    pub fn allows(&self, uri: &Uri) -> bool {
        let https = match uri.scheme() {
            Some(scheme) if *scheme == Scheme::HTTPS => true,
            Some(scheme) if *scheme == Scheme::HTTP => false,
            _ => return false,
        };
        let Some(host) = uri.host() else { return false };
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        https == self.https && host.trim_matches(['[', ']']).eq_ignore_ascii_case(&self.host) && port == self.port
    }

    /// The allowed host's addresses, resolved on first use and then fixed.
    async fn addresses(&self) -> Result<&[SocketAddr], Error> {
        let addresses = self
            .addresses
            .get_or_try_init(|| async {
                if let Ok(ip) = self.host.parse::<IpAddr>() {
                    return Ok(vec![SocketAddr::new(ip, self.port)]);
                }
                let resolved: Vec<SocketAddr> = tokio::net::lookup_host((self.host.as_str(), self.port))
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

/// The `wasi:http` hooks of one action: the policy and a record of refusals.
pub struct OutboundHooks {
    policy: Option<Arc<OutboundPolicy>>,
    denied: Arc<Mutex<Vec<String>>>,
}

impl OutboundHooks {
    /// Enforces `policy`.
    pub fn new(policy: Arc<OutboundPolicy>) -> Self {
        Self { policy: Some(policy), denied: Arc::default() }
    }

    /// Refuses every request (while a connector describes itself).
    pub fn deny_all() -> Self {
        Self { policy: None, denied: Arc::default() }
    }

    /// The URLs refused so far.
    pub fn denied(&self) -> Vec<String> {
        self.denied.lock().map(|denied| denied.clone()).unwrap_or_default()
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
            tracing::warn!(url, allowed, "HttpRequestDenied: outbound request outside the asset's base_url");
            if let Ok(mut denied) = self.denied.lock() {
                denied.push(url);
            }
            return Box::new(async { Err(Error::HttpRequestDenied) });
        };
        Box::new(async move {
            let (response, connection) = send(&policy, request, options).await?;
            Ok((response, Box::new(connection) as Box<dyn Future<Output = Result<(), Error>> + Send>))
        })
    }
}

/// Connects to a pinned address of the allowed host and sends `request` over
/// HTTP/1.1, with TLS for https.
async fn send(
    policy: &OutboundPolicy,
    mut request: http::Request<WasiBody>,
    options: Option<RequestOptions>,
) -> Result<(http::Response<WasiBody>, impl Future<Output = Result<(), Error>> + Send + use<>), Error> {
    let timeout =
        |pick: fn(&RequestOptions) -> Option<Duration>| options.as_ref().and_then(pick).unwrap_or(DEFAULT_TIMEOUT);
    let connect_timeout = timeout(|o| o.connect_timeout);
    let first_byte_timeout = timeout(|o| o.first_byte_timeout);
    let between_bytes_timeout = timeout(|o| o.between_bytes_timeout);

    let addresses = policy.addresses().await?;
    let tcp = tokio::time::timeout(connect_timeout, TcpStream::connect(addresses))
        .await
        .map_err(|_| Error::ConnectionTimeout)?
        .map_err(|err| match err.kind() {
            std::io::ErrorKind::ConnectionRefused => Error::ConnectionRefused,
            _ => Error::Connect(err),
        })?;
    let _ = tcp.set_nodelay(true);

    // The request line carries only the path; the authority went into `Host`.
    let path = request.uri().path_and_query().map_or("/", |p| p.as_str()).to_string();
    *request.uri_mut() = Uri::try_from(path).map_err(|_| Error::HttpRequestUriInvalid)?;

    let (mut sender, connection) = if policy.https {
        let tls = tls_connector(policy.verify_tls).connect(server_name(&policy.host)?, tcp).await.map_err(|err| {
            if err.kind() == std::io::ErrorKind::InvalidData { Error::TlsCertificateError } else { Error::Tls(err) }
        })?;
        handshake(Box::new(tls), connect_timeout).await?
    } else {
        handshake(Box::new(tcp), connect_timeout).await?
    };
    // Drive the connection while waiting for the response head. When the server
    // closes after answering (`Connection: close`), the connection may finish
    // first; the response is ready then and is taken before giving up.
    let mut connection = Some(Box::pin(connection));
    let mut send = std::pin::pin!(tokio::time::timeout(first_byte_timeout, sender.send_request(request)));
    let response = std::future::poll_fn(|cx| {
        use std::task::Poll;
        if let Poll::Ready(response) = send.as_mut().poll(cx) {
            return Poll::Ready(response.map_err(|_| Error::ConnectionReadTimeout)?.map_err(Error::from));
        }
        let Some(running) = connection.as_mut() else { return Poll::Pending };
        match running.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(result) => {
                connection = None;
                if let Err(err) = result {
                    return Poll::Ready(Err(Error::from(err)));
                }
                match send.as_mut().poll(cx) {
                    Poll::Ready(response) => {
                        Poll::Ready(response.map_err(|_| Error::ConnectionReadTimeout)?.map_err(Error::from))
                    }
                    Poll::Pending => Poll::Ready(Err(Error::ConnectionTerminated)),
                }
            }
        }
    })
    .await?;
    let response = response.map(|incoming| {
        use http_body_util::BodyExt;
        ReadTimeout::new(incoming, between_bytes_timeout).boxed_unsync()
    });
    Ok((response, async move {
        match connection {
            Some(connection) => connection.await.map_err(Error::from),
            None => Ok(()),
        }
    }))
}

trait Stream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static> Stream for T {}

async fn handshake(
    stream: Box<dyn Stream>,
    timeout: Duration,
) -> Result<
    (
        hyper::client::conn::http1::SendRequest<WasiBody>,
        hyper::client::conn::http1::Connection<TokioIo<Box<dyn Stream>>, WasiBody>,
    ),
    Error,
> {
    tokio::time::timeout(timeout, hyper::client::conn::http1::handshake(TokioIo::new(stream)))
        .await
        .map_err(|_| Error::ConnectionTimeout)?
        .map_err(Error::from)
}

fn server_name(host: &str) -> Result<rustls::pki_types::ServerName<'static>, Error> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(rustls::pki_types::ServerName::from(ip));
    }
    rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|err| Error::DnsError { rcode: Some(format!("invalid DNS name: {err}")), info_code: None })
}

fn tls_connector(verify: bool) -> tokio_rustls::TlsConnector {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions");
    let config = if verify {
        let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.into() };
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
            .with_no_client_auth()
    };
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// Certificate checking turned off by `verify_server_cert = false`: the
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
    fn only_the_base_url_origin_is_allowed() {
        let policy = OutboundPolicy::for_base_url("http://127.0.0.1:8080/api", true).unwrap();
        let allowed = |uri: &str| policy.allows(&uri.parse::<Uri>().unwrap());
        assert!(allowed("http://127.0.0.1:8080/anything?x=1"));
        assert!(!allowed("https://127.0.0.1:8080/"));
        assert!(!allowed("http://127.0.0.1:8081/"));
        assert!(!allowed("http://localhost:8080/"));
        assert!(!allowed("http://2130706433:8080/"));
        let policy = OutboundPolicy::for_base_url("https://Vision.Example.com", true).unwrap();
        assert!(policy.allows(&"https://vision.example.com:443/x".parse().unwrap()));
        assert!(!policy.allows(&"http://vision.example.com/x".parse().unwrap()));
        assert_eq!(policy.origin(), "https://vision.example.com:443");
    }
}

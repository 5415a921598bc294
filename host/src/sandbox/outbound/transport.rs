//! Sending an allowed request: on a kept connection of the asset's, or on a new
//! one to a pinned address of the origin.
//!
//! What comes from upstream: wasmtime-wasi-http implements `wasi:http` itself
//! (the request and response resources, header validation and its forbidden
//! headers, `Content-Length` checks of outgoing bodies, the `Host` header, the
//! guest's timeouts as [`RequestOptions`], the error codes of hyper's errors and
//! the tokio-to-hyper I/O adapter [`TokioIo`]); hyper speaks HTTP/1.1 on the
//! connection and tokio-rustls TLS. Its default sender
//! (`wasmtime_wasi_http::default_send_request`) cannot be used as it is: it
//! connects to whatever the host name resolves to at that moment (which DNS
//! rebinding can change during an action), trusts only bundled roots (no system
//! store, no CA bundle, no per-asset switch) and opens a connection for every
//! request. What is ours is what the policy needs: the pinned addresses, the TLS
//! settings, connections kept per asset, and the between-bytes timeout of the
//! response body (upstream's is private to its sender).

use super::pool::PoolKey;
use super::tls::server_name;
use super::{Origin, OutboundPolicy};
use bytes::Bytes;
use http::uri::Uri;
use http_body::Body;
use std::time::Duration;
use tokio::net::TcpStream;
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody};

/// Used when the connector sets no timeout of its own.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// Sends `request` to its allowed origin over HTTP/1.1 (with TLS for https): on
/// an idle connection of the asset's if there is one, else on a new connection
/// to a pinned address of the origin.
pub(super) async fn send(
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

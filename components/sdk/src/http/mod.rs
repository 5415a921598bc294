//! HTTP over `wasi:http`: request building with the encodings vendors expect,
//! timeouts, and retries of idempotent requests on 429 and 5xx.

use crate::ActionError;
use crate::log;
use std::rc::Rc;
use std::time::Duration;
use wasi::http::outgoing_handler;
use wasi::http::types::{
    ErrorCode, Fields, FutureIncomingResponse, IncomingResponse, Method as WasiMethod, OutgoingBody, OutgoingRequest,
    RequestOptions, Scheme,
};

mod response;
mod url;

pub use response::{Payload, Response, StreamingResponse};
pub use url::{BaseUrl, encode_path_segment, encode_query};

/// How long to wait for a connection, and for the first byte of a response and
/// between bytes (the reference connectors use 120 s).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const READ_TIMEOUT: Duration = Duration::from_secs(120);
/// Bytes requested per read of a response body.
const READ_CHUNK: u64 = 64 * 1024;
/// `wasi:io` accepts at most 4096 bytes per `blocking-write-and-flush`.
const WRITE_CHUNK: usize = 4096;

/// The retry policy for idempotent requests that get 429 or a 5xx status.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The first backoff; each further one doubles.
    pub base_delay: Duration,
    /// The longest wait; a `Retry-After` beyond it ends the retries at once.
    pub max_delay: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Self { max_retries: 3, base_delay: Duration::from_millis(250), max_delay: Duration::from_secs(30) }
    }
}

/// A request method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Delete,
    Patch,
    Head,
}

impl Method {
    /// Whether repeating the request has the same effect as sending it once
    /// (RFC 9110 §9.2.2); only those are retried.
    pub fn is_idempotent(self) -> bool {
        !matches!(self, Method::Post | Method::Patch)
    }

    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Patch => "PATCH",
            Method::Head => "HEAD",
        }
    }

    fn to_wasi(self) -> WasiMethod {
        match self {
            Method::Get => WasiMethod::Get,
            Method::Post => WasiMethod::Post,
            Method::Put => WasiMethod::Put,
            Method::Delete => WasiMethod::Delete,
            Method::Patch => WasiMethod::Patch,
            Method::Head => WasiMethod::Head,
        }
    }
}

/// Computes headers for each attempt of a request (for example a signature over a
/// fresh timestamp).
pub type Signer = Rc<dyn Fn(&Request) -> Vec<(String, String)>>;

/// An outgoing request.
#[derive(Clone)]
pub struct Request {
    method: Method,
    base: BaseUrl,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    signer: Option<Signer>,
    retry: Retry,
}

impl Request {
    /// A request for `path` (starting with `/`, already encoded) under `base`.
    pub fn new(method: Method, base: &BaseUrl, path: &str) -> Self {
        Self {
            method,
            base: base.clone(),
            path: format!("{}{path}", base.prefix),
            query: Vec::new(),
            headers: Vec::new(),
            body: None,
            signer: None,
            retry: Retry::default(),
        }
    }

    /// Adds a query parameter; repeated keys are sent repeated, in order.
    pub fn query(mut self, key: &str, value: impl ToString) -> Self {
        self.query.push((key.to_string(), value.to_string()));
        self
    }

    /// Adds a query parameter when `value` is present.
    pub fn query_opt(self, key: &str, value: Option<impl ToString>) -> Self {
        match value {
            Some(value) => self.query(key, value),
            None => self,
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// Removes every header called `name`.
    pub fn without_header(mut self, name: &str) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self
    }

    /// Adds `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Self {
        self.without_header("Authorization").header("Authorization", format!("Bearer {token}"))
    }

    /// Sends `body` as the request body with the given content type.
    pub fn body(self, content_type: &str, body: Vec<u8>) -> Self {
        let mut request = self.without_header("Content-Type").header("Content-Type", content_type);
        request.body = Some(body);
        request
    }

    /// Sends `value` as a JSON body.
    pub fn json(self, value: &serde_json::Value) -> Self {
        self.body("application/json", value.to_string().into_bytes())
    }

    /// Sends `pairs` as an `application/x-www-form-urlencoded` body.
    pub fn form(self, pairs: &[(&str, &str)]) -> Self {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        self.body("application/x-www-form-urlencoded", encode_query(&pairs).into_bytes())
    }

    /// Computes extra headers for every attempt (see [`Signer`]).
    pub fn signed(mut self, signer: Signer) -> Self {
        self.signer = Some(signer);
        self
    }

    /// Replaces the retry policy.
    pub fn retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
    }

    /// The method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The path and encoded query exactly as they go on the wire
    /// (`/v3/indicators?tql=typeName+IN+%28%27Address%27%29`).
    pub fn path_with_query(&self) -> String {
        if self.query.is_empty() { self.path.clone() } else { format!("{}?{}", self.path, encode_query(&self.query)) }
    }

    /// The full URL, for messages.
    pub fn url(&self) -> String {
        let scheme = if self.base.https { "https" } else { "http" };
        format!("{scheme}://{}{}", self.base.authority, self.path_with_query())
    }

    /// Sends the request and reads the whole response body.
    pub fn send(&self) -> Result<Response, HttpError> {
        self.open()?.read_all()
    }

    /// Sends the request and returns once the status and headers have arrived; the
    /// body is left to stream (into the vault, say). Idempotent requests answered
    /// with 429 or 5xx are retried first.
    pub fn open(&self) -> Result<StreamingResponse, HttpError> {
        self.check_headers()?;
        let mut attempt = 1;
        loop {
            let mut response = self.attempt()?;
            response.attempts = attempt;
            let retryable = response.status == 429 || (500..600).contains(&response.status);
            if !retryable || !self.method.is_idempotent() || attempt > self.retry.max_retries {
                return Ok(response);
            }
            let delay = match response.header("retry-after").map(parse_retry_after) {
                Some(Some(delay)) => delay,
                _ => self.retry.base_delay * 2u32.pow(attempt - 1),
            };
            if delay > self.retry.max_delay {
                log::warn(&format!(
                    "{} {} answered {} and asks to retry after {} s, longer than the {} s this connector waits",
                    self.method.as_str(),
                    self.path,
                    response.status,
                    delay.as_secs(),
                    self.retry.max_delay.as_secs()
                ));
                return Ok(response);
            }
            log::warn(&format!(
                "{} {} answered {}; retrying in {}.{} s (attempt {} of {})",
                self.method.as_str(),
                self.path,
                response.status,
                // Tenths by integer arithmetic: formatting a float would bring
                // the float formatting tables into every component.
                delay.as_secs(),
                delay.subsec_millis() / 100,
                attempt + 1,
                self.retry.max_retries + 1
            ));
            drop(response);
            sleep(delay);
            attempt += 1;
        }
    }

    /// Refuses a header value that cannot go on the wire (a CR or LF would split
    /// it), before anything is sent.
    pub fn check_headers(&self) -> Result<(), HttpError> {
        match self.headers.iter().find(|(_, value)| value.chars().any(crate::validate::is_forbidden_in_header)) {
            Some((name, _)) => Err(HttpError::Invalid(format!("the '{name}' header holds control characters"))),
            None => Ok(()),
        }
    }

    fn attempt(&self) -> Result<StreamingResponse, HttpError> {
        let fields = Fields::new();
        let signed = self.signer.as_ref().map(|sign| sign(self)).unwrap_or_default();
        for (name, value) in self.headers.iter().chain(&signed) {
            fields
                .append(name, value.as_bytes())
                .map_err(|err| HttpError::Invalid(format!("header '{name}': {err:?}")))?;
        }
        if let Some(body) = &self.body {
            fields
                .append("Content-Length", body.len().to_string().as_bytes())
                .map_err(|err| HttpError::Invalid(format!("header 'Content-Length': {err:?}")))?;
        }
        let request = OutgoingRequest::new(fields);
        let invalid = |what: &str| HttpError::Invalid(format!("{what} of {}", self.url()));
        request.set_method(&self.method.to_wasi()).map_err(|()| invalid("method"))?;
        let scheme = if self.base.https { Scheme::Https } else { Scheme::Http };
        request.set_scheme(Some(&scheme)).map_err(|()| invalid("scheme"))?;
        request.set_authority(Some(&self.base.authority)).map_err(|()| invalid("host"))?;
        request.set_path_with_query(Some(&self.path_with_query())).map_err(|()| invalid("path"))?;
        let options = RequestOptions::new();
        // Setting a timeout fails only if the host does not support it; the
        // host's own limits still apply then.
        let _ = options.set_connect_timeout(Some(CONNECT_TIMEOUT.as_nanos() as u64));
        let _ = options.set_first_byte_timeout(Some(READ_TIMEOUT.as_nanos() as u64));
        let _ = options.set_between_bytes_timeout(Some(READ_TIMEOUT.as_nanos() as u64));

        let body = request.body().map_err(|()| invalid("body"))?;
        let future = outgoing_handler::handle(request, Some(options)).map_err(|code| self.error(code))?;
        // The body is written after `handle` so that the host is already sending
        // the request and draining what is written; a refused request shows up as
        // a failed write here and as its real error in the response below.
        if let (Some(bytes), Ok(stream)) = (&self.body, body.write()) {
            for chunk in bytes.chunks(WRITE_CHUNK) {
                if stream.blocking_write_and_flush(chunk).is_err() {
                    break;
                }
            }
        }
        let _ = OutgoingBody::finish(body, None);
        let response = wait(&future).map_err(|code| self.error(code))?;
        StreamingResponse::new(response, self.url())
    }

    fn error(&self, code: ErrorCode) -> HttpError {
        HttpError::from_code(code, &self.url())
    }
}

/// Why a request got no response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// The host's sandbox refused the request: it is not to the asset's `base_url`.
    Denied(String),
    /// DNS, connection, TLS or timeout failure.
    Connection(String),
    /// The response body could not be read to its end.
    Read(String),
    /// The request itself is malformed (a header value with a newline, say).
    Invalid(String),
}

impl HttpError {
    fn from_code(code: ErrorCode, url: &str) -> Self {
        let url = &quoted(url);
        let describe = |what: &str| HttpError::Connection(format!("{what} ({url})"));
        match code {
            ErrorCode::HttpRequestDenied => HttpError::Denied(format!(
                "the host denied the request to {url}: connectors may only reach their asset's base_url"
            )),
            ErrorCode::DnsTimeout | ErrorCode::DnsError(_) => describe("the host name could not be resolved"),
            ErrorCode::ConnectionRefused => describe("connection refused"),
            ErrorCode::ConnectionTimeout => describe("timed out connecting"),
            ErrorCode::ConnectionReadTimeout | ErrorCode::HttpResponseTimeout => {
                describe("timed out waiting for the response")
            }
            ErrorCode::ConnectionTerminated => describe("the server closed the connection"),
            ErrorCode::TlsCertificateError => describe("the server's TLS certificate is not trusted"),
            ErrorCode::TlsProtocolError | ErrorCode::TlsAlertReceived(_) => describe("TLS handshake failed"),
            // Spelled out rather than printed with `Debug`, whose derived code
            // for every case and payload is a few kilobytes of each component.
            ErrorCode::DestinationNotFound
            | ErrorCode::DestinationUnavailable
            | ErrorCode::DestinationIpProhibited
            | ErrorCode::DestinationIpUnroutable => describe("the server could not be reached"),
            ErrorCode::ConnectionWriteTimeout => describe("timed out sending the request"),
            ErrorCode::ConnectionLimitReached => describe("too many connections are open"),
            ErrorCode::HttpRequestBodySize(_)
            | ErrorCode::HttpRequestHeaderSectionSize(_)
            | ErrorCode::HttpRequestHeaderSize(_)
            | ErrorCode::HttpRequestTrailerSectionSize(_)
            | ErrorCode::HttpRequestTrailerSize(_)
            | ErrorCode::HttpRequestUriTooLong => describe("the request is too large"),
            ErrorCode::HttpRequestMethodInvalid
            | ErrorCode::HttpRequestUriInvalid
            | ErrorCode::HttpRequestLengthRequired => describe("the request is not valid HTTP"),
            ErrorCode::HttpResponseIncomplete => describe("the response was cut short"),
            ErrorCode::HttpResponseHeaderSectionSize(_)
            | ErrorCode::HttpResponseHeaderSize(_)
            | ErrorCode::HttpResponseBodySize(_)
            | ErrorCode::HttpResponseTrailerSectionSize(_)
            | ErrorCode::HttpResponseTrailerSize(_) => describe("the response is too large"),
            ErrorCode::HttpResponseTransferCoding(_)
            | ErrorCode::HttpResponseContentCoding(_)
            | ErrorCode::HttpUpgradeFailed
            | ErrorCode::HttpProtocolError
            | ErrorCode::LoopDetected => describe("the server's response is not valid HTTP"),
            ErrorCode::ConfigurationError => describe("the host's HTTP configuration refused the request"),
            ErrorCode::InternalError(Some(message)) => describe(&message),
            ErrorCode::InternalError(None) => describe("the host's HTTP client failed"),
        }
    }
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpError::Denied(message) => f.write_str(message),
            HttpError::Connection(message) => write!(f, "Error connecting to server. Details: {message}"),
            HttpError::Read(message) => write!(f, "Error reading the server's response: {message}"),
            HttpError::Invalid(message) => write!(f, "Invalid request: {message}"),
        }
    }
}

impl From<HttpError> for ActionError {
    fn from(error: HttpError) -> Self {
        match error {
            HttpError::Denied(message) => ActionError::HttpRequestDenied(message),
            other => ActionError::connection(other.to_string()),
        }
    }
}

/// The longest part of a URL or vendor text an error message quotes.
pub const MAX_QUOTED: usize = 2048;

/// `text`, cut to [`MAX_QUOTED`] bytes (at a character boundary) with a note of
/// how much was left out: a vendor or a user's huge value must not flood errors.
pub fn quoted(text: &str) -> String {
    if text.len() <= MAX_QUOTED {
        return text.to_string();
    }
    let mut end = MAX_QUOTED;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} more bytes)", &text[..end], text.len() - end)
}

fn wait(future: &FutureIncomingResponse) -> Result<IncomingResponse, ErrorCode> {
    loop {
        match future.get() {
            Some(Ok(result)) => return result,
            Some(Err(())) => return Err(ErrorCode::InternalError(Some("response already taken".into()))),
            None => future.subscribe().block(),
        }
    }
}

/// Blocks for `duration`.
pub fn sleep(duration: Duration) {
    wasi::clocks::monotonic_clock::subscribe_duration(duration.as_nanos() as u64).block();
}

/// `Retry-After` as seconds or an HTTP date.
fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = crate::dates::parse_utc(value)?;
    let wait = when.timestamp() - crate::dates::now().timestamp();
    Some(Duration::from_secs(wait.max(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failure_to_get_a_response_says_what_happened_and_to_which_url() {
        let url = "https://vendor.example/api";
        for (code, says) in [
            (ErrorCode::HttpRequestDenied, "the host denied the request"),
            (ErrorCode::ConnectionRefused, "connection refused"),
            (ErrorCode::DestinationUnavailable, "could not be reached"),
            (ErrorCode::HttpResponseBodySize(None), "the response is too large"),
            (ErrorCode::HttpProtocolError, "not valid HTTP"),
            (ErrorCode::InternalError(Some("no usable TLS roots".into())), "no usable TLS roots"),
            (ErrorCode::InternalError(None), "the host's HTTP client failed"),
        ] {
            let text = HttpError::from_code(code, url).to_string();
            assert!(text.contains(says) && text.contains(url), "{text}");
        }
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn only_idempotent_methods_retry() {
        assert!(Method::Get.is_idempotent() && Method::Put.is_idempotent() && Method::Delete.is_idempotent());
        assert!(!Method::Post.is_idempotent() && !Method::Patch.is_idempotent());
    }
}

//! Responses: streaming ones (for the vault) and read ones, with their bodies
//! classified the way the reference connectors read them.

use super::{HttpError, READ_CHUNK};
use wasi::http::types::{IncomingBody, IncomingResponse};
use wasi::io::streams::{InputStream, StreamError};

/// A response whose body is still to be read.
pub struct StreamingResponse {
    /// The HTTP status code.
    pub status: u16,
    headers: Vec<(String, String)>,
    /// How many attempts it took (more than 1 after retries).
    pub attempts: u32,
    url: String,
    // Field order is drop order: the stream before its body, the body before
    // the response it came from.
    stream: InputStream,
    body: IncomingBody,
    _response: IncomingResponse,
}

impl StreamingResponse {
    pub(super) fn new(response: IncomingResponse, url: String) -> Result<Self, HttpError> {
        let headers = response
            .headers()
            .entries()
            .into_iter()
            .map(|(name, value)| (name.to_ascii_lowercase(), String::from_utf8_lossy(&value).into_owned()))
            .collect();
        let body = response.consume().map_err(|()| HttpError::Read("response body already taken".into()))?;
        let stream = body.stream().map_err(|()| HttpError::Read("response body stream already taken".into()))?;
        Ok(Self { status: response.status(), headers, attempts: 1, url, stream, body, _response: response })
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// The declared body length.
    pub fn content_length(&self) -> Option<u64> {
        self.header("content-length").and_then(|len| len.trim().parse().ok())
    }

    /// The request URL, for messages.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Reads the whole body.
    pub fn read_all(self) -> Result<Response, HttpError> {
        let mut body = Vec::new();
        loop {
            match self.stream.blocking_read(READ_CHUNK) {
                Ok(chunk) => body.extend_from_slice(&chunk),
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(err)) => {
                    return Err(HttpError::Read(format!("{} (after {} bytes)", err.to_debug_string(), body.len())));
                }
            }
        }
        Ok(Response { status: self.status, headers: self.headers, body, attempts: self.attempts })
    }

    /// Hands the body stream over (to the vault), keeping the response alive
    /// until `use_stream` returns.
    pub(crate) fn with_stream<T>(self, use_stream: impl FnOnce(InputStream) -> T) -> T {
        let Self { stream, body, _response, .. } = self;
        let result = use_stream(stream);
        drop(body);
        result
    }
}

/// A response with its whole body.
#[derive(Debug, Clone)]
pub struct Response {
    /// The HTTP status code.
    pub status: u16,
    headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
    /// How many attempts it took (more than 1 after retries).
    pub attempts: u32,
}

impl Response {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// The `Content-Type`, or empty.
    pub fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or_default()
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// ` (after N attempts)` when the request was retried, else empty: appended
    /// to error messages so that a user sees the failure was not a one-off.
    pub fn retries_note(&self) -> String {
        match self.attempts {
            0 | 1 => String::new(),
            n => format!(" (after {n} attempts)"),
        }
    }

    /// Whether the body is empty (or only whitespace).
    pub fn is_empty(&self) -> bool {
        self.body.iter().all(u8::is_ascii_whitespace)
    }

    /// The body as text for an error message: cut to
    /// [`MAX_QUOTED`](super::MAX_QUOTED) bytes.
    pub fn quoted_text(&self) -> String {
        super::quoted(&self.text())
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON. A lone UTF-16 surrogate escape (`"x\ud800y"`),
    /// which JSON allows to be written but no string can hold, is read as U+FFFD
    /// instead of failing the whole document.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        match serde_json::from_slice(&self.body) {
            Err(err) if err.is_syntax() || err.is_data() => match repair_lone_surrogates(&self.body) {
                Some(repaired) => serde_json::from_slice(&repaired),
                None => Err(err),
            },
            result => result,
        }
    }

    /// The body, classified by its `Content-Type` the way the reference
    /// connectors do before choosing a message.
    pub fn payload(&self) -> Payload {
        let content_type = self.content_type().to_ascii_lowercase();
        if self.is_empty() {
            Payload::Empty
        } else if content_type.contains("json") {
            match self.json() {
                Ok(value) => Payload::Json(value),
                Err(err) => Payload::BadJson(err.to_string()),
            }
        } else if content_type.contains("html") {
            Payload::Html(super::quoted(&strip_html(&self.text())))
        } else {
            Payload::Other(self.quoted_text())
        }
    }
}

/// A response body by kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// No body (or only whitespace).
    Empty,
    /// A JSON body.
    Json(serde_json::Value),
    /// A body labelled JSON that does not parse; the parser's message.
    BadJson(String),
    /// An HTML page, as text without markup.
    Html(String),
    /// Anything else, as text.
    Other(String),
}

/// The text of an HTML page without tags, scripts and styles, whitespace collapsed.
fn strip_html(html: &str) -> String {
    let mut text = String::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        text.push_str(&rest[..start]);
        let tag = &rest[start..];
        let lower = tag.get(..8).unwrap_or(tag).to_ascii_lowercase();
        let skip_to = if lower.starts_with("<script") {
            tag.to_ascii_lowercase().find("</script>").map(|end| end + "</script>".len())
        } else if lower.starts_with("<style") {
            tag.to_ascii_lowercase().find("</style>").map(|end| end + "</style>".len())
        } else {
            tag.find('>').map(|end| end + 1)
        };
        let Some(skip) = skip_to else { break };
        text.push(' ');
        rest = &tag[skip..];
    }
    if !rest.contains('<') {
        text.push_str(rest);
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `body` with every `\uD800`-`\uDFFF` escape that is not half of a valid
/// surrogate pair replaced by `\uFFFD`, or `None` if there is none.
fn repair_lone_surrogates(body: &[u8]) -> Option<Vec<u8>> {
    let unit_at = |at: usize| -> Option<u16> {
        let hex = body.get(at..at + 6).filter(|b| b.starts_with(b"\\u"))?;
        u16::from_str_radix(std::str::from_utf8(&hex[2..]).ok()?, 16).ok()
    };
    let mut out = Vec::with_capacity(body.len());
    let (mut at, mut repaired) = (0, false);
    while at < body.len() {
        if body[at] == b'\\' {
            // An escaped backslash is not the start of an escape.
            if body.get(at + 1) == Some(&b'\\') {
                out.extend_from_slice(b"\\\\");
                at += 2;
                continue;
            }
            if let Some(unit) = unit_at(at) {
                let high = (0xD800..0xDC00).contains(&unit);
                let low = (0xDC00..0xE000).contains(&unit);
                if high && unit_at(at + 6).is_some_and(|next| (0xDC00..0xE000).contains(&next)) {
                    out.extend_from_slice(&body[at..at + 12]);
                    at += 12;
                    continue;
                }
                if high || low {
                    out.extend_from_slice(b"\\uFFFD");
                    repaired = true;
                    at += 6;
                    continue;
                }
            }
        }
        out.push(body[at]);
        at += 1;
    }
    repaired.then_some(out)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_retried_responses_carry_a_retries_note() {
        let response = |attempts| Response { status: 500, headers: Vec::new(), body: Vec::new(), attempts };
        assert_eq!(response(1).retries_note(), "");
        assert_eq!(response(4).retries_note(), " (after 4 attempts)");
    }

    #[test]
    fn lone_surrogates_do_not_spoil_the_document() {
        let response = |body: &str| Response { status: 200, headers: Vec::new(), body: body.into(), attempts: 1 };
        let value: serde_json::Value =
            response(r#"{"a": "x\ud800y", "b": "\ud83d\ude00", "c": "\\ud800", "d": "\udc00"}"#).json().unwrap();
        assert_eq!(value, serde_json::json!({"a": "x\u{fffd}y", "b": "\u{1f600}", "c": "\\ud800", "d": "\u{fffd}"}));
        assert!(response("{\"a\": ").json::<serde_json::Value>().is_err());
    }

    #[test]
    fn html_is_reduced_to_text() {
        assert_eq!(
            strip_html(
                "<html><head><style>p {x}</style><script>var a = '<b>';</script></head><body><h1>Bad  Gateway</h1>\n<p>nginx</p></body></html>"
            ),
            "Bad Gateway nginx"
        );
    }
}

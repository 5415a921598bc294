//! Messages and files: message metadata, one-time download tokens and zipped
//! messages, attachments by hash, log downloads and searchable headers.
//!
//! Seeded messages get real content: each attachment's bytes are generated (a
//! `.zip` attachment is a real zip of a text file) and the metadata's sizes and
//! hashes are replaced by the true ones, as are the message's own hashes, which
//! are those of the `.eml` served inside the download.

use super::Shared;
use super::api::{ApiError, Params, Reply, json_body, ok, parse_date, random_hex};
use super::blobs::{self, Blob, Library};
use crate::sim::json_response;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use chrono::Utc;
use md5::{Digest, Md5};
use serde_json::{Map, Value, json};
use sha1::Sha1;
use sha2::Sha256;
use std::collections::HashMap;
use std::io::{Cursor, Write};
use std::sync::{Arc, Mutex};
use zip::write::SimpleFileOptions;
use zip::{AesMode, CompressionMethod, ZipWriter};

/// Header keys `GET /api/v4/config/searchableHeaders` lists.
const SEARCHABLE_HEADERS: [&str; 6] = [
    "X-MS-Exchange-Organization-AuthSource",
    "X-MS-Exchange-Organization-AuthAs",
    "X-MS-Exchange-Organization-Network-Message-Id",
    "X-MS-Has-Attach",
    "X-Originating-IP",
    "Return-Path",
];
/// A message's fields in the order Vision writes them.
const MESSAGE_FIELDS: [&str; 16] = [
    "id",
    "subject",
    "receivedOn",
    "sentOn",
    "deliveredOn",
    "processedOn",
    "textBody",
    "htmlBody",
    "md5",
    "sha1",
    "sha256",
    "internetMessageId",
    "from",
    "headers",
    "recipients",
    "attachments",
];
/// The message fields that are lists.
const MESSAGE_LISTS: [&str; 4] = ["from", "headers", "recipients", "attachments"];
/// MIME boundary of generated `.eml` files.
const BOUNDARY: &str = "_sim_boundary_cofense_vision_";

/// Messages, pending downloads and servable attachments.
#[derive(Default)]
pub(crate) struct Mail {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    messages: Vec<Message>,
    /// One-time download tokens.
    downloads: HashMap<String, Download>,
    library: Library,
}

struct Message {
    json: Value,
    eml: Bytes,
    /// File name and bytes of each attachment.
    files: Vec<(String, Bytes)>,
}

struct Download {
    message: usize,
    password: Option<String>,
}

impl Mail {
    /// Adds a message from a fixture, giving it real attachments and hashes.
    pub(crate) fn seed(&self, json: Value) {
        let mut json = with_every_field(json);
        let mut files = Vec::new();
        let mut blobs = Vec::new();
        if let Some(attachments) = json.get_mut("attachments").and_then(Value::as_array_mut) {
            for attachment in attachments {
                let filename = attachment["filename"].as_str().unwrap_or("attachment.bin").to_string();
                let size = attachment["size"].as_u64().unwrap_or(1024) as usize;
                let bytes = Bytes::from(attachment_bytes(&filename, size));
                let blob = blobs::in_memory(&filename, bytes.clone());
                attachment["size"] = json!(blob.meta.size);
                attachment["md5"] = json!(blob.meta.md5);
                attachment["sha256"] = json!(blob.meta.sha256);
                files.push((filename, bytes));
                blobs.push(blob);
            }
        }
        let eml = Bytes::from(build_eml(&json, &files));
        json["md5"] = json!(hex::encode(Md5::digest(&eml)));
        json["sha1"] = json!(hex::encode(Sha1::digest(&eml)));
        json["sha256"] = json!(hex::encode(Sha256::digest(&eml)));
        let mut inner = self.inner.lock().expect("mail lock");
        blobs.into_iter().for_each(|blob| {
            inner.library.insert(blob);
        });
        inner.messages.push(Message { json, eml, files });
    }

    /// Every message's metadata.
    pub(crate) fn messages(&self) -> Vec<Value> {
        self.inner.lock().expect("mail lock").messages.iter().map(|m| m.json.clone()).collect()
    }

    /// Makes an attachment servable by hash.
    pub(crate) fn add(&self, blob: Blob) -> super::Attachment {
        self.inner.lock().expect("mail lock").library.insert(blob)
    }

    /// The internet message id and first recipient of the first message with attachments.
    pub(crate) fn sample(&self) -> Option<(String, String)> {
        let inner = self.inner.lock().expect("mail lock");
        let message = inner.messages.iter().find(|m| !m.files.is_empty())?;
        let recipient = message.json["recipients"][0]["address"].as_str()?;
        Some((message.json["internetMessageId"].as_str()?.to_string(), bare_address(recipient)))
    }
}

/// The message with every field Vision sends, in Vision's order: captures
/// trimmed of some (e.g. `deliveredOn`, `textBody`) get them back as null or [].
fn with_every_field(message: Value) -> Value {
    let mut fields = message.as_object().cloned().unwrap_or_default();
    let mut ordered = Map::new();
    for key in MESSAGE_FIELDS {
        let absent = if MESSAGE_LISTS.contains(&key) { json!([]) } else { Value::Null };
        ordered.insert(key.to_string(), fields.remove(key).unwrap_or(absent));
    }
    ordered.extend(fields);
    Value::Object(ordered)
}

/// An address without angle brackets, lower-cased.
fn bare_address(text: &str) -> String {
    text.trim().trim_start_matches('<').trim_end_matches('>').to_lowercase()
}

fn find_message(messages: &[Message], message_id: &str, recipient: &str) -> Option<usize> {
    let wanted_id = message_id.trim().trim_start_matches('<').trim_end_matches('>');
    let wanted_recipient = bare_address(recipient);
    messages.iter().position(|m| {
        let id = m.json["internetMessageId"].as_str().unwrap_or_default();
        let recipients = m.json["recipients"].as_array().map(Vec::as_slice).unwrap_or_default();
        id.trim_start_matches('<').trim_end_matches('>') == wanted_id
            && recipients.iter().any(|r| bare_address(r["address"].as_str().unwrap_or_default()) == wanted_recipient)
    })
}

/// Content for a seeded attachment: text of `size` bytes, or for a `.zip`
/// name, a real archive holding such a text.
fn attachment_bytes(filename: &str, size: usize) -> Vec<u8> {
    match filename.strip_suffix(".zip") {
        Some(inner) => {
            let text = text_content(inner, size);
            zip_archive(&[(inner.to_string(), &text)], None).unwrap_or(text)
        }
        None => text_content(filename, size),
    }
}

fn text_content(filename: &str, size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size + 128);
    let mut line = 0;
    while out.len() < size {
        out.extend_from_slice(format!("{filename} line {line:06}: simulated Cofense Vision attachment\n").as_bytes());
        line += 1;
    }
    out.truncate(size);
    out
}

/// The message as an RFC 5322 `.eml`: its recorded headers, a text part and
/// every attachment in base64.
fn build_eml(message: &Value, files: &[(String, Bytes)]) -> Vec<u8> {
    let mut eml = String::new();
    let headers = message["headers"].as_array().map(Vec::as_slice).unwrap_or_default();
    let has = |name: &str| headers.iter().any(|h| h["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)));
    for header in headers {
        let name = header["name"].as_str().unwrap_or_default();
        if !["content-type", "mime-version", "content-transfer-encoding"].contains(&name.to_lowercase().as_str()) {
            eml.push_str(&format!("{name}: {}\r\n", header["value"].as_str().unwrap_or_default()));
        }
    }
    for (name, value) in fallback_headers(message) {
        if !has(name) {
            eml.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    eml.push_str(&format!("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"{BOUNDARY}\"\r\n\r\n"));
    let text = message["textBody"].as_str().unwrap_or("This message is served by the Cofense Vision simulator.");
    eml.push_str(&format!(
        "--{BOUNDARY}\r\nContent-Type: text/plain; charset=\"utf-8\"\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n{text}\r\n"
    ));
    let attachments = message["attachments"].as_array().map(Vec::as_slice).unwrap_or_default();
    for ((name, bytes), meta) in files.iter().zip(attachments) {
        let content_type = meta["contentType"]
            .as_str()
            .or_else(|| meta["detectedContentType"].as_str())
            .unwrap_or("application/octet-stream");
        eml.push_str(&format!(
            "--{BOUNDARY}\r\nContent-Type: {content_type}; name=\"{name}\"\r\n\
             Content-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        ));
        let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
        for line in encoded.as_bytes().chunks(76) {
            eml.push_str(&String::from_utf8_lossy(line));
            eml.push_str("\r\n");
        }
    }
    eml.push_str(&format!("--{BOUNDARY}--\r\n"));
    eml.into_bytes()
}

/// Headers a message needs, from its metadata, for when it recorded none.
fn fallback_headers(message: &Value) -> Vec<(&'static str, String)> {
    let text = |key: &str| message[key].as_str().unwrap_or_default().to_string();
    let from = message["from"][0]["address"].as_str().unwrap_or_default();
    let date = message["sentOn"].as_str().and_then(parse_date).unwrap_or_else(Utc::now).to_rfc2822();
    vec![("Message-ID", text("internetMessageId")), ("Subject", text("subject")), ("From", from.into()), ("Date", date)]
}

/// A zip of `files` (stored, not compressed), AES-256 encrypted when a password is given.
fn zip_archive(files: &[(String, &[u8])], password: Option<&str>) -> zip::result::ZipResult<Vec<u8>> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    // A fixed time keeps seeded archives, and so their hashes, stable.
    let time = zip::DateTime::from_date_and_time(2022, 7, 5, 15, 36, 40).unwrap_or_default();
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Stored).last_modified_time(time);
    for (name, bytes) in files {
        match password {
            Some(password) => writer.start_file(name, options.with_aes_encryption(AesMode::Aes256, password))?,
            None => writer.start_file(name, options)?,
        }
        writer.write_all(bytes)?;
    }
    Ok(writer.finish()?.into_inner())
}

/// A zip file download.
fn zip_response(archive: zip::result::ZipResult<Vec<u8>>, filename: &str) -> Response {
    match archive {
        Ok(bytes) => {
            let length = bytes.len() as u64;
            file_response(Body::from(bytes), length, "application/zip", filename)
        }
        Err(err) => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!({
                "status": "INTERNAL_SERVER_ERROR",
                "message": format!("Cannot build the archive: {err}"),
                "details": [],
            }),
        ),
    }
}

/// A 200 file response with a length and a download name.
fn file_response(body: Body, length: u64, content_type: &'static str, filename: &str) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    headers.insert(header::CONTENT_DISPOSITION, content_disposition(filename));
    response
}

/// `attachment; filename="..."`; names that are not plain ASCII also get an RFC 5987 `filename*`.
fn content_disposition(filename: &str) -> HeaderValue {
    let plain = filename.chars().all(|c| c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ');
    let value = if plain {
        format!("attachment; filename=\"{filename}\"")
    } else {
        let ascii: String =
            filename.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' { c } else { '_' }).collect();
        let encoded: String = filename
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b".-_".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
    };
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// `GET /api/v4/messages/metadata?internetMessageId&recipientAddress`.
pub(crate) async fn metadata(State(shared): State<Arc<Shared>>, RawQuery(query): RawQuery) -> Reply {
    let params = Params::new(query.as_deref());
    let (message_id, recipient) = (params.required("internetMessageId")?, params.required("recipientAddress")?);
    let inner = shared.mail.inner.lock().expect("mail lock");
    let index = find_message(&inner.messages, message_id, recipient).ok_or(ApiError::NotFound)?;
    ok(&inner.messages[index].json)
}

/// `POST /api/v4/messages` with `{internetMessageId, recipientAddress, password?}`:
/// a one-time download token. Vision sends it as bare text labelled
/// `application/json`, and clients depend on that.
pub(crate) async fn request_download(State(shared): State<Arc<Shared>>, body: Bytes) -> Reply {
    let body = json_body(&body)?;
    let field = |key: &str| {
        body[key]
            .as_str()
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| ApiError::bad_request(format!("'{key}' is required")))
    };
    let (message_id, recipient) = (field("internetMessageId")?, field("recipientAddress")?);
    let password = body["password"].as_str().filter(|p| !p.is_empty()).map(str::to_string);
    let token = random_hex(16);
    let mut inner = shared.mail.inner.lock().expect("mail lock");
    let message = find_message(&inner.messages, message_id, recipient).ok_or(ApiError::NotFound)?;
    inner.downloads.insert(token.clone(), Download { message, password });
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], token).into_response())
}

/// `GET /api/v4/messages?token=`: the zipped message (its `.eml` and its
/// attachments); the token then stops working.
pub(crate) async fn download(State(shared): State<Arc<Shared>>, RawQuery(query): RawQuery) -> Reply {
    let params = Params::new(query.as_deref());
    let token = params.required("token")?;
    let (id, files, password) = {
        let mut inner = shared.mail.inner.lock().expect("mail lock");
        let download = inner.downloads.remove(token).ok_or(ApiError::NotFound)?;
        let message = inner.messages.get(download.message).ok_or(ApiError::NotFound)?;
        let mut files = vec![(format!("{}.eml", message.json["id"]), message.eml.clone())];
        files.extend(message.files.iter().map(|(name, bytes)| (format!("attachments/{name}"), bytes.clone())));
        (message.json["id"].clone(), files, download.password)
    };
    let entries: Vec<(String, &[u8])> = files.iter().map(|(name, bytes)| (name.clone(), bytes.as_ref())).collect();
    Ok(zip_response(zip_archive(&entries, password.as_deref()), &format!("message_{id}.zip")))
}

/// `GET /api/v4/attachment?md5=|sha256=`: the attachment's bytes, streamed.
pub(crate) async fn attachment(State(shared): State<Arc<Shared>>, RawQuery(query): RawQuery) -> Reply {
    let params = Params::new(query.as_deref());
    let (md5, sha256) = (params.non_blank("md5"), params.non_blank("sha256"));
    if md5.is_none() && sha256.is_none() {
        return Err(ApiError::bad_request("Either 'md5' or 'sha256' is required"));
    }
    let blob = shared.mail.inner.lock().expect("mail lock").library.find(md5, sha256).ok_or(ApiError::NotFound)?;
    Ok(file_response(blob.content.body(), blob.meta.size, "application/octet-stream", &blob.meta.filename))
}

/// `GET /api/v4/config/searchableHeaders`.
pub(crate) async fn searchable_headers() -> Reply {
    ok(&json!({"headers": SEARCHABLE_HEADERS}))
}

/// `GET /api/v4/download/logs`: a zip of a few component logs.
pub(crate) async fn logs() -> Reply {
    let now = Utc::now().format("%Y-%m-%d %H:%M:%S%.3f");
    let logs: Vec<(String, Vec<u8>)> = ["vision-api", "ioc-repository", "message-processor"]
        .iter()
        .map(|component| {
            let text = format!(
                "{now} INFO  [{component}] Started {component} (Cofense Vision simulator)\n\
                 {now} INFO  [{component}] Health check: UP\n\
                 {now} DEBUG [{component}] Log export requested\n"
            );
            (format!("{component}.log"), text.into_bytes())
        })
        .collect();
    let entries: Vec<(String, &[u8])> = logs.iter().map(|(name, text)| (name.clone(), text.as_slice())).collect();
    Ok(zip_response(zip_archive(&entries, None), "vision-logs.zip"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_messages_carry_true_hashes() {
        let mail = Mail::default();
        mail.seed(fixture!("get_message_metadata.json"));
        let inner = mail.inner.lock().unwrap();
        let message = &inner.messages[0];
        assert_eq!(message.json["md5"], hex::encode(Md5::digest(&message.eml)));
        for (meta, (_, bytes)) in message.json["attachments"].as_array().unwrap().iter().zip(&message.files) {
            assert_eq!(meta["sha256"], hex::encode(Sha256::digest(bytes)));
            assert_eq!(meta["size"], bytes.len());
            assert!(inner.library.find(meta["md5"].as_str(), None).is_some());
        }
        assert!(String::from_utf8_lossy(&message.eml).contains("Subject: dummy subject\r\n"));
        let keys: Vec<&str> = message.json.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, MESSAGE_FIELDS);
    }

    #[test]
    fn recipients_match_with_or_without_brackets() {
        let mail = Mail::default();
        mail.seed(fixture!("get_message_metadata.json"));
        let inner = mail.inner.lock().unwrap();
        let id = "<999999999.999999.999999999999@aaaaaaaaaaa>";
        assert_eq!(find_message(&inner.messages, id, "PQR@xyz.com"), Some(0));
        assert_eq!(find_message(&inner.messages, id, "<abc@xyz.com>"), Some(0));
        assert_eq!(find_message(&inner.messages, id, "nobody@xyz.com"), None);
    }
}

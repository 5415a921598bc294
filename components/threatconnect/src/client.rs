//! The ThreatConnect v3 API client: the API root, signed requests, the reference
//! connector's response handling and messages, and paging.

use crate::signature;
use soar_sdk::http::{BaseUrl, Method, Payload, Request, Response};
use soar_sdk::prelude::*;
use soar_sdk::{config, dates};
use std::rc::Rc;

/// Indicators per page when reading many (the API's maximum is 10,000).
pub const MAX_PAGE: u32 = 10_000;

/// A connection to the asset's ThreatConnect instance.
pub struct ThreatConnect {
    base: BaseUrl,
    root: &'static str,
    signer: soar_sdk::http::Signer,
}

impl ThreatConnect {
    /// Reads the asset configuration; sends nothing yet.
    pub fn connect() -> Result<Self, ActionError> {
        let base = config::base_url()?;
        let access_id = config::required("access_id")?;
        let secret_key = config::required("secret_key")?;
        let root = api_root(&base);
        let signer: soar_sdk::http::Signer = Rc::new(move |request: &Request| {
            let timestamp = dates::now().timestamp();
            signature::headers(
                &access_id,
                &secret_key,
                &request.path_with_query(),
                request.method().as_str(),
                timestamp,
            )
            .to_vec()
        });
        Ok(Self { base, root, signer })
    }

    /// A signed request for `endpoint` (`indicators`) under the API root. Every
    /// request carries a JSON body, `{}` unless given, as the reference connector's do.
    pub fn request(&self, method: Method, endpoint: &str) -> Request {
        self.base.request(method, &format!("{}/{endpoint}", self.root)).json(&json!({})).signed(self.signer.clone())
    }

    /// Sends `request` and returns its JSON body.
    pub fn call(&self, request: &Request) -> Result<Value, ActionError> {
        json_body(&request.send()?)
    }

    /// Reads every page of a list endpoint (`resultStart` advanced while the API
    /// reports a `next` page) and returns the whole `data`, in order.
    ///
    /// A server that keeps linking pages is stopped: no more pages than its
    /// `count` allows (or [`MAX_PAGES`] without one), and never the same page
    /// twice.
    pub fn all_pages(&self, request: &Request) -> Result<Vec<Value>, ActionError> {
        let mut data = Vec::new();
        let mut start = 0u64;
        let mut previous: Option<PageKey> = None;
        let mut allowed = MAX_PAGES;
        for pages in 1.. {
            let page = self.call(&request.clone().query("resultStart", start).query("resultLimit", MAX_PAGE))?;
            let items = page["data"].as_array().cloned().unwrap_or_default();
            if pages == 1
                && let Some(count) = page["count"].as_u64()
            {
                allowed = count.div_ceil(MAX_PAGE.into()).max(1);
            }
            let key = PageKey::of(&items);
            if items.is_empty() || page.get("next").is_none_or(Value::is_null) {
                data.extend(items);
                return Ok(data);
            }
            if previous.as_ref() == Some(&key) {
                return Err(paging_error(format!("it returned the same page twice (at resultStart {start})")));
            }
            if pages >= allowed {
                return Err(paging_error(format!("it still links a next page after {pages} pages of {MAX_PAGE}")));
            }
            start = start.saturating_add(items.len() as u64);
            data.extend(items);
            previous = Some(key);
        }
        unreachable!("the loop returns")
    }
}

/// The most pages a list without `count` is followed for.
pub const MAX_PAGES: u64 = 100;

/// What tells one page from another: its first and last ids.
#[derive(PartialEq, Eq)]
struct PageKey(Value, Value);

impl PageKey {
    fn of(items: &[Value]) -> Self {
        let id = |item: Option<&Value>| item.map_or(Value::Null, |item| item["id"].clone());
        Self(id(items.first()), id(items.last()))
    }
}

/// ThreatConnect's paging cannot be trusted; `why` says what it did.
pub fn paging_error(why: String) -> ActionError {
    ActionError::vendor(None, format!("ThreatConnect's paging is inconsistent: {why}; stopped reading"))
}

/// The API root under the base URL: the sandbox instance serves the API under
/// `/api`, every other instance directly under its base URL (which may itself
/// end in `/api`).
fn api_root(base: &BaseUrl) -> &'static str {
    if base.contains("sandbox.threatconnect.com") { "/api/v3" } else { "/v3" }
}

/// A successful JSON body, or the reference connector's message for what came back.
pub fn json_body(response: &Response) -> Result<Value, ActionError> {
    let status = response.status;
    let vendor = |message: String| ActionError::vendor(Some(status), message);
    let ok = (200..=204).contains(&status);
    match response.payload() {
        Payload::Json(value) if ok => Ok(value),
        // Every ThreatConnect endpoint answers JSON: an empty success is not one.
        Payload::Empty if ok => Err(vendor("The server returned an unexpected empty response".into())),
        Payload::Json(_) => Err(vendor(format!(
            "Error from server, Status Code: {status} data returned: {}{}",
            response.quoted_text(),
            response.retries_note()
        ))),
        Payload::BadJson(_) => Err(vendor("Unable to parse response as JSON".into())),
        Payload::Html(text) => Err(vendor(format!("Status Code: {status}. Data from server:\n{text}\n"))),
        Payload::Empty | Payload::Other(_) => Err(vendor(format!(
            "Can't process response from server. Status Code: {status} Data from server: {}",
            response.quoted_text()
        ))),
    }
}

/// Whether a response says `"status": "Success"`.
pub fn succeeded(response: &Value) -> bool {
    response.get("status").and_then(Value::as_str) == Some("Success")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_root_follows_the_deployment() {
        let url = |base: &str| {
            let base = BaseUrl::parse(base).unwrap();
            base.request(Method::Get, &format!("{}/security/owners", api_root(&base))).url()
        };
        assert_eq!(url("https://api.threatconnect.com"), "https://api.threatconnect.com/v3/security/owners");
        assert_eq!(
            url("https://sandbox.threatconnect.com/"),
            "https://sandbox.threatconnect.com/api/v3/security/owners"
        );
        assert_eq!(
            url("https://companyabc.threatconnect.com/api"),
            "https://companyabc.threatconnect.com/api/v3/security/owners"
        );
    }
}

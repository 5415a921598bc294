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

mod pool;
mod tls;
mod transport;

pub use pool::ConnectionPool;
pub(crate) use tls::ca_bundle;
pub use tls::{TlsClients, TlsSettings};

use crate::redact::{Added, Redactor};
use http::uri::Uri;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

/// Headers whose values are credentials.
const CREDENTIAL_HEADERS: &[&str] = &["authorization", "proxy-authorization", "cookie", "x-api-key", "api-key"];

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
            let sent = transport::send(&policy, request, options).await;
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

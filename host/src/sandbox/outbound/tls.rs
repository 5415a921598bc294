//! Vendors' TLS: certificates checked against the system's roots and an
//! operator's CA bundle, or, for an asset whose connector's `tls-verification`
//! variable is `false`, not checked at all (handshake signatures still are).

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use wasmtime_wasi_http::Error;

/// How the host checks vendors' TLS certificates.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
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

    pub(super) fn connector(&self, verify: bool) -> Result<tokio_rustls::TlsConnector, Error> {
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

pub(super) fn server_name(host: &url::Host) -> Result<rustls::pki_types::ServerName<'static>, Error> {
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

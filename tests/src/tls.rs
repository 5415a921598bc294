//! Certificates for the simulators' HTTPS mode, generated at start: a private
//! test CA whose certificate an operator would put in a CA bundle, and server
//! certificates for `127.0.0.1` signed by it or by nobody (self-signed).

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::path::Path;
use std::sync::Arc;

/// The names the simulators' certificates are valid for.
const SERVER_NAMES: [&str; 2] = ["127.0.0.1", "localhost"];

/// A certificate authority of the tests' own.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl TestCa {
    /// A new CA called `name`.
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().expect("CA key");
        Self { issuer: CertifiedIssuer::self_signed(params, key).expect("CA certificate") }
    }

    /// The CA certificate, PEM-encoded (what goes into a CA bundle).
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// Writes the CA certificate to `path`.
    pub fn write_pem(&self, path: &Path) -> std::io::Result<()> {
        std::fs::write(path, self.pem())
    }

    /// A server configuration presenting a certificate for 127.0.0.1 signed by
    /// this CA.
    pub fn server_config(&self) -> Arc<ServerConfig> {
        let key = KeyPair::generate().expect("server key");
        let cert = server_params().signed_by(&key, &self.issuer).expect("server certificate");
        server_config(cert.der().clone(), &key)
    }

    /// Writes a certificate for 127.0.0.1 signed by this CA and its key, PEM
    /// files for a server that reads them itself (the test registry).
    pub fn write_server_pem(&self, cert_path: &Path, key_path: &Path) -> std::io::Result<()> {
        let key = KeyPair::generate().expect("server key");
        let cert = server_params().signed_by(&key, &self.issuer).expect("server certificate");
        std::fs::write(cert_path, cert.pem())?;
        std::fs::write(key_path, key.serialize_pem())
    }
}

/// A server configuration presenting a self-signed certificate for 127.0.0.1,
/// which nothing trusts.
pub fn self_signed_server_config() -> Arc<ServerConfig> {
    let key = KeyPair::generate().expect("server key");
    let cert = server_params().self_signed(&key).expect("self-signed certificate");
    server_config(cert.der().clone(), &key)
}

fn server_params() -> CertificateParams {
    let mut params =
        CertificateParams::new(SERVER_NAMES.iter().map(|name| name.to_string()).collect::<Vec<_>>()).expect("names");
    params.distinguished_name.push(DnType::CommonName, "soar simulator");
    params
}

fn server_config(cert: CertificateDer<'static>, key: &KeyPair) -> Arc<ServerConfig> {
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("default protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .expect("server certificate and key");
    Arc::new(config)
}

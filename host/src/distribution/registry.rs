//! Pushing and pulling connectors through an OCI registry, with a maintained
//! OCI client (`oci-client`): it speaks the distribution API, follows the
//! registry's `WWW-Authenticate` challenge (bearer tokens or basic auth) and
//! checks blobs against their digests while they stream.

use super::artifact::{self, Artifact, LAYER_MEDIA_TYPE, MANIFEST_MEDIA_TYPE, MAX_COMPONENT, digest_of};
use super::reference::OciReference;
use crate::error::Error;
use futures_util::StreamExt;
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::manifest::OciImageManifest;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, RegistryOperation};
use std::path::PathBuf;
use std::time::Duration;

/// How to reach registries.
#[derive(Debug, Clone, Default)]
pub struct RegistryOptions {
    /// Plain HTTP for every registry, not only loopback ones.
    pub insecure: bool,
    /// CA certificates (PEM) trusted besides the system's.
    pub ca_bundle: Option<PathBuf>,
    /// Credentials for every registry this client talks to; `None` looks them
    /// up per registry in the Docker configuration (`$DOCKER_CONFIG` or
    /// `~/.docker/config.json`, with its credential helpers).
    pub credentials: Option<Credentials>,
}

/// Registry credentials.
#[derive(Clone)]
pub enum Credentials {
    /// A user name and password (or access token used as one).
    Basic { username: String, password: String },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Basic { username, .. } => write!(f, "Basic({username}, ***)"),
        }
    }
}

/// A connector pulled from a registry: its manifest and the component, both
/// checked against their digests.
#[derive(Debug)]
pub struct Pulled {
    /// `oci://REGISTRY/REPOSITORY:TAG@sha256:...`: what was asked for, pinned.
    pub reference: OciReference,
    pub manifest_digest: String,
    pub manifest: OciImageManifest,
    pub component: Vec<u8>,
}

/// A client for the registries connectors are published to.
pub struct Registry {
    options: RegistryOptions,
    extra_roots: Vec<Certificate>,
}

impl Registry {
    /// A client with `options`; reads the CA bundle now, so that a missing one
    /// fails before anything is sent.
    pub fn new(options: RegistryOptions) -> Result<Self, Error> {
        // One certificate each: the client would read only the first of a PEM bundle.
        let extra_roots = match &options.ca_bundle {
            Some(path) => crate::sandbox::outbound::ca_bundle(path)
                .map_err(Error::Host)?
                .into_iter()
                .map(|cert| Certificate { encoding: CertificateEncoding::Der, data: cert.to_vec() })
                .collect(),
            None => Vec::new(),
        };
        Ok(Self { options, extra_roots })
    }

    fn client(&self, protocol: ClientProtocol) -> Client {
        // reqwest is built without a crypto provider of its own: the host's
        // (ring) serves both the sandbox and the registry client.
        let _ = rustls::crypto::ring::default_provider().install_default();
        Client::new(ClientConfig {
            protocol,
            extra_root_certificates: self.extra_roots.clone(),
            connect_timeout: Some(Duration::from_secs(10)),
            read_timeout: Some(Duration::from_secs(60)),
            platform_resolver: None,
            user_agent: concat!("soar-host/", env!("CARGO_PKG_VERSION")),
            ..Default::default()
        })
    }

    /// Plain HTTP is allowed to loopback registries, and to others only when
    /// the operator said `--insecure-registry`.
    fn may_use_plain_http(&self, reference: &OciReference) -> bool {
        self.options.insecure || reference.is_loopback()
    }

    /// A client authenticated for `operation` on `reference`'s repository.
    ///
    /// HTTPS always comes first. Plain HTTP is tried only when HTTPS cannot
    /// connect at all, and only for a loopback registry or with `insecure`:
    /// nothing on the network can read or change loopback traffic, and an
    /// operator who names a registry insecure has decided about the rest.
    async fn connect(
        &self,
        reference: &OciReference,
        operation: RegistryOperation,
    ) -> Result<(Client, RegistryAuth), Error> {
        let target = reference.to_client();
        let auth = self.auth(reference);
        let client = self.client(ClientProtocol::Https);
        match client.auth(&target, &auth, operation).await {
            Ok(_) => Ok((client, auth)),
            Err(OciDistributionError::RequestError(https)) if self.may_use_plain_http(reference) => {
                tracing::debug!("{} does not answer over HTTPS ({https}); trying plain HTTP", reference.registry());
                let client = self.client(ClientProtocol::Http);
                match client.auth(&target, &auth, operation).await {
                    Ok(_) => Ok((client, auth)),
                    Err(OciDistributionError::RequestError(http)) => Err(Error::Registry {
                        registry: reference.registry().to_string(),
                        message: format!(
                            "it cannot be reached over HTTPS ({}) nor HTTP ({})",
                            chain(&https),
                            chain(&http)
                        ),
                    }),
                    Err(err) => Err(registry_error(reference, err)),
                }
            }
            Err(err) => Err(registry_error(reference, err)),
        }
    }

    fn auth(&self, reference: &OciReference) -> RegistryAuth {
        if let Some(Credentials::Basic { username, password }) = &self.options.credentials {
            return RegistryAuth::Basic(username.clone(), password.clone());
        }
        // The crate cannot tell a missing configuration from an unreadable one.
        let docker_dir = std::env::var_os("DOCKER_CONFIG")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".docker")));
        if !docker_dir.is_some_and(|dir| dir.join("config.json").exists()) {
            return RegistryAuth::Anonymous;
        }
        match docker_credential::get_credential(reference.registry()) {
            Ok(docker_credential::DockerCredential::UsernamePassword(username, password)) => {
                RegistryAuth::Basic(username, password)
            }
            Ok(docker_credential::DockerCredential::IdentityToken(token)) => RegistryAuth::Bearer(token),
            Err(docker_credential::CredentialRetrievalError::ConfigNotFound)
            | Err(docker_credential::CredentialRetrievalError::NoCredentialConfigured) => RegistryAuth::Anonymous,
            Err(err) => {
                tracing::warn!(
                    "cannot read the Docker credentials for {}: {err}; trying without credentials",
                    reference.registry()
                );
                RegistryAuth::Anonymous
            }
        }
    }

    /// Pushes `artifact` to `reference` (which names a tag); returns the
    /// manifest digest.
    pub async fn push(&self, reference: &OciReference, artifact: &Artifact) -> Result<String, Error> {
        let (client, _) = self.connect(reference, RegistryOperation::Push).await?;
        let target = reference.to_client();
        let failed = |err: OciDistributionError| registry_error(reference, err);
        let layer_digest = digest_of(&artifact.component);
        client.push_blob(&target, artifact.component.clone(), &layer_digest).await.map_err(failed)?;
        client.push_blob(&target, artifact.config.clone(), &digest_of(&artifact.config)).await.map_err(failed)?;
        let content_type = http::HeaderValue::from_static(MANIFEST_MEDIA_TYPE);
        client.push_manifest_raw(&target, artifact.manifest.clone(), content_type).await.map_err(failed)?;
        Ok(artifact.manifest_digest())
    }

    /// Pulls the connector at `reference`: the manifest (checked against the
    /// reference's digest when it is pinned) must describe exactly one wasm
    /// component, which is streamed, bounded and checked against the layer's
    /// digest. Nothing is written anywhere.
    pub async fn pull(&self, reference: &OciReference) -> Result<Pulled, Error> {
        let (client, auth) = self.connect(reference, RegistryOperation::Pull).await?;
        let target = reference.to_client();
        let failed = |err: OciDistributionError| registry_error(reference, err);
        let refused = |message: String| Error::Artifact { origin: reference.to_string(), message };
        let (raw, manifest_digest) =
            client.pull_manifest_raw(&target, &auth, &[MANIFEST_MEDIA_TYPE]).await.map_err(failed)?;
        // The client checks a pinned digest too; the host does not depend on it.
        if reference.digest().is_some_and(|pinned| digest_of(&raw) != pinned) {
            return Err(refused(format!(
                "its manifest does not match the digest {}",
                reference.digest().unwrap_or("")
            )));
        }
        let (manifest, layer) = artifact::component_layer(&raw).map_err(refused)?;
        let mut stream = client.pull_blob_stream(&target, &layer).await.map_err(failed)?;
        let declared = layer.size as u64;
        let mut component = Vec::with_capacity(declared.min(MAX_COMPONENT) as usize);
        while let Some(chunk) = stream.next().await {
            // The client's digest check fails the stream after its last byte:
            // an error once every declared byte is in is a mismatch.
            let chunk = chunk.map_err(|err| {
                if component.len() as u64 == declared {
                    refused(format!("its component does not match the layer digest {}", layer.digest))
                } else {
                    Error::Registry {
                        registry: reference.registry().to_string(),
                        message: format!("the download of the component failed: {err}"),
                    }
                }
            })?;
            if component.len() as u64 + chunk.len() as u64 > declared {
                return Err(refused(format!("the registry sent more than the layer's {declared} bytes")));
            }
            component.extend_from_slice(&chunk);
        }
        if component.len() as u64 != declared || digest_of(&component) != layer.digest {
            return Err(refused(format!("its component does not match the layer digest {}", layer.digest)));
        }
        debug_assert_eq!(layer.media_type, LAYER_MEDIA_TYPE);
        Ok(Pulled { reference: reference.pinned(&manifest_digest), manifest_digest, manifest, component })
    }
}

/// A registry failure: refused credentials, no such manifest, unreachable.
/// What the registry says is quoted escaped and capped.
fn registry_error(reference: &OciReference, err: OciDistributionError) -> Error {
    let registry = reference.registry().to_string();
    let artifact = |message: &str| Error::Artifact { origin: reference.to_string(), message: message.into() };
    let has_code = |err: &OciDistributionError, codes: &[OciErrorCode]| match err {
        OciDistributionError::RegistryError { envelope, .. } => envelope.errors.iter().any(|e| codes.contains(&e.code)),
        _ => false,
    };
    let refused_credentials = matches!(
        err,
        OciDistributionError::UnauthorizedError { .. }
            | OciDistributionError::AuthenticationFailure(_)
            | OciDistributionError::ServerError { code: 401 | 403, .. }
    ) || has_code(&err, &[OciErrorCode::Unauthorized, OciErrorCode::Denied]);
    if refused_credentials {
        return Error::Registry {
            registry,
            message: "the registry refused the credentials (give them in ~/.docker/config.json or $DOCKER_CONFIG, or in SOAR_REGISTRY_USERNAME and SOAR_REGISTRY_PASSWORD)".into(),
        };
    }
    if has_code(&err, &[OciErrorCode::ManifestUnknown, OciErrorCode::NameUnknown, OciErrorCode::NotFound]) {
        return artifact("the registry has no such manifest");
    }
    match err {
        OciDistributionError::DigestError(err) => {
            artifact(&format!("a digest does not match: {}", quoted(&err.to_string())))
        }
        OciDistributionError::ImageManifestNotFoundError(_) | OciDistributionError::ServerError { code: 404, .. } => {
            artifact("the registry has no such manifest")
        }
        OciDistributionError::RequestError(err) => Error::Registry { registry, message: chain(&err) },
        err => Error::Registry { registry, message: quoted(&err.to_string()) },
    }
}

/// An error with its causes (reqwest's own message omits why a connection
/// failed: the certificate, the refused port).
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    quoted(&text)
}

/// Registry text as errors quote it: control characters escaped, capped.
fn quoted(text: &str) -> String {
    crate::redact::printable(text, 2048)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_for_loopback_or_insecure_registries() {
        let secure = Registry::new(RegistryOptions::default()).unwrap();
        let insecure = Registry::new(RegistryOptions { insecure: true, ..Default::default() }).unwrap();
        for (registry, loopback) in [
            ("127.0.0.1:5000", true),
            ("localhost:5000", true),
            ("registry.example.com", false),
            ("192.168.1.20:5000", false),
        ] {
            let reference: OciReference = format!("oci://{registry}/soar/cofense:1.0.0").parse().unwrap();
            assert_eq!(secure.may_use_plain_http(&reference), loopback, "{registry}");
            assert!(insecure.may_use_plain_http(&reference), "{registry}");
        }
    }

    #[test]
    fn a_missing_ca_bundle_fails_before_anything_is_sent() {
        let options = RegistryOptions { ca_bundle: Some("/nonexistent/ca.pem".into()), ..Default::default() };
        let err = Registry::new(options).err().unwrap().to_string();
        assert!(err.contains("/nonexistent/ca.pem"), "{err}");
    }

    #[test]
    fn credentials_are_not_printed_by_debug() {
        let credentials = Credentials::Basic { username: "me".into(), password: "hunter2".into() };
        assert!(!format!("{credentials:?}").contains("hunter2"));
    }
}

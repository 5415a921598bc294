//! `oci://REGISTRY/REPOSITORY:TAG` and `oci://REGISTRY/REPOSITORY@sha256:DIGEST`:
//! where a connector is published, checked before anything is sent.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// The scheme that marks a registry reference.
pub const SCHEME: &str = "oci://";

/// A connector in an OCI registry: always with an explicit registry (never a
/// default one the operator did not name), a semver tag, a digest, or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciReference {
    registry: String,
    repository: String,
    tag: Option<semver::Version>,
    digest: Option<String>,
}

/// Why a reference cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid registry reference '{text}': {reason}")]
pub struct ReferenceError {
    text: String,
    reason: String,
}

impl OciReference {
    /// The registry's host, and port if given (`registry.example.com:5000`).
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The repository (`soar/cofense`).
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The tag, a semantic version.
    pub fn tag(&self) -> Option<&semver::Version> {
        self.tag.as_ref()
    }

    /// The manifest digest (`sha256:<hex>`), when the reference is pinned.
    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    /// The same repository pinned to `digest` (the tag is kept for people).
    pub fn pinned(&self, digest: &str) -> Self {
        Self { digest: Some(digest.to_string()), ..self.clone() }
    }

    /// Whether the registry is on this machine (`localhost`, 127.0.0.0/8,
    /// `[::1]`): the only registries reached over plain HTTP without
    /// `--insecure-registry`, since nothing on the network can read or change
    /// that traffic.
    pub fn is_loopback(&self) -> bool {
        let host = match self.registry.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(':') && port.bytes().all(|b| b.is_ascii_digit()) => host,
            _ => &self.registry,
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }

    /// The reference as the OCI client takes it.
    pub(crate) fn to_client(&self) -> oci_client::Reference {
        match (&self.tag, &self.digest) {
            (_, Some(digest)) => {
                oci_client::Reference::with_digest(self.registry.clone(), self.repository.clone(), digest.clone())
            }
            (Some(tag), None) => {
                oci_client::Reference::with_tag(self.registry.clone(), self.repository.clone(), tag.to_string())
            }
            (None, None) => unreachable!("a reference has a tag or a digest"),
        }
    }
}

impl fmt::Display for OciReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SCHEME}{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl FromStr for OciReference {
    type Err = ReferenceError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let fail = |reason: &str| ReferenceError { text: text.escape_debug().to_string(), reason: reason.to_string() };
        let rest = text.strip_prefix(SCHEME).ok_or_else(|| fail("it must start with oci://"))?;
        let (name, digest) = match rest.split_once('@') {
            Some((name, digest)) => {
                check_digest(digest).map_err(|reason| fail(&reason))?;
                (name, Some(digest.to_string()))
            }
            None => (rest, None),
        };
        let (registry, path) = name
            .split_once('/')
            .ok_or_else(|| fail("give the registry and the repository: oci://REGISTRY/REPOSITORY:TAG"))?;
        check_registry(registry).map_err(|reason| fail(&reason))?;
        // A colon after the last slash starts the tag.
        let (repository, tag) = match path.rsplit_once(':') {
            Some((repository, tag)) if !tag.contains('/') => (repository, Some(tag)),
            _ => (path, None),
        };
        check_repository(repository).map_err(|reason| fail(&reason))?;
        let tag = tag.map(|tag| parse_tag(tag).map_err(|reason| fail(&reason))).transpose()?;
        if tag.is_none() && digest.is_none() {
            return Err(fail("give a version tag (:1.2.0) or a digest (@sha256:...)"));
        }
        Ok(Self { registry: registry.to_string(), repository: repository.to_string(), tag, digest })
    }
}

/// A tag is a semantic version, without build metadata (`+` is not allowed in
/// OCI tags).
fn parse_tag(tag: &str) -> Result<semver::Version, String> {
    let version =
        semver::Version::parse(tag).map_err(|err| format!("the tag '{tag}' is not a semantic version ({err})"))?;
    if !version.build.is_empty() {
        return Err(format!("the tag '{tag}' has build metadata, which OCI tags cannot carry"));
    }
    Ok(version)
}

/// `sha256:` and 64 lowercase hex digits: the only digest the host computes,
/// so the only one it can check.
pub(crate) fn check_digest(digest: &str) -> Result<(), String> {
    match digest.strip_prefix("sha256:") {
        Some(hex) if hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) => Ok(()),
        _ => Err(format!("'{}' is not a digest of the form sha256:<64 lowercase hex digits>", digest.escape_debug())),
    }
}

fn check_registry(registry: &str) -> Result<(), String> {
    let valid = !registry.is_empty()
        && registry.len() <= 255
        && registry.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    if valid { Ok(()) } else { Err(format!("'{}' is not a registry host[:port]", registry.escape_debug())) }
}

/// Path components as the OCI distribution specification allows them:
/// lowercase alphanumerics joined by `.`, `_`, `__` or dashes.
fn check_repository(repository: &str) -> Result<(), String> {
    let component_ok = |component: &str| {
        let bytes = component.as_bytes();
        !bytes.is_empty()
            && bytes.first().is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            && bytes.last().is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'))
            && !component.contains("..")
            && !component.contains("___")
    };
    if repository.len() <= 255 && repository.split('/').all(component_ok) {
        Ok(())
    } else {
        Err(format!(
            "'{}' is not a repository name (lowercase letters and digits, separated by '.', '_', '-' or '/')",
            repository.escape_debug()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn tags_digests_and_both() {
        let tagged: OciReference = "oci://127.0.0.1:5000/soar/cofense:1.2.0".parse().unwrap();
        assert_eq!(tagged.registry(), "127.0.0.1:5000");
        assert_eq!(tagged.repository(), "soar/cofense");
        assert_eq!(tagged.tag().unwrap().to_string(), "1.2.0");
        assert_eq!(tagged.to_string(), "oci://127.0.0.1:5000/soar/cofense:1.2.0");
        let pinned: OciReference = format!("oci://registry.example.com/cofense@{DIGEST}").parse().unwrap();
        assert_eq!(pinned.digest(), Some(DIGEST));
        assert!(pinned.tag().is_none());
        let both = tagged.pinned(DIGEST);
        assert_eq!(both.to_string(), format!("oci://127.0.0.1:5000/soar/cofense:1.2.0@{DIGEST}"));
        assert_eq!(both.to_string().parse::<OciReference>().unwrap(), both);
        assert_eq!(both.to_client().digest(), Some(DIGEST));
    }

    #[test]
    fn refused_references_say_why() {
        for (text, why) in [
            ("127.0.0.1:5000/cofense:1.0.0", "oci://"),
            ("oci://cofense:1.0.0", "registry and the repository"),
            ("oci://127.0.0.1:5000/cofense", "version tag"),
            ("oci://127.0.0.1:5000/cofense:latest", "not a semantic version"),
            ("oci://127.0.0.1:5000/cofense:1.0.0+build5", "build metadata"),
            ("oci://127.0.0.1:5000/Cofense:1.0.0", "not a repository name"),
            ("oci://127.0.0.1:5000/../etc:1.0.0", "not a repository name"),
            ("oci://127.0.0.1:5000/a//b:1.0.0", "not a repository name"),
            ("oci://127.0.0.1:5000/cofense@sha256:abc", "not a digest"),
            ("oci://127.0.0.1:5000/cofense@md5:0123", "not a digest"),
            ("oci://user@host/cofense:1.0.0", "not a digest"),
            ("oci://bad host/cofense:1.0.0", "not a registry"),
        ] {
            let err = text.parse::<OciReference>().unwrap_err().to_string();
            assert!(err.contains(why), "{text}: {err}");
        }
    }

    #[test]
    fn loopback_registries() {
        for (registry, loopback) in [
            ("localhost:5000", true),
            ("127.0.0.1:5000", true),
            ("127.8.9.1", true),
            ("[::1]:5000", true),
            ("registry.example.com", false),
            ("10.0.0.1:5000", false),
            ("localhost.example.com:5000", false),
        ] {
            let reference: OciReference = format!("oci://{registry}/cofense:1.0.0").parse().unwrap();
            assert_eq!(reference.is_loopback(), loopback, "{registry}");
        }
    }
}

//! Mutual TLS for optimized duplication: a private CA signs one server
//! certificate per destination and one client certificate per source; each
//! side accepts only certificates of that CA. A client certificate names the
//! tenants it may copy as URI subject alternative names
//! `urn:reel:tenant:NAME`, so the CA, not a server-side list, decides.
//!
//! Key directory layout (`reelctl dedup keys init DIR`):
//! `ca.pem` `ca.key` (keep offline), `server.pem` `server.key`,
//! `client-NAME.pem` `client-NAME.key` (`reelctl dedup keys client`).

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use thiserror::Error;

/// URI SAN prefix that grants a tenant to a client certificate.
pub const TENANT_URI_PREFIX: &str = "urn:reel:tenant:";

#[derive(Debug, Error)]
pub enum TlsError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {detail}")]
    Pem { path: PathBuf, detail: String },
    #[error("certificate generation: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
    #[error("client verifier: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
    #[error("{0} exists already; refusing to overwrite keys")]
    Exists(PathBuf),
    #[error("invalid name {0:?} (allowed: [A-Za-z0-9_.-]{{1,64}})")]
    BadName(String),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> TlsError + '_ {
    move |source| TlsError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Certificate chain from a PEM file.
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem_err = |detail: String| TlsError::Pem {
        path: path.to_path_buf(),
        detail,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| pem_err(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_err(e.to_string()))?;
    if certs.is_empty() {
        return Err(pem_err("no certificate in file".into()));
    }
    Ok(certs)
}

/// Private key from a PEM file.
pub fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| TlsError::Pem {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })
}

fn roots(ca: &Path) -> Result<Arc<RootCertStore>, TlsError> {
    let mut roots = RootCertStore::empty();
    for c in load_certs(ca)? {
        roots.add(c)?;
    }
    Ok(Arc::new(roots))
}

/// Destination side: requires a client certificate signed by `ca`.
pub fn server_config(cert: &Path, key: &Path, ca: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let verifier = WebPkiClientVerifier::builder_with_provider(roots(ca)?, provider()).build()?;
    let cfg = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(load_certs(cert)?, load_key(key)?)?;
    Ok(Arc::new(cfg))
}

/// Source side: presents `cert`, accepts only servers signed by `ca`.
/// `cert` None builds a client without a certificate (for tests that check
/// the server refuses it).
pub fn client_config(
    cert_key: Option<(&Path, &Path)>,
    ca: &Path,
) -> Result<Arc<ClientConfig>, TlsError> {
    let b = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots(ca)?);
    let cfg = match cert_key {
        Some((cert, key)) => b.with_client_auth_cert(load_certs(cert)?, load_key(key)?)?,
        None => b.with_no_client_auth(),
    };
    Ok(Arc::new(cfg))
}

/// Tenants a (verified) client certificate grants, from its URI SANs.
/// An unparsable certificate grants nothing.
pub fn tenants_of(cert: &CertificateDer<'_>) -> Vec<String> {
    let Ok((_, x509)) = x509_parser::parse_x509_certificate(cert) else {
        return Vec::new();
    };
    let Ok(Some(san)) = x509.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .filter_map(|n| match n {
            x509_parser::extensions::GeneralName::URI(u) => u.strip_prefix(TENANT_URI_PREFIX),
            _ => None,
        })
        .map(str::to_string)
        .collect()
}

fn valid_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

fn write_new(path: &Path, contents: &str, private: bool) -> Result<(), TlsError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(if private { 0o600 } else { 0o644 })
        .open(path)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                TlsError::Exists(path.to_path_buf())
            } else {
                TlsError::Io {
                    path: path.to_path_buf(),
                    source: e,
                }
            }
        })?;
    f.write_all(contents.as_bytes()).map_err(io_err(path))?;
    f.sync_all().map_err(io_err(path))
}

/// Files written by [`init_keys`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct KeyFiles {
    pub ca: PathBuf,
    pub ca_key: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
}

/// Creates a CA and a server certificate for `hosts` (DNS names or IP
/// addresses; localhost, 127.0.0.1 and ::1 always included) in `dir`.
pub fn init_keys(dir: &Path, hosts: &[String]) -> Result<KeyFiles, TlsError> {
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let files = KeyFiles {
        ca: dir.join("ca.pem"),
        ca_key: dir.join("ca.key"),
        server_cert: dir.join("server.pem"),
        server_key: dir.join("server.key"),
    };
    let ca_key = rcgen::KeyPair::generate()?;
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "reel dedup copy CA");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = rcgen::Issuer::new(ca_params, ca_key);

    let mut names: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    for h in hosts {
        if !names.contains(h) {
            names.push(h.clone());
        }
    }
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "reel dedup copy server");
    for n in &names {
        params.subject_alt_names.push(match n.parse::<IpAddr>() {
            Ok(ip) => rcgen::SanType::IpAddress(ip),
            Err(_) => rcgen::SanType::DnsName(n.as_str().try_into()?),
        });
    }
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let key = rcgen::KeyPair::generate()?;
    let cert = params.signed_by(&key, &issuer)?;

    write_new(&files.ca_key, &issuer.key().serialize_pem(), true)?;
    write_new(&files.ca, &ca_cert.pem(), false)?;
    write_new(&files.server_key, &key.serialize_pem(), true)?;
    write_new(&files.server_cert, &cert.pem(), false)?;
    Ok(files)
}

/// Issues `client-NAME.pem`/`.key` in `dir` (which holds ca.pem and ca.key),
/// granting `tenants`. Returns (certificate, key) paths.
pub fn issue_client(
    dir: &Path,
    name: &str,
    tenants: &[String],
) -> Result<(PathBuf, PathBuf), TlsError> {
    for n in std::iter::once(name).chain(tenants.iter().map(String::as_str)) {
        if !valid_name(n) {
            return Err(TlsError::BadName(n.to_string()));
        }
    }
    let ca_pem_path = dir.join("ca.pem");
    let ca_key_path = dir.join("ca.key");
    let ca_pem = std::fs::read_to_string(&ca_pem_path).map_err(io_err(&ca_pem_path))?;
    let ca_key_pem = std::fs::read_to_string(&ca_key_path).map_err(io_err(&ca_key_path))?;
    let ca_key = rcgen::KeyPair::from_pem(&ca_key_pem)?;
    let issuer = rcgen::Issuer::from_ca_cert_pem(&ca_pem, ca_key)?;

    let mut params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    for t in tenants {
        params.subject_alt_names.push(rcgen::SanType::URI(
            format!("{TENANT_URI_PREFIX}{t}").as_str().try_into()?,
        ));
    }
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let key = rcgen::KeyPair::generate()?;
    let cert = params.signed_by(&key, &issuer)?;
    let cert_path = dir.join(format!("client-{name}.pem"));
    let key_path = dir.join(format!("client-{name}.key"));
    write_new(&key_path, &key.serialize_pem(), true)?;
    write_new(&cert_path, &cert.pem(), false)?;
    Ok((cert_path, key_path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_certificate_carries_its_tenants() {
        let dir = tempfile::tempdir().unwrap();
        init_keys(dir.path(), &["backup.example".into()]).unwrap();
        let (cert, _) =
            issue_client(dir.path(), "site-a", &["acme".into(), "beta_2".into()]).unwrap();
        let der = load_certs(&cert).unwrap();
        assert_eq!(tenants_of(&der[0]), vec!["acme", "beta_2"]);
        // The server certificate grants no tenant.
        let server = load_certs(&dir.path().join("server.pem")).unwrap();
        assert!(tenants_of(&server[0]).is_empty());
        assert!(tenants_of(&CertificateDer::from(vec![0x30, 0x03, 1, 2, 3])).is_empty());
        // Both configurations build from the generated files.
        let d = dir.path();
        server_config(
            &d.join("server.pem"),
            &d.join("server.key"),
            &d.join("ca.pem"),
        )
        .unwrap();
        client_config(
            Some((&cert, &d.join("client-site-a.key"))),
            &d.join("ca.pem"),
        )
        .unwrap();
    }

    #[test]
    fn keys_are_never_overwritten_and_names_checked() {
        let dir = tempfile::tempdir().unwrap();
        init_keys(dir.path(), &[]).unwrap();
        assert!(matches!(
            init_keys(dir.path(), &[]),
            Err(TlsError::Exists(_))
        ));
        assert!(matches!(
            issue_client(dir.path(), "a/b", &[]),
            Err(TlsError::BadName(_))
        ));
        assert!(matches!(
            issue_client(dir.path(), "ok", &["bad tenant".into()]),
            Err(TlsError::BadName(_))
        ));
    }
}

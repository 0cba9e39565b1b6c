//! The host CA: created once per data directory (`reeld init`, or the demo
//! on its first start), it signs the server certificate and every enrolled
//! client's certificate.
//!
//! Files under `DIR` (the data directory's `tls/`): `ca.pem`, `ca.key`,
//! `server.pem`, `server.key`. Private keys are written mode 0600.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use sha2::{Digest, Sha256};

use super::roles::{Role, encode_ou};
use super::{AuthError, io_err};

/// The name clients verify the server certificate against (it is in the
/// server certificate's subject alternative names whatever the address).
pub const SERVER_NAME: &str = "reeld";

/// `SHA256:` and the hex SHA-256 of a DER certificate.
pub fn fingerprint(der: &[u8]) -> String {
    format!("SHA256:{}", hex::encode(Sha256::digest(der)))
}

/// Normalises a fingerprint as users type it: optional `SHA256:` prefix,
/// colons, any case. None when it is not 32 hex bytes.
pub fn parse_fingerprint(s: &str) -> Option<[u8; 32]> {
    let s = s.trim();
    let s = s
        .strip_prefix("SHA256:")
        .or_else(|| s.strip_prefix("sha256:"))
        .unwrap_or(s);
    let hexs: String = s.chars().filter(|c| *c != ':').collect();
    let v = hex::decode(hexs).ok()?;
    v.try_into().ok()
}

/// First certificate of a PEM text, as DER.
pub fn pem_to_der(pem: &str) -> Result<Vec<u8>, AuthError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    CertificateDer::from_pem_slice(pem.as_bytes())
        .map(|c| c.to_vec())
        .map_err(|e| AuthError::Tls(format!("certificate PEM: {e}")))
}

/// Writes `text` to `path`, mode `mode`, replacing it.
pub(crate) fn write_file(path: &Path, text: &str, mode: u32) -> Result<(), AuthError> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .map_err(io_err(&tmp))?;
    f.write_all(text.as_bytes()).map_err(io_err(&tmp))?;
    f.sync_all().map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io_err(path))
}

fn read(path: &Path) -> Result<String, AuthError> {
    std::fs::read_to_string(path).map_err(io_err(path))
}

/// The host CA with the server's certificate.
pub struct HostCa {
    dir: PathBuf,
    ca_pem: String,
    ca_key: KeyPair,
    server_pem: String,
    server_key_pem: String,
}

impl HostCa {
    /// Whether `dir` holds a CA.
    pub fn exists(dir: &Path) -> bool {
        dir.join("ca.pem").is_file() && dir.join("ca.key").is_file()
    }

    /// Opens the CA in `dir`, creating the CA and the server certificate
    /// when missing. `hostname` goes into the server certificate's names.
    pub fn open_or_create(dir: &Path, hostname: &str) -> Result<HostCa, AuthError> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        if !Self::exists(dir) {
            let key = KeyPair::generate()?;
            let mut p = CertificateParams::new(Vec::<String>::new())?;
            p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
            p.distinguished_name = DistinguishedName::new();
            p.distinguished_name
                .push(DnType::CommonName, format!("reel host CA {hostname}"));
            p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
            let cert = p.self_signed(&key)?;
            write_file(&dir.join("ca.key"), &key.serialize_pem(), 0o600)?;
            write_file(&dir.join("ca.pem"), &cert.pem(), 0o644)?;
            // A new CA invalidates any old server certificate.
            let _ = std::fs::remove_file(dir.join("server.pem"));
            tracing::info!(dir = %dir.display(), "created host CA");
        }
        let ca_pem = read(&dir.join("ca.pem"))?;
        let ca_key = KeyPair::from_pem(&read(&dir.join("ca.key"))?)?;
        let (server_pem, server_key_pem) =
            if dir.join("server.pem").is_file() && dir.join("server.key").is_file() {
                (
                    read(&dir.join("server.pem"))?,
                    read(&dir.join("server.key"))?,
                )
            } else {
                let key = KeyPair::generate()?;
                let mut names = vec![
                    SERVER_NAME.to_string(),
                    "localhost".into(),
                    "127.0.0.1".into(),
                    "::1".into(),
                ];
                if !hostname.is_empty() && !names.iter().any(|n| n == hostname) {
                    names.push(hostname.into());
                }
                let mut p = CertificateParams::new(names)?;
                p.distinguished_name = DistinguishedName::new();
                p.distinguished_name
                    .push(DnType::CommonName, format!("reeld {hostname}"));
                p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
                p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
                let issuer = Issuer::from_ca_cert_pem(&ca_pem, &ca_key)?;
                let cert = p.signed_by(&key, &issuer)?;
                write_file(&dir.join("server.key"), &key.serialize_pem(), 0o600)?;
                write_file(&dir.join("server.pem"), &cert.pem(), 0o644)?;
                (cert.pem(), key.serialize_pem())
            };
        Ok(HostCa {
            dir: dir.to_path_buf(),
            ca_pem,
            ca_key,
            server_pem,
            server_key_pem,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    pub fn server_pem(&self) -> &str {
        &self.server_pem
    }

    pub fn server_key_pem(&self) -> &str {
        &self.server_key_pem
    }

    /// Fingerprint of the server certificate, which enrolling clients
    /// confirm.
    pub fn server_fingerprint(&self) -> Result<String, AuthError> {
        Ok(fingerprint(&pem_to_der(&self.server_pem)?))
    }

    /// Signs a client's certificate signing request. The subject is ours,
    /// not the request's: common name `name`, the roles in the
    /// organizational unit; usage client authentication only.
    pub fn sign_csr(&self, csr_pem: &str, name: &str, roles: &[Role]) -> Result<String, AuthError> {
        let mut csr = CertificateSigningRequestParams::from_pem(csr_pem)
            .map_err(|e| AuthError::BadCsr(e.to_string()))?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, name);
        dn.push(DnType::OrganizationalUnitName, encode_ou(roles));
        let p = &mut csr.params;
        p.distinguished_name = dn;
        p.subject_alt_names.clear();
        p.is_ca = IsCa::ExplicitNoCa;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        p.use_authority_key_identifier_extension = true;
        let issuer = Issuer::from_ca_cert_pem(&self.ca_pem, &self.ca_key)?;
        Ok(csr.signed_by(&issuer)?.pem())
    }

    /// Issues a client key and certificate directly (the demo's local
    /// admin, tests): returns (certificate PEM, key PEM).
    pub fn issue_client(&self, name: &str, roles: &[Role]) -> Result<(String, String), AuthError> {
        let (csr, key) = new_csr(name)?;
        Ok((self.sign_csr(&csr, name, roles)?, key))
    }
}

/// A new client key and a certificate signing request for it: (CSR PEM,
/// key PEM).
pub fn new_csr(name: &str) -> Result<(String, String), AuthError> {
    let key = KeyPair::generate()?;
    let mut p = CertificateParams::new(Vec::<String>::new())?;
    p.distinguished_name = DistinguishedName::new();
    p.distinguished_name.push(DnType::CommonName, name);
    let csr = p.serialize_request(&key)?;
    Ok((csr.pem()?, key.serialize_pem()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_parse_in_every_spelling() {
        let want = [0xabu8; 32];
        let plain = "ab".repeat(32);
        assert_eq!(parse_fingerprint(&plain), Some(want));
        assert_eq!(
            parse_fingerprint(&format!("SHA256:{}", plain.to_uppercase())),
            Some(want)
        );
        let colons: Vec<&str> = (0..32).map(|_| "AB").collect();
        assert_eq!(parse_fingerprint(&colons.join(":")), Some(want));
        assert_eq!(parse_fingerprint("abcd"), None);
        assert_eq!(parse_fingerprint("zz"), None);
        assert_eq!(fingerprint(b"").len(), 7 + 64);
    }

    #[test]
    fn ca_persists_and_signs_client_certificates() {
        let d = tempfile::tempdir().unwrap();
        let ca = HostCa::open_or_create(d.path(), "h1").unwrap();
        let fp = ca.server_fingerprint().unwrap();
        let again = HostCa::open_or_create(d.path(), "h1").unwrap();
        assert_eq!(again.server_fingerprint().unwrap(), fp);
        assert_eq!(again.ca_pem(), ca.ca_pem());
        let (cert, _key) = ca
            .issue_client("alice", &[Role::Read, Role::Write])
            .unwrap();
        let caller = super::super::peer::caller_from_der(&pem_to_der(&cert).unwrap()).unwrap();
        assert_eq!(caller.name, "alice");
        assert_eq!(caller.roles, vec![Role::Write, Role::Read]);
        assert!(matches!(
            ca.sign_csr("garbage", "x", &[]),
            Err(AuthError::BadCsr(_))
        ));
    }
}

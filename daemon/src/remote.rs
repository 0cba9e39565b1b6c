//! The client side of the reeld API, used by `reelctl`'s remote commands:
//! client profiles, mutual-TLS connections, enrollment with a pinned
//! server fingerprint, and the commands with their text and JSON output.
//!
//! A profile is a directory with `profile.toml` (server address, client
//! name, file names), `ca.pem`, `client.pem` and `client.key`. `reelctl`
//! finds it through `--profile`, `$REEL_PROFILE`, `~/.config/reel/`, or
//! the local demo daemon's `DATA/client/`.

pub mod cmd;
pub mod labcmd;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use tonic::transport::{Channel, Endpoint, Uri};

use crate::api::pb;
use crate::auth::ca::{SERVER_NAME, fingerprint, new_csr, parse_fingerprint};

pub const PROFILE_FILE: &str = "profile.toml";

#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("{path}: {detail}")]
    Profile { path: PathBuf, detail: String },
    #[error("no client profile found (tried {0}); enroll with `reelctl enroll` or pass --profile")]
    NoProfile(String),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("cannot connect to {server}: {detail}")]
    Connect { server: String, detail: String },
    #[error("{}: {}", .0.code(), .0.message())]
    Status(#[from] tonic::Status),
    #[error("{0}")]
    Auth(#[from] crate::auth::AuthError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Usage(String),
}

/// `profile.toml`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// `HOST:PORT` of the daemon.
    pub server: String,
    pub name: String,
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    /// Where the profile was loaded from (file names are relative to it).
    #[serde(skip)]
    pub dir: PathBuf,
}

fn perr(path: &Path, detail: impl std::fmt::Display) -> RemoteError {
    RemoteError::Profile {
        path: path.to_path_buf(),
        detail: detail.to_string(),
    }
}

impl Profile {
    pub fn load(path: &Path) -> Result<Profile, RemoteError> {
        let text = std::fs::read_to_string(path).map_err(|e| perr(path, e))?;
        let mut p: Profile = toml::from_str(&text).map_err(|e| perr(path, e))?;
        p.dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        Ok(p)
    }

    pub fn save(&self, path: &Path) -> Result<(), RemoteError> {
        let text = toml::to_string_pretty(self).map_err(|e| perr(path, e))?;
        std::fs::write(path, text).map_err(|e| perr(path, e))
    }

    /// Writes a new profile into `dir`; returns the profile file's path.
    pub fn create(
        dir: &Path,
        server: &str,
        name: &str,
        ca_pem: &str,
        cert_pem: &str,
        key_pem: &str,
    ) -> Result<PathBuf, RemoteError> {
        std::fs::create_dir_all(dir)?;
        crate::auth::ca::write_file(&dir.join("ca.pem"), ca_pem, 0o644)?;
        crate::auth::ca::write_file(&dir.join("client.pem"), cert_pem, 0o644)?;
        crate::auth::ca::write_file(&dir.join("client.key"), key_pem, 0o600)?;
        let p = Profile {
            server: server.into(),
            name: name.into(),
            ca: "ca.pem".into(),
            cert: "client.pem".into(),
            key: "client.key".into(),
            dir: dir.to_path_buf(),
        };
        let path = dir.join(PROFILE_FILE);
        p.save(&path)?;
        Ok(path)
    }

    fn read(&self, f: &Path) -> Result<Vec<u8>, RemoteError> {
        let p = self.dir.join(f);
        std::fs::read(&p).map_err(|e| perr(&p, e))
    }

    /// The rustls configuration: the host CA as the only root, our client
    /// certificate.
    pub fn tls(&self) -> Result<Arc<rustls::ClientConfig>, RemoteError> {
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_slice_iter(&self.read(&self.ca)?) {
            let c = c.map_err(|e| RemoteError::Tls(format!("CA: {e}")))?;
            roots
                .add(c)
                .map_err(|e| RemoteError::Tls(format!("CA: {e}")))?;
        }
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(&self.read(&self.cert)?)
                .collect::<Result<_, _>>()
                .map_err(|e| RemoteError::Tls(format!("client certificate: {e}")))?;
        let key = PrivateKeyDer::from_pem_slice(&self.read(&self.key)?)
            .map_err(|e| RemoteError::Tls(format!("client key: {e}")))?;
        let mut cfg = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| RemoteError::Tls(e.to_string()))?
            .with_root_certificates(roots)
            .with_client_auth_cert(certs, key)
            .map_err(|e| RemoteError::Tls(e.to_string()))?;
        cfg.alpn_protocols = vec![b"h2".to_vec()];
        Ok(Arc::new(cfg))
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Where reelctl looks for a profile when `--profile` is not given.
pub fn default_profiles() -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Some(p) = std::env::var_os("REEL_PROFILE") {
        v.push(PathBuf::from(p));
    }
    if let Some(h) = std::env::var_os("HOME") {
        v.push(PathBuf::from(h).join(".config/reel").join(PROFILE_FILE));
    }
    v.push(
        crate::server::run::default_data_dir()
            .join("client")
            .join(PROFILE_FILE),
    );
    v
}

/// Finds and loads the profile.
pub fn find_profile(explicit: Option<&Path>) -> Result<Profile, RemoteError> {
    if let Some(p) = explicit {
        let p = if p.is_dir() {
            p.join(PROFILE_FILE)
        } else {
            p.to_path_buf()
        };
        return Profile::load(&p);
    }
    let tried = default_profiles();
    for p in &tried {
        if p.is_file() {
            return Profile::load(p);
        }
    }
    let names: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
    Err(RemoteError::NoProfile(names.join(", ")))
}

/// A gRPC channel over our own TLS connection to `server`.
pub async fn channel(server: &str, tls: Arc<rustls::ClientConfig>) -> Result<Channel, RemoteError> {
    let addr = server.to_string();
    let cerr = |detail: String| RemoteError::Connect {
        server: server.into(),
        detail,
    };
    let connector = tower::service_fn(move |_: Uri| {
        let (tls, addr) = (tls.clone(), addr.clone());
        async move {
            let tcp = tokio::net::TcpStream::connect(&addr).await?;
            tcp.set_nodelay(true)?;
            let name = ServerName::try_from(SERVER_NAME)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
            let s = tokio_rustls::TlsConnector::from(tls)
                .connect(name, tcp)
                .await?;
            Ok::<_, std::io::Error>(TokioIo::new(s))
        }
    });
    Endpoint::from_shared(format!("http://{server}"))
        .map_err(|e| cerr(e.to_string()))?
        .initial_stream_window_size(crate::api::STREAM_WINDOW)
        .initial_connection_window_size(crate::api::CONNECTION_WINDOW)
        .connect_with_connector(connector)
        .await
        .map_err(|e| {
            let mut s = e.to_string();
            let mut src = std::error::Error::source(&e);
            while let Some(x) = src {
                s = format!("{s}: {x}");
                src = x.source();
            }
            cerr(s)
        })
}

/// Connects with a profile.
pub async fn connect(p: &Profile) -> Result<Channel, RemoteError> {
    channel(&p.server, p.tls()?).await
}

/// Accepts exactly the server certificate with the pinned SHA-256 (TLS
/// signatures are still verified); used for enrollment, before the client
/// has the CA.
#[derive(Debug)]
struct Pinned {
    want: [u8; 32],
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl rustls::client::danger::ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        use sha2::Digest;
        let got: [u8; 32] = sha2::Sha256::digest(end_entity.as_ref()).into();
        if got != self.want {
            return Err(rustls::Error::General(format!(
                "server certificate fingerprint is {}, not the one given",
                fingerprint(end_entity.as_ref())
            )));
        }
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// TLS without a client certificate, trusting only the pinned server
/// certificate.
pub fn pinned_tls(fp: &str) -> Result<Arc<rustls::ClientConfig>, RemoteError> {
    let want = parse_fingerprint(fp).ok_or_else(|| {
        RemoteError::Usage(format!(
            "fingerprint {fp:?} is not a SHA-256 (64 hex digits, optionally SHA256: and colons)"
        ))
    })?;
    let provider = provider();
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| RemoteError::Tls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Pinned { want, provider }))
        .with_no_client_auth();
    cfg.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(cfg))
}

/// Enrolls: a new key and CSR, sent with the token over TLS pinned to the
/// server fingerprint; writes the profile into `dir`. Returns the profile
/// path and the roles granted.
pub async fn enroll(
    server: &str,
    token: &str,
    fp: &str,
    name: &str,
    dir: &Path,
) -> Result<(PathBuf, Vec<String>), RemoteError> {
    let (csr, key) = new_csr(name)?;
    let ch = channel(server, pinned_tls(fp)?).await?;
    let reply = pb::enrollment_client::EnrollmentClient::new(ch)
        .enroll(pb::EnrollRequest {
            token: token.into(),
            csr_pem: csr,
            client_name: name.into(),
        })
        .await?
        .into_inner();
    let path = Profile::create(
        dir,
        server,
        name,
        &reply.ca_pem,
        &reply.certificate_pem,
        &key,
    )?;
    Ok((path, reply.roles))
}

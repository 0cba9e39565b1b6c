//! Who is calling: the client certificate TLS verified against the host
//! CA, its name and its roles; and the per-call role check.

use tonic::{Request, Status};

use super::ca::fingerprint;
use super::roles::{Role, decode_ou};

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub name: String,
    pub roles: Vec<Role>,
    pub fingerprint: String,
}

/// Reads name and roles out of a client certificate (already verified by
/// TLS against the host CA).
pub fn caller_from_der(der: &[u8]) -> Result<Caller, String> {
    let (_, cert) =
        x509_parser::parse_x509_certificate(der).map_err(|e| format!("client certificate: {e}"))?;
    let subject = cert.subject();
    let name = subject
        .iter_common_name()
        .next()
        .and_then(|a| a.as_str().ok())
        .unwrap_or("")
        .to_string();
    let mut roles: Vec<Role> = subject
        .iter_organizational_unit()
        .filter_map(|a| a.as_str().ok())
        .flat_map(decode_ou)
        .collect();
    roles.sort();
    roles.dedup();
    Ok(Caller {
        name,
        roles,
        fingerprint: fingerprint(der),
    })
}

/// The caller of `req`, or Unauthenticated when it presented no client
/// certificate (TLS refuses certificates of another CA before any call).
pub fn caller<T>(req: &Request<T>) -> Result<Caller, Status> {
    let certs = req.peer_certs().ok_or_else(|| {
        Status::unauthenticated(
            "a client certificate of this host's CA is required; enroll with `reelctl enroll`",
        )
    })?;
    let first = certs
        .first()
        .ok_or_else(|| Status::unauthenticated("a client certificate is required"))?;
    caller_from_der(first.as_ref()).map_err(Status::unauthenticated)
}

/// Checks that the caller holds `role`.
pub fn authorize<T>(req: &Request<T>, role: Role) -> Result<Caller, Status> {
    let c = caller(req)?;
    if !c.roles.contains(&role) {
        tracing::warn!(caller = %c.name, need = role.as_str(), "call refused: role missing");
        return Err(Status::permission_denied(format!(
            "client {:?} lacks the {} role for this call",
            c.name,
            role.as_str()
        )));
    }
    Ok(c)
}

/// Checks that the caller holds one of `roles`.
pub fn authorize_any<T>(req: &Request<T>, roles: &[Role]) -> Result<Caller, Status> {
    let c = caller(req)?;
    if !roles.iter().any(|r| c.roles.contains(r)) {
        let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        return Err(Status::permission_denied(format!(
            "client {:?} lacks a role for this call (one of: {})",
            c.name,
            names.join(", ")
        )));
    }
    Ok(c)
}

//! Host information and enrollment.

use tonic::{Request, Response, Status};

use super::{Api, pb};
use crate::auth::roles::parse_roles;
use crate::auth::{AuthError, Role, authorize, peer};
use crate::db::unix_now;

#[tonic::async_trait]
impl pb::host_server::Host for Api {
    async fn info(&self, req: Request<pb::Empty>) -> Result<Response<pb::HostInfo>, Status> {
        // Any enrolled client may ask who it is.
        let caller = peer::caller(&req)?;
        Ok(Response::new(pb::HostInfo {
            hostname: self.d.hostname.clone(),
            version: env!("CARGO_PKG_VERSION").into(),
            data_dir: self.d.data_dir.display().to_string(),
            devices: self.d.registry.devices().len() as u32,
            libraries: self
                .d
                .registry
                .devices()
                .iter()
                .filter(|d| d.kind == crate::scheduler::device::DeviceKind::Changer)
                .count() as u32,
            caller_roles: caller
                .roles
                .iter()
                .map(|r| r.as_str().to_string())
                .collect(),
            caller: caller.name,
        }))
    }
}

fn auth_status(e: AuthError) -> Status {
    match e {
        AuthError::BadToken => Status::permission_denied(e.to_string()),
        AuthError::BadCsr(_) | AuthError::UnknownRole(_) => Status::invalid_argument(e.to_string()),
        other => Status::internal(other.to_string()),
    }
}

fn client_name(s: &str) -> Result<String, Status> {
    let s = s.trim();
    if s.is_empty()
        || s.len() > 64
        || !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c))
    {
        return Err(Status::invalid_argument(
            "client name: 1 to 64 characters of letters, digits, - _ . @",
        ));
    }
    Ok(s.to_string())
}

#[tonic::async_trait]
impl pb::enrollment_server::Enrollment for Api {
    async fn enroll(
        &self,
        req: Request<pb::EnrollRequest>,
    ) -> Result<Response<pb::EnrollReply>, Status> {
        let r = req.into_inner();
        let name = client_name(&r.client_name)?;
        let roles = self
            .d
            .tokens
            .redeem(&r.token, unix_now())
            .map_err(auth_status)?;
        let cert = self
            .d
            .ca
            .sign_csr(&r.csr_pem, &name, &roles)
            .map_err(auth_status)?;
        tracing::info!(client = %name, ?roles, "client enrolled");
        Ok(Response::new(pb::EnrollReply {
            certificate_pem: cert,
            ca_pem: self.d.ca.ca_pem().to_string(),
            roles: roles.iter().map(|r| r.as_str().to_string()).collect(),
        }))
    }

    async fn create_token(
        &self,
        req: Request<pb::CreateTokenRequest>,
    ) -> Result<Response<pb::TokenReply>, Status> {
        authorize(&req, Role::Configure)?;
        let r = req.into_inner();
        let roles = parse_roles(&r.roles).map_err(auth_status)?;
        if roles.is_empty() {
            return Err(Status::invalid_argument("a token needs at least one role"));
        }
        let ttl = if r.ttl_secs == 0 {
            3600
        } else {
            r.ttl_secs.min(30 * 86_400) as i64
        };
        let expires_at = unix_now() + ttl;
        let token = self
            .d
            .tokens
            .create(&roles, expires_at)
            .map_err(auth_status)?;
        Ok(Response::new(pb::TokenReply {
            token,
            roles: roles.iter().map(|r| r.as_str().to_string()).collect(),
            expires_at,
        }))
    }
}

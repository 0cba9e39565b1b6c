//! Alerts service.

use tonic::{Request, Response, Status};

use super::{Api, convert, pb};
use crate::auth::{Role, authorize};

#[tonic::async_trait]
impl pb::alerts_server::Alerts for Api {
    async fn list_alerts(
        &self,
        req: Request<pb::Empty>,
    ) -> Result<Response<pb::AlertList>, Status> {
        authorize(&req, Role::Audit)?;
        let alerts = self.d.alerts.list().iter().map(convert::alert).collect();
        Ok(Response::new(pb::AlertList { alerts }))
    }
}

//! Alerts service: the device registry's active alerts (TapeAlert flags,
//! devices offline) and the alerts jobs raised (a device failed under a
//! job, a job nobody could run), newest last.

use tonic::{Request, Response, Status};

use super::{Api, convert, pb};
use crate::auth::{Role, authorize};
use crate::jobs::store;
use crate::server::DaemonError;

impl Api {
    /// Every alert, registry ones first, each list in its own order.
    pub async fn all_alerts(&self) -> Result<Vec<pb::Alert>, Status> {
        let mut alerts: Vec<pb::Alert> = self
            .d
            .registry
            .alerts()
            .iter()
            .map(convert::device_alert)
            .collect();
        let jobs = self
            .d
            .sched(|s| Ok::<_, DaemonError>(store::alerts(s.db().conn())?))
            .await?;
        alerts.extend(jobs.iter().map(convert::job_alert));
        Ok(alerts)
    }
}

#[tonic::async_trait]
impl pb::alerts_server::Alerts for Api {
    async fn list_alerts(
        &self,
        req: Request<pb::Empty>,
    ) -> Result<Response<pb::AlertList>, Status> {
        authorize(&req, Role::Audit)?;
        let alerts = self.all_alerts().await?;
        Ok(Response::new(pb::AlertList { alerts }))
    }
}

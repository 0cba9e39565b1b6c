//! Jobs service.

use std::pin::Pin;
use std::time::Duration;

use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use super::{Api, convert, pb};
use crate::auth::peer::authorize_any;
use crate::auth::{Role, authorize};
use crate::db::unix_now;
use crate::jobs::ops;
use crate::scheduler::job::{JobKind, JobSpec, MediaNeed, Target};
use crate::server::DaemonError;

const WATCH_POLL: Duration = Duration::from_millis(250);

impl Api {
    async fn job(&self, id: i64) -> Result<pb::Job, Status> {
        let j = self.d.sched(move |s| s.job(id)).await?;
        Ok(convert::job(&j))
    }
}

#[tonic::async_trait]
impl pb::jobs_server::Jobs for Api {
    async fn submit_job(
        &self,
        req: Request<pb::SubmitJobRequest>,
    ) -> Result<Response<pb::Job>, Status> {
        authorize(&req, Role::Operate)?;
        let r = req.into_inner();
        let kind = JobKind::parse(&r.kind)
            .ok_or_else(|| Status::invalid_argument(format!("unknown job kind {:?}", r.kind)))?;
        let target = match (r.device.is_empty(), r.pool.is_empty()) {
            (false, _) => Target::Device(r.device.clone()),
            (true, false) => Target::Pool(r.pool.clone()),
            (true, true) if kind == JobKind::Verify => Target::Pool(String::new()),
            (true, true) => {
                return Err(Status::invalid_argument("give a pool or a device"));
            }
        };
        let set = if matches!(kind, JobKind::Verify | JobKind::Duplicate) {
            Some(
                uuid::Uuid::parse_str(&r.set_uuid)
                    .map_err(|e| Status::invalid_argument(format!("set uuid: {e}")))?,
            )
        } else {
            None
        };
        let need_barcode = || {
            if r.barcode.is_empty() {
                Err(Status::invalid_argument(format!(
                    "a {} job needs a barcode",
                    kind.as_str()
                )))
            } else {
                Ok(r.barcode.clone())
            }
        };
        let (priority, attempts) = (r.priority, r.max_attempts);
        let id = match kind {
            JobKind::Backup | JobKind::Restore => {
                return Err(Status::invalid_argument(
                    "backups and restores carry data: use the Data service (reelctl jobs backup/restore)",
                ));
            }
            JobKind::Duplicate => {
                let set =
                    set.ok_or_else(|| Status::invalid_argument("a duplicate job needs a set"))?;
                let Target::Pool(pool) = target else {
                    return Err(Status::invalid_argument(
                        "a duplicate job names its target pool",
                    ));
                };
                let media_set = Some(r.media_set.clone()).filter(|m| !m.is_empty());
                self.d
                    .sched(move |s| {
                        crate::jobs::duplicate::submit_duplicate(
                            s,
                            set,
                            &pool,
                            media_set.as_deref(),
                            attempts.max(1),
                        )
                    })
                    .await?
            }
            JobKind::Label | JobKind::Erase => {
                let (bc, force) = (need_barcode()?, r.force);
                self.d
                    .sched(move |s| {
                        if kind == JobKind::Label {
                            ops::submit_label(s, target, &bc, force)
                        } else {
                            ops::submit_erase(s, target, &bc, force)
                        }
                    })
                    .await?
            }
            JobKind::Verify => {
                let set =
                    set.ok_or_else(|| Status::invalid_argument("a verify job needs a set"))?;
                self.d.sched(move |s| ops::submit_verify(s, set)).await?
            }
            JobKind::Clean => {
                let Target::Device(drive) = target else {
                    return Err(Status::invalid_argument("a clean job names its drive"));
                };
                self.d.sched(move |s| ops::submit_clean(s, &drive)).await?
            }
            JobKind::Inventory => {
                let mut spec = JobSpec::new(kind, target, MediaNeed::None).priority(priority);
                if attempts > 0 {
                    spec = spec.max_attempts(attempts);
                }
                self.d.sched(move |s| s.submit(&spec, unix_now())).await?
            }
        };
        self.d.poke.notify_one();
        Ok(Response::new(self.job(id).await?))
    }

    async fn list_jobs(&self, req: Request<pb::Empty>) -> Result<Response<pb::JobList>, Status> {
        authorize_any(&req, &[Role::Read, Role::Audit])?;
        let jobs = self.d.sched(|s| s.jobs()).await?;
        Ok(Response::new(pb::JobList {
            jobs: jobs.iter().map(convert::job).collect(),
        }))
    }

    async fn get_job(&self, req: Request<pb::JobRef>) -> Result<Response<pb::JobDetail>, Status> {
        authorize_any(&req, &[Role::Read, Role::Audit])?;
        let id = req.into_inner().id;
        let (job, events) = self
            .d
            .sched(move |s| Ok::<_, DaemonError>((s.job(id)?, s.events(id)?)))
            .await?;
        Ok(Response::new(pb::JobDetail {
            job: Some(convert::job(&job)),
            events: events.iter().map(convert::event).collect(),
        }))
    }

    type WatchJobStream = Pin<Box<dyn Stream<Item = Result<pb::Job, Status>> + Send>>;

    async fn watch_job(
        &self,
        req: Request<pb::JobRef>,
    ) -> Result<Response<Self::WatchJobStream>, Status> {
        authorize(&req, Role::Read)?;
        let id = req.into_inner().id;
        let first = self.job(id).await?;
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let api = self.clone();
        tokio::spawn(async move {
            let mut last = first;
            if tx.send(Ok(last.clone())).await.is_err() {
                return;
            }
            while !matches!(last.state.as_str(), "completed" | "failed" | "cancelled") {
                tokio::time::sleep(WATCH_POLL).await;
                let now = match api.job(id).await {
                    Ok(j) => j,
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                };
                if now != last {
                    if tx.send(Ok(now.clone())).await.is_err() {
                        return;
                    }
                    last = now;
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }

    async fn pause_job(&self, req: Request<pb::JobRef>) -> Result<Response<pb::Job>, Status> {
        authorize(&req, Role::Operate)?;
        let id = req.into_inner().id;
        self.d.sched(move |s| s.pause(id, unix_now())).await?;
        Ok(Response::new(self.job(id).await?))
    }

    async fn resume_job(&self, req: Request<pb::JobRef>) -> Result<Response<pb::Job>, Status> {
        authorize(&req, Role::Operate)?;
        let id = req.into_inner().id;
        self.d.sched(move |s| s.resume(id, unix_now())).await?;
        self.d.poke.notify_one();
        Ok(Response::new(self.job(id).await?))
    }

    async fn cancel_job(&self, req: Request<pb::JobRef>) -> Result<Response<pb::Job>, Status> {
        authorize(&req, Role::Operate)?;
        let id = req.into_inner().id;
        self.d.sched(move |s| s.cancel(id, unix_now())).await?;
        self.d.poke.notify_one();
        Ok(Response::new(self.job(id).await?))
    }
}

//! Media and Pools services.

use tonic::{Request, Response, Status};

use super::{Api, convert, pb};
use crate::auth::{Role, authorize};
use crate::db;
use crate::server::DaemonError;

#[tonic::async_trait]
impl pb::media_server::Media for Api {
    async fn list_media(&self, req: Request<pb::Empty>) -> Result<Response<pb::MediaList>, Status> {
        authorize(&req, Role::Read)?;
        let media = self
            .d
            .sched(|s| db::media::list_media(s.db().conn()))
            .await?;
        Ok(Response::new(pb::MediaList {
            media: media.iter().map(convert::cartridge).collect(),
        }))
    }

    async fn list_media_sets(
        &self,
        req: Request<pb::Empty>,
    ) -> Result<Response<pb::MediaSetList>, Status> {
        authorize(&req, Role::Read)?;
        let sets = self
            .d
            .sched(|s| {
                let c = s.db().conn();
                let mut st = c.prepare("SELECT name FROM media_sets ORDER BY name")?;
                let names: Vec<String> =
                    st.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
                names
                    .iter()
                    .map(|n| db::media::get_media_set(c, n).map_err(DaemonError::from))
                    .collect::<Result<Vec<_>, DaemonError>>()
            })
            .await?;
        Ok(Response::new(pb::MediaSetList {
            sets: sets.iter().map(convert::media_set).collect(),
        }))
    }

    async fn create_media_set(
        &self,
        req: Request<pb::MediaSet>,
    ) -> Result<Response<pb::MediaSet>, Status> {
        authorize(&req, Role::Configure)?;
        let r = req.into_inner();
        if r.append_secs < 0 || r.protect_secs < 0 {
            return Err(Status::invalid_argument("periods are not negative"));
        }
        let m = r.clone();
        self.d
            .sched(move |s| {
                s.db_mut().write(|c| {
                    let ty = Some(m.media_type.as_str()).filter(|t| !t.is_empty());
                    crate::media::manager::create_set(c, &m.name, ty, m.append_secs, m.protect_secs)
                        .map_err(DaemonError::from)
                })
            })
            .await?;
        Ok(Response::new(r))
    }
}

#[tonic::async_trait]
impl pb::pools_server::Pools for Api {
    async fn list_pools(&self, req: Request<pb::Empty>) -> Result<Response<pb::PoolList>, Status> {
        authorize(&req, Role::Read)?;
        let pools = self
            .d
            .sched(|s| {
                let c = s.db().conn();
                let mut v = Vec::new();
                for (name, kind, reason) in db::devices::list_pools_with_reason(c)? {
                    let members = db::devices::pool_members(c, &name)?
                        .into_iter()
                        .map(|m| m.id)
                        .collect();
                    v.push(pb::Pool {
                        name,
                        kind: kind.as_str().into(),
                        members,
                        waiting: reason.unwrap_or_default(),
                    });
                }
                Ok::<_, DaemonError>(v)
            })
            .await?;
        Ok(Response::new(pb::PoolList { pools }))
    }

    async fn create_pool(
        &self,
        req: Request<pb::CreatePoolRequest>,
    ) -> Result<Response<pb::Pool>, Status> {
        authorize(&req, Role::Configure)?;
        let r = req.into_inner();
        let (name, members) = (r.name.clone(), r.members.clone());
        let kind = self
            .d
            .sched(move |s| {
                let m: Vec<&str> = members.iter().map(String::as_str).collect();
                s.create_pool(&name, &m)?;
                Ok::<_, DaemonError>(db::devices::pool_kind(s.db().conn(), &name)?)
            })
            .await?;
        Ok(Response::new(pb::Pool {
            name: r.name,
            kind: kind.as_str().into(),
            members: r.members,
            waiting: String::new(),
        }))
    }
}

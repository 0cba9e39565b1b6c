//! Data service: backup (client stream in) and restore (server stream
//! out), run by the job executors ([`crate::server::stream`]).

use std::pin::Pin;

use bytes::Bytes;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

use super::{Api, pb};
use crate::auth::{Role, authorize};
use crate::server::stream::{self, BackupRequest};

#[tonic::async_trait]
impl pb::data_server::Data for Api {
    async fn backup(
        &self,
        req: Request<Streaming<pb::BackupMessage>>,
    ) -> Result<Response<pb::BackupReply>, Status> {
        authorize(&req, Role::Write)?;
        let mut input = req.into_inner();
        let header = match input.next().await {
            Some(Ok(pb::BackupMessage {
                msg: Some(pb::backup_message::Msg::Header(h)),
            })) => h,
            Some(Err(e)) => return Err(e),
            _ => {
                return Err(Status::invalid_argument(
                    "the first message must be the header",
                ));
            }
        };
        if header.pool.is_empty() {
            return Err(Status::invalid_argument("the header names no pool"));
        }
        let req = BackupRequest {
            pool: header.pool,
            media_set: if header.media_set.is_empty() {
                "default".into()
            } else {
                header.media_set
            },
            priority: header.priority,
            bytes_total: Some(header.bytes_total).filter(|b| *b > 0),
        };
        let data = input.map(|m| match m {
            Ok(pb::BackupMessage {
                msg: Some(pb::backup_message::Msg::Data(b)),
            }) => Ok(b),
            Ok(_) => Err(Status::invalid_argument("only data may follow the header")),
            Err(e) => Err(e),
        });
        // Its own task: a client that disconnects ends the stream with an
        // error, and the job still ends cleanly (cartridge unloaded).
        let d = self.d.clone();
        let out = tokio::spawn(async move { stream::backup(&d, req, Box::pin(data)).await })
            .await
            .map_err(|e| Status::internal(format!("backup task: {e}")))??;
        Ok(Response::new(pb::BackupReply {
            job: out.job,
            set_uuid: out.set.to_string(),
            bytes: out.bytes,
            cartridges: out.cartridges,
            device: out.device,
        }))
    }

    type RestoreStream = Pin<Box<dyn Stream<Item = Result<pb::DataChunk, Status>> + Send>>;

    async fn restore(
        &self,
        req: Request<pb::RestoreRequest>,
    ) -> Result<Response<Self::RestoreStream>, Status> {
        authorize(&req, Role::Read)?;
        let r = req.into_inner();
        let set = uuid::Uuid::parse_str(&r.set_uuid)
            .map_err(|e| Status::invalid_argument(format!("set uuid: {e}")))?;
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, Status>>(8);
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let d = self.d.clone();
        let pool = Some(r.pool).filter(|p| !p.is_empty());
        tokio::spawn(async move {
            // Errors after the start already went into the stream.
            let _ = stream::restore(&d, set, pool, r.priority, tx, started_tx).await;
        });
        // The job id goes with the first chunk; errors before the job
        // exists (unknown or incomplete set) come back as the call's status.
        let job = match started_rx.await {
            Ok(j) => j,
            Err(_) => {
                let mut rx = rx;
                return Err(match rx.recv().await {
                    Some(Err(e)) => e,
                    _ => Status::internal("restore ended before it started"),
                });
            }
        };
        let mut first = true;
        let stream = tokio_stream::wrappers::ReceiverStream::new(rx).map(move |c| {
            c.map(|data| {
                let j = if first { job } else { 0 };
                first = false;
                pb::DataChunk { data, job: j }
            })
        });
        Ok(Response::new(Box::pin(stream)))
    }
}

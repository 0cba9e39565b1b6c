//! The gRPC services of reeld (`proto/reel.proto`). Every handler first
//! checks the caller's role ([`crate::auth::authorize`]); the work itself
//! runs on the scheduler's blocking threads or the device threads.
//!
//! - [`host`] holds Host and Enrollment;
//! - [`devices`] holds Devices and Libraries;
//! - [`media`] holds Media and Pools;
//! - [`jobs`] holds Jobs;
//! - [`data`] holds backup and restore streams;
//! - [`alerts`] holds Alerts;
//! - [`lab`] holds Lab (fault injection into embedded VTL drives);
//! - [`convert`] holds domain types to messages.

pub mod alerts;
pub mod convert;
pub mod data;
pub mod devices;
pub mod host;
pub mod jobs;
pub mod lab;
pub mod media;
pub mod pb;

use std::sync::Arc;

use tonic::transport::Server;
use tonic::transport::server::Router;

use crate::server::Daemon;

/// The service implementation shared by every service.
#[derive(Clone)]
pub struct Api {
    pub d: Arc<Daemon>,
}

/// Largest message (a backup chunk plus framing).
pub const MAX_MESSAGE: usize = 8 << 20;

/// HTTP/2 flow-control windows of both ends. The protocol's default of
/// 64 KiB lets a sender have one such window in flight before it waits
/// for the receiver's update: a data stream then crawls at tens of MB/s
/// even on loopback. A few 1 MiB messages in flight keep it moving.
pub const STREAM_WINDOW: u32 = 8 << 20;
pub const CONNECTION_WINDOW: u32 = 16 << 20;
/// Largest HTTP/2 frame the daemon accepts: a 1 MiB data message in a
/// few frames instead of 64 of the default 16 KiB.
pub const MAX_FRAME: u32 = 1 << 20;

/// Adds every service to `server`.
pub fn router(mut server: Server, d: Arc<Daemon>) -> Router {
    let a = Api { d };
    server
        .add_service(pb::host_server::HostServer::new(a.clone()))
        .add_service(pb::enrollment_server::EnrollmentServer::new(a.clone()))
        .add_service(pb::devices_server::DevicesServer::new(a.clone()))
        .add_service(pb::libraries_server::LibrariesServer::new(a.clone()))
        .add_service(pb::media_server::MediaServer::new(a.clone()))
        .add_service(pb::pools_server::PoolsServer::new(a.clone()))
        .add_service(pb::jobs_server::JobsServer::new(a.clone()))
        .add_service(pb::alerts_server::AlertsServer::new(a.clone()))
        .add_service(pb::lab_server::LabServer::new(a.clone()))
        .add_service(
            pb::data_server::DataServer::new(a)
                .max_decoding_message_size(MAX_MESSAGE)
                .max_encoding_message_size(MAX_MESSAGE),
        )
}

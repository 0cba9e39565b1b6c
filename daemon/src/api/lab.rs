//! Lab service: fault injection into the drives of an embedded VTL, so a
//! hardware lab or an end-to-end test can make a drive fail while the
//! daemon runs a job on it. Only drives of a VTL the daemon itself opened
//! are accepted; anything else is refused with the reason.

use std::sync::Arc;

use reel_vtl::drive::faults::Faults;
use reel_vtl::library::VirtualLibrary;
use tonic::{Request, Response, Status};

use super::{Api, pb};
use crate::auth::{Role, authorize};
use crate::server::Daemon;

/// Parses the `Faults` JSON of a request; the message says what is wrong.
pub fn parse_faults(json: &str) -> Result<Faults, String> {
    serde_json::from_str(json).map_err(|e| format!("drive faults JSON: {e}"))
}

/// Splits a drive id `LIB/driveN` into the library id and the drive's
/// index in it.
pub fn split_drive_id(id: &str) -> Option<(&str, usize)> {
    let (lib, drive) = id.rsplit_once('/')?;
    let n = drive.strip_prefix("drive")?;
    // "drive01" is not how the daemon names drives.
    if lib.is_empty() || n.is_empty() || (n.len() > 1 && n.starts_with('0')) {
        return None;
    }
    Some((lib, n.parse().ok()?))
}

/// The embedded VTL of library `id`, if the daemon has one by that id.
fn vtl<'a>(d: &'a Daemon, id: &str) -> Option<&'a VirtualLibrary> {
    d.vtls.iter().find(|(l, _)| l == id).map(|(_, v)| v)
}

/// Runs `f` on the faults of the VTL drive behind device `id` (on a
/// blocking thread: the VTL saves its state to disk afterwards).
async fn on_vtl_drive(
    d: &Arc<Daemon>,
    id: String,
    f: impl FnOnce(&mut Faults) + Send + 'static,
) -> Result<(), Status> {
    let d = d.clone();
    tokio::task::spawn_blocking(move || {
        let refused = || {
            Status::failed_precondition(format!(
                "{id} is not a drive of an embedded VTL: faults can only be injected there"
            ))
        };
        let (lib, index) = split_drive_id(&id).ok_or_else(refused)?;
        let v = vtl(&d, lib).ok_or_else(refused)?;
        if index >= v.drive_count() {
            return Err(Status::not_found(format!(
                "{id}: library {lib} has {} drives",
                v.drive_count()
            )));
        }
        v.with_drive(index, |dr| f(dr.faults_mut()))
            .map_err(|e| Status::internal(format!("{id}: {e}")))
    })
    .await
    .map_err(|e| Status::internal(format!("lab task: {e}")))?
}

#[tonic::async_trait]
impl pb::lab_server::Lab for Api {
    async fn set_drive_faults(
        &self,
        req: Request<pb::DriveFaults>,
    ) -> Result<Response<pb::Empty>, Status> {
        authorize(&req, Role::Configure)?;
        let r = req.into_inner();
        let faults = parse_faults(&r.faults_json).map_err(Status::invalid_argument)?;
        let (device, shown) = (r.device.clone(), format!("{faults:?}"));
        on_vtl_drive(&self.d, r.device, move |f| *f = faults).await?;
        tracing::warn!(%device, faults = %shown, "lab: drive faults armed");
        Ok(Response::new(pb::Empty {}))
    }

    async fn clear_drive_faults(
        &self,
        req: Request<pb::LabDevice>,
    ) -> Result<Response<pb::Empty>, Status> {
        authorize(&req, Role::Configure)?;
        let r = req.into_inner();
        let device = r.device.clone();
        on_vtl_drive(&self.d, r.device, |f| *f = Faults::default()).await?;
        tracing::warn!(%device, "lab: drive faults cleared");
        Ok(Response::new(pb::Empty {}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_json_parses_and_bad_json_is_explained() {
        let f = parse_faults(r#"{"hardware_error":[68,0]}"#).unwrap();
        assert_eq!(f.hardware_error, Some((0x44, 0)));
        assert_eq!(f.write_error_at.len(), 0);
        let f = parse_faults(r#"{"write_error_at":[3,9],"load_delay":250}"#).unwrap();
        assert_eq!(f.write_error_at.into_iter().collect::<Vec<_>>(), [3, 9]);
        assert_eq!(f.load_delay, std::time::Duration::from_millis(250));
        let e = parse_faults(r#"{"hardware_error":"boom"}"#).unwrap_err();
        assert!(e.starts_with("drive faults JSON:"), "{e}");
        assert!(parse_faults("{").is_err());
    }

    #[test]
    fn drive_ids_split_into_library_and_index() {
        assert_eq!(split_drive_id("lib1/drive0"), Some(("lib1", 0)));
        assert_eq!(split_drive_id("a/b/drive12"), Some(("a/b", 12)));
        for bad in [
            "disk0",
            "lib1/drive",
            "/drive0",
            "lib1/drive01",
            "lib1/drivex",
            "lib1/changer",
        ] {
            assert_eq!(split_drive_id(bad), None, "{bad}");
        }
    }
}

//! Devices and Libraries services.

use std::collections::HashMap;

use reel_changer::{ElementStatus, ElementType};
use tonic::{Request, Response, Status};

use super::{Api, convert, pb};
use crate::auth::{Role, authorize};
use crate::db::{self, unix_now};
use crate::devices::DeviceInfo;
use crate::jobs::store;
use crate::scheduler::device::{Device, DeviceKind, Health};
use crate::scheduler::lease::Resource;
use crate::server::DaemonError;
use crate::server::dispatch;

fn element(e: &ElementStatus, number: u32) -> pb::Element {
    pb::Element {
        address: u32::from(e.address),
        kind: match e.kind {
            ElementType::MediumTransport => "transport",
            ElementType::Storage => "slot",
            ElementType::ImportExport => "mail_slot",
            ElementType::DataTransfer => "drive",
        }
        .into(),
        full: e.full,
        barcode: e.barcode().unwrap_or_default(),
        source: e.source.map_or(0, u32::from),
        except: e.except,
        number,
    }
}

impl Api {
    /// Element status of library `id`, read through its changer's worker.
    async fn elements(&self, id: &str) -> Result<Vec<pb::Element>, Status> {
        let h = self.d.registry.worker(id).map_err(DaemonError::from)?;
        let els = h
            .for_job("element status")
            .run_changer_async(|l| -> Result<Vec<pb::Element>, DaemonError> {
                let inv = l.refresh()?;
                let mut v: Vec<pb::Element> =
                    inv.transports.iter().map(|e| element(e, 0)).collect();
                v.extend(
                    inv.drives
                        .iter()
                        .enumerate()
                        .map(|(i, e)| element(e, i as u32)),
                );
                let n = inv.slots.len();
                v.extend(
                    inv.slots
                        .iter()
                        .enumerate()
                        .map(|(i, e)| element(e, i as u32 + 1)),
                );
                v.extend(
                    inv.mail_slots
                        .iter()
                        .enumerate()
                        .map(|(i, e)| element(e, (n + i) as u32 + 1)),
                );
                Ok(v)
            })
            .await
            .map_err(DaemonError::from)??;
        Ok(els)
    }
}

/// A registry device with the scheduler's view of it.
fn device(
    info: &DeviceInfo,
    sched: Option<&Device>,
    pools: &HashMap<String, Vec<String>>,
    busy: &HashMap<String, i64>,
) -> pb::Device {
    pb::Device {
        id: info.id.clone(),
        kind: info.kind.as_str().into(),
        // The scheduler's health: it also knows "failed" (a device failed
        // under a job) until the operator brings the device back.
        health: sched.map_or(info.health(), |d| d.health).as_str().into(),
        vendor: info.vendor.clone(),
        product: info.model.clone(),
        serial: info.serial.clone().unwrap_or_default(),
        library: info.library.clone().unwrap_or_default(),
        generation: info.generation.map_or(0, u32::from),
        address: info.address.clone(),
        loaded: info.loaded.clone().unwrap_or_default(),
        pools: pools.get(&info.id).cloned().unwrap_or_default(),
        busy_job: busy.get(&info.id).copied().unwrap_or(0),
        state: info.state.as_str().into(),
        status: info.status_text(),
        alerts: info.alerts.iter().map(convert::device_alert).collect(),
    }
}

#[tonic::async_trait]
impl pb::devices_server::Devices for Api {
    async fn list_devices(
        &self,
        req: Request<pb::Empty>,
    ) -> Result<Response<pb::DeviceList>, Status> {
        authorize(&req, Role::Read)?;
        let (devs, pools, busy) = self
            .d
            .sched(|s| {
                let c = s.db().conn();
                let devs = db::devices::list_devices(c)?;
                let mut pools: HashMap<String, Vec<String>> = HashMap::new();
                for (p, _) in db::devices::list_pools(c)? {
                    for m in db::devices::pool_members(c, &p)? {
                        pools.entry(m.id).or_default().push(p.clone());
                    }
                }
                let mut busy = HashMap::new();
                for d in &devs {
                    if let Some(l) = db::leases::of_resource(c, &Resource::device(&d.id))?.first() {
                        busy.insert(d.id.clone(), l.job);
                    }
                }
                Ok::<_, DaemonError>((devs, pools, busy))
            })
            .await?;
        let devices = self
            .d
            .registry
            .devices()
            .iter()
            .map(|info| device(info, devs.iter().find(|d| d.id == info.id), &pools, &busy))
            .collect();
        Ok(Response::new(pb::DeviceList { devices }))
    }

    async fn rescan(&self, req: Request<pb::Empty>) -> Result<Response<pb::RescanReply>, Status> {
        authorize(&req, Role::Configure)?;
        let reg = self.d.registry.clone();
        // Opening devices blocks (INQUIRY, sysfs reads).
        let r = tokio::task::spawn_blocking(move || reg.rescan())
            .await
            .map_err(|e| Status::internal(format!("rescan task: {e}")))?
            .map_err(DaemonError::from)?;
        Ok(Response::new(pb::RescanReply {
            added: r.added,
            missing: r.missing,
            warnings: r.warnings,
        }))
    }

    async fn set_health(
        &self,
        req: Request<pb::SetHealthRequest>,
    ) -> Result<Response<pb::Device>, Status> {
        authorize(&req, Role::Operate)?;
        let r = req.into_inner();
        let down = match r.health.as_str() {
            "online" | "up" => false,
            "down" => true,
            other => {
                return Err(Status::invalid_argument(format!(
                    "health {other:?}: online (up) or down"
                )));
            }
        };
        let id = r.device.clone();
        self.d
            .registry
            .set_down(&id, down)
            .map_err(DaemonError::from)?;
        let (sid, reg) = (id.clone(), self.d.registry.clone());
        let dev = self
            .d
            .sched(move |s| {
                // Up: whatever the registry has seen last (a failed drive
                // comes back only if it answers); down: down. Read under
                // the scheduler's lock, where the registry's events are
                // applied too: the poll that `set_down` started may have
                // reported already, and an older reading must not
                // overwrite it.
                let h = match reg.device(&sid) {
                    _ if down => Health::Down,
                    Some(info) => info.health(),
                    None => Health::Offline,
                };
                s.set_health(&sid, h, unix_now())?;
                let word = if down {
                    "taken down"
                } else {
                    "brought back up"
                };
                s.db_mut().write(|c| {
                    store::add_alert(
                        c,
                        unix_now(),
                        None,
                        Some(&sid),
                        &format!("{sid} {word} by the operator"),
                    )
                })?;
                Ok::<_, DaemonError>(db::devices::get_device(s.db().conn(), &sid)?)
            })
            .await?;
        self.d.poke.notify_one();
        let info = self
            .d
            .registry
            .device(&id)
            .ok_or_else(|| Status::not_found(format!("device {id}")))?;
        Ok(Response::new(device(
            &info,
            Some(&dev),
            &HashMap::new(),
            &HashMap::new(),
        )))
    }
}

#[tonic::async_trait]
impl pb::libraries_server::Libraries for Api {
    async fn list_libraries(
        &self,
        req: Request<pb::Empty>,
    ) -> Result<Response<pb::LibraryList>, Status> {
        authorize(&req, Role::Read)?;
        let mut libraries = Vec::new();
        for info in self.d.registry.devices() {
            if info.kind != DeviceKind::Changer {
                continue;
            }
            let counts = match self.d.registry.worker(&info.id) {
                Ok(h) => h
                    .for_job("library list")
                    .run_changer_async(|l| {
                        let inv = l.inventory();
                        (inv.drives.len(), inv.slots.len(), inv.mail_slots.len())
                    })
                    .await
                    .ok(),
                Err(_) => None,
            };
            let (drives, slots, mail) = counts.unwrap_or_default();
            libraries.push(pb::Library {
                id: info.id.clone(),
                vendor: info.vendor.clone(),
                product: info.model.clone(),
                serial: info.serial.clone().unwrap_or_default(),
                drives: drives as u32,
                slots: slots as u32,
                mail_slots: mail as u32,
                address: info.address.clone(),
            });
        }
        Ok(Response::new(pb::LibraryList { libraries }))
    }
    async fn element_status(
        &self,
        req: Request<pb::LibraryRef>,
    ) -> Result<Response<pb::ElementStatusReply>, Status> {
        authorize(&req, Role::Read)?;
        let id = req.into_inner().library;
        let elements = self.elements(&id).await?;
        Ok(Response::new(pb::ElementStatusReply {
            library: id,
            elements,
        }))
    }

    async fn move_medium(
        &self,
        req: Request<pb::MoveRequest>,
    ) -> Result<Response<pb::ElementStatusReply>, Status> {
        authorize(&req, Role::Operate)?;
        let r = req.into_inner();
        let (from, to) = match (u16::try_from(r.from), u16::try_from(r.to)) {
            (Ok(f), Ok(t)) => (f, t),
            _ => return Err(Status::invalid_argument("element addresses are 16 bits")),
        };
        let before = self.elements(&r.library).await?;
        let src = before
            .iter()
            .find(|e| e.address == r.from)
            .ok_or_else(|| Status::invalid_argument(format!("no element {from:#x}")))?;
        if !src.barcode.is_empty() {
            let bc = src.barcode.clone();
            let holder = self
                .d
                .sched(move |s| db::leases::any_holder(s.db().conn(), &Resource::cartridge(&bc)))
                .await?;
            if let Some(job) = holder {
                return Err(Status::failed_precondition(format!(
                    "cartridge {} is leased by job {job}",
                    src.barcode
                )));
            }
        }
        let h = self
            .d
            .registry
            .worker(&r.library)
            .map_err(DaemonError::from)?;
        h.for_job("move medium")
            .run_changer_async(move |l| -> Result<(), DaemonError> {
                l.changer().move_medium(from, to, false)?;
                Ok(())
            })
            .await
            .map_err(DaemonError::from)??;
        let (d, lib) = (self.d.clone(), r.library.clone());
        tokio::task::spawn_blocking(move || dispatch::inventory(&d, &lib))
            .await
            .map_err(|e| Status::internal(format!("inventory: {e}")))??;
        let elements = self.elements(&r.library).await?;
        Ok(Response::new(pb::ElementStatusReply {
            library: r.library,
            elements,
        }))
    }
}

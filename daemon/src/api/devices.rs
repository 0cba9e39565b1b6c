//! Devices and Libraries services.

use std::collections::HashMap;

use reel_changer::{ElementStatus, ElementType};
use tonic::{Request, Response, Status};

use super::{Api, pb};
use crate::auth::{Role, authorize};
use crate::db::{self, unix_now};
use crate::scheduler::device::Health;
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
    /// Element status of library `id`, read through its changer thread.
    async fn elements(&self, id: &str) -> Result<Vec<pb::Element>, Status> {
        let lib = self
            .d
            .library(id)
            .ok_or_else(|| Status::not_found(format!("library {id}")))?;
        let els = lib
            .worker
            .run(|l| -> Result<Vec<pb::Element>, DaemonError> {
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
        let mut loaded: HashMap<String, String> = HashMap::new();
        for lib in &self.d.libraries {
            for e in self.elements(&lib.id).await? {
                if e.kind == "drive" && e.full {
                    loaded.insert(format!("{}/drive{}", lib.id, e.number), e.barcode);
                }
            }
        }
        let devices = devs
            .iter()
            .map(|dv| {
                let mut p = pb::Device {
                    id: dv.id.clone(),
                    kind: dv.kind.as_str().into(),
                    health: dv.health.as_str().into(),
                    library: dv.library.clone().unwrap_or_default(),
                    generation: dv.generation.map_or(0, u32::from),
                    pools: pools.get(&dv.id).cloned().unwrap_or_default(),
                    busy_job: busy.get(&dv.id).copied().unwrap_or(0),
                    loaded: loaded.get(&dv.id).cloned().unwrap_or_default(),
                    ..Default::default()
                };
                if let Some(h) = self.d.drive(&dv.id) {
                    p.vendor = h.vendor.clone();
                    p.product = h.product.clone();
                    p.serial = h.serial.clone();
                    p.address = h.address.clone();
                } else if let Some(l) = self.d.library(&dv.id) {
                    p.vendor = l.vendor.clone();
                    p.product = l.product.clone();
                    p.serial = l.serial.clone();
                    p.address = l.address.clone();
                } else if let Some(s) = self.d.stores.iter().find(|s| s.id == dv.id) {
                    p.address = s.path.display().to_string();
                }
                p
            })
            .collect();
        Ok(Response::new(pb::DeviceList { devices }))
    }

    async fn set_health(
        &self,
        req: Request<pb::SetHealthRequest>,
    ) -> Result<Response<pb::Device>, Status> {
        authorize(&req, Role::Operate)?;
        let r = req.into_inner();
        let h = match r.health.as_str() {
            "online" | "up" => Health::Online,
            "down" => Health::Down,
            other => {
                return Err(Status::invalid_argument(format!(
                    "health {other:?}: online (up) or down"
                )));
            }
        };
        let id = r.device.clone();
        let dev = self
            .d
            .sched(move |s| {
                s.set_health(&id, h, unix_now())?;
                Ok::<_, DaemonError>(db::devices::get_device(s.db().conn(), &id)?)
            })
            .await?;
        if h == Health::Down {
            self.d.alerts.raise(
                "info",
                &dev.id,
                0,
                format!("{} taken down by the operator", dev.id),
            );
        }
        self.d.poke.notify_one();
        Ok(Response::new(pb::Device {
            id: dev.id,
            kind: dev.kind.as_str().into(),
            health: dev.health.as_str().into(),
            library: dev.library.unwrap_or_default(),
            generation: dev.generation.map_or(0, u32::from),
            ..Default::default()
        }))
    }
}

#[tonic::async_trait]
impl pb::libraries_server::Libraries for Api {
    async fn list_libraries(
        &self,
        req: Request<pb::Empty>,
    ) -> Result<Response<pb::LibraryList>, Status> {
        authorize(&req, Role::Read)?;
        let libraries = self
            .d
            .libraries
            .iter()
            .map(|l| pb::Library {
                id: l.id.clone(),
                vendor: l.vendor.clone(),
                product: l.product.clone(),
                serial: l.serial.clone(),
                drives: l.drives,
                slots: l.slots,
                mail_slots: l.mail_slots,
                address: l.address.clone(),
            })
            .collect();
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
        let lib = self
            .d
            .library(&r.library)
            .ok_or_else(|| Status::not_found(format!("library {}", r.library)))?;
        lib.worker
            .run(move |l| -> Result<(), DaemonError> {
                l.changer().move_medium(from, to, false)?;
                Ok(())
            })
            .await
            .map_err(DaemonError::from)??;
        dispatch::inventory(&self.d, &r.library).await?;
        let elements = self.elements(&r.library).await?;
        Ok(Response::new(pb::ElementStatusReply {
            library: r.library,
            elements,
        }))
    }
}

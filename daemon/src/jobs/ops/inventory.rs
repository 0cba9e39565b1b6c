//! Inventory job: a fresh READ ELEMENT STATUS of one library, and the
//! catalog made to agree with it. New barcodes are imported (classified
//! by the barcode rules), known ones move to where the library shows them
//! (storage slot, mail slot, drive), and the catalog's cartridges of this
//! library the library no longer shows go offline.
//!
//! A cartridge leased by a job is left alone: the job moves it and
//! records its place itself, and an inventory racing with that move
//! would only write a stale location.

use std::collections::BTreeMap;

use rusqlite::Connection;

use super::OpOutcome;
use crate::db::{self, unix_now};
use crate::jobs::access::DeviceAccess;
use crate::jobs::{ExecError, ExecResult};
use crate::media::{Location, manager};
use crate::scheduler::Scheduler;
use crate::scheduler::device::DeviceKind;
use crate::scheduler::dispatch::Assignment;
use crate::scheduler::lease::Resource;

/// Where the library shows a cartridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    Slot(u16),
    MailSlot(u16),
    /// Drive number in the library (from 0).
    Drive(usize),
}

/// What an inventory changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct InventoryCounts {
    /// Cartridges the library shows.
    pub seen: usize,
    /// New in the catalog.
    pub imported: Vec<String>,
    /// Known, at another place now.
    pub moved: Vec<String>,
    /// In the catalog for this library, not shown any more: now offline.
    pub vanished: Vec<String>,
    /// Leased by a running job: left to it.
    pub busy: Vec<String>,
}

impl InventoryCounts {
    pub fn summary(&self, library: &str) -> String {
        format!(
            "library {library}: {} cartridges seen, {} imported, {} moved, {} offline, {} busy",
            self.seen,
            self.imported.len(),
            self.moved.len(),
            self.vanished.len(),
            self.busy.len()
        )
    }
}

/// Runs inventory job `a` (its device is the changer).
pub fn run<D: DeviceAccess>(
    sched: &mut Scheduler,
    devs: &D,
    a: &Assignment,
) -> ExecResult<OpOutcome> {
    let counts = inventory(sched, devs, &a.device)?;
    Ok(OpOutcome {
        summary: counts.summary(&a.device),
        bytes: 0,
    })
}

/// Takes the inventory of `library` and updates the catalog.
pub fn inventory<D: DeviceAccess>(
    sched: &mut Scheduler,
    devs: &D,
    library: &str,
) -> ExecResult<InventoryCounts> {
    let seen = devs
        .with_changer(library, |l| {
            let inv = l.refresh()?;
            let mut out = BTreeMap::new();
            let tagged = |e: &reel_changer::ElementStatus| e.barcode().filter(|_| e.full);
            for e in &inv.slots {
                if let Some(bc) = tagged(e) {
                    out.insert(bc, Seen::Slot(e.address));
                }
            }
            for e in &inv.mail_slots {
                if let Some(bc) = tagged(e) {
                    out.insert(bc, Seen::MailSlot(e.address));
                }
            }
            for (n, e) in inv.drives.iter().enumerate() {
                if let Some(bc) = tagged(e) {
                    out.insert(bc, Seen::Drive(n));
                }
            }
            Ok(out)
        })?
        .map_err(|source| ExecError::Changer {
            library: library.into(),
            source,
        })?;
    // Drive numbers → the drives' device ids.
    let mut drive_ids = BTreeMap::new();
    for d in db::devices::list_devices(sched.db().conn())? {
        if d.kind == DeviceKind::TapeDrive && d.library.as_deref() == Some(library) {
            match devs.drive_place(&d.id) {
                Ok((_, n)) => {
                    drive_ids.insert(n, d.id);
                }
                Err(e) => tracing::debug!(drive = %d.id, error = %e, "drive not placed"),
            }
        }
    }
    sched
        .db_mut()
        .write(|c| apply(c, library, &seen, &drive_ids, unix_now()))
}

/// The catalog side of an inventory (no I/O).
pub fn apply(
    c: &Connection,
    library: &str,
    seen: &BTreeMap<String, Seen>,
    drive_ids: &BTreeMap<usize, String>,
    now: i64,
) -> ExecResult<InventoryCounts> {
    let mut counts = InventoryCounts {
        seen: seen.len(),
        ..InventoryCounts::default()
    };
    let leased = |bc: &str| db::leases::any_holder(c, &Resource::cartridge(bc));
    for (bc, at) in seen {
        let loc = match *at {
            Seen::Slot(a) => Location::Slot {
                library: library.into(),
                element: u32::from(a),
            },
            Seen::MailSlot(a) => Location::MailSlot {
                library: library.into(),
                element: u32::from(a),
            },
            Seen::Drive(n) => match drive_ids.get(&n) {
                Some(id) => Location::Drive {
                    library: library.into(),
                    drive: id.clone(),
                },
                None => {
                    // A drive reel does not know (not registered): the
                    // cartridge is in the library but nowhere the
                    // catalog can name.
                    tracing::warn!(cartridge = %bc, drive = n, "cartridge in an unregistered drive");
                    continue;
                }
            },
        };
        match db::media::find_media(c, bc)? {
            None => {
                if let Err(e) = manager::import_barcode(c, bc, &loc, now) {
                    // A barcode reel cannot take (too long, not ASCII)
                    // must not stop the rest of the inventory.
                    tracing::warn!(cartridge = %bc, error = %e, "cartridge not imported");
                    continue;
                }
                counts.imported.push(bc.clone());
            }
            Some(m) if m.location == loc => {}
            Some(_) if leased(bc)?.is_some() => counts.busy.push(bc.clone()),
            Some(_) => {
                db::media::set_location(c, bc, &loc)?;
                counts.moved.push(bc.clone());
            }
        }
    }
    for m in db::media::list_media(c)? {
        if m.location.library() != Some(library) || seen.contains_key(&m.barcode) {
            continue;
        }
        if leased(&m.barcode)?.is_some() {
            counts.busy.push(m.barcode);
            continue;
        }
        db::media::set_location(c, &m.barcode, &Location::Offline)?;
        tracing::info!(cartridge = %m.barcode, library, "cartridge left the library");
        counts.vanished.push(m.barcode);
    }
    Ok(counts)
}

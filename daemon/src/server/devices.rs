//! The devices of the host: each library's changer and each tape drive
//! behind its own device thread ([`super::worker`]), with what INQUIRY and
//! the first inventory said about them.

use std::path::Path;

use reel_changer::{Changer, ChangerOptions, ElementStatus, InventoryOptions, Library};
use reel_drivers::tape::TapeDrive;
use reel_vtl::library::{VirtualLibrary, VtlChangerTransport, VtlTransport};

use super::DaemonError;
use super::config::LibrarySection;
use super::worker::Worker;

pub type ChangerDev = Library<VtlChangerTransport>;
pub type DriveDev = TapeDrive<VtlTransport>;

/// A library: its changer thread and what it is.
pub struct LibraryHandle {
    pub id: String,
    pub address: String,
    pub vendor: String,
    pub product: String,
    pub serial: String,
    pub drives: u32,
    pub slots: u32,
    pub mail_slots: u32,
    pub worker: Worker<ChangerDev>,
    /// Keeps the VTL directory open (and locked) for the daemon's life.
    pub vtl: VirtualLibrary,
}

/// A tape drive: its thread and what it is.
pub struct DriveHandle {
    pub id: String,
    pub library: String,
    /// Drive number in the library (0-based, changer order).
    pub index: usize,
    /// Element address of the drive in the changer.
    pub element: u16,
    pub address: String,
    pub vendor: String,
    pub product: String,
    pub serial: String,
    pub generation: u8,
    pub worker: Worker<DriveDev>,
}

/// Opens (creating the default when missing) the VTL of `sec`, takes its
/// inventory and starts one thread for the changer and one per drive.
pub fn open_vtl(
    data_dir: &Path,
    sec: &LibrarySection,
) -> Result<(LibraryHandle, Vec<DriveHandle>, Vec<ElementStatus>), DaemonError> {
    let dir = data_dir.join(&sec.vtl);
    let vtl = VirtualLibrary::open_or_create_default(&dir)?;
    let opts = ChangerOptions {
        // The daemon unloads a drive through its own thread before moving
        // the cartridge out.
        eject_before_move: false,
        ..ChangerOptions::default()
    };
    let mut changer = Changer::new(vtl.changer_transport(), opts);
    let inq = changer.inquiry()?;
    let serial = changer.serial().unwrap_or_default();
    let lib = Library::open(changer, InventoryOptions::default())?;
    let inv = lib.inventory().clone();
    let mut drives = Vec::new();
    for (n, el) in inv.drives.iter().enumerate() {
        if n >= vtl.drive_count() {
            break;
        }
        let mut d = TapeDrive::new(vtl.drive_transport(n)?);
        let ident = d.identify()?;
        let generation = vtl
            .spec()
            .drive
            .get(n)
            .and_then(|s| crate::media::generation_from_type(&s.generation))
            .unwrap_or(8);
        let id = format!("{}/drive{n}", sec.id);
        drives.push(DriveHandle {
            worker: Worker::spawn(&id, d)?,
            id,
            library: sec.id.clone(),
            index: n,
            element: el.address,
            address: format!("vtl:{}#drive{n}", dir.display()),
            vendor: ident.vendor,
            product: ident.product,
            serial: ident.serial.unwrap_or_default(),
            generation,
        });
    }
    let mut elements = inv.slots.clone();
    elements.extend(inv.mail_slots.iter().cloned());
    elements.extend(inv.drives.iter().cloned());
    let handle = LibraryHandle {
        id: sec.id.clone(),
        address: format!("vtl:{}#changer", dir.display()),
        vendor: inq.vendor,
        product: inq.product,
        serial,
        drives: inv.drives.len() as u32,
        slots: inv.slots.len() as u32,
        mail_slots: inv.mail_slots.len() as u32,
        worker: Worker::spawn(&sec.id, lib)?,
        vtl,
    };
    Ok((handle, drives, elements))
}

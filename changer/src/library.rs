//! The library model on top of [`Changer`]: slots numbered from 1 in
//! element order (storage slots, then import/export slots, as mtx numbers
//! them), drives numbered from 0; load, unload (back to the source slot when
//! known, else the first empty slot, as mtx does), transfer, exchange,
//! import/export through mail slots, cleaning with a CLN cartridge, and the
//! drive ↔ tape device match by serial number (field note A7).

use reel_drivers::scsi::error::ScsiError;
use reel_drivers::scsi::sense::SenseKey;
use reel_drivers::scsi::transport::ScsiTransport;
use reel_drivers::tape::drive::TapeDrive;

use crate::changer::{Changer, Inventory, InventoryOptions};
use crate::element_status::{DeviceIdentifier, ElementStatus, ElementType};
use crate::error::ChangerError;

/// Unloads a drive through its tape device before the library takes the
/// cartridge out (field note A6).
pub trait Ejector {
    fn eject(&mut self, drive: usize) -> Result<(), ChangerError>;
}

impl<F: FnMut(usize) -> Result<(), ChangerError>> Ejector for F {
    fn eject(&mut self, drive: usize) -> Result<(), ChangerError> {
        self(drive)
    }
}

/// The tape devices of some of the library's drives, by drive index.
pub struct TapeDevices<'a, T: ScsiTransport> {
    drives: Vec<(usize, &'a mut TapeDrive<T>)>,
}

impl<T: ScsiTransport> Default for TapeDevices<'_, T> {
    fn default() -> Self {
        TapeDevices { drives: Vec::new() }
    }
}

impl<'a, T: ScsiTransport> TapeDevices<'a, T> {
    pub fn new() -> Self {
        Self::default()
    }

    /// `tape` is the device of the library's drive `drive`.
    pub fn with(mut self, drive: usize, tape: &'a mut TapeDrive<T>) -> Self {
        self.drives.push((drive, tape));
        self
    }
}

impl<T: ScsiTransport> Ejector for TapeDevices<'_, T> {
    fn eject(&mut self, drive: usize) -> Result<(), ChangerError> {
        let Some((_, tape)) = self.drives.iter_mut().find(|(d, _)| *d == drive) else {
            return Err(ChangerError::NoEjector { drive });
        };
        eject_tape(tape, drive)
    }
}

/// UNLOAD through the tape device; a drive without a medium (NOT READY
/// 3Ah) has nothing to eject.
pub fn eject_tape<T: ScsiTransport>(
    tape: &mut TapeDrive<T>,
    drive: usize,
) -> Result<(), ChangerError> {
    match tape.unload() {
        Ok(()) => Ok(()),
        Err(e) if no_medium(&e) => Ok(()),
        Err(source) => Err(ChangerError::Eject {
            drive,
            source: Box::new(source),
        }),
    }
}

fn no_medium(e: &ScsiError) -> bool {
    e.sense()
        .is_some_and(|s| s.key == SenseKey::NotReady && s.asc == 0x3a)
}

/// VPD 80h unit serial of a tape device, to match it to a drive element.
pub fn tape_serial<T: ScsiTransport>(tape: &mut TapeDrive<T>) -> Result<Option<String>, ScsiError> {
    Ok(tape.identify()?.serial)
}

/// Where a cartridge is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// Slot number (from 1; mail slots after storage slots).
    Slot(usize),
    /// Drive number (from 0).
    Drive(usize),
}

/// A drive of the library and the tape device that is it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriveMatch {
    pub drive: usize,
    pub element: u16,
    /// The drive's DVCID identifier, as text.
    pub identifier: Option<String>,
    /// The tape device whose serial matches.
    pub device: Option<String>,
}

/// True when the DVCID identifier of a drive element names the unit whose
/// VPD 80h serial is `serial`: equal, or (T10 vendor ID format: vendor,
/// product, serial) ending in it.
pub fn identifier_matches(id: &DeviceIdentifier, serial: &str) -> bool {
    let serial = serial.trim();
    if serial.is_empty() || !matches!(id.code_set, 2 | 3) {
        return false;
    }
    let text = id.value_string();
    if text == serial {
        return true;
    }
    // T10 vendor ID: 8 bytes vendor, 16 bytes product, then the serial.
    if id.identifier_type == 1 {
        if let Some(tail) = id.value.get(24..)
            && String::from_utf8_lossy(tail).trim() == serial
        {
            return true;
        }
        return text
            .strip_suffix(serial)
            .is_some_and(|head| head.ends_with(' '));
    }
    false
}

/// Matches each drive of `inv` to one of `devices` (`(device name, VPD 80h
/// serial)`), so a caller can say "the drive that is /dev/nst1".
pub fn match_drives<N: AsRef<str>, S: AsRef<str>>(
    inv: &Inventory,
    devices: &[(N, S)],
) -> Vec<DriveMatch> {
    inv.drives
        .iter()
        .enumerate()
        .map(|(i, d)| DriveMatch {
            drive: i,
            element: d.address,
            identifier: d.identifier.as_ref().map(DeviceIdentifier::value_string),
            device: d.identifier.as_ref().and_then(|id| {
                devices
                    .iter()
                    .find(|(_, s)| identifier_matches(id, s.as_ref()))
                    .map(|(n, _)| n.as_ref().to_owned())
            }),
        })
        .collect()
}

/// The drive number of tape device `device`, by serial.
pub fn drive_of_device<N: AsRef<str>, S: AsRef<str>>(
    inv: &Inventory,
    devices: &[(N, S)],
    device: &str,
) -> Option<usize> {
    match_drives(inv, devices)
        .into_iter()
        .find(|m| m.device.as_deref() == Some(device))
        .map(|m| m.drive)
}

/// A library: a changer and its last inventory, kept up to date by the
/// moves made through it.
pub struct Library<T: ScsiTransport> {
    changer: Changer<T>,
    opts: InventoryOptions,
    inv: Inventory,
}

impl<T: ScsiTransport> Library<T> {
    /// Takes the inventory.
    pub fn open(mut changer: Changer<T>, opts: InventoryOptions) -> Result<Self, ChangerError> {
        let inv = changer.inventory(&opts)?;
        Ok(Library { changer, opts, inv })
    }

    pub fn changer(&mut self) -> &mut Changer<T> {
        &mut self.changer
    }

    pub fn into_changer(self) -> Changer<T> {
        self.changer
    }

    pub fn inventory(&self) -> &Inventory {
        &self.inv
    }

    pub fn refresh(&mut self) -> Result<&Inventory, ChangerError> {
        self.inv = self.changer.inventory(&self.opts)?;
        Ok(&self.inv)
    }

    /// Storage plus import/export slots.
    pub fn slot_count(&self) -> usize {
        self.inv.slots.len() + self.inv.mail_slots.len()
    }

    pub fn drive_count(&self) -> usize {
        self.inv.drives.len()
    }

    /// Slot `n` (from 1): storage slots first, then mail slots.
    pub fn slot(&self, n: usize) -> Result<&ElementStatus, ChangerError> {
        let s = self.inv.slots.len();
        let err = || ChangerError::NoSuchSlot {
            slot: n,
            slots: self.slot_count(),
        };
        match n {
            0 => Err(err()),
            n if n <= s => Ok(&self.inv.slots[n - 1]),
            n => self.inv.mail_slots.get(n - 1 - s).ok_or_else(err),
        }
    }

    pub fn is_mail_slot(&self, n: usize) -> bool {
        n > self.inv.slots.len() && n <= self.slot_count()
    }

    /// Numbers of the import/export slots.
    pub fn mail_slot_numbers(&self) -> std::ops::RangeInclusive<usize> {
        self.inv.slots.len() + 1..=self.slot_count()
    }

    pub fn drive(&self, n: usize) -> Result<&ElementStatus, ChangerError> {
        self.inv.drives.get(n).ok_or(ChangerError::NoSuchDrive {
            drive: n,
            drives: self.inv.drives.len(),
        })
    }

    /// The slot number of a storage or import/export element address.
    pub fn slot_number(&self, address: u16) -> Option<usize> {
        if let Some(i) = self.inv.slots.iter().position(|e| e.address == address) {
            return Some(i + 1);
        }
        self.inv
            .mail_slots
            .iter()
            .position(|e| e.address == address)
            .map(|i| self.inv.slots.len() + i + 1)
    }

    pub fn drive_number(&self, address: u16) -> Option<usize> {
        self.inv.drives.iter().position(|e| e.address == address)
    }

    /// Where the cartridge with this primary volume tag is.
    pub fn find_barcode(&self, label: &str) -> Option<Location> {
        let is = |e: &ElementStatus| e.full && e.barcode().as_deref() == Some(label);
        if let Some(d) = self.inv.drives.iter().position(is) {
            return Some(Location::Drive(d));
        }
        (1..=self.slot_count())
            .find(|&n| self.slot(n).is_ok_and(is))
            .map(Location::Slot)
    }

    /// Translates element addresses in changer errors into slot and drive
    /// numbers.
    fn name(&self, e: ChangerError) -> ChangerError {
        let (element, full) = match &e {
            ChangerError::DestinationFull { element, .. } => (*element, true),
            ChangerError::SourceEmpty { element, .. } => (*element, false),
            _ => return e,
        };
        if let Some(slot) = self.slot_number(element) {
            return if full {
                ChangerError::SlotFull { slot, element }
            } else {
                ChangerError::SlotEmpty { slot, element }
            };
        }
        if let Some(drive) = self.drive_number(element) {
            return if full {
                ChangerError::DriveFull { drive, element }
            } else {
                ChangerError::DriveEmpty { drive, element }
            };
        }
        e
    }

    /// MOVE MEDIUM and the matching update of the kept inventory.
    fn do_move(&mut self, src: u16, dst: u16) -> Result<(), ChangerError> {
        self.changer
            .move_medium(src, dst, false)
            .map_err(|e| self.name(e))?;
        self.apply_move(src, dst);
        Ok(())
    }

    fn apply_move(&mut self, src: u16, dst: u16) {
        let Some(from) = self.inv.find(src).cloned() else {
            return;
        };
        let home = match from.kind {
            ElementType::Storage | ElementType::ImportExport => Some(from.address),
            _ => from.source,
        };
        if let Some(s) = self.inv.find_mut(src) {
            s.full = false;
            s.primary_tag = None;
            s.alternate_tag = None;
            s.source = None;
        }
        if let Some(d) = self.inv.find_mut(dst) {
            d.full = true;
            d.primary_tag = from.primary_tag;
            d.alternate_tag = from.alternate_tag;
            d.medium_type = from.medium_type;
            d.source = home;
        }
    }

    fn eject_if_needed(
        &mut self,
        drive: usize,
        ejector: Option<&mut dyn Ejector>,
    ) -> Result<(), ChangerError> {
        if !self.changer.options().eject_before_move {
            return Ok(());
        }
        match ejector {
            Some(j) => j.eject(drive),
            None => Err(ChangerError::NoEjector { drive }),
        }
    }

    /// Loads the cartridge of slot `slot` into drive `drive`.
    pub fn load(&mut self, slot: usize, drive: usize) -> Result<(), ChangerError> {
        let src = self.slot(slot)?.address;
        let dst = self.drive(drive)?.address;
        self.do_move(src, dst)
    }

    /// Unloads drive `drive` into `slot`, or else into the slot the
    /// cartridge came from when that is known and empty, or else into the
    /// first empty storage slot (as mtx does). Returns the slot number.
    pub fn unload(
        &mut self,
        drive: usize,
        slot: Option<usize>,
        ejector: Option<&mut dyn Ejector>,
    ) -> Result<usize, ChangerError> {
        let d = self.drive(drive)?;
        let (src, home) = (d.address, d.source);
        if !d.full {
            return Err(ChangerError::DriveEmpty {
                drive,
                element: src,
            });
        }
        let slot = match slot {
            Some(n) => {
                self.slot(n)?;
                n
            }
            None => home
                .and_then(|a| self.slot_number(a))
                .filter(|&n| self.slot(n).is_ok_and(|e| !e.full))
                .or_else(|| self.inv.slots.iter().position(|e| !e.full).map(|i| i + 1))
                .ok_or(ChangerError::NoEmptySlot {
                    what: "storage slot",
                })?,
        };
        let dst = self.slot(slot)?.address;
        self.eject_if_needed(drive, ejector)?;
        self.do_move(src, dst)?;
        Ok(slot)
    }

    /// Moves a cartridge from slot `from` to slot `to`.
    pub fn transfer(&mut self, from: usize, to: usize) -> Result<(), ChangerError> {
        let src = self.slot(from)?.address;
        let dst = self.slot(to)?.address;
        self.do_move(src, dst)
    }

    /// EXCHANGE MEDIUM between slots: `a` goes to `b` and `b`'s cartridge to
    /// `c` (to `a` when `c` is `None`: a swap).
    pub fn exchange(&mut self, a: usize, b: usize, c: Option<usize>) -> Result<(), ChangerError> {
        let src = self.slot(a)?.address;
        let d1 = self.slot(b)?.address;
        let d2 = self.slot(c.unwrap_or(a))?.address;
        self.changer
            .exchange_medium(src, d1, d2, false, false)
            .map_err(|e| self.name(e))?;
        // First b → c, then a → b (for a swap c == a: the order matters).
        let b_el = self.inv.find(d1).cloned();
        self.apply_move(src, d1);
        if let (Some(b_el), Some(target)) = (b_el, self.inv.find_mut(d2)) {
            target.full = b_el.full;
            target.primary_tag = b_el.primary_tag;
            target.alternate_tag = b_el.alternate_tag;
            target.medium_type = b_el.medium_type;
            target.source = Some(d1);
        }
        Ok(())
    }

    /// Imports the cartridge in mail slot `mail` (a slot number) into
    /// `slot`, or the first empty storage slot. Returns the slot number.
    pub fn import(&mut self, mail: usize, slot: Option<usize>) -> Result<usize, ChangerError> {
        if !self.is_mail_slot(mail) {
            self.slot(mail)?;
            return Err(ChangerError::NotMailSlot { slot: mail });
        }
        let to = match slot {
            Some(n) => n,
            None => self
                .inv
                .slots
                .iter()
                .position(|e| !e.full)
                .map(|i| i + 1)
                .ok_or(ChangerError::NoEmptySlot {
                    what: "storage slot",
                })?,
        };
        self.transfer(mail, to)?;
        Ok(to)
    }

    /// Exports the cartridge of `slot` to mail slot `mail`, or the first
    /// empty mail slot. Returns the mail slot's number.
    pub fn export(&mut self, slot: usize, mail: Option<usize>) -> Result<usize, ChangerError> {
        let to = match mail {
            Some(n) if !self.is_mail_slot(n) => {
                self.slot(n)?;
                return Err(ChangerError::NotMailSlot { slot: n });
            }
            Some(n) => n,
            None => self
                .mail_slot_numbers()
                .find(|&n| self.slot(n).is_ok_and(|e| !e.full))
                .ok_or(ChangerError::NoEmptySlot { what: "mail slot" })?,
        };
        self.transfer(slot, to)?;
        Ok(to)
    }

    /// The storage slot of a cleaning cartridge (barcode starting with
    /// CLN). Mail slots are not searched: what sits there is on its way in
    /// or out.
    pub fn cleaning_slot(&self) -> Option<usize> {
        self.inv
            .slots
            .iter()
            .position(|e| {
                e.full
                    && e.barcode()
                        .is_some_and(|b| b.to_ascii_uppercase().starts_with("CLN"))
            })
            .map(|i| i + 1)
    }

    /// Cleans drive `drive`: loads a CLN cartridge, lets `wait` wait for
    /// the cleaning to finish (e.g. poll the tape device until it ejects
    /// the cartridge), and puts the cartridge back where it came from.
    /// Returns the cleaning cartridge's slot.
    pub fn clean(
        &mut self,
        drive: usize,
        ejector: Option<&mut dyn Ejector>,
        wait: &mut dyn FnMut(usize) -> Result<(), ChangerError>,
    ) -> Result<usize, ChangerError> {
        let d = self.drive(drive)?;
        if d.full {
            return Err(ChangerError::DriveFull {
                drive,
                element: d.address,
            });
        }
        let slot = self
            .cleaning_slot()
            .ok_or(ChangerError::NoCleaningCartridge)?;
        tracing::info!(drive, slot, "cleaning drive");
        self.load(slot, drive)?;
        let waited = wait(drive);
        let back = self.unload(drive, Some(slot), ejector);
        match (waited, back) {
            (Err(e), _) => Err(ChangerError::Cleaning {
                drive,
                detail: e.to_string(),
            }),
            (Ok(()), Err(e)) => Err(e),
            (Ok(()), Ok(_)) => Ok(slot),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ascii_id(kind: u8, s: &[u8]) -> DeviceIdentifier {
        DeviceIdentifier {
            protocol: 0,
            code_set: 2,
            piv: false,
            association: 0,
            identifier_type: kind,
            value: s.to_vec(),
        }
    }

    #[test]
    fn serial_matching() {
        let plain = ascii_id(0, b"HU1234567 ");
        assert!(identifier_matches(&plain, "HU1234567"));
        assert!(identifier_matches(&plain, " HU1234567"));
        assert!(!identifier_matches(&plain, "HU123456"));
        assert!(!identifier_matches(&plain, ""));
        let t10 = ascii_id(1, b"IBM     ULT3580-TD8     1013000123");
        assert!(identifier_matches(&t10, "1013000123"));
        assert!(!identifier_matches(&t10, "013000123"));
        // Quantum-style 21-character serial in a T10 identifier.
        let q = ascii_id(1, b"QUANTUM ULTRIUM-HH8     ABC123456789012345678");
        assert!(identifier_matches(&q, "ABC123456789012345678"));
        let bin = DeviceIdentifier {
            code_set: 1,
            identifier_type: 3,
            ..ascii_id(3, &[0x50, 0x01])
        };
        // Binary identifiers are never compared with ASCII serials.
        assert_eq!(bin.value_string(), "5001");
        assert!(!identifier_matches(&bin, "5001"));
    }

    #[test]
    fn matching_drives_to_devices() {
        let mut inv = Inventory::default();
        for (i, id) in [Some(b"SER0".as_slice()), None, Some(b"SER2")]
            .into_iter()
            .enumerate()
        {
            let mut e = ElementStatus::empty(ElementType::DataTransfer, 0x100 + i as u16);
            e.identifier = id.map(|v| ascii_id(0, v));
            inv.drives.push(e);
        }
        let devices = [
            ("/dev/nst0", "SER2"),
            ("/dev/nst1", "SER0"),
            ("/dev/nst2", "X"),
        ];
        let m = match_drives(&inv, &devices);
        assert_eq!(m[0].device.as_deref(), Some("/dev/nst1"));
        assert_eq!(m[0].identifier.as_deref(), Some("SER0"));
        assert_eq!(m[1].device, None);
        assert_eq!(m[2].device.as_deref(), Some("/dev/nst0"));
        assert_eq!(m[2].element, 0x102);
        assert_eq!(drive_of_device(&inv, &devices, "/dev/nst0"), Some(2));
        assert_eq!(drive_of_device(&inv, &devices, "/dev/nst2"), None);
    }
}

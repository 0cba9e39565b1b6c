//! Robot commands: MOVE MEDIUM, EXCHANGE MEDIUM, POSITION TO ELEMENT,
//! INITIALIZE ELEMENT STATUS (and WITH RANGE), PREVENT ALLOW MEDIUM
//! REMOVAL and OPEN/CLOSE IMPORT/EXPORT ELEMENT (SMC-3 6.x).
//!
//! Every address error carries a field pointer to the CDB byte of the
//! offending address (transport 2, source 4, destination 6, second
//! destination 8), so a host can tell which element was wrong.

use std::time::Duration;

use reel_drivers::scsi::sense::{Sense, SenseKey, SenseKeySpecific};

use super::dispatch::Ctx;
use super::{BayError, Changer, DriveBay, ElementKind, Location, Medium, MediumKind};
use crate::drive::sense::{Fail, HResult, invalid_cdb_field, invalid_opcode};

/// ILLEGAL REQUEST (or `key`) `asc`/`ascq` pointing at CDB byte `byte`.
pub fn at_byte(key: SenseKey, asc: u8, ascq: u8, byte: usize) -> Fail {
    let mut s = Sense::new(key, asc, ascq);
    if key == SenseKey::IllegalRequest {
        s.key_specific = Some(SenseKeySpecific::FieldPointer {
            in_cdb: true,
            bit: None,
            byte: byte as u16,
        });
    }
    s.into()
}

fn illegal(asc: u8, ascq: u8, byte: usize) -> Fail {
    at_byte(SenseKey::IllegalRequest, asc, ascq, byte)
}

/// What an address names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Picker,
    At(Location),
}

/// Resolves the address in CDB bytes `byte..byte+2`: 21/01 if unassigned.
fn resolve(ch: &Changer, addr: u16, byte: usize) -> Result<Target, Fail> {
    match ch.cfg.map.locate(addr) {
        Some((ElementKind::Transport, _)) => Ok(Target::Picker),
        Some((ElementKind::Storage, i)) => Ok(Target::At(Location::Slot(i))),
        Some((ElementKind::ImportExport, i)) => Ok(Target::At(Location::MailSlot(i))),
        Some((ElementKind::DataTransfer, i)) => Ok(Target::At(Location::Drive(i))),
        None => Err(illegal(0x21, 0x01, byte)),
    }
}

/// The MEDIUM TRANSPORT ADDRESS (bytes 2..3): 0 means the default picker.
fn check_transport(ch: &Changer, c: &Ctx<'_, '_>) -> Result<(), Fail> {
    let a = c.be16(2);
    if a == 0 || resolve(ch, a, 2)? == Target::Picker {
        Ok(())
    } else {
        Err(illegal(0x21, 0x01, 2))
    }
}

fn address_of(ch: &Changer, loc: Location) -> u16 {
    ch.cfg.map.address(loc.kind(), loc.index()).unwrap_or(0)
}

/// 3B/11 when the robot cannot reach `loc` (disabled element, or mail
/// slots pulled out to the operator).
fn check_reachable(ch: &Changer, loc: Location, byte: usize) -> Result<(), Fail> {
    let blocked = ch.state.faults.inaccessible.contains(&address_of(ch, loc))
        || (loc.kind() == ElementKind::ImportExport && ch.state.mail_open);
    if blocked {
        return Err(illegal(0x3b, 0x11, byte));
    }
    Ok(())
}

/// An injected picker failure (once faults clear after firing).
fn check_picker(ch: &mut Changer) -> Result<(), Fail> {
    let Some(p) = ch.state.faults.picker else {
        return Ok(());
    };
    if !p.persistent {
        ch.state.faults.picker = None;
        ch.touch();
    }
    Err(Sense::new(SenseKey::HardwareError, p.asc, p.ascq).into())
}

fn mechanics(ch: &Changer, moves: u32) {
    let d = ch.cfg.options.move_delay;
    if !d.is_zero() {
        std::thread::sleep(d * moves);
    }
}

fn bay_fail(e: BayError, byte: usize) -> Fail {
    match e {
        BayError::RemovalPrevented => illegal(0x53, 0x02, byte),
        BayError::NotUnloaded => illegal(0x3b, 0x90, byte),
        BayError::Occupied => illegal(0x3b, 0x0d, byte),
        BayError::LoadFailed(why) => {
            tracing::warn!("drive load failed: {why}");
            Sense::new(SenseKey::MediumError, 0x53, 0x00).into()
        }
    }
}

/// Takes the cartridge out of `loc` (through the drive for drives).
fn take(
    ch: &mut Changer,
    bay: &mut dyn DriveBay,
    loc: Location,
    byte: usize,
) -> Result<Medium, Fail> {
    let auto_unload = ch.cfg.options.auto_unload;
    let m = ch
        .state
        .get(loc)
        .cloned()
        .ok_or_else(|| illegal(0x3b, 0x0e, byte))?;
    if let Location::Drive(n) = loc
        && m.kind != MediumKind::Cleaning
    {
        bay.take(n, &m, auto_unload)
            .map_err(|e| bay_fail(e, byte))?;
    }
    if let Some(cell) = ch.state.cell(loc) {
        *cell = None;
    }
    ch.touch();
    Ok(m)
}

/// Puts `m` into `loc` (loading it for drives); hands it back on failure.
fn put(
    ch: &mut Changer,
    bay: &mut dyn DriveBay,
    loc: Location,
    mut m: Medium,
    byte: usize,
) -> Result<(), (Fail, Medium)> {
    if ch.state.get(loc).is_some() {
        return Err((illegal(0x3b, 0x0d, byte), m));
    }
    if let Location::Drive(n) = loc {
        if m.kind == MediumKind::Cleaning {
            // The drive cleans and ejects at once; the model keeps no tape.
            m.cleaning_uses = m.cleaning_uses.saturating_sub(1);
        } else if let Err(e) = bay.load(n, &m) {
            return Err((bay_fail(e, byte), m));
        }
    }
    match ch.state.cell(loc) {
        Some(cell) => *cell = Some(m),
        None => return Err((illegal(0x21, 0x01, byte), m)),
    }
    ch.touch();
    Ok(())
}

/// Best effort to undo a half-done move.
fn put_back(ch: &mut Changer, bay: &mut dyn DriveBay, loc: Location, m: Medium) {
    if let Err((f, m)) = put(ch, bay, loc, m, 0) {
        tracing::error!("cannot put {} back into {loc:?}: {}", m.barcode, f.sense);
    }
}

/// Resolves a source/destination that must be a place media rest in.
fn place(ch: &Changer, addr: u16, byte: usize) -> Result<Location, Fail> {
    match resolve(ch, addr, byte)? {
        Target::At(l) => Ok(l),
        // The picker never holds media between commands: nothing to take,
        // and page 1Fh says it is no destination.
        Target::Picker => Err(illegal(0x3b, 0x0e, byte)),
    }
}

/// MOVE MEDIUM (A5h): transport 2..3, source 4..5, destination 6..7,
/// INVERT 10:0 (the picker cannot rotate: 24/00).
pub fn move_medium(ch: &mut Changer, c: &mut Ctx<'_, '_>) -> HResult {
    check_transport(ch, c)?;
    let (src_a, dst_a) = (c.be16(4), c.be16(6));
    let src = place(ch, src_a, 4)?;
    let dst = match resolve(ch, dst_a, 6)? {
        Target::At(l) => l,
        Target::Picker => return Err(invalid_cdb_field(6, None)),
    };
    if c.b(10) & 0x01 != 0 {
        return Err(invalid_cdb_field(10, Some(0)));
    }
    check_reachable(ch, src, 4)?;
    check_reachable(ch, dst, 6)?;
    if ch.state.get(src).is_none() {
        return Err(illegal(0x3b, 0x0e, 4));
    }
    if src == dst {
        return Ok(0);
    }
    if ch.state.get(dst).is_some() {
        return Err(illegal(0x3b, 0x0d, 6));
    }
    check_picker(ch)?;
    mechanics(ch, 1);
    let mut m = take(ch, c.bay, src, 4)?;
    let before = (m.source, m.by_operator);
    m.source = Some(src_a);
    m.by_operator = false;
    if let Err((f, mut m)) = put(ch, c.bay, dst, m, 6) {
        (m.source, m.by_operator) = before;
        put_back(ch, c.bay, src, m);
        return Err(f);
    }
    Ok(0)
}

/// EXCHANGE MEDIUM (A6h): the medium in the source goes to the first
/// destination, the one there to the second destination (which may be the
/// source). INV1 10:0, INV2 10:1.
pub fn exchange_medium(ch: &mut Changer, c: &mut Ctx<'_, '_>) -> HResult {
    if !ch.cfg.options.exchange {
        return Err(invalid_opcode());
    }
    check_transport(ch, c)?;
    let (sa, d1a, d2a) = (c.be16(4), c.be16(6), c.be16(8));
    let src = place(ch, sa, 4)?;
    let d1 = place(ch, d1a, 6)?;
    let d2 = match resolve(ch, d2a, 8)? {
        Target::At(l) => l,
        Target::Picker => return Err(invalid_cdb_field(8, None)),
    };
    if c.b(10) & 0x03 != 0 {
        let bit = if c.b(10) & 0x02 != 0 { 1 } else { 0 };
        return Err(invalid_cdb_field(10, Some(bit)));
    }
    if d1 == src {
        return Err(invalid_cdb_field(6, None));
    }
    check_reachable(ch, src, 4)?;
    check_reachable(ch, d1, 6)?;
    check_reachable(ch, d2, 8)?;
    if ch.state.get(src).is_none() {
        return Err(illegal(0x3b, 0x0e, 4));
    }
    if ch.state.get(d1).is_none() {
        return Err(illegal(0x3b, 0x0e, 6));
    }
    if d2 != src && d2 != d1 && ch.state.get(d2).is_some() {
        return Err(illegal(0x3b, 0x0d, 8));
    }
    check_picker(ch)?;
    mechanics(ch, 2);
    let mut a = take(ch, c.bay, src, 4)?;
    let mut b = match take(ch, c.bay, d1, 6) {
        Ok(b) => b,
        Err(f) => {
            put_back(ch, c.bay, src, a);
            return Err(f);
        }
    };
    let (a_prev, b_prev) = (a.source, b.source);
    a.source = Some(sa);
    a.by_operator = false;
    b.source = Some(d1a);
    b.by_operator = false;
    if let Err((f, mut a)) = put(ch, c.bay, d1, a, 6) {
        a.source = a_prev;
        b.source = b_prev;
        put_back(ch, c.bay, d1, b);
        put_back(ch, c.bay, src, a);
        return Err(f);
    }
    if let Err((f, mut b)) = put(ch, c.bay, d2, b, 8) {
        // Undo: the first medium leaves d1 again, both go home.
        b.source = b_prev;
        if let Ok(mut a) = take(ch, c.bay, d1, 6) {
            a.source = a_prev;
            put_back(ch, c.bay, src, a);
        }
        put_back(ch, c.bay, d1, b);
        return Err(f);
    }
    Ok(0)
}

/// POSITION TO ELEMENT (2Bh): transport 2..3, destination 4..5, INVERT 8:0.
pub fn position_to_element(ch: &mut Changer, c: &mut Ctx<'_, '_>) -> HResult {
    check_transport(ch, c)?;
    let dst = resolve(ch, c.be16(4), 4)?;
    if c.b(8) & 0x01 != 0 {
        return Err(invalid_cdb_field(8, Some(0)));
    }
    if let Target::At(l) = dst {
        check_reachable(ch, l, 4)?;
    }
    check_picker(ch)?;
    mechanics(ch, 1);
    Ok(0)
}

fn element_total(ch: &Changer) -> u32 {
    ElementKind::ALL
        .into_iter()
        .map(|k| u32::from(ch.cfg.map.range(k).1))
        .sum()
}

fn inventory(ch: &mut Changer, elements: u32) -> HResult {
    check_picker(ch)?;
    let total = element_total(ch).max(1);
    let d = ch.cfg.options.init_delay;
    if !d.is_zero() {
        let part = d.as_secs_f64() * f64::from(elements.min(total)) / f64::from(total);
        std::thread::sleep(Duration::from_secs_f64(part));
    }
    Ok(0)
}

/// INITIALIZE ELEMENT STATUS (07h): a full inventory.
pub fn initialize_element_status(ch: &mut Changer, _c: &mut Ctx<'_, '_>) -> HResult {
    let all = element_total(ch);
    inventory(ch, all)
}

/// INITIALIZE ELEMENT STATUS WITH RANGE (37h): FAST 1:1, RANGE 1:0,
/// starting address 2..3, number of elements 6..7.
pub fn initialize_element_status_with_range(ch: &mut Changer, c: &mut Ctx<'_, '_>) -> HResult {
    if c.b(1) & 0x01 == 0 {
        let all = element_total(ch);
        return inventory(ch, all);
    }
    resolve(ch, c.be16(2), 2)?;
    let n = u32::from(c.be16(6));
    inventory(ch, n)
}

/// PREVENT ALLOW MEDIUM REMOVAL (1Eh): per initiator; while any initiator
/// prevents removal the operator cannot open the mail slots. Robot moves
/// to mail slots are not affected (SMC-3 prevents operator removal only).
pub fn prevent_allow(ch: &mut Changer, c: &mut Ctx<'_, '_>) -> HResult {
    match c.b(4) & 0x03 {
        0 => {
            ch.state.prevent.remove(&c.initiator);
        }
        1 => {
            ch.state.prevent.insert(c.initiator);
        }
        _ => return Err(invalid_cdb_field(4, Some(1))),
    }
    ch.touch();
    Ok(0)
}

/// OPEN/CLOSE IMPORT/EXPORT ELEMENT (1Bh): element address 2..3, action
/// code 4:4..0 (00h open: the mail slots go out to the operator; 01h
/// close). OPEN while removal is prevented: 53/02.
pub fn open_close_import_export(ch: &mut Changer, c: &mut Ctx<'_, '_>) -> HResult {
    match resolve(ch, c.be16(2), 2)? {
        Target::At(Location::MailSlot(_)) => {}
        _ => return Err(illegal(0x21, 0x01, 2)),
    }
    match c.b(4) & 0x1f {
        0 => {
            if ch.removal_prevented() {
                return Err(illegal(0x53, 0x02, 4));
            }
            ch.state.mail_open = true;
            ch.touch();
        }
        1 => {
            if ch.state.mail_open {
                ch.state.mail_open = false;
                ch.raise_unit_attention(0x28, 0x01, Some(c.initiator));
            }
        }
        _ => return Err(invalid_cdb_field(4, Some(4))),
    }
    Ok(0)
}

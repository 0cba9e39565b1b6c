//! Destructive cases: they move cartridges (only those the media policy
//! allows) and put every one back where it started, also when they fail
//! midway ([`with_restore`]).

use reel_changer::{ChangerError, ElementType, Inventory};
use reel_drivers::scsi::sense::SenseKey;

use super::restore::{self, Moves, with_restore};
use super::util::{self, MOVE_TIMEOUT};
use crate::conformance::{Bench, CaseError, check, expect_eq};

/// The inventory a destructive case starts from (Skip without
/// --destructive, whatever the runner selected).
fn start(b: &mut Bench) -> Result<Inventory, CaseError> {
    if !b.policy().destructive {
        return Err(CaseError::Skip("needs --destructive".into()));
    }
    util::inventory(b)
}

/// `element` holds the cartridge `barcode`.
fn expect_holds(inv: &Inventory, element: u16, barcode: &str, what: &str) -> Result<(), CaseError> {
    let e = util::element(inv, element)?;
    check(e.full, || {
        format!("{what}: element {element:#06x} reads empty")
    })?;
    expect_eq(
        &format!("{what}: barcode in element {element:#06x}"),
        e.barcode().as_deref(),
        Some(barcode),
    )
}

fn expect_empty(inv: &Inventory, element: u16, what: &str) -> Result<(), CaseError> {
    let e = util::element(inv, element)?;
    check(!e.full, || {
        format!(
            "{what}: element {element:#06x} still reads full ({:?})",
            e.barcode()
        )
    })
}

/// The cartridge came from `src`: SValid set with that source address.
fn expect_source(inv: &Inventory, element: u16, src: u16, what: &str) -> Result<(), CaseError> {
    let e = util::element(inv, element)?;
    expect_eq(
        &format!("{what}: source element of {element:#06x} (SValid)"),
        e.source,
        Some(src),
    )
}

fn barcode_of(e: &reel_changer::ElementStatus) -> Result<String, CaseError> {
    e.barcode()
        .ok_or_else(|| CaseError::Fail(format!("full slot {:#06x} has no barcode", e.address)))
}

/// Slot → drive: the slot reads empty, the drive full with the barcode
/// and the slot as its source.
pub fn load(b: &mut Bench) -> Result<(), CaseError> {
    let inv = start(b)?;
    let slot = util::allowed_full_slots(b, &inv, 1)?.remove(0);
    let tag = barcode_of(&slot)?;
    let drive = util::empty_test_drive(b, &inv)?;
    with_restore(b, |b, m| {
        m.mv(b, slot.address, drive)?;
        let after = util::inventory(b)?;
        let what = "after the load";
        expect_empty(&after, slot.address, what)?;
        expect_holds(&after, drive, &tag, what)?;
        expect_source(&after, drive, slot.address, what)
    })
}

/// Slot → drive → back to the source slot (through the tape device when
/// the library needs the drive unloaded first).
pub fn unload(b: &mut Bench) -> Result<(), CaseError> {
    let inv = start(b)?;
    let slot = util::allowed_full_slots(b, &inv, 1)?.remove(0);
    let tag = barcode_of(&slot)?;
    let drive = util::empty_test_drive(b, &inv)?;
    with_restore(b, |b, m| {
        m.mv(b, slot.address, drive)?;
        let loaded = util::inventory(b)?;
        let src = util::element(&loaded, drive)?.source.ok_or_else(|| {
            CaseError::Fail("the loaded drive has no source element (SValid clear)".into())
        })?;
        m.mv_out(b, drive, src)?;
        let after = util::inventory(b)?;
        let what = "after the unload";
        expect_empty(&after, drive, what)?;
        expect_holds(&after, slot.address, &tag, what)
    })
}

/// Slot → empty slot: the source empties, the destination holds the
/// barcode with the source slot as its source.
pub fn transfer(b: &mut Bench) -> Result<(), CaseError> {
    let inv = start(b)?;
    let (full, empty) = util::pick_full_and_empty(b, &inv)?;
    let tag = barcode_of(&full)?;
    with_restore(b, |b, m| {
        m.mv(b, full.address, empty)?;
        let after = util::inventory(b)?;
        let what = "after the transfer";
        expect_empty(&after, full.address, what)?;
        expect_holds(&after, empty, &tag, what)?;
        expect_source(&after, empty, full.address, what)
    })
}

fn exchange_supported(b: &mut Bench) -> Result<(), CaseError> {
    let c = b.changer()?.capabilities()?;
    if c.can_exchange(ElementType::Storage, ElementType::Storage) {
        Ok(())
    } else {
        Err(CaseError::Skip(
            "page 1Fh: no EXCHANGE MEDIUM between storage elements".into(),
        ))
    }
}

/// EXCHANGE MEDIUM of two slots (when page 1Fh says storage ↔ storage
/// exchanges work): the barcodes swap.
pub fn exchange(b: &mut Bench) -> Result<(), CaseError> {
    let inv = start(b)?;
    exchange_supported(b)?;
    let two = util::allowed_full_slots(b, &inv, 2)?;
    let (a, c) = (two[0].address, two[1].address);
    let (ta, tc) = (barcode_of(&two[0])?, barcode_of(&two[1])?);
    with_restore(b, |b, m| {
        m.exchange(b, a, c, a)?;
        let after = util::inventory(b)?;
        let what = "after the exchange";
        expect_holds(&after, c, &ta, what)?;
        expect_holds(&after, a, &tc, what)
    })
}

/// Three-way EXCHANGE MEDIUM: A → B, B → an empty slot.
pub fn exchange_three_way(b: &mut Bench) -> Result<(), CaseError> {
    let inv = start(b)?;
    exchange_supported(b)?;
    let two = util::allowed_full_slots(b, &inv, 2)?;
    let empty = util::empty_slots(&inv, 1)?[0];
    let (a, c) = (two[0].address, two[1].address);
    let (ta, tc) = (barcode_of(&two[0])?, barcode_of(&two[1])?);
    with_restore(b, |b, m| {
        m.exchange(b, a, c, empty)?;
        let after = util::inventory(b)?;
        let what = "after the three-way exchange";
        expect_empty(&after, a, what)?;
        expect_holds(&after, c, &ta, what)?;
        expect_holds(&after, empty, &tc, what)
    })
}

/// Slot → mail slot (export) and back (import): the mail slot holds the
/// barcode with ImpExp clear (the robot, not an operator, put it there).
pub fn export_import(b: &mut Bench) -> Result<(), CaseError> {
    let inv = start(b)?;
    if inv.mail_slots.is_empty() {
        return Err(CaseError::Skip(
            "the library has no import/export elements".into(),
        ));
    }
    let Some(mail) = inv
        .mail_slots
        .iter()
        .find(|e| !e.full && e.access)
        .map(|e| e.address)
    else {
        return Err(CaseError::Skip("no empty, accessible mail slot".into()));
    };
    let slot = util::allowed_full_slots(b, &inv, 1)?.remove(0);
    let tag = barcode_of(&slot)?;
    with_restore(b, |b, m| {
        m.mv(b, slot.address, mail)?;
        let out = util::inventory(b)?;
        let what = "after the export";
        expect_holds(&out, mail, &tag, what)?;
        expect_empty(&out, slot.address, what)?;
        let e = util::element(&out, mail)?;
        check(!e.import_export, || {
            format!("{what}: ImpExp set on mail slot {mail:#06x}: the robot put it there")
        })?;
        expect_source(&out, mail, slot.address, what)?;
        m.mv(b, mail, slot.address)?;
        let back = util::inventory(b)?;
        let what = "after the import";
        expect_empty(&back, mail, what)?;
        expect_holds(&back, slot.address, &tag, what)
    })
}

/// MOVE MEDIUM onto a full slot: ILLEGAL REQUEST 3B/0D, nothing moves.
pub fn destination_full(b: &mut Bench) -> Result<(), CaseError> {
    let inv = start(b)?;
    let src = util::allowed_full_slots(b, &inv, 1)?.remove(0);
    let Some(dst) = inv
        .slots
        .iter()
        .find(|e| e.full && e.address != src.address)
        .map(|e| e.address)
    else {
        return Err(CaseError::Skip("needs a second full slot".into()));
    };
    let before = util::snapshot(&inv);
    with_restore(b, |b, m| {
        let r = m.mv(b, src.address, dst);
        expect_changer_sense("MOVE MEDIUM to a full slot", r, 0x3b, 0x0d)?;
        util::expect_unchanged("after the refused move", &before, &util::inventory(b)?)
    })
}

/// MOVE MEDIUM from an empty slot: ILLEGAL REQUEST 3B/0E, nothing moves.
pub fn source_empty(b: &mut Bench) -> Result<(), CaseError> {
    let inv = start(b)?;
    let e = util::empty_slots(&inv, 2)?;
    let before = util::snapshot(&inv);
    with_restore(b, |b, m| {
        let r = m.mv(b, e[0], e[1]);
        expect_changer_sense("MOVE MEDIUM from an empty slot", r, 0x3b, 0x0e)?;
        util::expect_unchanged("after the refused move", &before, &util::inventory(b)?)
    })
}

fn expect_changer_sense(
    what: &str,
    r: Result<(), ChangerError>,
    asc: u8,
    ascq: u8,
) -> Result<(), CaseError> {
    match r {
        Ok(()) => Err(CaseError::Fail(format!(
            "{what}: GOOD, want ILLEGAL REQUEST {asc:02X}/{ascq:02X}"
        ))),
        Err(e) => match util::sense_of(&e) {
            Some(s) if s.key == SenseKey::IllegalRequest && s.is_asc(asc, ascq) => Ok(()),
            _ => Err(CaseError::Fail(format!(
                "{what}: want ILLEGAL REQUEST {asc:02X}/{ascq:02X}, got {e}"
            ))),
        },
    }
}

/// MOVE MEDIUM out of a drive that has not been unloaded: a library that
/// unloads by itself moves it; one that needs the host to unload first
/// answers 3B/90 (the VTL without auto_unload, Exabyte/Tandberg). Either
/// is accepted (the log says which); then the cartridge goes home.
pub fn drive_not_unloaded(b: &mut Bench) -> Result<(), CaseError> {
    let inv = start(b)?;
    b.tape()?;
    let slot = util::allowed_full_slots(b, &inv, 1)?.remove(0);
    let tag = barcode_of(&slot)?;
    let drive = util::empty_test_drive(b, &inv)?;
    with_restore(b, |b, m| {
        m.mv(b, slot.address, drive)?;
        // The drive threads what it receives; wait until it has.
        wait_tape_ready(b)?;
        match m.mv(b, drive, slot.address) {
            Ok(()) => tracing::info!("the library unloads the drive itself before a move"),
            Err(e) if restore::not_ejected(&e) => {
                tracing::info!("the library needs the drive unloaded first: {e}");
                m.mv_out(b, drive, slot.address)?;
            }
            Err(e) => {
                return Err(CaseError::Fail(format!(
                    "MOVE MEDIUM out of a loaded drive: want a move or \
                     ILLEGAL REQUEST 3B/90 (unload first), got {e}"
                )));
            }
        }
        let after = util::inventory(b)?;
        expect_empty(&after, drive, "after the move out")?;
        expect_holds(&after, slot.address, &tag, "after the move out")
    })
}

/// TEST UNIT READY on the tape device until GOOD (unit attentions of
/// the load consumed).
fn wait_tape_ready(b: &mut Bench) -> Result<(), CaseError> {
    b.tape()?
        .wait_ready(std::time::Duration::from_secs(120))
        .map_err(|e| {
            CaseError::Fail(format!(
                "the drive did not become ready after the load: {e}"
            ))
        })
}

/// With PREVENT MEDIUM REMOVAL on the tape device, a move out of its
/// drive is refused (53/02, or the library's "unload first" answer);
/// after ALLOW the cartridge goes home.
pub fn drive_removal_prevented(b: &mut Bench) -> Result<(), CaseError> {
    let inv = start(b)?;
    b.tape()?;
    let slot = util::allowed_full_slots(b, &inv, 1)?.remove(0);
    let drive = util::empty_test_drive(b, &inv)?;
    with_restore(b, |b, m| {
        m.mv(b, slot.address, drive)?;
        wait_tape_ready(b)?;
        b.tape()?.prevent_removal(true)?;
        let r = m.mv(b, drive, slot.address);
        let allow = b.tape()?.prevent_removal(false);
        match r {
            Err(ChangerError::RemovalPrevented { .. }) => {}
            Err(e) if restore::not_ejected(&e) => {
                tracing::info!("the library refuses with its unload-first answer: {e}");
            }
            Ok(()) => {
                return Err(CaseError::Fail(
                    "MOVE MEDIUM took the cartridge out of a drive with medium removal prevented"
                        .into(),
                ));
            }
            Err(e) => {
                return Err(CaseError::Fail(format!(
                    "MOVE MEDIUM out of a prevented drive: want ILLEGAL REQUEST 53/02, got {e}"
                )));
            }
        }
        allow?;
        m.mv_out(b, drive, slot.address)
    })
}

/// PREVENT MEDIUM REMOVAL locks the mail slots: OPEN IMPORT/EXPORT
/// ELEMENT is refused with 53/02 (skipped when the library does not
/// implement the command); ALLOW is accepted afterwards. Without mail
/// slots only PREVENT and ALLOW themselves are checked. The mail slots
/// are never opened (on a real library that needs an operator).
pub fn prevent_locks_mail_slots(b: &mut Bench) -> Result<(), CaseError> {
    if !b.policy().destructive {
        return Err(CaseError::Skip("needs --destructive".into()));
    }
    let ch = b.changer()?;
    let a = ch.element_assignment()?;
    if a.import_export.1 == 0 {
        // No mail slots to lock: PREVENT and ALLOW are still accepted.
        ch.prevent_removal(true)?;
        ch.prevent_removal(false)?;
        return Ok(());
    }
    let mail = a.import_export.0;
    ch.prevent_removal(true)?;
    let r = ch.open_import_export(mail, true);
    let allow = ch.prevent_removal(false);
    match r {
        Err(ChangerError::RemovalPrevented { .. }) => {}
        Err(e) if e.scsi().is_some_and(|s| s.is_asc(0x20, 0x00)) => {
            allow?;
            return Err(CaseError::Skip(
                "the library does not implement OPEN/CLOSE IMPORT/EXPORT ELEMENT".into(),
            ));
        }
        Ok(()) => {
            // Put the mail slots back before failing.
            let _ = ch.open_import_export(mail, false);
            return Err(CaseError::Fail(
                "OPEN IMPORT/EXPORT ELEMENT succeeded while medium removal was prevented".into(),
            ));
        }
        Err(e) => {
            return Err(CaseError::Fail(format!(
                "OPEN IMPORT/EXPORT ELEMENT while prevented: want ILLEGAL REQUEST 53/02, got {e}"
            )));
        }
    }
    allow?;
    Ok(())
}

/// POSITION TO ELEMENT (when implemented) to a slot and a drive; to an
/// unassigned address: 21/01 pointing at CDB bytes 4-5.
pub fn position_to_element(b: &mut Bench) -> Result<(), CaseError> {
    let inv = start(b)?;
    let before = util::snapshot(&inv);
    let ch = b.changer()?;
    let a = ch.element_assignment()?;
    match ch.position_to_element(a.storage.0, false) {
        Ok(()) => {}
        Err(e) if e.scsi().is_some_and(|s| s.is_asc(0x20, 0x00)) => {
            return Err(CaseError::Skip(
                "the library does not implement POSITION TO ELEMENT".into(),
            ));
        }
        Err(e) => return Err(e.into()),
    }
    ch.position_to_element(a.data_transfer.0, false)?;
    if let Some(bad) = util::unassigned_address(&a) {
        let cdb = reel_changer::moves::position_to_element_cdb(a.transport.0, bad, false);
        let r = util::raw(ch, "POSITION TO ELEMENT", &cdb, 0, MOVE_TIMEOUT);
        let what = format!("POSITION TO ELEMENT {bad:#06x}");
        let s = util::expect_sense(&what, r, SenseKey::IllegalRequest, 0x21, 0x01)?;
        util::expect_field_pointer(&what, &s, 4..=5)?;
    }
    util::expect_unchanged("after POSITION TO ELEMENT", &before, &util::inventory(b)?)
}

/// Load/unload round trips of up to three cartridges through the drive
/// leave the inventory exactly as it was.
pub fn round_trips(b: &mut Bench) -> Result<(), CaseError> {
    let inv = start(b)?;
    let before = util::snapshot(&inv);
    let slots: Vec<u16> = util::allowed_full_slots(b, &inv, 1)?
        .iter()
        .take(3)
        .map(|e| e.address)
        .collect();
    let drive = util::empty_test_drive(b, &inv)?;
    with_restore(b, |b, m: &mut Moves| {
        for _ in 0..2 {
            for &s in &slots {
                m.mv(b, s, drive)?;
                m.mv_out(b, drive, s)?;
            }
        }
        util::expect_unchanged("after the round trips", &before, &util::inventory(b)?)
    })
}

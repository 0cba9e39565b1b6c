//! Illegal requests a library must refuse without moving anything, with
//! sense data that names the wrong CDB field.

use reel_changer::ElementType;
use reel_changer::moves::move_medium_cdb;
use reel_drivers::scsi::sense::SenseKey;

use super::util::{self, COMMAND_TIMEOUT, MOVE_TIMEOUT};
use crate::conformance::{Bench, CaseError};

fn invalid_address(b: &mut Bench) -> Result<(u16, reel_changer::ElementAssignment), CaseError> {
    let a = b.changer()?.element_assignment()?;
    let x = util::unassigned_address(&a).ok_or_else(|| {
        CaseError::Skip("every element address is assigned: none is invalid".into())
    })?;
    Ok((x, a))
}

/// MOVE MEDIUM from an unassigned address: ILLEGAL REQUEST 21/01 with a
/// field pointer at the source address (CDB bytes 4-5).
pub fn move_invalid_source(b: &mut Bench) -> Result<(), CaseError> {
    let (bad, a) = invalid_address(b)?;
    let ch = b.changer()?;
    let before = util::raw_snapshot(&util::raw_elements(ch)?);
    let cdb = move_medium_cdb(a.transport.0, bad, a.storage.0, false);
    let r = util::raw(ch, "MOVE MEDIUM", &cdb, 0, MOVE_TIMEOUT);
    let what = format!("MOVE MEDIUM from {bad:#06x}");
    let s = util::expect_sense(&what, r, SenseKey::IllegalRequest, 0x21, 0x01)?;
    util::expect_field_pointer(&what, &s, 4..=5)?;
    unchanged(&what, &before, ch)
}

/// MOVE MEDIUM of a cartridge to an unassigned address: ILLEGAL REQUEST
/// 21/01 with a field pointer at the destination (CDB bytes 6-7).
pub fn move_invalid_destination(b: &mut Bench) -> Result<(), CaseError> {
    let (bad, a) = invalid_address(b)?;
    let ch = b.changer()?;
    let elements = util::raw_elements(ch)?;
    let before = util::raw_snapshot(&elements);
    // A full slot as source, so "source empty" cannot come first.
    let src = elements
        .iter()
        .find(|e| e.full && e.kind == ElementType::Storage)
        .map(|e| e.address)
        .ok_or_else(|| CaseError::Skip("no full storage slot".into()))?;
    let cdb = move_medium_cdb(a.transport.0, src, bad, false);
    let r = util::raw(ch, "MOVE MEDIUM", &cdb, 0, MOVE_TIMEOUT);
    let what = format!("MOVE MEDIUM from {src:#06x} to {bad:#06x}");
    let s = util::expect_sense(&what, r, SenseKey::IllegalRequest, 0x21, 0x01)?;
    util::expect_field_pointer(&what, &s, 6..=7)?;
    unchanged(&what, &before, ch)
}

/// Nothing moved: every element reads as before the refused command.
fn unchanged(
    what: &str,
    before: &util::Snapshot,
    ch: &mut reel_changer::Changer<crate::conformance::Transport>,
) -> Result<(), CaseError> {
    let d = util::diff(before, &util::raw_snapshot(&util::raw_elements(ch)?));
    if d.is_empty() {
        Ok(())
    } else {
        Err(CaseError::Fail(format!("{what}: {}", d.join("; "))))
    }
}

/// READ ELEMENT STATUS with element type code 5 (reserved): ILLEGAL
/// REQUEST 24/00; a field pointer, when given, names CDB byte 1.
pub fn invalid_element_type(b: &mut Bench) -> Result<(), CaseError> {
    let ch = b.changer()?;
    let mut cdb = reel_changer::element_status::read_element_status_cdb(&util::request(
        Some(ElementType::Storage),
        0,
        1,
        false,
        false,
    ));
    cdb[1] = (cdb[1] & 0xf0) | 0x05;
    let r = util::raw(ch, "READ ELEMENT STATUS", &cdb, 1024, COMMAND_TIMEOUT);
    let what = "READ ELEMENT STATUS of element type 5";
    let s = util::expect_sense(what, r, SenseKey::IllegalRequest, 0x24, 0x00)?;
    if s.key_specific.is_some() {
        util::expect_field_pointer(what, &s, 1..=1)?;
    }
    Ok(())
}

//! Identification and configuration: INQUIRY, TEST UNIT READY, the SMC
//! mode pages (1Dh, 1Eh, 1Fh), INITIALIZE ELEMENT STATUS, and an opcode
//! no changer implements.

use reel_changer::ElementType;
use reel_drivers::scsi::sense::SenseKey;

use super::util::{self, COMMAND_TIMEOUT, MOVE_TIMEOUT};
use crate::conformance::{Bench, CaseError, check, expect_eq};

/// Standard INQUIRY: peripheral qualifier 0, device type 08h (medium
/// changer), identification strings present.
pub fn inquiry_device_type(b: &mut Bench) -> Result<(), CaseError> {
    let inq = b.changer()?.inquiry()?;
    expect_eq("peripheral device type", inq.device_type, 0x08)?;
    expect_eq("peripheral qualifier", inq.qualifier, 0)?;
    check(!inq.vendor.trim().is_empty(), || {
        "INQUIRY: empty T10 vendor identification".into()
    })?;
    check(!inq.product.trim().is_empty(), || {
        "INQUIRY: empty product identification".into()
    })
}

/// TEST UNIT READY answers GOOD once pending unit attentions are read.
pub fn test_unit_ready(b: &mut Bench) -> Result<(), CaseError> {
    let ch = b.changer()?;
    util::raw(ch, "TEST UNIT READY", &[0u8; 6], 0, COMMAND_TIMEOUT)?;
    // And again: a ready library stays ready.
    util::raw(ch, "TEST UNIT READY", &[0u8; 6], 0, COMMAND_TIMEOUT)?;
    Ok(())
}

/// Page 1Dh: at least one transport, storage and data transfer element;
/// ranges within 16 bits and disjoint.
pub fn element_assignment(b: &mut Bench) -> Result<(), CaseError> {
    let a = b.changer()?.element_assignment()?;
    for kind in [
        ElementType::MediumTransport,
        ElementType::Storage,
        ElementType::DataTransfer,
    ] {
        check(a.range(kind).1 > 0, || {
            format!("page 1Dh reports no {kind} element: {a:?}")
        })?;
    }
    let mut spans: Vec<(u32, u32, ElementType)> = ElementType::ALL
        .into_iter()
        .map(|k| {
            let (first, n) = a.range(k);
            (u32::from(first), u32::from(first) + u32::from(n), k)
        })
        .filter(|s| s.0 != s.1)
        .collect();
    spans.sort();
    for s in &spans {
        check(s.1 <= 0x1_0000, || {
            format!("page 1Dh: {} elements run past address FFFFh", s.2)
        })?;
    }
    for w in spans.windows(2) {
        check(w[0].1 <= w[1].0, || {
            format!(
                "page 1Dh: {} and {} addresses overlap: {a:?}",
                w[0].2, w[1].2
            )
        })?;
    }
    Ok(())
}

/// Page 1Eh: one transport geometry descriptor per transport element.
pub fn transport_geometry(b: &mut Bench) -> Result<(), CaseError> {
    let ch = b.changer()?;
    let a = ch.element_assignment()?;
    let g = ch.transport_geometry()?;
    expect_eq(
        "page 1Eh descriptors (one per medium transport element)",
        g.len(),
        usize::from(a.transport.1),
    )
}

/// Page 1Fh: slots and drives store media, the robot moves storage ↔
/// drive and storage ↔ storage, and storage ↔ import/export when the
/// library has mail slots.
pub fn device_capabilities(b: &mut Bench) -> Result<(), CaseError> {
    use ElementType::{DataTransfer as D, ImportExport as I, Storage as S};
    let ch = b.changer()?;
    let a = ch.element_assignment()?;
    let c = ch.capabilities()?;
    check(c.can_store(S) && c.can_store(D), || {
        format!("page 1Fh: StorS and StorDT must be set: {c:?}")
    })?;
    let mut pairs = vec![(S, D), (D, S), (S, S)];
    if a.import_export.1 > 0 {
        check(c.can_store(I), || {
            format!("page 1Fh: the library has mail slots but StorI/E is clear: {c:?}")
        })?;
        pairs.extend([(S, I), (I, S)]);
    }
    for (from, to) in pairs {
        check(c.can_move(from, to), || {
            format!("page 1Fh: no MOVE MEDIUM from {from} to {to}: {c:?}")
        })?;
    }
    Ok(())
}

/// INITIALIZE ELEMENT STATUS completes and the inventory is unchanged.
pub fn initialize_element_status(b: &mut Bench) -> Result<(), CaseError> {
    let before = util::snapshot(&util::inventory(b)?);
    let ch = b.changer()?;
    match util::raw(
        ch,
        "INITIALIZE ELEMENT STATUS",
        &reel_changer::moves::initialize_element_status_cdb(),
        0,
        MOVE_TIMEOUT,
    ) {
        Ok(_) => {}
        Err(e) if e.is_asc(0x20, 0x00) => {
            return Err(CaseError::Skip(
                "the library does not implement INITIALIZE ELEMENT STATUS".into(),
            ));
        }
        Err(e) => return Err(e.into()),
    }
    let after = util::inventory(b)?;
    util::expect_unchanged("inventory after INITIALIZE ELEMENT STATUS", &before, &after)
}

/// READ(10) means nothing to a changer: ILLEGAL REQUEST 20/00.
pub fn unknown_opcode(b: &mut Bench) -> Result<(), CaseError> {
    let ch = b.changer()?;
    let r = util::raw(
        ch,
        "READ(10)",
        &[0x28, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        0,
        COMMAND_TIMEOUT,
    );
    util::expect_sense(
        "READ(10) on a changer",
        r,
        SenseKey::IllegalRequest,
        0x20,
        0x00,
    )?;
    Ok(())
}

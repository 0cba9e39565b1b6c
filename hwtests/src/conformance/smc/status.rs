//! READ ELEMENT STATUS as backup software reads it: every element type
//! with and without volume tags and device identifiers, the byte counts
//! of the report, paging (start in the middle, element count, short
//! allocation lengths), barcodes, full flags and source addresses.

use std::collections::BTreeSet;

use reel_changer::element_status::ElementStatusRequest;
use reel_changer::library::identifier_matches;
use reel_changer::{ElementStatus, ElementType};

use super::util::{self, Report};
use crate::conformance::{Bench, CaseError, check, expect_eq};

/// Elements read per request by the cases that read a type whole.
const MAX_CHECK: u16 = 256;

/// One element type read four ways: plain, VOLTAG, DVCID, VOLTAG+DVCID.
/// A library may refuse DVCID (ILLEGAL REQUEST 24/00, SMC-2 libraries and
/// field note A2); everything it answers must be consistent.
fn per_type(b: &mut Bench, kind: ElementType) -> Result<(), CaseError> {
    let ch = b.changer()?;
    let a = ch.element_assignment()?;
    let (first, n) = a.range(kind);
    if n == 0 {
        return match kind {
            // No mail slots: asking for them must give an empty report.
            ElementType::ImportExport => no_elements(ch, kind, first),
            _ => Err(CaseError::Fail(format!(
                "page 1Dh reports no {kind} element"
            ))),
        };
    }
    let count = n.min(MAX_CHECK);
    for (voltag, dvcid) in [(false, false), (true, false), (false, true), (true, true)] {
        let what = format!("{kind} elements, VOLTAG={voltag} DVCID={dvcid}");
        let r = match util::read_status(ch, util::request(Some(kind), first, count, voltag, dvcid))
        {
            Err(CaseError::Scsi(e)) if dvcid && e.is_asc(0x24, 0x00) => {
                tracing::info!("{what}: the library refuses DVCID ({e})");
                continue;
            }
            r => r?,
        };
        util::layout(&what, &r)?;
        check(r.data.complete, || format!("{what}: report cut short"))?;
        let elems: Vec<&ElementStatus> = r.data.elements().collect();
        expect_eq(
            &format!("{what}: descriptors"),
            elems.len(),
            usize::from(count),
        )?;
        for p in &r.data.pages {
            expect_eq(&format!("{what}: page element type"), p.kind, kind)?;
            expect_eq(&format!("{what}: PVolTag"), p.pvoltag, voltag)?;
            let min = 12 + if voltag { 36 } else { 0 };
            check(usize::from(p.descriptor_length) >= min, || {
                format!("{what}: descriptor length {} < {min}", p.descriptor_length)
            })?;
        }
        expect_eq(&format!("{what}: first address"), elems[0].address, first)?;
        check(
            elems.windows(2).all(|w| w[0].address < w[1].address),
            || format!("{what}: addresses do not ascend"),
        )?;
        if dvcid && kind == ElementType::DataTransfer {
            for e in &elems {
                check(
                    e.identifier.as_ref().is_some_and(|i| !i.value.is_empty()),
                    || format!("{what}: drive {:#06x} has no device identifier", e.address),
                )?;
            }
        }
        if !voltag {
            check(elems.iter().all(|e| e.primary_tag.is_none()), || {
                format!("{what}: volume tags without VOLTAG")
            })?;
        }
    }
    Ok(())
}

/// A type page 1Dh gives no element: the report is consistent and empty
/// (or the library refuses the request as an invalid element address).
fn no_elements(
    ch: &mut reel_changer::Changer<crate::conformance::Transport>,
    kind: ElementType,
    first: u16,
) -> Result<(), CaseError> {
    let what = format!("{kind} elements (page 1Dh assigns none)");
    match util::read_status(ch, util::request(Some(kind), first, 16, true, false)) {
        Ok(r) => {
            let l = util::layout(&what, &r)?;
            expect_eq(&format!("{what}: elements"), l.elements_available, 0)
        }
        Err(CaseError::Scsi(e)) if e.is_asc(0x21, 0x01) => Ok(()),
        Err(e) => Err(e),
    }
}

pub fn transport(b: &mut Bench) -> Result<(), CaseError> {
    per_type(b, ElementType::MediumTransport)
}

pub fn storage(b: &mut Bench) -> Result<(), CaseError> {
    per_type(b, ElementType::Storage)
}

pub fn import_export(b: &mut Bench) -> Result<(), CaseError> {
    per_type(b, ElementType::ImportExport)
}

pub fn data_transfer(b: &mut Bench) -> Result<(), CaseError> {
    per_type(b, ElementType::DataTransfer)
}

/// Element type 0 (all types) from address 0: one page per type with
/// elements, in address order, every element of page 1Dh.
pub fn all_types(b: &mut Bench) -> Result<(), CaseError> {
    let ch = b.changer()?;
    let a = ch.element_assignment()?;
    let total: u32 = ElementType::ALL
        .into_iter()
        .map(|k| u32::from(a.range(k).1))
        .sum();
    let req = ElementStatusRequest {
        alloc: (48 + total * 200).min(0xff_ffff),
        ..util::request(None, 0, 0xffff, true, false)
    };
    let r = util::read_status(ch, req)?;
    let l = util::layout("all element types", &r)?;
    check(r.data.complete, || {
        "all element types: report cut short (the transport's limit?)".into()
    })?;
    for kind in ElementType::ALL {
        let got: usize = r
            .data
            .pages
            .iter()
            .filter(|p| p.kind == kind)
            .map(|p| p.elements.len())
            .sum();
        expect_eq(
            &format!("all element types: {kind} descriptors"),
            got,
            usize::from(a.range(kind).1),
        )?;
    }
    let firsts: Vec<u16> = r
        .data
        .pages
        .iter()
        .filter_map(|p| p.elements.first().map(|e| e.address))
        .collect();
    check(firsts.windows(2).all(|w| w[0] < w[1]), || {
        format!("all element types: pages not in address order: {firsts:04x?}")
    })?;
    expect_eq(
        "all element types: header element count",
        u32::from(l.elements_available),
        total,
    )
}

/// Through reel's driver (paged): each type has exactly the elements page
/// 1Dh assigns, each within its range, none twice.
pub fn counts_match_assignment(b: &mut Bench) -> Result<(), CaseError> {
    let inv = util::inventory(b)?;
    let a = b.changer()?.element_assignment()?;
    let mut seen = BTreeSet::new();
    for kind in ElementType::ALL {
        let (first, n) = a.range(kind);
        let e = inv.elements(kind);
        expect_eq(&format!("{kind} elements"), e.len(), usize::from(n))?;
        for x in e {
            check(a.kind_of(x.address) == Some(kind), || {
                format!(
                    "{kind} element {:#06x} is outside {first:#06x}+{n}",
                    x.address
                )
            })?;
            check(seen.insert(x.address), || {
                format!("element {:#06x} reported twice", x.address)
            })?;
        }
    }
    Ok(())
}

/// The header and page byte counts describe exactly the bytes sent, for
/// every type with VOLTAG and DVCID; a request past the last element
/// gets an empty, consistent report (or 21/01).
pub fn header_byte_counts(b: &mut Bench) -> Result<(), CaseError> {
    let ch = b.changer()?;
    let a = ch.element_assignment()?;
    for kind in ElementType::ALL {
        let (first, n) = a.range(kind);
        if n == 0 {
            continue;
        }
        let what = format!("{kind} elements with VOLTAG");
        let r = util::read_status(
            ch,
            util::request(Some(kind), first, n.min(MAX_CHECK), true, false),
        )?;
        let l = util::layout(&what, &r)?;
        expect_eq(
            &format!("{what}: header first address"),
            l.first_address,
            first,
        )?;
    }
    let end = ElementType::ALL
        .into_iter()
        .map(|k| u32::from(a.range(k).0) + u32::from(a.range(k).1))
        .max()
        .unwrap_or(0);
    if let Ok(past) = u16::try_from(end) {
        let what = format!("all types from {past:#06x}, past the last element");
        match util::read_status(ch, util::request(None, past, 16, true, false)) {
            Ok(r) => {
                let l = util::layout(&what, &r)?;
                expect_eq(&format!("{what}: elements"), l.elements_available, 0)?;
            }
            Err(CaseError::Scsi(e)) if e.is_asc(0x21, 0x01) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Storage elements, first and count of them.
fn storage_range(b: &mut Bench, min: u16) -> Result<(u16, u16), CaseError> {
    let a = b.changer()?.element_assignment()?;
    let (first, n) = a.storage;
    if n < min {
        return Err(CaseError::Skip(format!(
            "needs at least {min} storage elements, the library has {n}"
        )));
    }
    Ok((first, n))
}

/// A starting element address in the middle: the report starts there and
/// holds the rest of the type.
pub fn start_in_middle(b: &mut Bench) -> Result<(), CaseError> {
    let (first, n) = storage_range(b, 2)?;
    let n = n.min(MAX_CHECK);
    let start = first + n / 2;
    let ch = b.changer()?;
    let r = util::read_status(
        ch,
        util::request(Some(ElementType::Storage), start, n, true, false),
    )?;
    let what = format!("storage from {start:#06x}");
    let l = util::layout(&what, &r)?;
    let a = ch.element_assignment()?;
    let rest = usize::from(a.storage.1 - n / 2);
    let want = rest.min(usize::from(n));
    expect_eq(&format!("{what}: descriptors"), r.data.count(), want)?;
    expect_eq(
        &format!("{what}: header first address"),
        l.first_address,
        start,
    )?;
    let first_el = r.data.elements().next().map(|e| e.address);
    expect_eq(&format!("{what}: first descriptor"), first_el, Some(start))
}

/// NUMBER OF ELEMENTS limits the report.
pub fn element_count_limit(b: &mut Bench) -> Result<(), CaseError> {
    let (first, n) = storage_range(b, 1)?;
    let count = n.min(3);
    let ch = b.changer()?;
    let r = util::read_status(
        ch,
        util::request(Some(ElementType::Storage), first, count, true, false),
    )?;
    let l = util::layout("storage, NUMBER OF ELEMENTS 3", &r)?;
    expect_eq("descriptors", r.data.count(), usize::from(count))?;
    expect_eq("header element count", l.elements_available, count)
}

/// The complete storage report that the allocation-length cases cut.
fn full_storage_report(b: &mut Bench) -> Result<Report, CaseError> {
    let (first, n) = storage_range(b, 3)?;
    let ch = b.changer()?;
    let count = n.min(64);
    let r = util::read_status(
        ch,
        util::request(Some(ElementType::Storage), first, count, true, false),
    )?;
    util::layout("storage with VOLTAG", &r)?;
    check(r.data.complete, || {
        "storage with VOLTAG: report cut short".into()
    })?;
    expect_eq(
        "storage with VOLTAG: descriptors",
        r.data.count(),
        usize::from(count),
    )?;
    Ok(r)
}

fn cut_report(b: &mut Bench, full: &Report, alloc: usize) -> Result<Report, CaseError> {
    let ch = b.changer()?;
    let (first, count) = (full.data.first_address, full.data.elements_available);
    let req = ElementStatusRequest {
        alloc: alloc as u32,
        ..util::request(Some(ElementType::Storage), first, count, true, false)
    };
    let r = util::read_status(ch, req)?;
    let what = format!("allocation length {alloc}");
    expect_eq(&format!("{what}: bytes transferred"), r.bytes.len(), alloc)?;
    check(full.bytes.get(..alloc) == Some(&r.bytes[..]), || {
        format!("{what}: the bytes are not the start of the complete report")
    })?;
    Ok(r)
}

/// An allocation length of two and a half descriptors: the transfer stops
/// there, the header still gives the whole report's counts, the whole
/// descriptors are the report's first ones.
pub fn truncated_allocation(b: &mut Bench) -> Result<(), CaseError> {
    let full = full_storage_report(b)?;
    let dl = full
        .data
        .pages
        .first()
        .map_or(0, |p| usize::from(p.descriptor_length));
    let alloc = 16 + 2 * dl + dl / 2;
    let r = cut_report(b, &full, alloc)?;
    check(!r.data.complete, || "a cut report reads as complete".into())?;
    expect_eq("whole descriptors in the cut report", r.data.count(), 2)?;
    expect_eq(
        "byte count of report available",
        r.data.report_bytes,
        full.data.report_bytes,
    )
}

/// An allocation length of 8: only the header, with the whole report's
/// counts (how hosts size the next request).
pub fn header_only_allocation(b: &mut Bench) -> Result<(), CaseError> {
    let full = full_storage_report(b)?;
    let r = cut_report(b, &full, 8)?;
    expect_eq("descriptors", r.data.count(), 0)
}

/// Every full element has a readable barcode, no barcode appears twice,
/// empty elements report none.
pub fn barcodes_unique(b: &mut Bench) -> Result<(), CaseError> {
    let inv = util::inventory(b)?;
    let mut seen = std::collections::BTreeMap::new();
    let mut problems = Vec::new();
    for e in ElementType::ALL.into_iter().flat_map(|k| inv.elements(k)) {
        match (e.full, e.barcode()) {
            (true, None) => {
                problems.push(format!("full element {:#06x} has no barcode", e.address))
            }
            (false, Some(t)) => problems.push(format!(
                "empty element {:#06x} reports barcode {t:?}",
                e.address
            )),
            (true, Some(t)) => {
                if let Some(other) = seen.insert(t.clone(), e.address) {
                    problems.push(format!(
                        "barcode {t:?} in elements {other:#06x} and {:#06x}",
                        e.address
                    ));
                }
            }
            (false, None) => {}
        }
    }
    check(problems.is_empty(), || problems.join("; "))?;
    check(!seen.is_empty(), || "no cartridge in the library".into())
}

/// A full drive knows where its cartridge came from (SValid and a source
/// element the library has), and any source address is an assigned one.
pub fn full_and_source(b: &mut Bench) -> Result<(), CaseError> {
    let inv = util::inventory(b)?;
    let a = inv.assignment;
    for d in inv.drives.iter().filter(|d| d.full) {
        let Some(src) = d.source else {
            return Err(CaseError::Fail(format!(
                "full drive {:#06x} has no source element (SValid clear)",
                d.address
            )));
        };
        check(
            matches!(
                a.kind_of(src),
                Some(ElementType::Storage | ElementType::ImportExport)
            ),
            || {
                format!(
                    "drive {:#06x}: source {src:#06x} is no storage or import/export element",
                    d.address
                )
            },
        )?;
    }
    for e in ElementType::ALL.into_iter().flat_map(|k| inv.elements(k)) {
        if let Some(src) = e.source.filter(|_| e.full) {
            check(a.kind_of(src).is_some(), || {
                format!(
                    "element {:#06x}: source {src:#06x} is unassigned",
                    e.address
                )
            })?;
        }
    }
    Ok(())
}

/// With DVCID every drive names itself, each differently.
pub fn drive_identifiers(b: &mut Bench) -> Result<(), CaseError> {
    let inv = util::inventory(b)?;
    if inv.drives.iter().all(|d| d.identifier.is_none()) {
        return Err(CaseError::Skip(
            "the library reports no drive identifiers (DVCID)".into(),
        ));
    }
    let mut seen = BTreeSet::new();
    for d in &inv.drives {
        let Some(id) = &d.identifier else {
            return Err(CaseError::Fail(format!(
                "drive {:#06x} has no identifier while others do",
                d.address
            )));
        };
        let v = id.value_string();
        check(!v.is_empty(), || {
            format!("drive {:#06x}: empty identifier", d.address)
        })?;
        check(seen.insert(v.clone()), || {
            format!("two drives identify as {v:?}")
        })?;
    }
    Ok(())
}

/// The tape device under test is one of the library's drives: its VPD
/// 80h serial matches a drive's DVCID identifier.
pub fn drive_matches_tape(b: &mut Bench) -> Result<(), CaseError> {
    let id = b.tape()?.identify()?;
    let Some(serial) = id.serial else {
        return Err(CaseError::Fail(
            "the tape device reports no unit serial number (VPD 80h)".into(),
        ));
    };
    let inv = util::inventory(b)?;
    if inv.drives.iter().all(|d| d.identifier.is_none()) {
        return Err(CaseError::Skip(
            "the library reports no drive identifiers (DVCID)".into(),
        ));
    }
    let hit = inv.drives.iter().any(|d| {
        d.identifier
            .as_ref()
            .is_some_and(|i| identifier_matches(i, &serial))
    });
    check(hit, || {
        let ids: Vec<String> = inv
            .drives
            .iter()
            .filter_map(|d| d.identifier.as_ref().map(|i| i.value_string()))
            .collect();
        format!("serial {serial:?} matches no drive identifier: {ids:?}")
    })
}

/// CURDATA (answer from what the library knows, no scan) reports the
/// same elements as a plain request.
pub fn curdata(b: &mut Bench) -> Result<(), CaseError> {
    let (first, n) = storage_range(b, 1)?;
    let ch = b.changer()?;
    let req = util::request(
        Some(ElementType::Storage),
        first,
        n.min(MAX_CHECK),
        true,
        false,
    );
    let plain = util::read_status(ch, req)?;
    let cur = match util::read_status(
        ch,
        ElementStatusRequest {
            curdata: true,
            ..req
        },
    ) {
        Err(CaseError::Scsi(e)) if e.is_asc(0x24, 0x00) => {
            return Err(CaseError::Skip(format!(
                "the library refuses CURDATA ({e})"
            )));
        }
        r => r?,
    };
    util::layout("storage with CURDATA", &cur)?;
    check(plain.data.pages == cur.data.pages, || {
        "CURDATA reports other elements than a plain request".into()
    })
}

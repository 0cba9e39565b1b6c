//! What the changer cases share: raw commands that consume unit
//! attentions, expectations on sense data, the strict check of a READ
//! ELEMENT STATUS report's byte counts, inventory snapshots and the picks
//! of cartridges and elements the media policy allows.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::time::{Duration, Instant};

use reel_changer::element_status::{self, ElementStatusData, ElementStatusRequest};
use reel_changer::{
    Changer, ChangerError, ElementAssignment, ElementStatus, ElementType, Inventory,
    InventoryOptions, MediumType,
};
use reel_drivers::scsi::command;
use reel_drivers::scsi::sense::{Sense, SenseKey, SenseKeySpecific};
use reel_drivers::{DataDirection, ScsiError};

use crate::conformance::{Bench, CaseError, Transport};

/// Unit attentions consumed before a raw command counts as failed.
const UA_RETRIES: usize = 8;
/// How long NOT READY 04/01 (becoming ready) is waited out.
const BECOMING_READY: Duration = Duration::from_secs(120);
/// Commands that move the robot may take minutes on a big library.
pub const MOVE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs one CDB on the changer's transport, bypassing the driver's
/// fallbacks (the cases look at exactly what the library answers), with
/// unit attentions consumed and becoming-ready waited out. Returns the
/// bytes transferred (`alloc` 0: no data phase).
pub fn raw(
    ch: &mut Changer<Transport>,
    op: &'static str,
    cdb: &[u8],
    alloc: usize,
    timeout: Duration,
) -> Result<Vec<u8>, ScsiError> {
    let start = Instant::now();
    let mut ua = 0;
    loop {
        let mut buf = vec![0u8; alloc];
        let dir = if alloc == 0 {
            DataDirection::None
        } else {
            DataDirection::FromDevice(&mut buf)
        };
        match command::run(ch.transport().as_mut(), op, cdb, dir, timeout) {
            Ok(o) => {
                buf.truncate(o.transferred.min(alloc));
                return Ok(buf);
            }
            Err(e) => match e.sense().map(|s| (s.key, s.asc, s.ascq)) {
                Some((SenseKey::UnitAttention, ..)) if ua < UA_RETRIES => ua += 1,
                Some((SenseKey::NotReady, 0x04, 0x01)) if start.elapsed() < BECOMING_READY => {
                    std::thread::sleep(Duration::from_millis(500));
                }
                _ => return Err(e),
            },
        }
    }
}

/// One READ ELEMENT STATUS as the library answers it: the raw bytes and
/// their (lenient) decoding.
pub struct Report {
    pub bytes: Vec<u8>,
    pub data: ElementStatusData,
    pub alloc: usize,
}

/// READ ELEMENT STATUS with exactly the fields of `req` (allocation length
/// capped by the transport's limit).
pub fn read_status(
    ch: &mut Changer<Transport>,
    req: ElementStatusRequest,
) -> Result<Report, CaseError> {
    let alloc = (req.alloc as usize)
        .min(ch.transport().max_transfer())
        .min(0xff_ffff);
    let req = ElementStatusRequest {
        alloc: alloc as u32,
        ..req
    };
    let cdb = element_status::read_element_status_cdb(&req);
    let bytes = raw(ch, "READ ELEMENT STATUS", &cdb, alloc, MOVE_TIMEOUT)?;
    let data = element_status::parse_element_status(&bytes, req.dvcid)
        .map_err(|e| CaseError::Fail(format!("READ ELEMENT STATUS data: {e}")))?;
    Ok(Report { bytes, data, alloc })
}

/// A request for `count` elements of `kind` from `start`.
pub fn request(
    kind: Option<ElementType>,
    start: u16,
    count: u16,
    voltag: bool,
    dvcid: bool,
) -> ElementStatusRequest {
    ElementStatusRequest {
        voltag,
        element_type: kind,
        start,
        count,
        curdata: false,
        dvcid,
        // Room for the longest descriptors (two tags, an identifier).
        alloc: (16 + u32::from(count) * 200).min(0xff_ffff),
    }
}

/// What the byte counts of a READ ELEMENT STATUS report say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub first_address: u16,
    pub elements_available: u16,
    pub report_bytes: usize,
    /// Per page: element type code, descriptor length, descriptors.
    pub pages: Vec<(u8, usize, usize)>,
}

fn be16(b: &[u8], i: usize) -> usize {
    usize::from(u16::from_be_bytes([b[i], b[i + 1]]))
}

fn be24(b: &[u8], i: usize) -> usize {
    (usize::from(b[i]) << 16) | (usize::from(b[i + 1]) << 8) | usize::from(b[i + 2])
}

/// Checks the counts of a complete report (SMC-3 6.11.2, 6.11.3): the
/// header's byte count covers exactly the bytes after the 8-byte header,
/// every page's byte count is a whole number of its descriptors and the
/// pages fill the report, the header's element count and first address
/// agree with the descriptors.
pub fn verify_layout(b: &[u8]) -> Result<Layout, String> {
    if b.len() < 8 {
        return Err(format!("{} bytes: shorter than the 8-byte header", b.len()));
    }
    let report_bytes = be24(b, 5);
    if report_bytes != b.len() - 8 {
        return Err(format!(
            "header byte count is {report_bytes} but {} bytes follow the 8-byte header{}",
            b.len() - 8,
            if report_bytes == b.len() {
                " (the header counts itself)"
            } else {
                ""
            }
        ));
    }
    let mut pages = Vec::new();
    let mut at = 8;
    let mut first_descriptor = None;
    while at < b.len() {
        let Some(ph) = b.get(at..at + 8) else {
            return Err(format!("page header cut at byte {at}"));
        };
        let (code, dl, n) = (ph[0], be16(ph, 2), be24(ph, 5));
        if !(1..=4).contains(&code) {
            return Err(format!("page at byte {at}: element type code {code}"));
        }
        if dl < 12 && n > 0 {
            return Err(format!("page at byte {at}: descriptor length {dl} < 12"));
        }
        if n > 0 && n % dl != 0 {
            return Err(format!(
                "page at byte {at}: {n} bytes is not a whole number of {dl}-byte descriptors"
            ));
        }
        let end = at + 8 + n;
        if end > b.len() {
            return Err(format!(
                "page at byte {at} declares {n} bytes, {} remain",
                b.len() - at - 8
            ));
        }
        if n > 0 {
            first_descriptor.get_or_insert(be16(b, at + 8));
        }
        pages.push((code, dl, n.checked_div(dl).unwrap_or(0)));
        at = end;
    }
    let count: usize = pages.iter().map(|p| p.2).sum();
    let elements_available = be16(b, 2);
    if elements_available != count {
        return Err(format!(
            "header says {elements_available} elements, the pages hold {count} descriptors"
        ));
    }
    let first_address = be16(b, 0);
    if let Some(f) = first_descriptor
        && f != first_address
    {
        return Err(format!(
            "header's first element address is {first_address:#06x}, the first descriptor's {f:#06x}"
        ));
    }
    Ok(Layout {
        first_address: first_address as u16,
        elements_available: elements_available as u16,
        report_bytes,
        pages,
    })
}

/// [`verify_layout`] as a case failure naming the request.
pub fn layout(what: &str, r: &Report) -> Result<Layout, CaseError> {
    verify_layout(&r.bytes).map_err(|e| CaseError::Fail(format!("{what}: {e}")))
}

/// The sense data of a changer error, when it has some.
pub fn sense_of(e: &ChangerError) -> Option<&Sense> {
    e.scsi().and_then(ScsiError::sense)
}

fn describe(key: SenseKey, asc: u8, ascq: u8) -> String {
    format!("{} {asc:02X}/{ascq:02X}", key.name())
}

/// The error `res` must be CHECK CONDITION with `key` `asc`/`ascq`.
pub fn expect_sense<T>(
    what: &str,
    res: Result<T, ScsiError>,
    key: SenseKey,
    asc: u8,
    ascq: u8,
) -> Result<Sense, CaseError> {
    let want = describe(key, asc, ascq);
    match res {
        Ok(_) => Err(CaseError::Fail(format!("{what}: GOOD, want {want}"))),
        Err(e) => match e.sense() {
            Some(s) if s.key == key && s.is_asc(asc, ascq) => Ok(s.clone()),
            _ => Err(CaseError::Fail(format!("{what}: want {want}, got {e}"))),
        },
    }
}

/// The field pointer of `s` must point into the CDB at one of `bytes`.
pub fn expect_field_pointer(
    what: &str,
    s: &Sense,
    bytes: RangeInclusive<u16>,
) -> Result<(), CaseError> {
    match s.key_specific {
        Some(SenseKeySpecific::FieldPointer {
            in_cdb: true, byte, ..
        }) if bytes.contains(&byte) => Ok(()),
        other => Err(CaseError::Fail(format!(
            "{what}: sense-key-specific field pointer should name CDB byte {}..={}, got {other:?}",
            bytes.start(),
            bytes.end()
        ))),
    }
}

/// True for ILLEGAL REQUEST 20/00 (opcode) or 24/00 (field): the library
/// does not implement the command or the bit.
pub fn unsupported(e: &ScsiError) -> bool {
    e.sense().is_some_and(|s| {
        s.key == SenseKey::IllegalRequest && (s.is_asc(0x20, 0) || s.is_asc(0x24, 0))
    })
}

/// The whole library through reel's driver (paged, with its fallbacks).
pub fn inventory(b: &mut Bench) -> Result<Inventory, CaseError> {
    Ok(b.changer()?.inventory(&InventoryOptions::default())?)
}

/// Every element with its volume tag, read type by type with plain
/// READ ELEMENT STATUS requests and decoded leniently (a report whose
/// counts are off still yields its descriptors): for side checks of
/// cases about something else, so they do not hinge on the byte counts.
pub fn raw_elements(ch: &mut Changer<Transport>) -> Result<Vec<ElementStatus>, CaseError> {
    let a = ch.element_assignment()?;
    let mut out = Vec::new();
    for kind in ElementType::ALL {
        let (first, n) = a.range(kind);
        if n == 0 {
            continue;
        }
        let r = read_status(ch, request(Some(kind), first, n, true, false))?;
        out.extend(r.data.elements().cloned());
    }
    Ok(out)
}

/// [`snapshot`] of [`raw_elements`].
pub fn raw_snapshot(elements: &[ElementStatus]) -> Snapshot {
    elements
        .iter()
        .map(|e| (e.address, (e.full, e.barcode())))
        .collect()
}

/// Element address → (full, barcode): what must be the same before and
/// after a case that puts everything back.
pub type Snapshot = BTreeMap<u16, (bool, Option<String>)>;

pub fn snapshot(inv: &Inventory) -> Snapshot {
    ElementType::ALL
        .into_iter()
        .flat_map(|k| inv.elements(k))
        .map(|e| (e.address, (e.full, e.barcode())))
        .collect()
}

/// The differences between two snapshots, one line each.
pub fn diff(before: &Snapshot, after: &Snapshot) -> Vec<String> {
    let mut out = Vec::new();
    for (a, b) in before {
        match after.get(a) {
            Some(x) if x == b => {}
            Some(x) => out.push(format!("element {a:#06x}: {b:?} before, {x:?} after")),
            None => out.push(format!("element {a:#06x} disappeared")),
        }
    }
    for a in after.keys().filter(|a| !before.contains_key(a)) {
        out.push(format!("element {a:#06x} appeared"));
    }
    out
}

/// The inventory must equal `before` (full flags and barcodes).
pub fn expect_unchanged(what: &str, before: &Snapshot, inv: &Inventory) -> Result<(), CaseError> {
    let d = diff(before, &snapshot(inv));
    if d.is_empty() {
        Ok(())
    } else {
        Err(CaseError::Fail(format!("{what}: {}", d.join("; "))))
    }
}

fn is_cleaning(e: &ElementStatus) -> bool {
    e.medium_type == MediumType::Cleaning || e.barcode().is_some_and(|b| b.starts_with("CLN"))
}

/// Every full storage slot whose cartridge the policy lets a case move
/// (never cleaning cartridges), in address order; Skip unless there are
/// at least `n`.
pub fn allowed_full_slots(
    b: &Bench,
    inv: &Inventory,
    n: usize,
) -> Result<Vec<ElementStatus>, CaseError> {
    if !b.policy().destructive {
        return Err(CaseError::Skip("needs --destructive".into()));
    }
    let v: Vec<ElementStatus> = inv
        .slots
        .iter()
        .filter(|e| e.full && !is_cleaning(e))
        .filter(|e| e.barcode().is_some_and(|c| b.policy().allows(&c)))
        .cloned()
        .collect();
    if v.len() < n {
        return Err(CaseError::Skip(format!(
            "needs {n} cartridge(s) in storage slots matching --allow-barcodes {:?}, found {}",
            b.policy().allow_barcodes.as_deref().unwrap_or(""),
            v.len()
        )));
    }
    Ok(v)
}

/// Empty, accessible storage slots, at least `n`, else Skip.
pub fn empty_slots(inv: &Inventory, n: usize) -> Result<Vec<u16>, CaseError> {
    let v: Vec<u16> = inv
        .slots
        .iter()
        .filter(|e| !e.full && !e.disabled && !e.except)
        .take(n)
        .map(|e| e.address)
        .collect();
    if v.len() < n {
        return Err(CaseError::Skip(format!(
            "needs {n} empty storage slot(s), found {}",
            v.len()
        )));
    }
    Ok(v)
}

/// The picks of the simplest destructive case: one allowed full slot and
/// one empty slot, else Skip.
pub fn pick_full_and_empty(b: &Bench, inv: &Inventory) -> Result<(ElementStatus, u16), CaseError> {
    let full = allowed_full_slots(b, inv, 1)?.remove(0);
    let empty = empty_slots(inv, 1)?[0];
    Ok((full, empty))
}

/// The drive element the bench's tape device is (or the first drive),
/// which must be empty.
pub fn empty_test_drive(b: &mut Bench, inv: &Inventory) -> Result<u16, CaseError> {
    let d = b.drive_element()?;
    match inv.drives.iter().find(|e| e.address == d) {
        Some(e) if !e.full => Ok(d),
        Some(e) => Err(CaseError::Skip(format!(
            "the drive under test (element {d:#06x}) holds {:?}",
            e.barcode()
        ))),
        None => Err(CaseError::Fail(format!(
            "drive element {d:#06x} is not in the inventory"
        ))),
    }
}

/// The element at `address` in a fresh inventory.
pub fn element(inv: &Inventory, address: u16) -> Result<&ElementStatus, CaseError> {
    inv.find(address).ok_or_else(|| {
        CaseError::Fail(format!(
            "element {address:#06x} is missing from the inventory"
        ))
    })
}

/// An address no element type of `a` claims (and not 0, the default
/// transport).
pub fn unassigned_address(a: &ElementAssignment) -> Option<u16> {
    let taken = |x: u16| {
        ElementType::ALL.into_iter().any(|k| {
            let (first, n) = a.range(k);
            x >= first && u32::from(x) < u32::from(first) + u32::from(n)
        })
    };
    let end = ElementType::ALL
        .into_iter()
        .map(|k| u32::from(a.range(k).0) + u32::from(a.range(k).1))
        .max()
        .unwrap_or(0);
    [0xfffe, 0x7777, 0xf000, u16::try_from(end).unwrap_or(0xffff)]
        .into_iter()
        .find(|&x| x != 0 && !taken(x))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Header: first 0x0400, 2 elements, 40 bytes; one storage page of two
    /// 16-byte descriptors.
    fn two_slots() -> Vec<u8> {
        vec![
            0x04, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x28, // header
            0x02, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x20, // page: storage, dl 16, 32 bytes
            0x04, 0x00, 0x09, 0, 0, 0, 0, 0, 0, 0x01, 0, 0, 0, 0, 0, 0, // 0x400 full
            0x04, 0x01, 0x08, 0, 0, 0, 0, 0, 0, 0x00, 0, 0, 0, 0, 0, 0, // 0x401 empty
        ]
    }

    #[test]
    fn consistent_report() {
        let l = verify_layout(&two_slots()).unwrap();
        assert_eq!(
            l,
            Layout {
                first_address: 0x400,
                elements_available: 2,
                report_bytes: 40,
                pages: vec![(2, 16, 2)],
            }
        );
        // An empty report: header only.
        assert_eq!(
            verify_layout(&[0, 0, 0, 0, 0, 0, 0, 0]).unwrap().pages,
            vec![]
        );
    }

    #[test]
    fn header_counting_itself_is_named() {
        let mut b = two_slots();
        b[7] = 0x30; // 48 = the whole transfer (tgtd)
        let e = verify_layout(&b).unwrap_err();
        assert!(e.contains("counts itself"), "{e}");
    }

    #[test]
    fn inconsistent_reports() {
        let mut b = two_slots();
        b[3] = 3;
        assert!(verify_layout(&b).unwrap_err().contains("3 elements"));
        let mut b = two_slots();
        b[15] = 0x18; // 24 bytes: not whole descriptors
        assert!(verify_layout(&b).unwrap_err().contains("whole number"));
        let mut b = two_slots();
        b[1] = 0x05;
        assert!(
            verify_layout(&b)
                .unwrap_err()
                .contains("first element address")
        );
        let mut b = two_slots();
        b[8] = 7;
        assert!(verify_layout(&b).unwrap_err().contains("type code 7"));
        assert!(verify_layout(&two_slots()[..5]).is_err());
        // Page header running past the report.
        let mut b = two_slots();
        b.truncate(36);
        b[7] = 28;
        assert!(verify_layout(&b).unwrap_err().contains("declares 32 bytes"));
    }

    #[test]
    fn unassigned_addresses() {
        let a = ElementAssignment {
            transport: (1, 1),
            storage: (0x400, 50),
            import_export: (0x300, 4),
            data_transfer: (0x100, 4),
        };
        assert_eq!(unassigned_address(&a), Some(0xfffe));
        let all = ElementAssignment {
            transport: (1, 1),
            storage: (2, 0xfffe),
            import_export: (0, 0),
            data_transfer: (0, 0),
        };
        assert_eq!(unassigned_address(&all), None);
    }

    #[test]
    fn snapshot_diffs() {
        let a: Snapshot = [(1, (true, Some("A".into()))), (2, (false, None))].into();
        let mut b = a.clone();
        assert!(diff(&a, &b).is_empty());
        b.insert(2, (true, Some("A".into())));
        b.insert(1, (false, None));
        assert_eq!(diff(&a, &b).len(), 2);
    }
}

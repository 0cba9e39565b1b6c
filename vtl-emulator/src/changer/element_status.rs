//! READ ELEMENT STATUS (SMC-3 6.11): an 8-byte header, then one element
//! status page per run of one element type, each an 8-byte page header and
//! fixed-length element descriptors.
//!
//! Descriptor layout: address (2), flags (1), reserved, ASC, ASCQ, 3
//! reserved bytes, SValid/Invert/medium type, source address (2); then the
//! primary volume tag (36 bytes) with VOLTAG, the alternate one (36) when
//! the library has them, and with DVCID the identification descriptor: code
//! set, identifier type, reserved, identifier length, identifier. Drives
//! identify themselves as their VPD 83h T10 vendor designator (ASCII, type
//! 1: vendor 8, product 16, serial), so hosts match them to tape devices;
//! identifiers are zero-padded to the page's descriptor length (the longest
//! identifier rounded up to 4 bytes).
//!
//! The header and page headers always report the full byte counts; the
//! allocation length only truncates the transfer, so a host can re-request.

use super::dispatch::Ctx;
use super::{Changer, ElementKind, Medium};
use crate::drive::inquiry::ascii;
use crate::drive::sense::{HResult, invalid_cdb_field};

/// A parsed READ ELEMENT STATUS request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    pub voltag: bool,
    /// 0 = all types, else an element type code.
    pub kind: Option<ElementKind>,
    pub start: u16,
    pub count: u16,
    pub dvcid: bool,
}

/// The T10 vendor designator of drive `n` (DVCID identifier).
fn drive_identifier(ch: &Changer, n: usize) -> Vec<u8> {
    let Some(id) = ch.cfg.drives.get(n) else {
        return Vec::new();
    };
    let mut v = ascii(&id.vendor, 8);
    v.extend_from_slice(&ascii(&id.product, 16));
    v.extend(
        id.serial
            .bytes()
            .filter(|b| b.is_ascii_graphic() || *b == b' '),
    );
    v.truncate(255);
    v
}

/// 36-byte volume tag field: 32 bytes identifier (space padded), 2
/// reserved, 2 sequence number. Unlabelled media and empty elements: zeros.
fn volume_tag(tag: Option<&str>) -> [u8; 36] {
    let mut t = [0u8; 36];
    if let Some(s) = tag {
        t[..32].copy_from_slice(&ascii(s, 32));
    }
    t
}

/// Descriptor length of a page of `kind`.
fn descriptor_len(ch: &Changer, kind: ElementKind, r: &Request) -> usize {
    let mut n = 12;
    if r.voltag {
        n += 36;
        if ch.cfg.options.alternate_tags {
            n += 36;
        }
    }
    if r.dvcid {
        n += 4;
        if kind == ElementKind::DataTransfer {
            // Every descriptor of a page has one length: room for the
            // longest identifier, rounded up to 4 bytes as libraries do.
            let longest = (0..ch.cfg.drives.len())
                .map(|i| drive_identifier(ch, i).len())
                .max()
                .unwrap_or(0);
            n += longest.div_ceil(4) * 4;
        }
    }
    n
}

fn medium_at(ch: &Changer, kind: ElementKind, i: usize) -> Option<&Medium> {
    let list = match kind {
        ElementKind::Storage => &ch.state.slots,
        ElementKind::ImportExport => &ch.state.mail_slots,
        ElementKind::DataTransfer => &ch.state.drives,
        ElementKind::Transport => return None,
    };
    list.get(i).and_then(Option::as_ref)
}

/// Appends the descriptor of element `i` of `kind` (exactly `len` bytes).
fn descriptor(
    ch: &Changer,
    kind: ElementKind,
    i: usize,
    r: &Request,
    len: usize,
    out: &mut Vec<u8>,
) {
    let start = out.len();
    let addr = ch.cfg.map.address(kind, i).unwrap_or(0);
    let m = medium_at(ch, kind, i);
    let blocked = ch.state.faults.inaccessible.contains(&addr)
        || (kind == ElementKind::ImportExport && ch.state.mail_open);
    let reachable = !blocked;
    let mut flags = u8::from(m.is_some()); // Full
    let (mut asc, mut ascq) = (0, 0);
    match kind {
        ElementKind::Transport => {
            if let Some(p) = ch.state.faults.picker.filter(|p| p.persistent) {
                flags |= 0x04; // Except
                (asc, ascq) = (p.asc, p.ascq);
            }
        }
        ElementKind::ImportExport => {
            if m.is_some_and(|m| m.by_operator) {
                flags |= 0x02; // ImpExp
            }
            flags |= 0x30; // InEnab, ExEnab
            if reachable {
                flags |= 0x08; // Access
            }
        }
        ElementKind::Storage | ElementKind::DataTransfer => {
            if reachable {
                flags |= 0x08;
            }
        }
    }
    out.extend_from_slice(&addr.to_be_bytes());
    out.extend_from_slice(&[flags, 0, asc, ascq, 0, 0, 0]);
    let mut b9 = 0u8;
    let mut source = 0u16;
    if let Some(m) = m {
        b9 |= m.kind.smc_code();
        if let Some(s) = m.source {
            b9 |= 0x80; // SValid
            source = s;
        }
    }
    out.push(b9);
    out.extend_from_slice(&source.to_be_bytes());
    if r.voltag {
        let labelled = m.filter(|m| m.labelled);
        out.extend_from_slice(&volume_tag(labelled.map(|m| m.barcode.as_str())));
        if ch.cfg.options.alternate_tags {
            let alt = labelled.and_then(|m| m.alternate_tag.as_deref());
            out.extend_from_slice(&volume_tag(alt));
        }
    }
    if r.dvcid {
        if kind == ElementKind::DataTransfer {
            let id = drive_identifier(ch, i);
            // Code set 2 (ASCII), association 0 (LU), type 1 (T10 vendor).
            out.extend_from_slice(&[0x02, 0x01, 0x00, id.len() as u8]);
            out.extend_from_slice(&id);
        } else {
            out.extend_from_slice(&[0, 0, 0, 0]);
        }
    }
    out.resize(start + len, 0);
}

fn put24(out: &mut [u8], at: usize, v: usize) {
    let v = u32::try_from(v)
        .unwrap_or(u32::MAX)
        .min(0x00ff_ffff)
        .to_be_bytes();
    out[at..at + 3].copy_from_slice(&v[1..]);
}

/// Appends one element status page of `kind` holding `indices`.
pub(crate) fn write_page(
    ch: &Changer,
    r: &Request,
    kind: ElementKind,
    indices: &[usize],
    out: &mut Vec<u8>,
) {
    let len = descriptor_len(ch, kind, r);
    let page_at = out.len();
    out.extend_from_slice(&[kind.code(), 0, 0, 0, 0, 0, 0, 0]);
    if r.voltag {
        out[page_at + 1] |= 0x80; // PVolTag
        if ch.cfg.options.alternate_tags {
            out[page_at + 1] |= 0x40; // AVolTag
        }
    }
    out[page_at + 2..page_at + 4].copy_from_slice(&(len as u16).to_be_bytes());
    put24(out, page_at + 5, indices.len() * len);
    out.reserve(indices.len() * len);
    for &i in indices {
        descriptor(ch, kind, i, r, len, out);
    }
}

/// The 8-byte header in front of the pages: first address, number of
/// elements, byte 4 (SEND VOLUME TAG action code for REQUEST VOLUME
/// ELEMENT ADDRESS, else 0), byte count of what follows.
pub(crate) fn finish_header(out: &mut [u8], first: u16, count: usize, byte4: u8) {
    out[0..2].copy_from_slice(&first.to_be_bytes());
    out[2..4].copy_from_slice(&(count.min(0xffff) as u16).to_be_bytes());
    out[4] = byte4;
    let bytes = out.len() - 8;
    put24(out, 5, bytes);
}

/// The whole report for `r`, before the allocation length cuts it.
pub fn build_report(ch: &Changer, r: &Request) -> Vec<u8> {
    let mut out = vec![0u8; 8];
    let mut remaining = usize::from(r.count);
    let mut total = 0usize;
    let mut first: Option<u16> = None;
    for kind in ch.cfg.map.kinds_by_address() {
        if remaining == 0 {
            break;
        }
        if r.kind.is_some_and(|k| k != kind) {
            continue;
        }
        let (base, n) = ch.cfg.map.range(kind);
        if n == 0 {
            continue;
        }
        let last = u32::from(base) + u32::from(n) - 1;
        if u32::from(r.start) > last {
            continue;
        }
        let from = usize::from(r.start.saturating_sub(base));
        let take = (usize::from(n) - from).min(remaining);
        remaining -= take;
        total += take;
        first.get_or_insert(base + from as u16);
        let indices: Vec<usize> = (from..from + take).collect();
        write_page(ch, r, kind, &indices, &mut out);
    }
    finish_header(&mut out, first.unwrap_or(0), total, 0);
    out
}

/// READ ELEMENT STATUS: B8h, VOLTAG (1:4), type (1:3..0), starting address
/// (2..3), number of elements (4..5), CURDATA (6:1), DVCID (6:0),
/// allocation length (7..9).
pub fn read_element_status(ch: &mut Changer, c: &mut Ctx<'_, '_>) -> HResult {
    let code = c.b(1) & 0x0f;
    let kind = match code {
        0 => None,
        1..=4 => ElementKind::ALL.into_iter().find(|k| k.code() == code),
        _ => return Err(invalid_cdb_field(1, Some(3))),
    };
    let r = Request {
        voltag: c.b(1) & 0x10 != 0,
        kind,
        start: c.be16(2),
        count: c.be16(4),
        dvcid: c.b(6) & 0x01 != 0,
    };
    let alloc = c.be24(7) as usize;
    let report = build_report(ch, &r);
    Ok(c.reply(&report, alloc))
}

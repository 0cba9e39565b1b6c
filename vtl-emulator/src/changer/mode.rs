//! MODE SENSE/SELECT (6 and 10) with the SMC-3 pages: 1Dh element address
//! assignment, 1Eh transport geometry, 1Fh device capabilities, and 3Fh
//! (all of them). The changer has no block descriptors (DBD changes
//! nothing) and no changeable or saveable parameters.

use super::dispatch::Ctx;
use super::{Changer, ElementKind, ElementMap};
use crate::drive::sense::{
    HResult, invalid_cdb_field, invalid_param_field, param_list_length, saving_not_supported,
};

/// Page 1Dh (SMC-3 7.3.4): first address and count of each element type.
pub fn page_1d(map: &ElementMap) -> Vec<u8> {
    let mut p = vec![0x1d, 0x12];
    for k in [
        ElementKind::Transport,
        ElementKind::Storage,
        ElementKind::ImportExport,
        ElementKind::DataTransfer,
    ] {
        let (first, n) = map.range(k);
        p.extend_from_slice(&first.to_be_bytes());
        p.extend_from_slice(&n.to_be_bytes());
    }
    p.extend_from_slice(&[0, 0]);
    p
}

/// Page 1Eh (SMC-3 7.3.5): one 2-byte descriptor per transport element;
/// the picker cannot rotate media (ROTATE 0), member 0 of its set.
pub fn page_1e(map: &ElementMap) -> Vec<u8> {
    let n = usize::from(map.transport.1);
    let mut p = vec![0x1e, (2 * n).min(0xfe) as u8];
    p.resize(2 + (2 * n).min(0xfe), 0);
    p
}

/// Page 1Fh (SMC-3 7.3.3): which element types store media and which
/// moves and exchanges the robot performs. Bits per type: DT 3, I/E 2,
/// ST 1, MT 0. The picker holds media only during a move, so it is neither
/// a storage place nor a source.
pub fn page_1f(exchange: bool) -> Vec<u8> {
    const STORE: u8 = 0x0e; // ST, I/E, DT
    let mut p = vec![0x1f, 0x12, STORE, 0];
    // MT->, ST->, I/E->, DT-> (MOVE MEDIUM).
    p.extend_from_slice(&[0, STORE, STORE, STORE]);
    p.extend_from_slice(&[0; 4]);
    // MT<>, ST<>, I/E<>, DT<> (EXCHANGE MEDIUM).
    let x = if exchange { STORE } else { 0 };
    p.extend_from_slice(&[0, x, x, x]);
    p.extend_from_slice(&[0; 4]);
    p
}

fn current_page(ch: &Changer, code: u8) -> Option<Vec<u8>> {
    match code {
        0x1d => Some(page_1d(&ch.cfg.map)),
        0x1e => Some(page_1e(&ch.cfg.map)),
        0x1f => Some(page_1f(ch.cfg.options.exchange)),
        _ => None,
    }
}

/// Page bytes for page control `pc` (changeable: all zero).
fn page_for(ch: &Changer, code: u8, pc: u8) -> Option<Vec<u8>> {
    let mut p = current_page(ch, code)?;
    if pc == 1 {
        p[2..].fill(0);
    }
    Some(p)
}

/// The pages asked for by byte 2 (PC and page code) and byte 3 (subpage).
fn pages(ch: &Changer, c: &Ctx<'_, '_>) -> Result<Vec<u8>, crate::drive::sense::Fail> {
    let pc = c.b(2) >> 6;
    let code = c.b(2) & 0x3f;
    if pc == 3 {
        return Err(saving_not_supported());
    }
    if c.b(3) != 0 {
        return Err(invalid_cdb_field(3, Some(7)));
    }
    if code == 0x3f {
        let mut all = Vec::new();
        for p in [0x1d, 0x1e, 0x1f] {
            all.extend(page_for(ch, p, pc).unwrap_or_default());
        }
        return Ok(all);
    }
    page_for(ch, code, pc).ok_or_else(|| invalid_cdb_field(2, Some(5)))
}

/// MODE SENSE(6): 4-byte header, no block descriptors.
pub fn mode_sense6(ch: &mut Changer, c: &mut Ctx<'_, '_>) -> HResult {
    let body = pages(ch, c)?;
    let mut out = vec![0u8; 4];
    out.extend_from_slice(&body);
    out[0] = (out.len() - 1).min(0xff) as u8;
    let alloc = usize::from(c.b(4));
    Ok(c.reply(&out, alloc))
}

/// MODE SENSE(10): 8-byte header, no block descriptors.
pub fn mode_sense10(ch: &mut Changer, c: &mut Ctx<'_, '_>) -> HResult {
    let body = pages(ch, c)?;
    let mut out = vec![0u8; 8];
    out.extend_from_slice(&body);
    let len = u16::try_from(out.len() - 2).unwrap_or(u16::MAX);
    out[0..2].copy_from_slice(&len.to_be_bytes());
    let alloc = usize::from(c.be16(7));
    Ok(c.reply(&out, alloc))
}

/// Checks a MODE SELECT parameter list: no block descriptors, known pages
/// of the right length whose values equal the current ones (nothing is
/// changeable). `header` is 4 or 8; `bdl_at` where the block descriptor
/// length sits.
fn select(ch: &Changer, c: &Ctx<'_, '_>, list_len: usize, header: usize) -> HResult {
    if c.b(1) & 0x01 != 0 {
        return Err(saving_not_supported());
    }
    if list_len == 0 {
        return Ok(0);
    }
    if c.data_out.len() < list_len || list_len < header {
        return Err(param_list_length());
    }
    let data = &c.data_out[..list_len];
    let bdl = if header == 4 {
        usize::from(data[3])
    } else {
        usize::from(u16::from_be_bytes([data[6], data[7]]))
    };
    if bdl != 0 {
        return Err(invalid_param_field(header - 1, Some(7)));
    }
    let mut at = header;
    while at < data.len() {
        let code = data[at] & 0x3f;
        let Some(len) = data.get(at + 1).map(|&l| usize::from(l) + 2) else {
            return Err(param_list_length());
        };
        let Some(cur) = current_page(ch, code) else {
            return Err(invalid_param_field(at, Some(5)));
        };
        if len != cur.len() {
            return Err(invalid_param_field(at + 1, Some(7)));
        }
        let Some(given) = data.get(at..at + len) else {
            return Err(param_list_length());
        };
        if let Some(i) = (2..len).find(|&i| given[i] != cur[i]) {
            return Err(invalid_param_field(at + i, Some(7)));
        }
        at += len;
    }
    Ok(0)
}

pub fn mode_select6(ch: &mut Changer, c: &mut Ctx<'_, '_>) -> HResult {
    let len = usize::from(c.b(4));
    select(ch, c, len, 4)
}

pub fn mode_select10(ch: &mut Changer, c: &mut Ctx<'_, '_>) -> HResult {
    let len = usize::from(c.be16(7));
    select(ch, c, len, 8)
}

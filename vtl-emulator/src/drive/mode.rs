//! MODE SENSE / MODE SELECT (6) and (10) (SPC-5 6.11-6.14, SSC-5 8.3):
//! the block descriptor (density, block length) and pages 0Fh data
//! compression, 10h device configuration, 11h medium partition (read-only
//! for now) and 1Ch informational exceptions control.

use super::dispatch::Ctx;
use super::medium::can_write;
use super::sense::{
    Fail, HResult, invalid_cdb_field, invalid_param_field, param_list_length, saving_not_supported,
};
use super::{Drive, DriveSettings, MediumState};

/// Page codes in the order MODE SENSE page 3Fh returns them.
pub const PAGES: [u8; 4] = [0x0f, 0x10, 0x11, 0x1c];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pc {
    Current,
    Changeable,
    Default,
}

/// Settings as page values see them (current or default).
fn settings_for(d: &Drive, pc: Pc) -> DriveSettings {
    match pc {
        Pc::Default => DriveSettings::default(),
        _ => d.settings.clone(),
    }
}

/// Maximum additional partitions of the drive's generation: LTO-5/6 support
/// two partitions, LTO-7 and later four.
fn max_additional_partitions(d: &Drive) -> u8 {
    use super::medium::Generation::*;
    match d.cfg.generation {
        Lto5 | Lto6 => 1,
        _ => 3,
    }
}

/// One mode page, header included, for page control `pc`.
pub fn page(d: &Drive, code: u8, pc: Pc) -> Option<Vec<u8>> {
    let s = settings_for(d, pc);
    let ch = pc == Pc::Changeable;
    Some(match code {
        0x0f => {
            let mut p = vec![0u8; 16];
            p[0] = 0x0f;
            p[1] = 0x0e;
            if ch {
                p[2] = 0x80; // DCE
            } else {
                // DCE per setting, DCC (compression capable) always.
                p[2] = if s.compression { 0xc0 } else { 0x40 };
                p[3] = 0x80; // DDE: decompression enabled
                p[4..8].copy_from_slice(&1u32.to_be_bytes());
                p[8..12].copy_from_slice(&1u32.to_be_bytes());
            }
            p
        }
        0x10 => {
            let mut p = vec![0u8; 16];
            p[0] = 0x10;
            p[1] = 0x0e;
            if ch {
                p[14] = 0xff; // SELECT DATA COMPRESSION ALGORITHM
            } else {
                p[3] = d
                    .cart
                    .as_ref()
                    .filter(|_| d.medium == MediumState::Loaded)
                    .map_or(0, |c| c.position().partition);
                p[8] = 0x40; // LOIS: logical object identifiers supported
                p[10] = 0x18; // EEG, SEW
                p[14] = u8::from(s.compression);
            }
            p
        }
        0x11 => {
            let max = max_additional_partitions(d);
            let n = usize::from(max) + 1;
            let mut p = vec![0u8; 8 + 2 * n];
            p[0] = 0x11;
            p[1] = (p.len() - 2) as u8;
            if !ch {
                p[2] = max;
                let loaded = d.cart.as_ref().filter(|_| d.medium == MediumState::Loaded);
                let defined = loaded.map_or(1, |c| c.spec().partitions.clamp(1, max + 1));
                p[3] = defined - 1;
                p[4] = 0x18; // PSUM 11b: sizes in units of 10^(PARTITION UNITS)
                p[5] = 0x03; // medium format recognition: format and partition
                p[6] = 0x09; // partition units: 10^9 bytes
                if let Some(c) = loaded {
                    let each = c.spec().capacity / u64::from(defined) / 1_000_000_000;
                    let each = u16::try_from(each).unwrap_or(u16::MAX);
                    for i in 0..usize::from(defined) {
                        p[8 + 2 * i..10 + 2 * i].copy_from_slice(&each.to_be_bytes());
                    }
                }
            }
            p
        }
        0x1c => {
            let mut p = vec![0u8; 12];
            p[0] = 0x1c;
            p[1] = 0x0a;
            if ch {
                p[2] = 0x08; // DEXCPT
                p[3] = 0x0f; // MRIE
            } else {
                p[2] = if s.dexcpt { 0x08 } else { 0x00 };
                p[3] = s.mrie & 0x0f;
            }
            p
        }
        _ => return None,
    })
}

/// Device-specific parameter: WP, buffered mode, speed 0.
fn device_specific(d: &Drive, pc: Pc) -> u8 {
    if pc == Pc::Changeable {
        return 0x70;
    }
    let wp = d
        .cart
        .as_ref()
        .filter(|_| d.medium == MediumState::Loaded)
        .is_some_and(|c| c.write_protected() || !can_write(d.cfg.generation, c.spec().generation));
    (if wp { 0x80 } else { 0 }) | ((settings_for(d, pc).buffered_mode & 0x07) << 4)
}

/// The 8-byte block descriptor (density, number of blocks 0, block length).
fn block_descriptor(d: &Drive, pc: Pc) -> [u8; 8] {
    if pc == Pc::Changeable {
        return [0, 0, 0, 0, 0, 0xff, 0xff, 0xff];
    }
    let density = d
        .cart
        .as_ref()
        .filter(|_| d.medium == MediumState::Loaded)
        .map_or(0, |c| c.spec().generation.density_code());
    let bl = settings_for(d, pc).block_size.to_be_bytes();
    [density, 0, 0, 0, 0, bl[1], bl[2], bl[3]]
}

/// Decodes PC, page and subpage of a MODE SENSE CDB into the page bytes.
fn sense_pages(d: &Drive, c: &Ctx<'_>) -> Result<(Pc, Vec<u8>), Fail> {
    let pc = match c.b(2) >> 6 {
        0 => Pc::Current,
        1 => Pc::Changeable,
        2 => Pc::Default,
        _ => return Err(saving_not_supported()),
    };
    let code = c.b(2) & 0x3f;
    let subpage = c.b(3);
    // No subpages: 00h, or FFh (all subpages) which then means the page.
    if subpage != 0x00 && subpage != 0xff {
        return Err(invalid_cdb_field(3, Some(7)));
    }
    let mut out = Vec::new();
    if code == 0x3f {
        for p in PAGES {
            out.extend(page(d, p, pc).unwrap_or_default());
        }
    } else {
        match page(d, code, pc) {
            Some(p) => out = p,
            None => return Err(invalid_cdb_field(2, Some(5))),
        }
    }
    Ok((pc, out))
}

pub fn mode_sense6(d: &mut Drive, c: &mut Ctx<'_>) -> HResult {
    let dbd = c.b(1) & 0x08 != 0;
    let (pc, pages) = sense_pages(d, c)?;
    let bd: &[u8] = if dbd { &[] } else { &block_descriptor(d, pc) };
    let mut out = vec![0u8, 0x00, device_specific(d, pc), bd.len() as u8];
    out.extend_from_slice(bd);
    out.extend_from_slice(&pages);
    // MODE DATA LENGTH excludes itself; a 6-byte header caps it at 255.
    out[0] = u8::try_from(out.len() - 1).unwrap_or(u8::MAX);
    Ok(c.reply(&out, usize::from(c.b(4))))
}

pub fn mode_sense10(d: &mut Drive, c: &mut Ctx<'_>) -> HResult {
    let dbd = c.b(1) & 0x08 != 0;
    let (pc, pages) = sense_pages(d, c)?;
    // LLBAA is accepted, but tape block descriptors are always short
    // (LONGLBA stays 0).
    let bd: &[u8] = if dbd { &[] } else { &block_descriptor(d, pc) };
    let mut out = vec![
        0u8,
        0,
        0x00,
        device_specific(d, pc),
        0,
        0,
        0,
        bd.len() as u8,
    ];
    out.extend_from_slice(bd);
    out.extend_from_slice(&pages);
    let len = u16::try_from(out.len() - 2).unwrap_or(u16::MAX);
    out[..2].copy_from_slice(&len.to_be_bytes());
    Ok(c.reply(&out, usize::from(c.be16(7))))
}

pub fn mode_select6(d: &mut Drive, c: &mut Ctx<'_>) -> HResult {
    if c.b(1) & 0x01 != 0 {
        return Err(invalid_cdb_field(1, Some(0)));
    }
    let len = usize::from(c.b(4));
    select(d, c, len, 4)
}

pub fn mode_select10(d: &mut Drive, c: &mut Ctx<'_>) -> HResult {
    if c.b(1) & 0x01 != 0 {
        return Err(invalid_cdb_field(1, Some(0)));
    }
    let len = usize::from(c.be16(7));
    select(d, c, len, 8)
}

/// Validates the whole parameter list, then applies it (all or nothing).
fn select(d: &mut Drive, c: &mut Ctx<'_>, param_len: usize, header: usize) -> HResult {
    if param_len == 0 {
        return Ok(0);
    }
    if c.data_out.len() < param_len || param_len < header {
        return Err(param_list_length());
    }
    let data = &c.data_out[..param_len];
    let (dev_spec_at, bdl_at) = if header == 4 { (2, 3) } else { (3, 6) };
    let mut new = d.settings.clone();
    let buffered = (data[dev_spec_at] >> 4) & 0x07;
    if buffered > 1 {
        return Err(invalid_param_field(dev_spec_at, Some(6)));
    }
    new.buffered_mode = buffered;
    let bdl = if header == 4 {
        usize::from(data[bdl_at])
    } else {
        usize::from(u16::from_be_bytes([data[bdl_at], data[bdl_at + 1]]))
    };
    if bdl != 0 && bdl != 8 {
        return Err(invalid_param_field(bdl_at, Some(7)));
    }
    let mut p = header;
    if bdl == 8 {
        let bd = data.get(p..p + 8).ok_or_else(param_list_length)?;
        let current_density = d
            .cart
            .as_ref()
            .filter(|_| d.medium == MediumState::Loaded)
            .map(|k| k.spec().generation.density_code());
        if bd[0] != 0 && Some(bd[0]) != current_density {
            return Err(invalid_param_field(p, Some(7)));
        }
        let bl = u32::from_be_bytes([0, bd[5], bd[6], bd[7]]);
        if bl > d.cfg.max_block_len {
            return Err(invalid_param_field(p + 5, Some(7)));
        }
        new.block_size = bl;
        p += 8;
    }
    while p < data.len() {
        let code = data[p] & 0x3f;
        if data[p] & 0x40 != 0 {
            // SPF: no subpages are supported.
            return Err(invalid_param_field(p, Some(6)));
        }
        let plen = usize::from(*data.get(p + 1).ok_or_else(param_list_length)?);
        let body = data.get(p..p + 2 + plen).ok_or_else(param_list_length)?;
        let (Some(cur), Some(mask)) = (page(d, code, Pc::Current), page(d, code, Pc::Changeable))
        else {
            return Err(invalid_param_field(p, Some(5)));
        };
        if body.len() != cur.len() {
            return Err(invalid_param_field(p + 1, Some(7)));
        }
        // Every bit that is not changeable must hold its current value.
        for i in 2..body.len() {
            let bad = (body[i] ^ cur[i]) & !mask[i];
            if bad != 0 {
                let bit = 7 - bad.leading_zeros() as u8;
                return Err(invalid_param_field(p + i, Some(bit)));
            }
        }
        match code {
            0x0f => new.compression = body[2] & 0x80 != 0,
            0x10 => new.compression = body[14] != 0,
            0x1c => {
                new.dexcpt = body[2] & 0x08 != 0;
                new.mrie = body[3] & 0x0f;
            }
            _ => {}
        }
        p += 2 + plen;
    }
    if new != d.settings {
        d.settings = new;
        d.touch();
        // Other initiators learn of the change (SPC-5: 2A/01).
        let me = c.initiator;
        for (id, q) in d.ua.iter_mut() {
            if *id != me && !q.contains(&(0x2a, 0x01)) {
                q.push_back((0x2a, 0x01));
            }
        }
    }
    Ok(0)
}

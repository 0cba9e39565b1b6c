//! REPORT DENSITY SUPPORT (SSC-5 6.?): the densities the drive reads and
//! writes (MEDIA=0) or the loaded medium's (MEDIA=1), as 52-byte density
//! support descriptors.

use super::dispatch::Ctx;
use super::inquiry::ascii;
use super::medium::{Generation, can_read, can_write};
use super::sense::{HResult, invalid_cdb_field, no_medium};
use super::{Drive, MediumState};

/// Physical characteristics per generation: bits per mm, tracks, density
/// name, description. Figures as the LTO format specifications state them
/// (rounded, for reporting only).
fn characteristics(g: Generation) -> (u32, u16, &'static str, &'static str) {
    match g {
        Generation::Lto5 => (15142, 1280, "U-516", "Ultrium 5/16T"),
        Generation::Lto6 => (15142, 2176, "U-616", "Ultrium 6/16T"),
        Generation::Lto7 => (19107, 3584, "U-732", "Ultrium 7/32T"),
        Generation::Lto7M8 => (19107, 5376, "U-732M8", "Ultrium 7 M8/32T"),
        Generation::Lto8 => (20668, 6656, "U-832", "Ultrium 8/32T"),
        Generation::Lto9 => (21717, 8960, "U-932", "Ultrium 9/32T"),
        Generation::Lto10 => (21717, 10240, "U-A32", "Ultrium 10/32T"),
    }
}

/// One density support descriptor (52 bytes).
pub fn descriptor(drive: Generation, g: Generation, capacity: u64) -> [u8; 52] {
    let (bpmm, tracks, name, desc) = characteristics(g);
    let mut b = [0u8; 52];
    b[0] = g.density_code();
    b[1] = g.density_code();
    // WRTOK, DEFLT (the drive's own generation), DLV (descriptor length valid).
    b[2] =
        (if can_write(drive, g) { 0x80 } else { 0 }) | (if g == drive { 0x20 } else { 0 }) | 0x01;
    b[3..5].copy_from_slice(&49u16.to_be_bytes());
    b[5..8].copy_from_slice(&bpmm.to_be_bytes()[1..]);
    b[8..10].copy_from_slice(&127u16.to_be_bytes()); // 12.7 mm in 0.1 mm
    b[10..12].copy_from_slice(&tracks.to_be_bytes());
    let mb = u32::try_from(capacity / 1_000_000).unwrap_or(u32::MAX);
    b[12..16].copy_from_slice(&mb.to_be_bytes());
    b[16..24].copy_from_slice(&ascii("LTO-CVE", 8));
    b[24..32].copy_from_slice(&ascii(name, 8));
    b[32..52].copy_from_slice(&ascii(desc, 20));
    b
}

pub fn report_density(d: &mut Drive, c: &mut Ctx<'_>) -> HResult {
    let media = c.b(1) & 0x01 != 0;
    if c.b(1) & 0x02 != 0 {
        // MEDIUM TYPE descriptors are not implemented.
        return Err(invalid_cdb_field(1, Some(1)));
    }
    let alloc = usize::from(c.be16(7));
    let drive = d.cfg.generation;
    let mut descs: Vec<[u8; 52]> = Vec::new();
    if media {
        let Some(cart) = d.cart.as_ref().filter(|_| d.medium != MediumState::Empty) else {
            return Err(no_medium());
        };
        let g = cart.spec().generation;
        descs.push(descriptor(drive, g, cart.spec().capacity));
    } else {
        for g in Generation::ALL {
            if can_read(drive, g) {
                descs.push(descriptor(drive, g, g.native_capacity()));
            }
        }
    }
    let mut out = vec![0u8; 4];
    for x in &descs {
        out.extend_from_slice(x);
    }
    let len = u16::try_from(out.len() - 2).unwrap_or(u16::MAX);
    out[..2].copy_from_slice(&len.to_be_bytes());
    Ok(c.reply(&out, alloc))
}

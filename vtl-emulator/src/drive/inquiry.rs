//! INQUIRY: standard data and the VPD pages 00h, 80h, 83h and B0h
//! (SPC-5 6.7 and 7.7, SSC-5 8.4).

use super::Drive;
use super::dispatch::Ctx;
use super::sense::{HResult, invalid_cdb_field};

const SUPPORTED_VPD: [u8; 4] = [0x00, 0x80, 0x83, 0xb0];

/// ASCII field padded with spaces (and cut) to `len`.
pub(crate) fn ascii(s: &str, len: usize) -> Vec<u8> {
    let mut v: Vec<u8> = s
        .bytes()
        .map(|b| if (0x20..0x7f).contains(&b) { b } else { b' ' })
        .take(len)
        .collect();
    v.resize(len, b' ');
    v
}

/// Standard INQUIRY data, 56 bytes.
pub fn standard_inquiry(d: &Drive) -> Vec<u8> {
    let mut b = vec![0u8; 56];
    b[0] = 0x01; // qualifier 0, sequential-access device
    b[1] = 0x80; // RMB: removable medium
    b[2] = 0x06; // VERSION: SPC-4
    b[3] = 0x02; // response data format 2
    b[4] = (b.len() - 5) as u8;
    // Byte 6 bit 3 (MCHNGR) stays clear: this drive has no changer behind it.
    b[8..16].copy_from_slice(&ascii(&d.cfg.vendor, 8));
    b[16..32].copy_from_slice(&ascii(&d.cfg.product, 16));
    b[32..36].copy_from_slice(&ascii(&d.cfg.revision, 4));
    b
}

/// VPD page with the 4-byte header (SPC-5 7.7.1).
fn vpd(page: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![0x01, page];
    v.extend_from_slice(&u16::try_from(body.len()).unwrap_or(u16::MAX).to_be_bytes());
    v.extend_from_slice(body);
    v
}

/// A locally assigned NAA (type 3) identifier derived from the serial: the
/// VTL owns no IEEE company identifier, so it does not pretend to.
pub fn naa_identifier(d: &Drive) -> [u8; 8] {
    // FNV-1a over vendor, product and serial: stable across runs.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in d
        .cfg
        .vendor
        .bytes()
        .chain(d.cfg.product.bytes())
        .chain(d.cfg.serial.bytes())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    ((3u64 << 60) | (h & 0x0fff_ffff_ffff_ffff)).to_be_bytes()
}

pub fn vpd_page(d: &Drive, page: u8) -> Option<Vec<u8>> {
    Some(match page {
        0x00 => vpd(0x00, &SUPPORTED_VPD),
        0x80 => vpd(0x80, d.cfg.serial.as_bytes()),
        0x83 => {
            let mut body = Vec::new();
            // T10 vendor ID designator: code set ASCII, association LU.
            let mut t10 = ascii(&d.cfg.vendor, 8);
            t10.extend_from_slice(&ascii(&d.cfg.product, 16));
            t10.extend_from_slice(d.cfg.serial.as_bytes());
            body.extend_from_slice(&[0x02, 0x01, 0x00, t10.len().min(255) as u8]);
            body.extend_from_slice(&t10[..t10.len().min(255)]);
            // NAA designator: code set binary, association LU.
            body.extend_from_slice(&[0x01, 0x03, 0x00, 0x08]);
            body.extend_from_slice(&naa_identifier(d));
            vpd(0x83, &body)
        }
        // Sequential-access device capabilities: WORM media supported.
        0xb0 => vpd(0xb0, &[0x01, 0x00]),
        _ => return None,
    })
}

/// INQUIRY (SPC-5 6.7).
pub fn inquiry(d: &mut Drive, c: &mut Ctx<'_>) -> HResult {
    let evpd = c.b(1) & 0x01 != 0;
    let page = c.b(2);
    let alloc = usize::from(c.be16(3));
    if !evpd {
        if page != 0 {
            return Err(invalid_cdb_field(2, Some(7)));
        }
        return Ok(c.reply(&standard_inquiry(d), alloc));
    }
    match vpd_page(d, page) {
        Some(p) => Ok(c.reply(&p, alloc)),
        None => Err(invalid_cdb_field(2, Some(7))),
    }
}

//! INQUIRY (standard data, VPD 00h/80h/83h), REPORT LUNS, TEST UNIT READY
//! and REQUEST SENSE for the medium changer (SPC-5, SMC-3).

use reel_drivers::scsi::sense::{Sense, SenseKey};

use super::Changer;
use super::dispatch::Ctx;
use crate::drive::inquiry::ascii;
use crate::drive::sense::{HResult, invalid_cdb_field};

const SUPPORTED_VPD: [u8; 3] = [0x00, 0x80, 0x83];

/// Standard INQUIRY data, 56 bytes: peripheral device type 08h.
pub fn standard_inquiry(ch: &Changer) -> Vec<u8> {
    let id = &ch.cfg.identity;
    let mut b = vec![0u8; 56];
    b[0] = 0x08; // qualifier 0, medium changer device
    b[1] = 0x80; // RMB: the library's media are removable
    b[2] = 0x06; // VERSION: SPC-4
    b[3] = 0x02; // response data format 2
    b[4] = (b.len() - 5) as u8;
    b[8..16].copy_from_slice(&ascii(&id.vendor, 8));
    b[16..32].copy_from_slice(&ascii(&id.product, 16));
    b[32..36].copy_from_slice(&ascii(&id.revision, 4));
    b
}

fn vpd(page: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![0x08, page];
    v.extend_from_slice(&u16::try_from(body.len()).unwrap_or(u16::MAX).to_be_bytes());
    v.extend_from_slice(body);
    v
}

/// A locally assigned NAA (type 3) identifier hashed from the identity.
pub fn naa_identifier(ch: &Changer) -> [u8; 8] {
    let id = &ch.cfg.identity;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325; // FNV-1a: stable across runs
    for b in id
        .vendor
        .bytes()
        .chain(id.product.bytes())
        .chain(id.serial.bytes())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    ((3u64 << 60) | (h & 0x0fff_ffff_ffff_ffff)).to_be_bytes()
}

pub fn vpd_page(ch: &Changer, page: u8) -> Option<Vec<u8>> {
    let id = &ch.cfg.identity;
    Some(match page {
        0x00 => vpd(0x00, &SUPPORTED_VPD),
        0x80 => vpd(0x80, id.serial.as_bytes()),
        0x83 => {
            let mut t10 = ascii(&id.vendor, 8);
            t10.extend_from_slice(&ascii(&id.product, 16));
            t10.extend_from_slice(id.serial.as_bytes());
            t10.truncate(255);
            let mut body = vec![0x02, 0x01, 0x00, t10.len() as u8];
            body.extend_from_slice(&t10);
            body.extend_from_slice(&[0x01, 0x03, 0x00, 0x08]);
            body.extend_from_slice(&naa_identifier(ch));
            vpd(0x83, &body)
        }
        _ => return None,
    })
}

/// INQUIRY (SPC-5 6.7).
pub fn inquiry(ch: &mut Changer, c: &mut Ctx<'_, '_>) -> HResult {
    let evpd = c.b(1) & 0x01 != 0;
    let page = c.b(2);
    let alloc = usize::from(c.be16(3));
    let data = if evpd {
        vpd_page(ch, page).ok_or_else(|| invalid_cdb_field(2, Some(7)))?
    } else if page != 0 {
        return Err(invalid_cdb_field(2, Some(7)));
    } else {
        standard_inquiry(ch)
    };
    Ok(c.reply(&data, alloc))
}

/// TEST UNIT READY: the common checks did the work.
pub fn test_unit_ready(_ch: &mut Changer, _c: &mut Ctx<'_, '_>) -> HResult {
    Ok(0)
}

/// REQUEST SENSE: a pending unit attention (consumed), why the robot is
/// not ready, or NO SENSE.
pub fn request_sense(ch: &mut Changer, c: &mut Ctx<'_, '_>) -> HResult {
    if c.b(1) & 0x01 != 0 {
        return Err(invalid_cdb_field(1, Some(0)));
    }
    let alloc = usize::from(c.b(4));
    let s = if let Some(q) = ch.ua.get_mut(&c.initiator)
        && let Some((asc, ascq)) = q.pop_front()
    {
        ch.touch();
        Sense::new(SenseKey::UnitAttention, asc, ascq)
    } else if let Some(s) = ch.not_ready_sense() {
        s
    } else {
        Sense::new(SenseKey::NoSense, 0, 0)
    };
    Ok(c.reply(&s.encode_fixed(), alloc))
}

/// REPORT LUNS: the changer is LUN 0 of its own target.
pub fn report_luns(_ch: &mut Changer, c: &mut Ctx<'_, '_>) -> HResult {
    if c.b(2) > 0x02 {
        return Err(invalid_cdb_field(2, Some(7)));
    }
    let alloc = c.be32(6) as usize;
    if alloc < 16 {
        // SPC-5 6.33: an allocation length under 16 is invalid.
        return Err(invalid_cdb_field(6, Some(7)));
    }
    let mut b = [0u8; 16];
    b[3] = 8;
    Ok(c.reply(&b, alloc))
}

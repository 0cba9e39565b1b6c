//! Raw Basic Header Segment fields (RFC 7143 section 11) the target reads
//! and writes. Offsets are fixed by the RFC; every accessor works on the
//! 48-byte array, so none can index out of bounds.

use super::wire::Pdu;

pub const BHS_LEN: usize = 48;
/// The "no tag" value of ITT/TTT fields.
pub const NO_TAG: u32 = 0xffff_ffff;

// Opcodes (RFC 7143 section 11.2.1.2).
pub const OP_NOP_OUT: u8 = 0x00;
pub const OP_SCSI_CMD: u8 = 0x01;
pub const OP_TMF_REQ: u8 = 0x02;
pub const OP_LOGIN_REQ: u8 = 0x03;
pub const OP_TEXT_REQ: u8 = 0x04;
pub const OP_DATA_OUT: u8 = 0x05;
pub const OP_LOGOUT_REQ: u8 = 0x06;
pub const OP_SNACK: u8 = 0x10;
pub const OP_NOP_IN: u8 = 0x20;
pub const OP_SCSI_RSP: u8 = 0x21;
pub const OP_TMF_RSP: u8 = 0x22;
pub const OP_LOGIN_RSP: u8 = 0x23;
pub const OP_TEXT_RSP: u8 = 0x24;
pub const OP_DATA_IN: u8 = 0x25;
pub const OP_LOGOUT_RSP: u8 = 0x26;
pub const OP_R2T: u8 = 0x31;
pub const OP_REJECT: u8 = 0x3f;

// Reject reasons (RFC 7143 section 11.17.1).
pub const REJECT_PROTOCOL_ERROR: u8 = 0x04;
pub const REJECT_NOT_SUPPORTED: u8 = 0x05;
pub const REJECT_INVALID_FIELD: u8 = 0x09;

pub fn opcode(b: &[u8; BHS_LEN]) -> u8 {
    b[0] & 0x3f
}

pub fn immediate(b: &[u8; BHS_LEN]) -> bool {
    b[0] & 0x40 != 0
}

pub fn flags(b: &[u8; BHS_LEN]) -> u8 {
    b[1]
}

pub fn get16(b: &[u8; BHS_LEN], off: usize) -> u16 {
    match b.get(off..off + 2) {
        Some(s) => u16::from_be_bytes([s[0], s[1]]),
        None => 0,
    }
}

pub fn get32(b: &[u8; BHS_LEN], off: usize) -> u32 {
    match b.get(off..off + 4) {
        Some(s) => u32::from_be_bytes([s[0], s[1], s[2], s[3]]),
        None => 0,
    }
}

pub fn put16(b: &mut [u8; BHS_LEN], off: usize, v: u16) {
    if let Some(s) = b.get_mut(off..off + 2) {
        s.copy_from_slice(&v.to_be_bytes());
    }
}

pub fn put32(b: &mut [u8; BHS_LEN], off: usize, v: u32) {
    if let Some(s) = b.get_mut(off..off + 4) {
        s.copy_from_slice(&v.to_be_bytes());
    }
}

pub fn itt(b: &[u8; BHS_LEN]) -> u32 {
    get32(b, 16)
}

pub fn lun_field(b: &[u8; BHS_LEN]) -> [u8; 8] {
    let mut l = [0u8; 8];
    l.copy_from_slice(&b[8..16]);
    l
}

/// A new PDU with `opcode`, `flags` in byte 1 and the data segment
/// (its length is written into the header).
pub fn new_pdu(opcode: u8, flags: u8, data: Vec<u8>) -> Pdu {
    let mut bhs = [0u8; BHS_LEN];
    bhs[0] = opcode;
    bhs[1] = flags;
    let len = data.len() as u32;
    bhs[5..8].copy_from_slice(&len.to_be_bytes()[1..4]);
    Pdu {
        bhs,
        ahs: Vec::new(),
        data,
    }
}

/// Decodes a LUN field: single-level peripheral (method 0) or flat (method
/// 1) addressing. Anything else is a LUN this target cannot have.
pub fn decode_lun(l: &[u8; 8]) -> Option<u16> {
    if l[2..].iter().any(|&b| b != 0) {
        return None;
    }
    match l[0] >> 6 {
        0 if l[0] == 0 => Some(u16::from(l[1])),
        1 => Some((u16::from(l[0] & 0x3f) << 8) | u16::from(l[1])),
        _ => None,
    }
}

/// Encodes a LUN the way REPORT LUNS lists it (SAM-5 4.7).
pub fn encode_lun(lun: u16) -> [u8; 8] {
    let mut l = [0u8; 8];
    if lun < 256 {
        l[1] = lun as u8;
    } else {
        l[0] = 0x40 | ((lun >> 8) as u8 & 0x3f);
        l[1] = lun as u8;
    }
    l
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lun_addressing() {
        assert_eq!(decode_lun(&[0, 1, 0, 0, 0, 0, 0, 0]), Some(1));
        assert_eq!(decode_lun(&[0x41, 0x01, 0, 0, 0, 0, 0, 0]), Some(0x101));
        assert_eq!(decode_lun(&[0x80, 0x01, 0, 0, 0, 0, 0, 0]), None);
        assert_eq!(decode_lun(&[0x01, 0x01, 0, 0, 0, 0, 0, 0]), None);
        assert_eq!(decode_lun(&[0, 1, 0, 0, 0, 0, 0, 1]), None);
        assert_eq!(encode_lun(2), [0, 2, 0, 0, 0, 0, 0, 0]);
        assert_eq!(encode_lun(300), [0x41, 0x2c, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn new_pdu_sets_length() {
        let p = new_pdu(OP_NOP_IN, 0x80, vec![1, 2, 3, 4, 5]);
        assert_eq!(&p.bhs[0..8], &[0x20, 0x80, 0, 0, 0, 0, 0, 5]);
    }
}

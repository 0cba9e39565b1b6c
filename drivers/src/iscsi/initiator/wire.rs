//! The initiator's view of the Basic Header Segment: the few fields it
//! writes and reads, at their RFC 7143 offsets (section 11). Pure builders
//! and accessors; every read is within the fixed 48-byte header.

use crate::iscsi::pdu::{BHS_LEN, Pdu};

/// "No tag" value for ITT/TTT (RFC 7143 11.18, 11.19).
pub const RESERVED_TAG: u32 = 0xffff_ffff;

// Opcodes (RFC 7143 11.1.1).
pub const OP_NOP_OUT: u8 = 0x00;
pub const OP_SCSI_COMMAND: u8 = 0x01;
pub const OP_TASK_MGMT: u8 = 0x02;
pub const OP_LOGIN: u8 = 0x03;
pub const OP_TEXT: u8 = 0x04;
pub const OP_DATA_OUT: u8 = 0x05;
pub const OP_LOGOUT: u8 = 0x06;
pub const OP_NOP_IN: u8 = 0x20;
pub const OP_SCSI_RESPONSE: u8 = 0x21;
pub const OP_TASK_MGMT_RESPONSE: u8 = 0x22;
pub const OP_LOGIN_RESPONSE: u8 = 0x23;
pub const OP_TEXT_RESPONSE: u8 = 0x24;
pub const OP_DATA_IN: u8 = 0x25;
pub const OP_LOGOUT_RESPONSE: u8 = 0x26;
pub const OP_R2T: u8 = 0x31;
pub const OP_ASYNC: u8 = 0x32;
pub const OP_REJECT: u8 = 0x3f;

const IMMEDIATE: u8 = 0x40;
pub const FLAG_F: u8 = 0x80;

pub fn be32(bhs: &[u8; BHS_LEN], at: usize) -> u32 {
    // `at` is a compile-time constant below 45 at every call site.
    u32::from_be_bytes([bhs[at], bhs[at + 1], bhs[at + 2], bhs[at + 3]])
}

fn put32(bhs: &mut [u8; BHS_LEN], at: usize, v: u32) {
    bhs[at..at + 4].copy_from_slice(&v.to_be_bytes());
}

pub fn opcode(p: &Pdu) -> u8 {
    p.bhs[0] & 0x3f
}
pub fn flags(p: &Pdu) -> u8 {
    p.bhs[1]
}
pub fn itt(p: &Pdu) -> u32 {
    be32(&p.bhs, 16)
}
pub fn ttt(p: &Pdu) -> u32 {
    be32(&p.bhs, 20)
}
/// StatSN of target PDUs that carry it (offset 24).
pub fn stat_sn(p: &Pdu) -> u32 {
    be32(&p.bhs, 24)
}
pub fn exp_cmd_sn(p: &Pdu) -> u32 {
    be32(&p.bhs, 28)
}
pub fn max_cmd_sn(p: &Pdu) -> u32 {
    be32(&p.bhs, 32)
}

/// Sets byte 0, the data segment length and the data.
fn new_pdu(op: u8, immediate: bool, data: Vec<u8>) -> Pdu {
    let mut bhs = [0u8; BHS_LEN];
    bhs[0] = op | if immediate { IMMEDIATE } else { 0 };
    let len = data.len() as u32;
    bhs[5..8].copy_from_slice(&len.to_be_bytes()[1..4]);
    Pdu {
        bhs,
        ahs: Vec::new(),
        data,
    }
}

/// SAM-5 single-level LUN: peripheral addressing below 256, flat space
/// addressing up to 16383 (what tgt and Linux report in REPORT LUNS).
pub fn encode_lun(lun: u64) -> [u8; 8] {
    let mut out = [0u8; 8];
    if lun < 256 {
        out[1] = lun as u8;
    } else {
        let l = (lun & 0x3fff) as u16;
        out[0] = 0x40 | (l >> 8) as u8;
        out[1] = l as u8;
    }
    out
}

/// Login Request (11.12).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginRequest {
    pub transit: bool,
    pub csg: u8,
    pub nsg: u8,
    pub isid: [u8; 6],
    pub tsih: u16,
    pub itt: u32,
    pub cid: u16,
    pub cmd_sn: u32,
    pub exp_stat_sn: u32,
    pub data: Vec<u8>,
}

impl LoginRequest {
    pub fn to_pdu(&self) -> Pdu {
        let mut p = new_pdu(OP_LOGIN, true, self.data.clone());
        p.bhs[1] = if self.transit { FLAG_F } else { 0 }
            | (self.csg & 3) << 2
            | if self.transit { self.nsg & 3 } else { 0 };
        // Version-max and version-min are both 0 (RFC 7143 11.12.4).
        p.bhs[8..14].copy_from_slice(&self.isid);
        p.bhs[14..16].copy_from_slice(&self.tsih.to_be_bytes());
        put32(&mut p.bhs, 16, self.itt);
        p.bhs[20..22].copy_from_slice(&self.cid.to_be_bytes());
        put32(&mut p.bhs, 24, self.cmd_sn);
        put32(&mut p.bhs, 28, self.exp_stat_sn);
        p
    }
}

/// The fields of a Login Response (11.13) the initiator uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginResponse {
    pub transit: bool,
    pub cont: bool,
    pub csg: u8,
    pub nsg: u8,
    pub tsih: u16,
    pub stat_sn: u32,
    pub exp_cmd_sn: u32,
    pub max_cmd_sn: u32,
    pub status_class: u8,
    pub status_detail: u8,
}

impl LoginResponse {
    pub fn from_pdu(p: &Pdu) -> LoginResponse {
        let f = p.bhs[1];
        LoginResponse {
            transit: f & 0x80 != 0,
            cont: f & 0x40 != 0,
            csg: (f >> 2) & 3,
            nsg: f & 3,
            tsih: u16::from_be_bytes([p.bhs[14], p.bhs[15]]),
            stat_sn: stat_sn(p),
            exp_cmd_sn: exp_cmd_sn(p),
            max_cmd_sn: max_cmd_sn(p),
            status_class: p.bhs[36],
            status_detail: p.bhs[37],
        }
    }
}

/// SCSI Command (11.3); `data` is the immediate data.
#[allow(clippy::too_many_arguments)]
pub fn scsi_command(
    lun: [u8; 8],
    itt: u32,
    cmd_sn: u32,
    exp_stat_sn: u32,
    cdb: &[u8; 16],
    read: bool,
    write: bool,
    expected_len: u32,
    final_bit: bool,
    data: Vec<u8>,
) -> Pdu {
    let mut p = new_pdu(OP_SCSI_COMMAND, false, data);
    // ATTR 1 = SIMPLE task.
    p.bhs[1] = if final_bit { FLAG_F } else { 0 }
        | if read { 0x40 } else { 0 }
        | if write { 0x20 } else { 0 }
        | 0x01;
    p.bhs[8..16].copy_from_slice(&lun);
    put32(&mut p.bhs, 16, itt);
    put32(&mut p.bhs, 20, expected_len);
    put32(&mut p.bhs, 24, cmd_sn);
    put32(&mut p.bhs, 28, exp_stat_sn);
    p.bhs[32..48].copy_from_slice(cdb);
    p
}

/// Data-Out (11.8).
#[allow(clippy::too_many_arguments)]
pub fn data_out(
    lun: [u8; 8],
    itt: u32,
    ttt: u32,
    exp_stat_sn: u32,
    data_sn: u32,
    offset: u32,
    final_bit: bool,
    data: Vec<u8>,
) -> Pdu {
    let mut p = new_pdu(OP_DATA_OUT, false, data);
    p.bhs[1] = if final_bit { FLAG_F } else { 0 };
    p.bhs[8..16].copy_from_slice(&lun);
    put32(&mut p.bhs, 16, itt);
    put32(&mut p.bhs, 20, ttt);
    put32(&mut p.bhs, 28, exp_stat_sn);
    put32(&mut p.bhs, 36, data_sn);
    put32(&mut p.bhs, 40, offset);
    p
}

/// NOP-Out (11.18): an answer to a target ping (`ttt` and `lun` copied
/// from the NOP-In, ITT reserved) or our own ping (`ttt` reserved).
pub fn nop_out(lun: [u8; 8], itt: u32, ttt: u32, cmd_sn: u32, exp_stat_sn: u32) -> Pdu {
    let mut p = new_pdu(OP_NOP_OUT, true, Vec::new());
    p.bhs[1] = FLAG_F;
    p.bhs[8..16].copy_from_slice(&lun);
    put32(&mut p.bhs, 16, itt);
    put32(&mut p.bhs, 20, ttt);
    put32(&mut p.bhs, 24, cmd_sn);
    put32(&mut p.bhs, 28, exp_stat_sn);
    p
}

/// ABORT TASK (function 1) Task Management Function Request (11.5).
pub fn abort_task(
    lun: [u8; 8],
    itt: u32,
    referenced_itt: u32,
    cmd_sn: u32,
    exp_stat_sn: u32,
    ref_cmd_sn: u32,
) -> Pdu {
    let mut p = new_pdu(OP_TASK_MGMT, true, Vec::new());
    p.bhs[1] = FLAG_F | 0x01;
    p.bhs[8..16].copy_from_slice(&lun);
    put32(&mut p.bhs, 16, itt);
    put32(&mut p.bhs, 20, referenced_itt);
    put32(&mut p.bhs, 24, cmd_sn);
    put32(&mut p.bhs, 28, exp_stat_sn);
    put32(&mut p.bhs, 32, ref_cmd_sn);
    p
}

/// Text Request (11.10).
pub fn text_request(itt: u32, ttt: u32, cmd_sn: u32, exp_stat_sn: u32, data: Vec<u8>) -> Pdu {
    let mut p = new_pdu(OP_TEXT, true, data);
    p.bhs[1] = FLAG_F;
    put32(&mut p.bhs, 16, itt);
    put32(&mut p.bhs, 20, ttt);
    put32(&mut p.bhs, 24, cmd_sn);
    put32(&mut p.bhs, 28, exp_stat_sn);
    p
}

/// Logout Request (11.14), reason 0: close the session.
pub fn logout(itt: u32, cid: u16, cmd_sn: u32, exp_stat_sn: u32) -> Pdu {
    let mut p = new_pdu(OP_LOGOUT, true, Vec::new());
    p.bhs[1] = FLAG_F;
    put32(&mut p.bhs, 16, itt);
    p.bhs[20..22].copy_from_slice(&cid.to_be_bytes());
    put32(&mut p.bhs, 24, cmd_sn);
    put32(&mut p.bhs, 28, exp_stat_sn);
    p
}

/// Data-In (11.7) fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataIn {
    pub final_bit: bool,
    pub overflow: bool,
    pub underflow: bool,
    /// Status present (S bit): this PDU ends the command.
    pub status: Option<u8>,
    pub itt: u32,
    pub data_sn: u32,
    pub offset: u32,
    pub residual: u32,
}

impl DataIn {
    pub fn from_pdu(p: &Pdu) -> DataIn {
        let f = p.bhs[1];
        DataIn {
            final_bit: f & 0x80 != 0,
            overflow: f & 0x04 != 0,
            underflow: f & 0x02 != 0,
            status: (f & 0x01 != 0).then_some(p.bhs[3]),
            itt: itt(p),
            data_sn: be32(&p.bhs, 36),
            offset: be32(&p.bhs, 40),
            residual: be32(&p.bhs, 44),
        }
    }
}

/// SCSI Response (11.4) fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScsiResponse {
    pub overflow: bool,
    pub underflow: bool,
    pub response: u8,
    pub status: u8,
    pub itt: u32,
    pub residual: u32,
}

impl ScsiResponse {
    pub fn from_pdu(p: &Pdu) -> ScsiResponse {
        let f = p.bhs[1];
        ScsiResponse {
            overflow: f & 0x04 != 0,
            underflow: f & 0x02 != 0,
            response: p.bhs[2],
            status: p.bhs[3],
            itt: itt(p),
            residual: be32(&p.bhs, 44),
        }
    }
}

/// R2T (11.8) fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct R2t {
    pub itt: u32,
    pub ttt: u32,
    pub r2t_sn: u32,
    pub offset: u32,
    pub length: u32,
}

impl R2t {
    pub fn from_pdu(p: &Pdu) -> R2t {
        R2t {
            itt: itt(p),
            ttt: ttt(p),
            r2t_sn: be32(&p.bhs, 36),
            offset: be32(&p.bhs, 40),
            length: be32(&p.bhs, 44),
        }
    }
}

/// Sense data of a SCSI Response data segment: a 2-byte length, then the
/// sense bytes (11.4.7). Lengths that lie are clamped to what arrived.
pub fn sense_from_segment(data: &[u8]) -> Vec<u8> {
    match data {
        [hi, lo, rest @ ..] => {
            let n = usize::from(u16::from_be_bytes([*hi, *lo]));
            rest[..n.min(rest.len())].to_vec()
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scsi_command_layout() {
        let mut cdb = [0u8; 16];
        cdb[..6].copy_from_slice(&[0x0a, 0x01, 0x00, 0x00, 0x02, 0x00]);
        let p = scsi_command(
            encode_lun(1),
            0x11223344,
            7,
            9,
            &cdb,
            false,
            true,
            0x200,
            true,
            vec![0xaa; 4],
        );
        let mut want = [0u8; 48];
        want[..8].copy_from_slice(&[0x01, 0xa1, 0, 0, 0, 0, 0, 4]);
        want[8..16].copy_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
        want[16..32].copy_from_slice(&[0x11, 0x22, 0x33, 0x44, 0, 0, 2, 0, 0, 0, 0, 7, 0, 0, 0, 9]);
        want[32..38].copy_from_slice(&[0x0a, 0x01, 0x00, 0x00, 0x02, 0x00]);
        assert_eq!(p.bhs, want);
        assert_eq!(p.data, vec![0xaa; 4]);
    }

    #[test]
    fn login_request_layout() {
        let p = LoginRequest {
            transit: true,
            csg: 1,
            nsg: 3,
            isid: [0x80, 0x12, 0x34, 0x56, 0, 1],
            tsih: 0,
            itt: 1,
            cid: 0,
            cmd_sn: 5,
            exp_stat_sn: 0,
            data: b"A=B\0".to_vec(),
        }
        .to_pdu();
        let mut want = [0u8; 48];
        want[..8].copy_from_slice(&[0x43, 0x87, 0, 0, 0, 0, 0, 4]);
        want[8..14].copy_from_slice(&[0x80, 0x12, 0x34, 0x56, 0, 1]);
        want[19] = 1;
        want[27] = 5;
        assert_eq!(p.bhs, want);
        // Without transit NSG stays 0 (RFC 7143 11.12.3).
        let p = LoginRequest {
            transit: false,
            csg: 0,
            nsg: 1,
            isid: [0; 6],
            tsih: 0,
            itt: 0,
            cid: 0,
            cmd_sn: 0,
            exp_stat_sn: 0,
            data: vec![],
        }
        .to_pdu();
        assert_eq!(&p.bhs[..2], &[0x43, 0x00]);
    }

    #[test]
    fn data_in_fields() {
        let mut bhs = [0u8; 48];
        bhs[0] = 0x25;
        bhs[1] = 0x83; // F, U, S
        bhs[3] = 0x02;
        bhs[16..20].copy_from_slice(&[0, 0, 0, 9]);
        bhs[36..48].copy_from_slice(&[0, 0, 0, 2, 0, 0, 0x10, 0, 0, 0, 0, 0x40]);
        let p = Pdu {
            bhs,
            ahs: vec![],
            data: vec![],
        };
        assert_eq!(
            DataIn::from_pdu(&p),
            DataIn {
                final_bit: true,
                overflow: false,
                underflow: true,
                status: Some(2),
                itt: 9,
                data_sn: 2,
                offset: 0x1000,
                residual: 0x40
            }
        );
    }

    #[test]
    fn luns_and_sense_segments() {
        assert_eq!(encode_lun(2), [0, 2, 0, 0, 0, 0, 0, 0]);
        assert_eq!(encode_lun(0x123), [0x41, 0x23, 0, 0, 0, 0, 0, 0]);
        assert_eq!(sense_from_segment(&[0, 2, 0x70, 0, 9]), vec![0x70, 0]);
        // A length that lies is clamped, a short segment gives nothing.
        assert_eq!(sense_from_segment(&[0, 9, 0x70]), vec![0x70]);
        assert_eq!(sense_from_segment(&[0]), Vec::<u8>::new());
    }

    #[test]
    fn abort_task_layout() {
        let p = abort_task(encode_lun(1), 0x20, 0x10, 4, 6, 3);
        let mut want = [0u8; 48];
        want[..2].copy_from_slice(&[0x42, 0x81]);
        want[9] = 1;
        want[19] = 0x20;
        want[23] = 0x10;
        want[27] = 4;
        want[31] = 6;
        want[35] = 3;
        assert_eq!(p.bhs, want);
    }
}

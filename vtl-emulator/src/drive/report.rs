//! TEST UNIT READY, REQUEST SENSE, READ BLOCK LIMITS, PREVENT ALLOW MEDIUM
//! REMOVAL, REPORT LUNS and REPORT SUPPORTED OPERATION CODES (SPC-5, SSC-5).

use reel_drivers::scsi::sense::{Sense, SenseKey};

use super::dispatch::{COMMANDS, Command, Ctx, lookup};
use super::sense::{HResult, invalid_cdb_field};
use super::{Drive, faults};

/// TEST UNIT READY: the common checks did all the work.
pub fn test_unit_ready(_d: &mut Drive, _c: &mut Ctx<'_>) -> HResult {
    Ok(0)
}

/// REQUEST SENSE: a pending unit attention (consumed), the progress of a
/// long operation, or NO SENSE. Sense data always goes with the CHECK
/// CONDITION that caused it (autosense), so nothing older is kept.
pub fn request_sense(d: &mut Drive, c: &mut Ctx<'_>) -> HResult {
    if c.b(1) & 0x01 != 0 {
        // Descriptor format is not supported: SPC-5 6.39 requires 24/00.
        return Err(invalid_cdb_field(1, Some(0)));
    }
    let alloc = usize::from(c.b(4));
    let s = if let Some(q) = d.ua.get_mut(&c.initiator)
        && let Some((asc, ascq)) = q.pop_front()
    {
        d.touch();
        Sense::new(SenseKey::UnitAttention, asc, ascq)
    } else if let Some(b) = d.busy {
        d.busy_sense(&b, true)
    } else if d.medium == super::MediumState::Empty {
        Sense::new(SenseKey::NotReady, 0x3a, 0x00)
    } else {
        Sense::new(SenseKey::NoSense, 0x00, 0x00)
    };
    Ok(c.reply(&s.encode_fixed(), alloc))
}

/// READ BLOCK LIMITS (SSC-5 7.5): granularity 0, maximum and minimum block
/// length; with MLOI the maximum logical object identifier instead.
pub fn read_block_limits(d: &mut Drive, c: &mut Ctx<'_>) -> HResult {
    if c.b(1) & 0x01 != 0 {
        let mut b = [0u8; 20];
        // Logical object identifiers are 64-bit in LOCATE(16); the cartridge
        // format counts them in u64 as well.
        b[12..20].copy_from_slice(&u64::MAX.to_be_bytes());
        return Ok(c.reply(&b, 20));
    }
    let max = d.cfg.max_block_len.min(0x00ff_ffff).to_be_bytes();
    let b = [0x00, max[1], max[2], max[3], 0x00, 0x01];
    Ok(c.reply(&b, 6))
}

/// PREVENT ALLOW MEDIUM REMOVAL: per initiator; removal is prevented while
/// any initiator prevents it.
pub fn prevent_allow(d: &mut Drive, c: &mut Ctx<'_>) -> HResult {
    match c.b(4) & 0x03 {
        0 => {
            d.settings.prevent.remove(&c.initiator);
        }
        1 => {
            d.settings.prevent.insert(c.initiator);
        }
        // 10b/11b are for medium changers (SPC-5 6.15).
        _ => return Err(invalid_cdb_field(4, Some(1))),
    }
    d.touch();
    Ok(0)
}

/// Raises the TapeAlert "no removal" flag when an unload was refused.
pub fn removal_refused(d: &mut Drive) -> Sense {
    d.set_tape_alert(faults::TA_NO_REMOVAL);
    Sense::new(SenseKey::IllegalRequest, 0x53, 0x02)
}

/// REPORT LUNS: one logical unit, LUN 0.
pub fn report_luns(_d: &mut Drive, c: &mut Ctx<'_>) -> HResult {
    let select = c.b(2);
    if select > 0x02 {
        return Err(invalid_cdb_field(2, Some(7)));
    }
    let alloc = c.be32(6) as usize;
    if alloc < 16 {
        // SPC-5 6.33: an allocation length under 16 is invalid.
        return Err(invalid_cdb_field(6, Some(7)));
    }
    let mut b = vec![0u8; 16];
    b[3] = 8;
    Ok(c.reply(&b, alloc))
}

/// The timeouts descriptor (SPC-5 6.35.4): length 0Ah, then nominal and
/// recommended seconds.
fn timeouts_descriptor(cmd: &Command) -> [u8; 12] {
    let mut t = [0u8; 12];
    t[1] = 0x0a;
    t[4..8].copy_from_slice(&cmd.timeouts.0.to_be_bytes());
    t[8..12].copy_from_slice(&cmd.timeouts.1.to_be_bytes());
    t
}

/// CDB usage data with the service action in place for SA commands.
fn usage_data(cmd: &Command) -> Vec<u8> {
    let mut u = cmd.usage.to_vec();
    if let (Some(sa), Some(b1)) = (cmd.service_action, u.get_mut(1)) {
        *b1 = (*b1 & 0xe0) | sa;
    }
    u
}

/// REPORT SUPPORTED OPERATION CODES (SPC-5 6.35): all commands, or one
/// command with its CDB usage data; RCTD adds timeout descriptors.
pub fn report_supported_opcodes(_d: &mut Drive, c: &mut Ctx<'_>) -> HResult {
    let rctd = c.b(2) & 0x80 != 0;
    let options = c.b(2) & 0x07;
    let req_op = c.b(3);
    let req_sa = c.be16(4);
    let alloc = c.be32(6) as usize;
    let mut out = Vec::new();
    match options {
        0 => {
            out.extend_from_slice(&[0; 4]);
            for cmd in COMMANDS {
                let sa = cmd.service_action.map_or(0, u16::from);
                let len = u16::try_from(cmd.usage.len()).unwrap_or(0);
                let mut flags = 0u8;
                if cmd.service_action.is_some() {
                    flags |= 0x01; // SERVACTV
                }
                if rctd {
                    flags |= 0x02; // CTDP
                }
                out.push(cmd.opcode);
                out.push(0);
                out.extend_from_slice(&sa.to_be_bytes());
                out.push(0);
                out.push(flags);
                out.extend_from_slice(&len.to_be_bytes());
                if rctd {
                    out.extend_from_slice(&timeouts_descriptor(cmd));
                }
            }
            let len = u32::try_from(out.len() - 4).unwrap_or(u32::MAX);
            out[..4].copy_from_slice(&len.to_be_bytes());
        }
        1..=3 => {
            let has_sa = COMMANDS
                .iter()
                .any(|k| k.opcode == req_op && k.service_action.is_some());
            // Option 1 names an opcode without service actions, option 2 one
            // with; the wrong kind is an invalid field (SPC-5 table 260).
            if (options == 1 && has_sa) || (options == 2 && !has_sa && known(req_op)) {
                return Err(invalid_cdb_field(2, Some(2)));
            }
            let sa = if has_sa {
                u8::try_from(req_sa).ok()
            } else {
                None
            };
            let found = lookup(req_op, sa).filter(|k| {
                // Option 1/3 without a service action must not match an SA
                // command; option 2/3 must match the SA exactly.
                k.service_action.is_none() || u16::from(k.service_action.unwrap_or(0)) == req_sa
            });
            match found {
                Some(cmd) => {
                    let usage = usage_data(cmd);
                    out.push(0);
                    out.push(if rctd { 0x83 } else { 0x03 });
                    let len = u16::try_from(usage.len()).unwrap_or(0);
                    out.extend_from_slice(&len.to_be_bytes());
                    out.extend_from_slice(&usage);
                    if rctd {
                        out.extend_from_slice(&timeouts_descriptor(cmd));
                    }
                }
                // SUPPORT 001b: not supported, no usage data.
                None => out.extend_from_slice(&[0, 0x01, 0, 0]),
            }
        }
        _ => return Err(invalid_cdb_field(2, Some(2))),
    }
    Ok(c.reply(&out, alloc))
}

fn known(opcode: u8) -> bool {
    COMMANDS.iter().any(|k| k.opcode == opcode)
}

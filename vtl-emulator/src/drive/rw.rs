//! READ(6), WRITE(6), WRITE FILEMARKS(6)/(16) and ERASE(6) (SSC-5 7.2-7.4,
//! 6.2): fixed and variable blocks, ILI with the residue, filemarks, end
//! of data, early warnings, volume overflow, write protection, WORM.

use reel_drivers::scsi::sense::{Sense, SenseKey};

use super::dispatch::Ctx;
use super::faults::{TA_HARD_ERROR, TA_READ_FAILURE, TA_WRITE_FAILURE, TA_WRITE_PROTECT};
use super::medium::{CartridgeError, ReadRecord, WriteState, can_write};
use super::sense::{
    Fail, HResult, data_protect, invalid_cdb_field, no_medium, with_info, with_info_u,
};
use super::{BusyKind, Drive};

/// Maps a cartridge error to the sense a drive reports. `writing` selects
/// the write or read flavour of I/O failures.
pub(crate) fn cartridge_sense(d: &mut Drive, e: &CartridgeError, writing: bool) -> Sense {
    match e {
        CartridgeError::VolumeOverflow => {
            let mut s = Sense::new(SenseKey::VolumeOverflow, 0x00, 0x02);
            s.eom = true;
            s
        }
        CartridgeError::WriteProtected => {
            d.set_tape_alert(TA_WRITE_PROTECT);
            Sense::new(SenseKey::DataProtect, 0x27, 0x00)
        }
        CartridgeError::WormOverwrite => Sense::new(SenseKey::DataProtect, 0x30, 0x0c),
        CartridgeError::CrcMismatch { block } => {
            d.set_tape_alert(TA_HARD_ERROR);
            d.set_tape_alert(TA_READ_FAILURE);
            d.counters.read_errors += 1;
            with_info_u(Sense::new(SenseKey::MediumError, 0x11, 0x00), *block)
        }
        CartridgeError::Corrupt { .. } => {
            d.set_tape_alert(TA_HARD_ERROR);
            Sense::new(SenseKey::MediumError, 0x31, 0x00)
        }
        CartridgeError::RecordTooLarge { .. } => Sense::new(SenseKey::IllegalRequest, 0x24, 0x00),
        CartridgeError::NoSuchPartition { .. } | CartridgeError::BadPosition(_) => {
            Sense::new(SenseKey::IllegalRequest, 0x24, 0x00)
        }
        _ => {
            tracing::error!("cartridge failure: {e}");
            d.set_tape_alert(TA_HARD_ERROR);
            if writing {
                d.set_tape_alert(TA_WRITE_FAILURE);
                Sense::new(SenseKey::MediumError, 0x0c, 0x00)
            } else {
                d.set_tape_alert(TA_READ_FAILURE);
                Sense::new(SenseKey::MediumError, 0x11, 0x00)
            }
        }
    }
}

/// NO SENSE with the given code and the ILI bit.
fn ili(info: i64) -> Sense {
    let mut s = Sense::new(SenseKey::NoSense, 0x00, 0x00);
    s.ili = true;
    with_info(s, info)
}

fn filemark(info: i64) -> Sense {
    let mut s = Sense::new(SenseKey::NoSense, 0x00, 0x01);
    s.filemark = true;
    with_info(s, info)
}

fn blank_check(d: &Drive, info: i64) -> Sense {
    let mut s = Sense::new(SenseKey::BlankCheck, 0x00, 0x05);
    s.eom = d.zone().early_warning;
    with_info(s, info)
}

/// Injected read fault at the current position: skip the record, report it.
fn injected_read_error(d: &mut Drive) -> Option<Sense> {
    let block = d.cart.as_ref()?.position().block;
    if !d.faults.read_error_at.contains(&block) {
        return None;
    }
    if let Some(c) = d.cart.as_mut() {
        let _ = c.space_blocks(1);
    }
    d.set_tape_alert(TA_HARD_ERROR);
    d.set_tape_alert(TA_READ_FAILURE);
    d.counters.read_errors += 1;
    Some(with_info_u(
        Sense::new(SenseKey::MediumError, 0x11, 0x00),
        block,
    ))
}

pub fn read6(d: &mut Drive, c: &mut Ctx<'_>) -> HResult {
    let fixed = c.b(1) & 0x01 != 0;
    let sili = c.b(1) & 0x02 != 0;
    let len = c.be24(2) as usize;
    if fixed && sili {
        return Err(invalid_cdb_field(1, Some(1)));
    }
    if fixed && d.settings.block_size == 0 {
        return Err(invalid_cdb_field(1, Some(0)));
    }
    if len == 0 {
        return Ok(0);
    }
    if fixed {
        read_fixed(d, c, len)
    } else {
        read_variable(d, c, len, sili)
    }
}

fn read_variable(d: &mut Drive, c: &mut Ctx<'_>, len: usize, sili: bool) -> HResult {
    if let Some(s) = injected_read_error(d) {
        return Err(s.into());
    }
    let n = len.min(c.data_in.len());
    let Some(cart) = d.cart.as_mut() else {
        return Err(no_medium());
    };
    let r = cart.read(&mut c.data_in[..n]);
    match r {
        Ok(ReadRecord::Data { len: rec, copied }) => {
            d.counters.records_read += 1;
            d.counters.host_bytes_read += copied as u64;
            d.counters.medium_bytes_read += rec as u64;
            if rec == len || (rec < len && sili) {
                Ok(copied)
            } else {
                // Residue: positive for a short record, negative (two's
                // complement) for a record longer than requested.
                Err(Fail::from(ili(len as i64 - rec as i64)).with_data(copied))
            }
        }
        Ok(ReadRecord::Filemark) => Err(filemark(len as i64).into()),
        Ok(ReadRecord::EndOfData) => Err(blank_check(d, len as i64).into()),
        Err(e) => Err(cartridge_sense(d, &e, false).into()),
    }
}

fn read_fixed(d: &mut Drive, c: &mut Ctx<'_>, count: usize) -> HResult {
    let bs = d.settings.block_size as usize;
    let mut done = 0usize;
    for i in 0..count {
        let off = i * bs;
        let end = (off + bs).min(c.data_in.len());
        if off >= end {
            break;
        }
        let left = (count - i) as i64;
        if let Some(s) = injected_read_error(d) {
            return Err(Fail::from(s).with_data(done));
        }
        let Some(cart) = d.cart.as_mut() else {
            return Err(no_medium());
        };
        match cart.read(&mut c.data_in[off..end]) {
            Ok(ReadRecord::Data { len: rec, copied }) => {
                d.counters.records_read += 1;
                d.counters.host_bytes_read += copied as u64;
                d.counters.medium_bytes_read += rec as u64;
                done = off + copied;
                if rec != bs {
                    // The incorrect-length block is not counted as read.
                    return Err(Fail::from(ili(left)).with_data(done));
                }
            }
            Ok(ReadRecord::Filemark) => return Err(Fail::from(filemark(left)).with_data(done)),
            Ok(ReadRecord::EndOfData) => {
                return Err(Fail::from(blank_check(d, left)).with_data(done));
            }
            Err(e) => return Err(Fail::from(cartridge_sense(d, &e, false)).with_data(done)),
        }
    }
    Ok(done)
}

/// Refuses writes the cartridge or the generation rules forbid.
fn check_writable(d: &mut Drive) -> Result<(), Fail> {
    let Some(cart) = d.cart.as_ref() else {
        return Err(no_medium());
    };
    if cart.write_protected() {
        d.set_tape_alert(TA_WRITE_PROTECT);
        return Err(data_protect(0x27, 0x00));
    }
    if !can_write(d.cfg.generation, cart.spec().generation) {
        // Readable but not writable in this drive (older generation).
        return Err(data_protect(0x30, 0x05));
    }
    Ok(())
}

/// The early warning report after a successful write (SSC-5 4.2.5).
fn after_write(ws: WriteState) -> HResult {
    let code = if ws.early_warning {
        0x02
    } else if ws.programmable_early_warning {
        0x07
    } else {
        return Ok(0);
    };
    let mut s = Sense::new(SenseKey::NoSense, 0x00, code);
    s.eom = true;
    Err(with_info(s, 0).into())
}

fn injected_write_error(d: &mut Drive, residue: i64) -> Option<Sense> {
    let block = d.cart.as_ref()?.position().block;
    if !d.faults.write_error_at.contains(&block) {
        return None;
    }
    d.set_tape_alert(TA_HARD_ERROR);
    d.set_tape_alert(TA_WRITE_FAILURE);
    d.counters.write_errors += 1;
    Some(with_info(
        Sense::new(SenseKey::MediumError, 0x0c, 0x00),
        residue,
    ))
}

pub fn write6(d: &mut Drive, c: &mut Ctx<'_>) -> HResult {
    let fixed = c.b(1) & 0x01 != 0;
    let len = c.be24(2) as usize;
    let bs = d.settings.block_size as usize;
    if fixed && bs == 0 {
        return Err(invalid_cdb_field(1, Some(0)));
    }
    if !fixed && len > d.cfg.max_block_len as usize {
        return Err(invalid_cdb_field(2, Some(7)));
    }
    if len == 0 {
        return Ok(0);
    }
    let total = if fixed { len * bs } else { len };
    if c.data_out.len() < total {
        // The data-out phase does not carry what the CDB announces.
        return Err(invalid_cdb_field(2, Some(7)));
    }
    check_writable(d)?;
    let compress = d.settings.compression;
    let (records, rec_len) = if fixed { (len, bs) } else { (1, len) };
    let mut state = WriteState::default();
    for i in 0..records {
        // Residue in blocks (fixed) or bytes (variable) not written.
        let residue = if fixed { (len - i) as i64 } else { len as i64 };
        if let Some(s) = injected_write_error(d, residue) {
            return Err(s.into());
        }
        let data = &c.data_out[i * rec_len..(i + 1) * rec_len];
        let Some(cart) = d.cart.as_mut() else {
            return Err(no_medium());
        };
        match cart.write(data, compress) {
            Ok(ws) => {
                state = ws;
                d.counters.records_written += 1;
                d.counters.host_bytes_written += data.len() as u64;
                d.counters.medium_bytes_written += data.len() as u64;
            }
            Err(e) => {
                let s = cartridge_sense(d, &e, true);
                let s = if matches!(e, CartridgeError::VolumeOverflow) {
                    with_info(s, residue)
                } else {
                    s
                };
                return Err(s.into());
            }
        }
    }
    after_write(state)
}

fn write_filemarks(d: &mut Drive, immed: bool, count: u32) -> HResult {
    let mut state = WriteState::default();
    if count > 0 {
        check_writable(d)?;
        let Some(cart) = d.cart.as_mut() else {
            return Err(no_medium());
        };
        match cart.write_filemarks(count) {
            Ok(ws) => state = ws,
            Err(e) => {
                let s = cartridge_sense(d, &e, true);
                return Err(with_info(s, i64::from(count)).into());
            }
        }
    }
    // Synchronous (or count 0): everything written so far must be durable.
    if !immed || count == 0 {
        let Some(cart) = d.cart.as_mut() else {
            return Err(no_medium());
        };
        if let Err(e) = cart.sync() {
            return Err(cartridge_sense(d, &e, true).into());
        }
    }
    d.touch();
    if count == 0 {
        return Ok(0);
    }
    after_write(state)
}

pub fn write_filemarks6(d: &mut Drive, c: &mut Ctx<'_>) -> HResult {
    if c.b(1) & 0x02 != 0 {
        // WSMK: setmarks are not supported by LTO.
        return Err(invalid_cdb_field(1, Some(1)));
    }
    write_filemarks(d, c.b(1) & 0x01 != 0, c.be24(2))
}

pub fn write_filemarks16(d: &mut Drive, c: &mut Ctx<'_>) -> HResult {
    let Some(pos) = d.cart.as_ref().map(|k| k.position()) else {
        return Err(no_medium());
    };
    // The command names where the filemarks go; it must be the position.
    if c.b(3) != pos.partition {
        return Err(invalid_cdb_field(3, Some(7)));
    }
    if c.be64(4) != pos.block {
        return Err(invalid_cdb_field(4, Some(7)));
    }
    write_filemarks(d, c.b(1) & 0x01 != 0, c.be24(12))
}

/// ERASE(6): a short erase writes end of data at the position; a long
/// erase also takes the (configurable) time of erasing to the end.
pub fn erase6(d: &mut Drive, c: &mut Ctx<'_>) -> HResult {
    let immed = c.b(1) & 0x02 != 0;
    let long = c.b(1) & 0x01 != 0;
    check_writable(d)?;
    let Some(cart) = d.cart.as_mut() else {
        return Err(no_medium());
    };
    if let Err(e) = cart.erase_from_here().and_then(|()| cart.sync()) {
        return Err(cartridge_sense(d, &e, true).into());
    }
    d.touch();
    if long {
        let delay = d.faults.erase_delay;
        d.mechanical_delay(BusyKind::Erasing, delay, immed);
    }
    Ok(0)
}

//! Positioning: REWIND, SPACE(6)/(16), LOCATE(10)/(16), READ POSITION
//! (short, long and extended forms) and LOAD UNLOAD (SSC-5 7.x, 6.x).

use reel_drivers::scsi::sense::{Sense, SenseKey};

use super::dispatch::Ctx;
use super::medium::{CartridgeError, SpaceResult};
use super::report::removal_refused;
use super::rw::cartridge_sense;
use super::sense::{Fail, HResult, invalid_cdb_field, no_medium, with_info_u};
use super::{BusyKind, Drive, MediumState};

fn cart_op<T>(
    d: &mut Drive,
    f: impl FnOnce(&mut super::medium::Cartridge) -> Result<T, CartridgeError>,
) -> Result<T, Fail> {
    let Some(cart) = d.cart.as_mut() else {
        return Err(no_medium());
    };
    f(cart).map_err(|e| Fail::from(cartridge_sense(d, &e, false)))
}

pub fn rewind(d: &mut Drive, c: &mut Ctx<'_>) -> HResult {
    let immed = c.b(1) & 0x01 != 0;
    // A drive writes out its buffer before it moves.
    cart_op(d, |k| {
        k.sync()?;
        k.rewind();
        Ok(())
    })?;
    d.touch();
    let delay = d.faults.rewind_delay;
    d.mechanical_delay(BusyKind::Rewinding, delay, immed);
    Ok(0)
}

/// Reports how a SPACE or LOCATE ended (SSC-5 7.8): the INFORMATION field
/// holds the magnitude of the count not done.
fn space_outcome(d: &Drive, r: SpaceResult) -> HResult {
    match r {
        SpaceResult::Done => Ok(0),
        SpaceResult::Filemark { remaining } => {
            let mut s = Sense::new(SenseKey::NoSense, 0x00, 0x01);
            s.filemark = true;
            Err(with_info_u(s, remaining).into())
        }
        SpaceResult::EndOfData { remaining } => {
            let mut s = Sense::new(SenseKey::BlankCheck, 0x00, 0x05);
            s.eom = d.zone().early_warning;
            Err(with_info_u(s, remaining).into())
        }
        SpaceResult::BeginningOfPartition { remaining } => {
            let mut s = Sense::new(SenseKey::NoSense, 0x00, 0x04);
            s.eom = true;
            Err(with_info_u(s, remaining).into())
        }
    }
}

fn space(d: &mut Drive, code: u8, count: i64) -> HResult {
    let delay = d.faults.space_delay;
    let r = match code {
        0 if count == 0 => return Ok(0),
        0 => cart_op(d, |k| k.space_blocks(count))?,
        1 if count == 0 => return Ok(0),
        1 => cart_op(d, |k| k.space_filemarks(count))?,
        3 => {
            cart_op(d, |k| k.space_to_eod())?;
            SpaceResult::Done
        }
        // Sequential filemarks and setmarks are not supported by LTO.
        _ => return Err(invalid_cdb_field(1, Some(3))),
    };
    d.touch();
    d.mechanical_delay(BusyKind::Locating, delay, false);
    space_outcome(d, r)
}

pub fn space6(d: &mut Drive, c: &mut Ctx<'_>) -> HResult {
    // 24-bit two's complement count.
    let count = i64::from(((c.be24(2) << 8) as i32) >> 8);
    space(d, c.b(1) & 0x0f, count)
}

pub fn space16(d: &mut Drive, c: &mut Ctx<'_>) -> HResult {
    if c.be16(12) != 0 {
        // PARAMETER LENGTH: no parameter data is defined for SPACE(16).
        return Err(invalid_cdb_field(12, Some(7)));
    }
    space(d, c.b(1) & 0x0f, c.be64(4) as i64)
}

fn locate(
    d: &mut Drive,
    partition: u8,
    partition_byte: usize,
    target: u64,
    immed: bool,
) -> HResult {
    let r = {
        let Some(cart) = d.cart.as_mut() else {
            return Err(no_medium());
        };
        match cart.sync().and_then(|()| cart.locate(partition, target)) {
            Ok(r) => r,
            Err(CartridgeError::NoSuchPartition { .. }) => {
                return Err(invalid_cdb_field(partition_byte, Some(7)));
            }
            Err(e) => return Err(cartridge_sense(d, &e, false).into()),
        }
    };
    d.touch();
    let delay = d.faults.locate_delay;
    d.mechanical_delay(BusyKind::Locating, delay, immed);
    space_outcome(d, r)
}

fn current_partition(d: &Drive) -> u8 {
    d.cart.as_ref().map_or(0, |k| k.position().partition)
}

pub fn locate10(d: &mut Drive, c: &mut Ctx<'_>) -> HResult {
    let cp = c.b(1) & 0x02 != 0;
    let immed = c.b(1) & 0x01 != 0;
    let part = if cp { c.b(8) } else { current_partition(d) };
    locate(d, part, 8, u64::from(c.be32(3)), immed)
}

pub fn locate16(d: &mut Drive, c: &mut Ctx<'_>) -> HResult {
    let dest = (c.b(1) >> 3) & 0x03;
    let cp = c.b(1) & 0x02 != 0;
    let immed = c.b(1) & 0x01 != 0;
    let part = if cp { c.b(3) } else { current_partition(d) };
    let id = c.be64(4);
    match dest {
        0 => locate(d, part, 3, id, immed),
        1 => {
            // Logical file identifier: just after the id-th filemark.
            locate(d, part, 3, 0, immed)?;
            if id == 0 {
                return Ok(0);
            }
            let r = cart_op(d, |k| {
                k.space_filemarks(i64::try_from(id).unwrap_or(i64::MAX))
            })?;
            space_outcome(d, r)
        }
        3 => {
            locate(d, part, 3, 0, immed)?;
            cart_op(d, |k| k.space_to_eod())?;
            Ok(0)
        }
        _ => Err(invalid_cdb_field(1, Some(4))),
    }
}

/// READ POSITION (SSC-5 7.7): service actions 00h/01h short, 06h long,
/// 08h extended. Nothing is ever buffered, so buffer counts are 0.
pub fn read_position(d: &mut Drive, c: &mut Ctx<'_>) -> HResult {
    let Some(cart) = d.cart.as_ref() else {
        return Err(no_medium());
    };
    let pos = cart.position();
    let bop = cart.at_bop();
    // EOP and BPEW describe where the head is now (SSC-5 7.7), not what
    // the last write reported.
    let zone = cart.zone();
    let flags = (if bop { 0x80 } else { 0 })
        | (if zone.early_warning { 0x40 } else { 0 })
        | u8::from(zone.early_warning || zone.programmable_early_warning);
    let sa = c.b(1) & 0x1f;
    let out: Vec<u8> = match sa {
        0x00 | 0x01 => {
            let mut b = vec![0u8; 20];
            b[0] = flags;
            b[1] = pos.partition;
            match u32::try_from(pos.block) {
                Ok(v) => {
                    b[4..8].copy_from_slice(&v.to_be_bytes());
                    b[8..12].copy_from_slice(&v.to_be_bytes());
                }
                // PERR: the position does not fit the short form.
                Err(_) => b[0] |= 0x02,
            }
            b
        }
        0x06 => {
            let mut b = vec![0u8; 32];
            b[0] = flags & !0x20;
            b[4..8].copy_from_slice(&u32::from(pos.partition).to_be_bytes());
            b[8..16].copy_from_slice(&pos.block.to_be_bytes());
            b[16..24].copy_from_slice(&pos.file.to_be_bytes());
            b
        }
        0x08 => {
            let mut b = vec![0u8; 32];
            b[0] = flags;
            b[1] = pos.partition;
            b[2..4].copy_from_slice(&0x001cu16.to_be_bytes());
            b[8..16].copy_from_slice(&pos.block.to_be_bytes());
            b[16..24].copy_from_slice(&pos.block.to_be_bytes());
            b
        }
        _ => return Err(invalid_cdb_field(1, Some(4))),
    };
    let alloc = if sa == 0x08 {
        usize::from(c.be16(7))
    } else {
        out.len()
    };
    Ok(c.reply(&out, alloc))
}

/// LOAD UNLOAD (SSC-5 7.3): LOAD threads an unloaded cartridge (or rewinds
/// a loaded one); UNLOAD rewinds and unthreads, unless removal is prevented.
pub fn load_unload(d: &mut Drive, c: &mut Ctx<'_>) -> HResult {
    let immed = c.b(1) & 0x01 != 0;
    let eot = c.b(4) & 0x04 != 0;
    let load = c.b(4) & 0x01 != 0;
    if load && eot {
        return Err(invalid_cdb_field(4, Some(2)));
    }
    if let Some(b) = d.busy {
        return Err(d.busy_sense(&b, false).into());
    }
    if load {
        match d.medium {
            MediumState::Empty => Err(no_medium()),
            MediumState::Incompatible => Err(Sense::new(SenseKey::MediumError, 0x30, 0x00).into()),
            MediumState::Unloaded => {
                d.thread_medium(Some(c.initiator));
                if !immed && let Some(b) = d.busy.take() {
                    std::thread::sleep(b.until.saturating_duration_since(b.start));
                }
                Ok(0)
            }
            MediumState::Loaded => {
                cart_op(d, |k| {
                    k.sync()?;
                    k.rewind();
                    Ok(())
                })?;
                let delay = d.faults.rewind_delay;
                d.mechanical_delay(BusyKind::Rewinding, delay, immed);
                Ok(0)
            }
        }
    } else {
        match d.medium {
            MediumState::Empty => Err(no_medium()),
            MediumState::Unloaded => Ok(0),
            MediumState::Loaded | MediumState::Incompatible => {
                if !d.settings.prevent.is_empty() {
                    return Err(removal_refused(d).into());
                }
                cart_op(d, |k| {
                    k.sync()?;
                    k.rewind();
                    Ok(())
                })?;
                d.medium = MediumState::Unloaded;
                d.touch();
                let delay = d.faults.unload_delay;
                d.mechanical_delay(BusyKind::Unloading, delay, immed);
                Ok(0)
            }
        }
    }
}

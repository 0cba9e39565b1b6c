//! Non-destructive tape cases: identification, capabilities, settings and
//! logs. Nothing here writes, moves media or changes a setting.

use reel_drivers::scsi::inquiry::{
    self, StandardInquiry, device_type, parse_device_identification, parse_supported_vpd,
    parse_unit_serial, vpd,
};
use reel_drivers::scsi::mode::ModeData;
use reel_drivers::scsi::sense::SenseKey;
use reel_drivers::scsi::transport::DataDirection;
use reel_drivers::tape::position::PositionForm;

use super::util::{Drive, loaded, position, raw, sense_of};
use crate::conformance::{Bench, CaseError, check, expect_eq};

fn data_in(
    d: &mut Drive,
    op: &'static str,
    cdb: &[u8],
    alloc: usize,
) -> Result<Vec<u8>, CaseError> {
    let mut buf = vec![0u8; alloc];
    let r = raw(d, op, cdb, DataDirection::FromDevice(&mut buf))?;
    let n = r.into_result(op)?.transferred;
    buf.truncate(n);
    Ok(buf)
}

fn vpd_page(d: &mut Drive, page: u8) -> Result<Vec<u8>, CaseError> {
    data_in(d, "INQUIRY", &inquiry::inquiry_cdb(true, page, 255), 255)
}

fn decode<T>(what: &str, r: Result<T, impl std::fmt::Display>) -> Result<T, CaseError> {
    r.map_err(|e| CaseError::Fail(format!("{what}: {e}")))
}

pub(super) fn inquiry_standard(b: &mut Bench) -> Result<(), CaseError> {
    let d = b.tape()?;
    let buf = data_in(d, "INQUIRY", &inquiry::inquiry_cdb(false, 0, 96), 96)?;
    let inq = decode("INQUIRY data", StandardInquiry::parse(&buf))?;
    expect_eq(
        "peripheral qualifier/type",
        (inq.qualifier, inq.device_type),
        (0, device_type::SEQUENTIAL_ACCESS),
    )?;
    check(inq.removable, || {
        "RMB clear: a tape drive has removable media".into()
    })?;
    check(!inq.vendor.trim().is_empty(), || {
        "empty T10 vendor identification".into()
    })?;
    check(!inq.product.trim().is_empty(), || {
        "empty product identification".into()
    })?;
    check(inq.response_format == 2, || {
        format!("RESPONSE DATA FORMAT {} (want 2)", inq.response_format)
    })
}

pub(super) fn vpd_supported_pages(b: &mut Bench) -> Result<(), CaseError> {
    let buf = vpd_page(b.tape()?, vpd::SUPPORTED_PAGES)?;
    let pages = decode("VPD 00h", parse_supported_vpd(&buf))?;
    for p in [
        vpd::SUPPORTED_PAGES,
        vpd::UNIT_SERIAL_NUMBER,
        vpd::DEVICE_IDENTIFICATION,
    ] {
        check(pages.contains(&p), || {
            format!("VPD page {p:02x}h missing from the supported list {pages:02x?}")
        })?;
    }
    Ok(())
}

pub(super) fn vpd_unit_serial(b: &mut Bench) -> Result<(), CaseError> {
    let buf = vpd_page(b.tape()?, vpd::UNIT_SERIAL_NUMBER)?;
    let serial = decode("VPD 80h", parse_unit_serial(&buf))?;
    let s = serial.trim();
    check(!s.is_empty(), || "empty unit serial number".into())?;
    check(s.bytes().all(|c| c.is_ascii_graphic()), || {
        format!("unit serial {s:?} is not printable ASCII")
    })
}

pub(super) fn vpd_device_identification(b: &mut Bench) -> Result<(), CaseError> {
    let buf = vpd_page(b.tape()?, vpd::DEVICE_IDENTIFICATION)?;
    let ds = decode("VPD 83h", parse_device_identification(&buf))?;
    check(!ds.is_empty(), || "VPD 83h holds no designator".into())?;
    check(ds.iter().any(|d| d.association == 0), || {
        "no designator of the logical unit itself (association 0)".into()
    })
}

pub(super) fn read_block_limits(b: &mut Bench) -> Result<(), CaseError> {
    let bl = b.tape()?.read_block_limits()?;
    check(bl.max == 0 || bl.max >= u32::from(bl.min), || {
        format!("maximum record {} below the minimum {}", bl.max, bl.min)
    })?;
    check(bl.max == 0 || bl.max >= 65536, || {
        format!(
            "maximum record {} bytes: backup software writes 64 KiB records",
            bl.max
        )
    })
}

pub(super) fn report_density_drive(b: &mut Bench) -> Result<(), CaseError> {
    let ds = b.tape()?.report_density(false)?;
    check(!ds.is_empty(), || "no density descriptor".into())?;
    check(ds.iter().any(|x| x.writable), || {
        "no density the drive can write (WRTOK clear everywhere)".into()
    })
}

pub(super) fn report_density_medium(b: &mut Bench) -> Result<(), CaseError> {
    let d = loaded(b)?;
    let ds = d.report_density(true)?;
    check(!ds.is_empty(), || {
        "no density descriptor for the loaded medium".into()
    })
}

/// MODE SENSE(6) of `page` with the block descriptor.
fn mode_sense6(d: &mut Drive, page: u8) -> Result<ModeData, CaseError> {
    let cdb = [0x1a, 0x00, page & 0x3f, 0, 0xff, 0];
    let buf = data_in(d, "MODE SENSE(6)", &cdb, 255)?;
    decode("MODE SENSE(6) data", ModeData::parse6(&buf))
}

pub(super) fn mode_sense_block_descriptor(b: &mut Bench) -> Result<(), CaseError> {
    let m = mode_sense6(b.tape()?, 0x10)?;
    expect_eq("block descriptors", m.block_descriptors.len(), 1)?;
    Ok(())
}

pub(super) fn mode_sense_device_configuration(b: &mut Bench) -> Result<(), CaseError> {
    let m = mode_sense6(b.tape()?, 0x10)?;
    let p = m.page(0x10, 0).ok_or_else(|| {
        CaseError::Fail("MODE SENSE page 10h: no device configuration page returned".into())
    })?;
    check(p.data.len() >= 0x0e, || {
        format!(
            "device configuration page is {} bytes, want 14",
            p.data.len()
        )
    })
}

pub(super) fn mode_sense_data_compression(b: &mut Bench) -> Result<(), CaseError> {
    let m = mode_sense6(b.tape()?, 0x0f)?;
    let p = m.page(0x0f, 0).ok_or_else(|| {
        CaseError::Fail("MODE SENSE page 0Fh: no data compression page returned".into())
    })?;
    check(p.data.len() >= 0x0e, || {
        format!("data compression page is {} bytes, want 14", p.data.len())
    })
}

pub(super) fn log_sense_supported_pages(b: &mut Bench) -> Result<(), CaseError> {
    let cdb = [0x4d, 0, 0x40, 0, 0, 0, 0, 0x01, 0x00, 0];
    let buf = data_in(b.tape()?, "LOG SENSE", &cdb, 256)?;
    check(buf.len() >= 4 && buf[0] & 0x3f == 0, || {
        format!(
            "LOG SENSE page 00h: header {:02x?}",
            &buf[..buf.len().min(4)]
        )
    })?;
    let n = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
    let pages = &buf[4..(4 + n).min(buf.len())];
    check(pages.contains(&0x2e), || {
        format!("TapeAlert page 2Eh missing from the supported log pages {pages:02x?}")
    })
}

pub(super) fn tape_alert_read(b: &mut Bench) -> Result<(), CaseError> {
    // Page 12h (TapeAlert response) does not clear the flags as 2Eh does.
    b.tape()?.tape_alerts()?;
    Ok(())
}

pub(super) fn log_sense_sequential_access(b: &mut Bench) -> Result<(), CaseError> {
    b.tape()?.sequential_access_counters()?;
    Ok(())
}

pub(super) fn test_unit_ready_no_medium(b: &mut Bench) -> Result<(), CaseError> {
    let d = b.tape()?;
    let mut last = None;
    // Pending unit attentions come first.
    for _ in 0..8 {
        let r = raw(d, "TEST UNIT READY", &[0u8; 6], DataDirection::None)?;
        match r.sense {
            None => {
                return Err(CaseError::Skip(
                    "a cartridge is loaded; the case needs an empty drive".into(),
                ));
            }
            Some(s) if s.key == SenseKey::UnitAttention => last = Some(s),
            Some(s) => {
                return check(s.key == SenseKey::NotReady && s.asc == 0x3a, || {
                    format!(
                        "TEST UNIT READY without medium: {:?} {:02x}/{:02x}, want NOT READY 3A/xx",
                        s.key, s.asc, s.ascq
                    )
                });
            }
        }
    }
    Err(CaseError::Fail(format!(
        "unit attention never cleared: {last:?}"
    )))
}

pub(super) fn request_sense_format(b: &mut Bench) -> Result<(), CaseError> {
    let d = b.tape()?;
    let mut buf = vec![0u8; 252];
    let cdb = [0x03, 0, 0, 0, 252, 0];
    let r = raw(
        d,
        "REQUEST SENSE",
        &cdb,
        DataDirection::FromDevice(&mut buf),
    )?;
    if r.sense.is_some() {
        return Err(CaseError::Fail(format!(
            "REQUEST SENSE itself ended in CHECK CONDITION: {:?}",
            sense_of("REQUEST SENSE", &r)?
        )));
    }
    let n = r.into_result("REQUEST SENSE")?.transferred;
    check(n >= 8, || format!("REQUEST SENSE returned {n} bytes"))?;
    let code = buf[0] & 0x7f;
    check(matches!(code, 0x70 | 0x72), || {
        format!("response code {code:02x}h, want 70h or 72h (current)")
    })?;
    if code == 0x70 {
        check(n >= 18, || {
            format!("fixed-format sense of {n} bytes, want 18")
        })?;
    }
    Ok(())
}

pub(super) fn read_position_forms_agree(b: &mut Bench) -> Result<(), CaseError> {
    let d = loaded(b)?;
    let short = position(d, PositionForm::Short)?;
    let long = position(d, PositionForm::Long)?;
    expect_eq("logical object (short vs long)", short.block, long.block)?;
    expect_eq("partition (short vs long)", short.partition, long.partition)?;
    expect_eq("BOP (short vs long)", short.bop, long.bop)?;
    check(long.file.is_some(), || {
        "long form without a logical file identifier".into()
    })
}

pub(super) fn report_supported_opcodes(b: &mut Bench) -> Result<(), CaseError> {
    let d = b.tape()?;
    let ops = d.load_reported_timeouts()?;
    if ops.is_empty() {
        return Err(CaseError::Skip(
            "the drive does not implement REPORT SUPPORTED OPERATION CODES".into(),
        ));
    }
    for op in [0x08u8, 0x0a, 0x10, 0x11, 0x34] {
        check(ops.contains(&op), || {
            format!("opcode {op:02x}h missing from REPORT SUPPORTED OPERATION CODES")
        })?;
    }
    Ok(())
}

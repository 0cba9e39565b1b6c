//! Destructive tape cases about record lengths: short and long reads in
//! variable mode (ILI, INFORMATION, residual), SILI, and fixed-block mode.

use reel_drivers::scsi::sense::SenseKey;
use reel_drivers::scsi::transport::ScsiStatus;
use reel_drivers::tape::{ReadOutcome, ResidualPolicy};

use super::util::{
    expect_object, expect_sense, info_i32, position, raw, read6_fixed, read6_variable, record,
    scratch, sense_of,
};
use crate::conformance::{Bench, CaseError, check, expect_eq};

pub(super) fn short_read_ili(b: &mut Bench) -> Result<(), CaseError> {
    let d = scratch(b)?;
    d.write(&record(1, 1000))?;
    d.rewind(false)?;
    let mut buf = vec![0u8; 4096];
    let r = read6_variable(d, &mut buf, false)?;
    let s = sense_of("READ 4096 of a 1000-byte record", &r)?;
    expect_sense("short read", &s, SenseKey::NoSense, 0x00, 0x00)?;
    check(s.ili, || "ILI clear on a short record".into())?;
    expect_eq("INFORMATION (requested - actual)", info_i32(&s), Some(3096))?;
    // Unless the adapter is known to misreport it (--trust-sense-length).
    if d.residual_policy() == ResidualPolicy::Strict {
        expect_eq("transport residual", r.residual, 3096)?;
    }
    check(buf[..1000] == record(1, 1000)[..], || {
        "record contents differ".into()
    })?;
    expect_object("after the record", d, 1)
}

pub(super) fn long_read_ili(b: &mut Bench) -> Result<(), CaseError> {
    let d = scratch(b)?;
    d.write(&record(2, 4096))?;
    d.write(&record(3, 100))?;
    d.rewind(false)?;
    let mut buf = vec![0u8; 1024];
    let r = read6_variable(d, &mut buf, false)?;
    let s = sense_of("READ 1024 of a 4096-byte record", &r)?;
    expect_sense("long read", &s, SenseKey::NoSense, 0x00, 0x00)?;
    check(s.ili, || "ILI clear on an overlength record".into())?;
    expect_eq(
        "INFORMATION (requested - actual)",
        info_i32(&s),
        Some(1024 - 4096),
    )?;
    check(buf[..] == record(2, 4096)[..1024], || {
        "first 1024 bytes differ".into()
    })?;
    // The rest of the record is skipped: the next read is the next record.
    expect_object("after the long record", d, 1)?;
    let mut buf = vec![0u8; 1024];
    expect_eq(
        "next record",
        d.read(&mut buf)?,
        ReadOutcome::ShortBlock { len: 100 },
    )
}

pub(super) fn exact_read_good(b: &mut Bench) -> Result<(), CaseError> {
    let d = scratch(b)?;
    d.write(&record(4, 2048))?;
    d.rewind(false)?;
    let mut buf = vec![0u8; 2048];
    let r = read6_variable(d, &mut buf, false)?;
    expect_eq("status of an exact-length read", r.status, ScsiStatus::GOOD)?;
    expect_eq("residual", r.residual, 0)?;
    check(buf == record(4, 2048), || "record contents differ".into())
}

pub(super) fn sili_short_read_good(b: &mut Bench) -> Result<(), CaseError> {
    if b.tape()?.residual_policy() == ResidualPolicy::TrustSense {
        return Err(CaseError::Skip(
            "with SILI only the residual tells the length, and --trust-sense-length says \
             the adapter's residual is wrong"
                .into(),
        ));
    }
    let d = scratch(b)?;
    d.write(&record(5, 1000))?;
    d.rewind(false)?;
    let mut buf = vec![0u8; 4096];
    let r = read6_variable(d, &mut buf, true)?;
    if let Some(s) = &r.sense {
        return Err(CaseError::Fail(format!(
            "READ with SILI of a short record: CHECK CONDITION {:?} {:02x}/{:02x} ili={}, want GOOD",
            s.key, s.asc, s.ascq, s.ili
        )));
    }
    expect_eq("transport residual", r.residual, 3096)?;
    check(buf[..1000] == record(5, 1000)[..], || {
        "record contents differ".into()
    })
}

pub(super) fn fixed_block_size(b: &mut Bench) -> Result<(), CaseError> {
    let d = scratch(b)?;
    d.set_block_size(512)?;
    // Fresh from the device, not the driver's cache.
    let cdb = [0x1a, 0x00, 0x10, 0, 0xff, 0];
    let mut buf = vec![0u8; 255];
    let n = raw(
        d,
        "MODE SENSE(6)",
        &cdb,
        reel_drivers::DataDirection::FromDevice(&mut buf),
    )?
    .into_result("MODE SENSE(6)")?
    .transferred;
    buf.truncate(n);
    let m = reel_drivers::scsi::mode::ModeData::parse6(&buf)
        .map_err(|e| CaseError::Fail(format!("MODE SENSE data: {e}")))?;
    let bl = m.block_descriptors.first().map(|x| x.block_length);
    expect_eq("block length in the block descriptor", bl, Some(512))?;
    d.set_block_size(0)?;
    Ok(())
}

pub(super) fn fixed_write_read(b: &mut Bench) -> Result<(), CaseError> {
    let d = scratch(b)?;
    d.set_block_size(512)?;
    let data = record(7, 2048);
    d.write(&data)?;
    d.write_filemarks(1, false)?;
    expect_object("4 blocks and a filemark", d, 5)?;
    d.rewind(false)?;
    let mut buf = vec![0u8; 2048];
    expect_eq(
        "read 4 blocks",
        d.read(&mut buf)?,
        ReadOutcome::Block { len: 2048 },
    )?;
    check(buf == data, || "block contents differ".into())?;
    expect_eq(
        "then the filemark",
        d.read(&mut buf)?,
        ReadOutcome::Filemark,
    )
}

pub(super) fn fixed_read_at_filemark(b: &mut Bench) -> Result<(), CaseError> {
    let d = scratch(b)?;
    d.set_block_size(512)?;
    let data = record(8, 1024);
    d.write(&data)?;
    d.write_filemarks(1, false)?;
    d.rewind(false)?;
    // 4 blocks asked, 2 before the filemark.
    let mut buf = vec![0u8; 2048];
    let r = read6_fixed(d, &mut buf, 4)?;
    let s = sense_of("fixed READ of 4 blocks over 2", &r)?;
    expect_sense(
        "fixed READ into a filemark",
        &s,
        SenseKey::NoSense,
        0x00,
        0x01,
    )?;
    check(s.filemark, || "FILEMARK bit clear".into())?;
    expect_eq("INFORMATION (blocks not read)", s.information, Some(2))?;
    check(buf[..1024] == data[..], || {
        "the 2 blocks before the filemark differ".into()
    })?;
    expect_object("after the filemark", d, 3)
}

pub(super) fn fixed_read_ili(b: &mut Bench) -> Result<(), CaseError> {
    let d = scratch(b)?;
    // A 1000-byte record read as 512-byte fixed blocks: incorrect length.
    d.write(&record(9, 1000))?;
    d.set_block_size(512)?;
    d.rewind(false)?;
    let mut buf = vec![0u8; 1024];
    let r = read6_fixed(d, &mut buf, 2)?;
    let s = sense_of("fixed READ of a 1000-byte record", &r)?;
    expect_sense(
        "fixed READ of a wrong-length block",
        &s,
        SenseKey::NoSense,
        0x00,
        0x00,
    )?;
    check(s.ili, || "ILI clear".into())?;
    // SSC: requested blocks minus blocks read, the wrong one not counted.
    expect_eq("INFORMATION (blocks not read)", s.information, Some(2))?;
    let p = position(d, reel_drivers::tape::position::PositionForm::Short)?;
    expect_eq("positioned after the wrong-length block", p.block, Some(1))
}

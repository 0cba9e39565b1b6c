//! Destructive tape cases about the medium and the drive's state: early
//! warning and overflow, write-protect, WORM, MAM, unit attentions,
//! load/unload, erase, prevent/allow, compression and TapeAlert.

use reel_drivers::ScsiError;
use reel_drivers::scsi::attributes::{Attribute, mam};
use reel_drivers::scsi::command;
use reel_drivers::scsi::sense::{Sense, SenseKey};
use reel_drivers::scsi::transport::{DataDirection, ScsiTransport};
use reel_drivers::tape::position::PositionForm;
use reel_drivers::tape::{ReadOutcome, WriteStatus};

use super::util::{
    Drive, READY, TIMEOUT, expect_error, expect_object, expect_record, loaded, noise, position,
    raw, record, scratch, sense_of, write_records,
};
use crate::conformance::{Bench, CaseError, FixtureCartridge, check, expect_eq};

// ---- early warning -------------------------------------------------------

/// Capacity of the small cartridges the EW cases fill.
const SMALL: u64 = 2 * 1024 * 1024;
/// Small enough that several records fit in the early-warning zone (the
/// VTL puts EW 2 % before the end: 40 KiB here).
const EW_RECORD: usize = 8 * 1024;

/// A fixture cartridge made for this case, loaded and rewound.
fn fixture_tape(b: &mut Bench, spec: FixtureCartridge) -> Result<&mut Drive, CaseError> {
    let barcode = b.fixture_cartridge(spec)?;
    b.load_barcode(&barcode)?;
    b.tape()
}

fn small_tape(b: &mut Bench) -> Result<&mut Drive, CaseError> {
    fixture_tape(
        b,
        FixtureCartridge {
            capacity_bytes: Some(SMALL),
            ..FixtureCartridge::default()
        },
    )
}

/// What filling a cartridge showed.
struct Fill {
    /// Records written (counting those written in the EW zone).
    written: u64,
    /// Status changes in order, starting with the first record's.
    states: Vec<WriteStatus>,
    /// The record number that first reported early warning.
    first_ew: Option<u64>,
}

/// Writes incompressible records until `stop` says so, or VOLUME
/// OVERFLOW (returned as the error).
fn fill(
    d: &mut Drive,
    stop: impl Fn(&Fill) -> bool,
) -> Result<(Fill, Option<ScsiError>), CaseError> {
    let mut f = Fill {
        written: 0,
        states: Vec::new(),
        first_ew: None,
    };
    let limit = 4 * SMALL / EW_RECORD as u64 + 64;
    while f.written < limit {
        match d.write(&noise(f.written, EW_RECORD)) {
            Ok(s) => {
                if f.states.last() != Some(&s) {
                    f.states.push(s);
                }
                if s == WriteStatus::EarlyWarning && f.first_ew.is_none() {
                    f.first_ew = Some(f.written);
                }
                f.written += 1;
                if stop(&f) {
                    return Ok((f, None));
                }
            }
            Err(e) => return Ok((f, Some(e))),
        }
    }
    Err(CaseError::Fail(format!(
        "wrote {} records of {EW_RECORD} bytes to a {SMALL}-byte cartridge without reaching its end",
        f.written
    )))
}

pub(super) fn early_warning(b: &mut Bench) -> Result<(), CaseError> {
    let d = small_tape(b)?;
    let (f, err) = fill(d, |f| f.first_ew.is_some())?;
    if let Some(e) = err {
        return Err(CaseError::Fail(format!(
            "{e} after {} records, before any early warning",
            f.written
        )));
    }
    check(f.written > 1, || "early warning on the first record".into())?;
    // Past EW, writes still succeed and keep reporting it.
    expect_eq(
        "next write past EW",
        d.write(&noise(999, EW_RECORD))?,
        WriteStatus::EarlyWarning,
    )?;
    let p = position(d, PositionForm::Long)?;
    check(p.eop, || {
        "READ POSITION: EOP clear past early warning".into()
    })
}

pub(super) fn filemark_in_early_warning(b: &mut Bench) -> Result<(), CaseError> {
    let d = small_tape(b)?;
    let (f, err) = fill(d, |f| f.first_ew.is_some())?;
    if let Some(e) = err {
        return Err(CaseError::Fail(format!("{e} before any early warning")));
    }
    // Backup software closes its file with filemarks after EW.
    let before = position(d, PositionForm::Short)?.block;
    let st = d.write_filemarks(1, false)?;
    expect_eq("WRITE FILEMARKS past EW", st, WriteStatus::EarlyWarning)?;
    expect_eq(
        "object after the filemark",
        position(d, PositionForm::Short)?.block,
        before.map(|x| x + 1),
    )?;
    check(f.written > 0, || "nothing written".into())
}

pub(super) fn volume_overflow(b: &mut Bench) -> Result<(), CaseError> {
    let d = small_tape(b)?;
    let (f, err) = fill(d, |_| false)?;
    let Some(e) = err else {
        return Err(CaseError::Fail("no VOLUME OVERFLOW".into()));
    };
    let s = e
        .sense()
        .cloned()
        .ok_or_else(|| CaseError::Fail(format!("at the end of the medium: {e}")))?;
    super::util::expect_sense(
        "at the end of the medium",
        &s,
        SenseKey::VolumeOverflow,
        0x00,
        0x02,
    )?;
    check(s.eom, || "EOM bit clear on VOLUME OVERFLOW".into())?;
    check(f.first_ew.is_some(), || {
        "VOLUME OVERFLOW without an early warning first".into()
    })?;
    check(d.status()?.eot, || "status: not past early warning".into())
}

pub(super) fn readable_after_overflow(b: &mut Bench) -> Result<(), CaseError> {
    let d = small_tape(b)?;
    let (f, err) = fill(d, |_| false)?;
    check(err.is_some(), || "no VOLUME OVERFLOW".into())?;
    // Every record the drive accepted (EW zone included) was written.
    d.rewind(false)?;
    let mut buf = vec![0u8; EW_RECORD];
    for i in 0..f.written {
        let got = d.read(&mut buf)?;
        expect_eq(
            &format!("record {i}"),
            got,
            ReadOutcome::Block { len: EW_RECORD },
        )?;
        check(buf == noise(i, EW_RECORD), || {
            format!("record {i}: contents differ")
        })?;
    }
    expect_eq(
        "after the last record",
        d.read(&mut buf)?,
        ReadOutcome::EndOfData,
    )
}

pub(super) fn programmable_early_warning(b: &mut Bench) -> Result<(), CaseError> {
    let d = small_tape(b)?;
    let _ = d;
    b.fixture()?.set_pew_size(SMALL / 4)?;
    let d = b.tape()?;
    let (f, _) = fill(d, |f| f.first_ew.is_some())?;
    expect_eq(
        "write states",
        f.states,
        vec![
            WriteStatus::Ok,
            WriteStatus::ProgrammableEarlyWarning,
            WriteStatus::EarlyWarning,
        ],
    )
}

// ---- write protection ----------------------------------------------------

fn mode_wp(d: &mut Drive) -> Result<bool, CaseError> {
    let cdb = [0x1a, 0x08, 0x3f, 0, 0xff, 0];
    let mut buf = vec![0u8; 255];
    let n = raw(
        d,
        "MODE SENSE(6)",
        &cdb,
        DataDirection::FromDevice(&mut buf),
    )?
    .into_result("MODE SENSE(6)")?
    .transferred;
    check(n >= 4, || format!("MODE SENSE(6) returned {n} bytes"))?;
    Ok(buf[2] & 0x80 != 0)
}

fn protected_tape(b: &mut Bench) -> Result<&mut Drive, CaseError> {
    fixture_tape(
        b,
        FixtureCartridge {
            write_protected: true,
            ..FixtureCartridge::default()
        },
    )
}

pub(super) fn write_protect_flag(b: &mut Bench) -> Result<(), CaseError> {
    let d = protected_tape(b)?;
    check(mode_wp(d)?, || {
        "MODE SENSE: WP bit clear on a protected cartridge".into()
    })
}

pub(super) fn write_protect_refuses_writes(b: &mut Bench) -> Result<(), CaseError> {
    let d = protected_tape(b)?;
    expect_error(
        "WRITE",
        d.write(&[0u8; 512]),
        SenseKey::DataProtect,
        0x27,
        0x00,
    )?;
    expect_error(
        "WRITE FILEMARKS",
        d.write_filemarks(1, false),
        SenseKey::DataProtect,
        0x27,
        0x00,
    )?;
    Ok(())
}

pub(super) fn write_protect_allows_reads(b: &mut Bench) -> Result<(), CaseError> {
    let barcode = b.fixture_cartridge(FixtureCartridge::default())?;
    b.load_barcode(&barcode)?;
    write_records(b.tape()?, &[(1, 700)])?;
    b.unload_to_slot()?;
    b.fixture()?.set_write_protect(&barcode, true)?;
    b.load_barcode(&barcode)?;
    let d = b.tape()?;
    check(mode_wp(d)?, || "WP bit clear after the tab was set".into())?;
    expect_record("record on the protected cartridge", d, 1, 700)?;
    Ok(())
}

// ---- WORM ----------------------------------------------------------------

fn worm_tape(b: &mut Bench) -> Result<&mut Drive, CaseError> {
    fixture_tape(
        b,
        FixtureCartridge {
            worm: true,
            ..FixtureCartridge::default()
        },
    )
}

pub(super) fn worm_reported(b: &mut Bench) -> Result<(), CaseError> {
    let d = worm_tape(b)?;
    check(d.identify()?.worm_capable, || {
        "VPD B0h: WORM bit clear".into()
    })?;
    expect_eq(
        "volume statistics: WORM medium",
        d.volume_statistics()?.worm,
        Some(true),
    )
}

pub(super) fn worm_appends(b: &mut Bench) -> Result<(), CaseError> {
    let d = worm_tape(b)?;
    d.write(&record(1, 100))?;
    d.write_filemarks(1, false)?;
    d.rewind(false)?;
    d.space(reel_drivers::tape::SpaceKind::EndOfData, 0)?;
    expect_eq(
        "append at end of data",
        d.write(&record(2, 100))?,
        WriteStatus::Ok,
    )?;
    d.rewind(false)?;
    expect_record("first record", d, 1, 100)?;
    let mut buf = vec![0u8; 512];
    expect_eq("filemark", d.read(&mut buf)?, ReadOutcome::Filemark)?;
    expect_record("appended record", d, 2, 100)
}

pub(super) fn worm_refuses_overwrite(b: &mut Bench) -> Result<(), CaseError> {
    let d = worm_tape(b)?;
    write_records(d, &[(1, 100), (2, 100)])?;
    d.rewind(false)?;
    expect_error(
        "overwrite at BOT",
        d.write(&record(3, 100)),
        SenseKey::DataProtect,
        0x30,
        0x0c,
    )?;
    d.rewind(false)?;
    expect_record("the first record survives", d, 1, 100)
}

// ---- MAM -----------------------------------------------------------------

pub(super) fn mam_read(b: &mut Bench) -> Result<(), CaseError> {
    let d = loaded(b)?;
    let attrs = d.read_mam()?;
    check(!attrs.is_empty(), || {
        "READ ATTRIBUTE returned no attribute".into()
    })?;
    let m = d.mam()?;
    check(
        m.medium_serial.is_some() || m.load_count.is_some() || m.manufacturer.is_some(),
        || "none of MEDIUM SERIAL, LOAD COUNT, MEDIUM MANUFACTURER".into(),
    )
}

pub(super) fn mam_write_user_attribute(b: &mut Bench) -> Result<(), CaseError> {
    let d = scratch(b)?;
    let label = "reel-hwtest label";
    let a = Attribute::text(mam::USER_MEDIUM_TEXT_LABEL, label)
        .map_err(|e| CaseError::Fail(format!("encode attribute: {e}")))?;
    d.write_mam(&[a])?;
    expect_eq(
        "USER MEDIUM TEXT LABEL",
        d.mam()?.user_label.as_deref(),
        Some(label),
    )
}

// ---- unit attention ------------------------------------------------------

const TUR: [u8; 6] = [0u8; 6];

/// TEST UNIT READY on any transport; the sense of a CHECK CONDITION.
fn tur(t: &mut dyn ScsiTransport) -> Result<Option<Sense>, CaseError> {
    let r = command::exchange(t, "TEST UNIT READY", &TUR, DataDirection::None, TIMEOUT)?;
    Ok(r.sense)
}

/// Lets a nexus consume what it has pending (first command after login).
fn drain(t: &mut dyn ScsiTransport) -> Result<(), CaseError> {
    for _ in 0..8 {
        match tur(t)? {
            Some(s) if s.key == SenseKey::UnitAttention => continue,
            _ => return Ok(()),
        }
    }
    Err(CaseError::Fail("unit attentions never stop".into()))
}

/// UNLOAD then LOAD from another nexus.
fn reload_from(other: &mut dyn ScsiTransport) -> Result<(), CaseError> {
    drain(other)?;
    let unload = [0x1b, 0, 0, 0, 0x00, 0];
    let load = [0x1b, 0, 0, 0, 0x01, 0];
    command::run(
        other,
        "UNLOAD (other nexus)",
        &unload,
        DataDirection::None,
        TIMEOUT,
    )?;
    command::run(
        other,
        "LOAD (other nexus)",
        &load,
        DataDirection::None,
        TIMEOUT,
    )?;
    Ok(())
}

fn expect_ua(what: &str, s: Option<Sense>, asc: u8, ascq: Option<u8>) -> Result<(), CaseError> {
    match s {
        None => Err(CaseError::Fail(format!("{what}: GOOD, no unit attention"))),
        Some(s) => check(
            s.key == SenseKey::UnitAttention && s.asc == asc && ascq.is_none_or(|q| q == s.ascq),
            || {
                format!(
                    "{what}: {:?} {:02x}/{:02x}, want UNIT ATTENTION {asc:02x}/{}",
                    s.key,
                    s.asc,
                    s.ascq,
                    ascq.map_or("xx".into(), |q| format!("{q:02x}"))
                )
            },
        ),
    }
}

pub(super) fn ua_after_load_other_nexus(b: &mut Bench) -> Result<(), CaseError> {
    scratch(b)?;
    let mut other = b.second_tape_transport()?;
    reload_from(&mut other)?;
    let d = b.tape()?;
    expect_ua(
        "TEST UNIT READY after another nexus reloaded",
        tur(d.transport())?,
        0x28,
        Some(0x00),
    )
}

pub(super) fn ua_write_not_executed(b: &mut Bench) -> Result<(), CaseError> {
    let d = scratch(b)?;
    d.write(&record(1, 200))?;
    d.rewind(false)?;
    let mut other = b.second_tape_transport()?;
    reload_from(&mut other)?;
    drop(other);
    let d = b.tape()?;
    // WRITE(6) of 200 bytes at BOT: the unit attention, not the write.
    let data = record(2, 200);
    let cdb = [0x0a, 0, 0, 0, 200, 0];
    let r = raw(d, "WRITE(6)", &cdb, DataDirection::ToDevice(&data))?;
    let s = sense_of("WRITE after a medium change", &r)?;
    expect_ua("WRITE after a medium change", Some(s), 0x28, Some(0x00))?;
    d.wait_ready(READY)?;
    d.rewind(false)?;
    expect_record("the record at BOT is the old one", d, 1, 200)
}

pub(super) fn ua_after_reset(b: &mut Bench) -> Result<(), CaseError> {
    scratch(b)?;
    b.fixture()?.reset()?;
    let d = b.tape()?;
    expect_ua(
        "first command after a reset",
        tur(d.transport())?,
        0x29,
        None,
    )?;
    drain(d.transport())?;
    d.wait_ready(READY)?;
    Ok(())
}

pub(super) fn ua_reset_every_nexus(b: &mut Bench) -> Result<(), CaseError> {
    scratch(b)?;
    let mut other = b.second_tape_transport()?;
    drain(&mut other)?;
    b.fixture()?.reset()?;
    expect_ua("other nexus after a reset", tur(&mut other)?, 0x29, None)?;
    let d = b.tape()?;
    expect_ua("this nexus after a reset", tur(d.transport())?, 0x29, None)
}

// ---- load, erase, prevent, settings --------------------------------------

pub(super) fn unload_then_load(b: &mut Bench) -> Result<(), CaseError> {
    let d = scratch(b)?;
    d.write(&record(3, 400))?;
    d.unload()?;
    match tur(d.transport())? {
        Some(s) if s.key == SenseKey::NotReady => {}
        other => {
            return Err(CaseError::Fail(format!(
                "TEST UNIT READY after UNLOAD: {other:?}, want NOT READY"
            )));
        }
    }
    d.load()?;
    d.wait_ready(READY)?;
    let p = position(d, PositionForm::Short)?;
    expect_eq(
        "after LOAD (object, BOP)",
        (p.block, p.bop),
        (Some(0), true),
    )?;
    expect_record("record after reload", d, 3, 400)
}

pub(super) fn erase_truncates(b: &mut Bench) -> Result<(), CaseError> {
    let d = scratch(b)?;
    write_records(d, &[(0, 200), (1, 200), (2, 200), (3, 200)])?;
    d.locate(2, None)?;
    // Short erase: an end-of-data mark here, seconds not hours.
    d.erase(false)?;
    d.rewind(false)?;
    expect_record("record 0", d, 0, 200)?;
    expect_record("record 1", d, 1, 200)?;
    let mut buf = vec![0u8; 512];
    expect_eq(
        "end of data after the erase point",
        d.read(&mut buf)?,
        ReadOutcome::EndOfData,
    )?;
    expect_object("end of data", d, 2)
}

pub(super) fn prevent_blocks_unload(b: &mut Bench) -> Result<(), CaseError> {
    let d = scratch(b)?;
    d.prevent_removal(true)?;
    let refused = expect_error(
        "UNLOAD while prevented",
        d.unload(),
        SenseKey::IllegalRequest,
        0x53,
        0x02,
    );
    d.prevent_removal(false)?;
    refused?;
    d.unload()?;
    d.load()?;
    d.wait_ready(READY)?;
    Ok(())
}

pub(super) fn compression_toggle(b: &mut Bench) -> Result<(), CaseError> {
    let d = scratch(b)?;
    let was = d.compression()?.enabled;
    d.set_compression(!was)?;
    let now = d.compression()?.enabled;
    d.set_compression(was)?;
    expect_eq("DCE after MODE SELECT", now, !was)?;
    expect_eq("DCE restored", d.compression()?.enabled, was)
}

pub(super) fn tape_alert_raised_and_cleared(b: &mut Bench) -> Result<(), CaseError> {
    b.tape()?;
    // 14h: clean now.
    b.fixture()?.set_tape_alert(0x14)?;
    let d = b.tape()?;
    check(d.tape_alerts()?.is_set(0x14), || {
        "page 12h: flag 14h not set".into()
    })?;
    check(d.tape_alerts()?.is_set(0x14), || {
        "page 12h cleared the flag on read".into()
    })?;
    check(d.tape_alerts_clearing()?.is_set(0x14), || {
        "page 2Eh: flag 14h not set".into()
    })?;
    check(!d.tape_alerts()?.is_set(0x14), || {
        "flag 14h still set after reading page 2Eh".into()
    })
}

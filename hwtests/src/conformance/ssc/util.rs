//! Shared pieces of the tape cases: raw commands whose exact sense and
//! residual a case checks, the record patterns cases write, and the
//! standard test layouts.

use std::time::Duration;

use reel_drivers::ScsiError;
use reel_drivers::scsi::command::{self, Reply};
use reel_drivers::scsi::sense::{Sense, SenseKey};
use reel_drivers::scsi::transport::{DataDirection, ScsiStatus};
use reel_drivers::tape::TapeDrive;
use reel_drivers::tape::position::{Position, PositionForm, parse_position, read_position_cdb};

use crate::conformance::{Bench, CaseError, Transport, check, expect_eq};

pub(super) type Drive = TapeDrive<Transport>;

/// Timeout of one raw command (a real drive may locate for minutes).
pub(super) const TIMEOUT: Duration = Duration::from_secs(600);
/// How long a drive may need after a load.
pub(super) const READY: Duration = Duration::from_secs(300);

/// Deterministic record contents, different per record.
pub fn record(n: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| n.wrapping_mul(31).wrapping_add(i as u8))
        .collect()
}

/// Contents that do not compress: early warning comes after the same
/// number of bytes whatever the drive's compression setting.
pub(super) fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A writable cartridge loaded and rewound (destructive cases).
pub(super) fn scratch(b: &mut Bench) -> Result<&mut Drive, CaseError> {
    b.scratch_tape()?;
    b.tape()
}

/// The drive with whatever cartridge is in it (non-destructive cases);
/// with --destructive and an empty drive, a scratch cartridge.
pub(super) fn loaded(b: &mut Bench) -> Result<&mut Drive, CaseError> {
    if crate::conformance::bench::medium_present(b.tape()?)? {
        return b.tape();
    }
    if b.policy().destructive {
        scratch(b)
    } else {
        Err(CaseError::Skip(
            "no cartridge in the drive (non-destructive runs never load one)".into(),
        ))
    }
}

/// Sends one CDB and returns the reply unclassified (sense decoded).
pub(super) fn raw(
    d: &mut Drive,
    op: &'static str,
    cdb: &[u8],
    data: DataDirection<'_>,
) -> Result<Reply, CaseError> {
    Ok(command::exchange(d.transport(), op, cdb, data, TIMEOUT)?)
}

/// The sense of a reply that must be CHECK CONDITION.
pub(super) fn sense_of(what: &str, r: &Reply) -> Result<Sense, CaseError> {
    match (&r.status, &r.sense) {
        (&ScsiStatus::CHECK_CONDITION, Some(s)) => Ok(s.clone()),
        (st, _) => Err(CaseError::Fail(format!(
            "{what}: status {st}, want CHECK CONDITION"
        ))),
    }
}

/// Checks key/asc/ascq of a sense.
pub(super) fn expect_sense(
    what: &str,
    s: &Sense,
    key: SenseKey,
    asc: u8,
    ascq: u8,
) -> Result<(), CaseError> {
    check(s.key == key && s.asc == asc && s.ascq == ascq, || {
        format!(
            "{what}: sense {:?} {:02x}/{:02x}, want {key:?} {asc:02x}/{ascq:02x}",
            s.key, s.asc, s.ascq
        )
    })
}

/// The error a command must have failed with, as a sense.
pub(super) fn expect_error<T: std::fmt::Debug>(
    what: &str,
    r: Result<T, ScsiError>,
    key: SenseKey,
    asc: u8,
    ascq: u8,
) -> Result<Sense, CaseError> {
    match r {
        Ok(v) => Err(CaseError::Fail(format!(
            "{what}: succeeded ({v:?}), want {key:?} {asc:02x}/{ascq:02x}"
        ))),
        Err(ScsiError::Check { sense, .. }) => {
            expect_sense(what, &sense, key, asc, ascq)?;
            Ok(sense)
        }
        Err(e) => Err(CaseError::Fail(format!(
            "{what}: {e}, want {key:?} {asc:02x}/{ascq:02x}"
        ))),
    }
}

/// READ POSITION in the given form, as the device reports it (no
/// position tracking by the driver).
pub(super) fn position(d: &mut Drive, form: PositionForm) -> Result<Position, CaseError> {
    const OP: &str = "READ POSITION";
    let mut buf = vec![0u8; form.length()];
    let r = command::run(
        d.transport(),
        OP,
        &read_position_cdb(form),
        DataDirection::FromDevice(&mut buf),
        TIMEOUT,
    )?;
    buf.truncate(r.transferred);
    parse_position(form, &buf).map_err(|e| CaseError::Scsi(ScsiError::from_decode(OP, e)))
}

/// The logical object number from the short form.
pub(super) fn object(d: &mut Drive) -> Result<Option<u64>, CaseError> {
    Ok(position(d, PositionForm::Short)?.block)
}

/// Checks the logical object number.
pub(super) fn expect_object(what: &str, d: &mut Drive, want: u64) -> Result<(), CaseError> {
    expect_eq(what, object(d)?, Some(want))
}

/// READ(6) in variable mode of `len` bytes; `sili` suppresses the
/// incorrect-length indication.
pub(super) fn read6_variable(
    d: &mut Drive,
    buf: &mut [u8],
    sili: bool,
) -> Result<Reply, CaseError> {
    let n = buf.len() as u32;
    let cdb = [
        0x08,
        u8::from(sili) << 1,
        (n >> 16) as u8,
        (n >> 8) as u8,
        n as u8,
        0,
    ];
    raw(d, "READ(6)", &cdb, DataDirection::FromDevice(buf))
}

/// READ(6) in fixed mode of `blocks` blocks into `buf`.
pub(super) fn read6_fixed(d: &mut Drive, buf: &mut [u8], blocks: u32) -> Result<Reply, CaseError> {
    let cdb = [
        0x08,
        0x01,
        (blocks >> 16) as u8,
        (blocks >> 8) as u8,
        blocks as u8,
        0,
    ];
    raw(d, "READ(6)", &cdb, DataDirection::FromDevice(buf))
}

/// The INFORMATION field as a signed 32-bit residue (negative for an
/// overlength record).
pub(super) fn info_i32(s: &Sense) -> Option<i32> {
    s.information.map(|v| v as u32 as i32)
}

/// Writes records `n` of `len` bytes each.
pub(super) fn write_records(d: &mut Drive, recs: &[(u8, usize)]) -> Result<(), CaseError> {
    for &(n, len) in recs {
        d.write(&record(n, len))?;
    }
    Ok(())
}

/// Reads one record and checks its length and contents.
pub(super) fn expect_record(what: &str, d: &mut Drive, n: u8, len: usize) -> Result<(), CaseError> {
    use reel_drivers::tape::ReadOutcome;
    let mut buf = vec![0u8; len.max(1) * 2];
    let got = d.read(&mut buf)?;
    expect_eq(what, got, ReadOutcome::ShortBlock { len })?;
    check(buf[..len] == record(n, len)[..], || {
        format!("{what}: contents differ from record {n}")
    })
}

/// Writes the standard layout from BOT and rewinds:
/// object 0 A, 1 B, 2 FM, 3 C, 4 D, 5 FM, 6 E; end of data at 7.
/// Records are 512 bytes, A..E are records 0..4.
pub(super) fn layout(d: &mut Drive) -> Result<(), CaseError> {
    d.rewind(false)?;
    for (i, fm) in [(0u8, false), (1, true), (2, false), (3, true), (4, false)] {
        d.write(&record(i, LAYOUT_LEN))?;
        if fm {
            d.write_filemarks(1, false)?;
        }
    }
    d.rewind(false)?;
    Ok(())
}

pub(super) const LAYOUT_LEN: usize = 512;

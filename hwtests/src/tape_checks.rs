//! Superseded by the conformance suite ([`crate::conformance`]), which
//! holds these six checks as cases (`ssc.ua.after_load_other_nexus`,
//! `ssc.write_read.variable_records`, `ssc.space.filemark_backward`,
//! `ssc.position.after_filemark` with `ssc.position.bop_at_bot`,
//! `ssc.space.past_eod_blocks`, `ssc.rewind.to_first_record`); kept while
//! iscsi_interop_checks.rs still calls it.
//!
//! One list of named tape behaviour checks, run through reel's
//! [`TapeDrive`] over any transport: the in-process VTL, reel's iSCSI
//! target, or tgtd. Every check is run and reported (never skipped), so a
//! peer's emulation gaps show up as named failures a test can pin down.
//!
//! Each check starts from beginning of tape and writes what it reads, so
//! the checks do not depend on one another; the unit attention check runs
//! first because it unloads and reloads.

use std::time::Duration;

use reel_drivers::ScsiError;
use reel_drivers::scsi::command;
use reel_drivers::scsi::sense::SenseKey;
use reel_drivers::scsi::transport::{DataDirection, ScsiTransport};
use reel_drivers::tape::{ReadOutcome, SpaceKind, SpaceOutcome, TapeDrive};

/// Result of one named check: `Err` carries what was seen instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    pub name: &'static str,
    pub outcome: Result<(), String>,
}

/// Names of all checks, in the order [`run_tape_checks`] runs them.
pub const CHECKS: &[&str] = &[
    UA_AFTER_LOAD,
    WRITE_READ,
    FILEMARKS_SPACE,
    READ_POSITION,
    SPACE_EOD_RESIDUAL,
    REWIND,
];

/// After another I_T nexus unloads and loads the cartridge, this nexus's
/// next command gets UNIT ATTENTION 28/00 (medium may have changed).
pub const UA_AFTER_LOAD: &str = "unit_attention_after_load";
/// Records of several sizes come back with their exact lengths and bytes.
pub const WRITE_READ: &str = "write_read_records";
/// Filemarks end a read; SPACE over filemarks and blocks both ways.
pub const FILEMARKS_SPACE: &str = "filemarks_and_space";
/// READ POSITION reports the logical object number and BOP.
pub const READ_POSITION: &str = "read_position";
/// SPACE past end of data stops with the count not moved as residual.
pub const SPACE_EOD_RESIDUAL: &str = "space_eod_residual";
/// REWIND returns to the first record.
pub const REWIND: &str = "rewind";

const TIMEOUT: Duration = Duration::from_secs(60);

type Check = Result<(), String>;

/// A check that needs only the drive under test.
type DriveCheck<T> = fn(&mut TapeDrive<T>, Duration) -> Check;

fn e(what: &str, err: ScsiError) -> String {
    format!("{what}: {err}")
}

fn expect<T: PartialEq + std::fmt::Debug>(what: &str, got: T, want: T) -> Check {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: got {got:?}, want {want:?}"))
    }
}

/// Deterministic record contents, different per record.
pub fn record(n: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| n.wrapping_mul(31).wrapping_add(i as u8))
        .collect()
}

/// Runs every check in [`CHECKS`] on a drive with a writable cartridge
/// loaded. `other` is a second I_T nexus to the same drive (another
/// session), used to reload the cartridge behind `d`'s back.
pub fn run_tape_checks<T: ScsiTransport>(
    d: &mut TapeDrive<T>,
    other: &mut dyn ScsiTransport,
    ready_timeout: Duration,
) -> Vec<CheckResult> {
    let mut results = vec![CheckResult {
        name: UA_AFTER_LOAD,
        outcome: ua_after_load(d, other, ready_timeout),
    }];
    let _ = d.wait_ready(ready_timeout);
    let checks: [(&'static str, DriveCheck<T>); 5] = [
        (WRITE_READ, write_read),
        (FILEMARKS_SPACE, filemarks_space),
        (READ_POSITION, read_position),
        (SPACE_EOD_RESIDUAL, space_eod_residual),
        (REWIND, rewind),
    ];
    for (name, f) in checks {
        let outcome = f(d, ready_timeout);
        // Leave no pending condition behind for the next check.
        let _ = d.wait_ready(ready_timeout);
        results.push(CheckResult { name, outcome });
    }
    for r in &results {
        if let Err(why) = &r.outcome {
            tracing::info!(check = r.name, "failed: {why}");
        }
    }
    results
}

/// Names of the failed checks.
pub fn failed(results: &[CheckResult]) -> Vec<&'static str> {
    results
        .iter()
        .filter(|r| r.outcome.is_err())
        .map(|r| r.name)
        .collect()
}

/// Human readable report, one line per check.
pub fn report(results: &[CheckResult]) -> String {
    results
        .iter()
        .map(|r| match &r.outcome {
            Ok(()) => format!("PASS {}\n", r.name),
            Err(why) => format!("FAIL {}: {why}\n", r.name),
        })
        .collect()
}

fn start<T: ScsiTransport>(d: &mut TapeDrive<T>, ready: Duration) -> Check {
    d.wait_ready(ready).map_err(|x| e("ready", x))?;
    d.rewind(false).map_err(|x| e("rewind", x))
}

fn ua_after_load<T: ScsiTransport>(
    d: &mut TapeDrive<T>,
    other: &mut dyn ScsiTransport,
    ready: Duration,
) -> Check {
    start(d, ready)?;
    // The other nexus may hold its own pending unit attentions (first
    // command after login): let it consume them.
    let tur = [0u8; 6];
    for _ in 0..4 {
        if command::run(other, "TEST UNIT READY", &tur, DataDirection::None, TIMEOUT).is_ok() {
            break;
        }
    }
    // LOAD UNLOAD: LOAD=0 then LOAD=1 (SSC-3 7.2).
    let unload = [0x1b, 0, 0, 0, 0x00, 0];
    let load = [0x1b, 0, 0, 0, 0x01, 0];
    command::run(other, "UNLOAD", &unload, DataDirection::None, TIMEOUT)
        .map_err(|x| e("unload (other nexus)", x))?;
    command::run(other, "LOAD", &load, DataDirection::None, TIMEOUT)
        .map_err(|x| e("load (other nexus)", x))?;
    let r = command::run(
        d.transport(),
        "TEST UNIT READY",
        &tur,
        DataDirection::None,
        TIMEOUT,
    );
    match r {
        Err(ScsiError::Check { sense, .. }) if sense.key == SenseKey::UnitAttention => {
            expect("UA asc/ascq", (sense.asc, sense.ascq), (0x28, 0x00))
        }
        Err(x) => Err(e("TEST UNIT READY after load", x)),
        Ok(_) => Err("TEST UNIT READY after load: GOOD, no unit attention".into()),
    }
}

fn write_read<T: ScsiTransport>(d: &mut TapeDrive<T>, ready: Duration) -> Check {
    start(d, ready)?;
    let sizes = [1000usize, 65536, 4096, 1];
    for (i, &n) in sizes.iter().enumerate() {
        d.write(&record(i as u8, n)).map_err(|x| e("write", x))?;
    }
    d.write_filemarks(1, false)
        .map_err(|x| e("write filemark", x))?;
    d.rewind(false).map_err(|x| e("rewind", x))?;
    let mut buf = vec![0u8; 128 * 1024];
    for (i, &n) in sizes.iter().enumerate() {
        let got = d.read(&mut buf).map_err(|x| e("read", x))?;
        expect("record length", got, ReadOutcome::ShortBlock { len: n })?;
        if buf[..n] != record(i as u8, n)[..] {
            return Err(format!("record {i}: contents differ"));
        }
    }
    expect(
        "read at filemark",
        d.read(&mut buf).map_err(|x| e("read", x))?,
        ReadOutcome::Filemark,
    )
}

fn filemarks_space<T: ScsiTransport>(d: &mut TapeDrive<T>, ready: Duration) -> Check {
    start(d, ready)?;
    // A B FM C D FM E
    for (i, fm) in [(0u8, false), (1, true), (2, false), (3, true), (4, false)] {
        d.write(&record(i, 512)).map_err(|x| e("write", x))?;
        if fm {
            d.write_filemarks(1, false)
                .map_err(|x| e("write filemark", x))?;
        }
    }
    d.rewind(false).map_err(|x| e("rewind", x))?;
    let mut buf = vec![0u8; 1024];
    expect(
        "space 2 filemarks",
        d.space(SpaceKind::Filemarks, 2)
            .map_err(|x| e("space", x))?,
        SpaceOutcome::Done,
    )?;
    d.read(&mut buf).map_err(|x| e("read E", x))?;
    expect("record after 2 filemarks", &buf[..512], &record(4, 512)[..])?;
    // Back over E and the second filemark: now before the filemark, after D.
    expect(
        "space -1 filemark",
        d.space(SpaceKind::Filemarks, -1)
            .map_err(|x| e("space", x))?,
        SpaceOutcome::Done,
    )?;
    expect(
        "space -1 block",
        d.space(SpaceKind::Blocks, -1).map_err(|x| e("space", x))?,
        SpaceOutcome::Done,
    )?;
    d.read(&mut buf).map_err(|x| e("read D", x))?;
    expect("record D", &buf[..512], &record(3, 512)[..])?;
    // Spacing 3 blocks forward meets the filemark right after D: none of
    // the 3 moved (the filemark is crossed but not counted).
    expect(
        "space 3 blocks into a filemark",
        d.space(SpaceKind::Blocks, 3).map_err(|x| e("space", x))?,
        SpaceOutcome::Filemark { remaining: 3 },
    )
}

fn read_position<T: ScsiTransport>(d: &mut TapeDrive<T>, ready: Duration) -> Check {
    start(d, ready)?;
    let p = d.read_position().map_err(|x| e("read position", x))?;
    expect("at BOT (block, bop)", (p.block, p.bop), (Some(0), true))?;
    for i in 0..3 {
        d.write(&record(i, 256)).map_err(|x| e("write", x))?;
    }
    d.write_filemarks(1, false)
        .map_err(|x| e("write filemark", x))?;
    let p = d.read_position().map_err(|x| e("read position", x))?;
    expect(
        "after 3 records + filemark",
        (p.block, p.bop),
        (Some(4), false),
    )
}

fn space_eod_residual<T: ScsiTransport>(d: &mut TapeDrive<T>, ready: Duration) -> Check {
    start(d, ready)?;
    for i in 0..2 {
        d.write(&record(i, 256)).map_err(|x| e("write", x))?;
    }
    d.rewind(false).map_err(|x| e("rewind", x))?;
    expect(
        "space 5 blocks over 2 recorded",
        d.space(SpaceKind::Blocks, 5).map_err(|x| e("space", x))?,
        SpaceOutcome::EndOfData { remaining: 3 },
    )
}

fn rewind<T: ScsiTransport>(d: &mut TapeDrive<T>, ready: Duration) -> Check {
    start(d, ready)?;
    d.write(&record(7, 300)).map_err(|x| e("write", x))?;
    d.write(&record(8, 300)).map_err(|x| e("write", x))?;
    d.rewind(false).map_err(|x| e("rewind", x))?;
    let st = d.status().map_err(|x| e("status", x))?;
    expect("bot after rewind", st.bot, true)?;
    let mut buf = vec![0u8; 1024];
    let got = d.read(&mut buf).map_err(|x| e("read", x))?;
    expect("first record", got, ReadOutcome::ShortBlock { len: 300 })?;
    expect("first record bytes", &buf[..300], &record(7, 300)[..])
}

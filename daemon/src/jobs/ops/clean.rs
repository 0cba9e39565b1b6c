//! Clean job: a cleaning cartridge through a drive, and the automatic
//! cleaning the drive asks for with TapeAlert.
//!
//! The cycle: the robot loads the CLN cartridge the dispatcher leased;
//! the drive cleans (TEST UNIT READY says NOT READY 30/03 "cleaning
//! cartridge installed" meanwhile, or 04/xx) and ejects it (3A/xx
//! "medium not present"); the robot takes it home. The reel VTL models a
//! cleaning as instant: the changer spends one use and the drive never
//! holds a tape, so TEST UNIT READY says 3A/00 at once.
//!
//! Each load is one use of the cartridge (its mount count); at
//! [`CleanOptions::max_uses`] it is retired with an alert. A drive that
//! reports the cartridge expired or invalid (TapeAlert 16h/17h) did not
//! clean: the cartridge is retired, an alert raised, the job fails.
//!
//! The "clean now" condition: a real drive drops flags 14h/15h after a
//! good cleaning. A drive still showing them afterwards (the VTL, which
//! has no cleaning model) has its flags read off the clearing page 2Eh;
//! other flags read off with them become job alerts so none is lost.

use std::time::{Duration, Instant};

use reel_drivers::tape::tape_alert::{TapeAlertFlag, TapeAlerts};
use reel_drivers::{ErrorClass, ScsiError};

use super::{OpOutcome, alert, cartridge_of, event, on_changer, on_drive, submit_clean};
use crate::db::{self, DbError, unix_now};
use crate::devices::Drive;
use crate::devices::alerts::{Alert, AlertKey};
use crate::jobs::access::DeviceAccess;
use crate::jobs::tape::DriveSeat;
use crate::jobs::{ExecError, ExecResult};
use crate::media::{Location, MediaState, manager};
use crate::scheduler::Scheduler;
use crate::scheduler::dispatch::Assignment;

/// Priority of clean jobs: before the data jobs waiting for the drive.
pub const PRIORITY: i32 = 90;
/// TapeAlert "clean now".
pub const CLEAN_NOW: u8 = 0x14;
/// TapeAlert "clean periodic".
pub const CLEAN_PERIODIC: u8 = 0x15;
/// TapeAlert "expired cleaning media".
pub const EXPIRED_CLEANING: u8 = 0x16;
/// TapeAlert "invalid cleaning tape".
pub const INVALID_CLEANING: u8 = 0x17;

/// Tuning of the clean job.
#[derive(Debug, Clone)]
pub struct CleanOptions {
    /// Uses of a cleaning cartridge (LTO universal cleaning cartridges
    /// are rated for 50).
    pub max_uses: u64,
    /// How long a cleaning cycle may take.
    pub timeout: Duration,
}

impl Default for CleanOptions {
    fn default() -> Self {
        CleanOptions {
            max_uses: 50,
            timeout: Duration::from_secs(15 * 60),
        }
    }
}

/// A cartridge left in the leased drive (an earlier job that could not
/// unload, an operator's manual load) goes back to a slot first, so the
/// cleaning cartridge can go in; the move is a job event.
fn put_back_what_the_drive_holds<D: DeviceAccess>(
    sched: &mut Scheduler,
    seat: &DriveSeat<'_, D>,
    job: i64,
) -> ExecResult<()> {
    let me = seat.number;
    let held = on_changer(seat, move |l| {
        let e = l.drive(me)?;
        Ok(e.full.then(|| e.barcode()))
    })?;
    let what = match held {
        None => return Ok(()),
        // A cartridge the catalog knows: its location follows it.
        Some(Some(bc)) if db::media::get_media(sched.db().conn(), &bc).is_ok() => {
            let addr = seat.unmount(sched.db_mut(), &bc)?;
            format!("{bc} was in the drive: put back to slot {addr} first")
        }
        Some(other) => {
            let _ = on_drive(seat, |d| d.unload());
            let addr = on_changer(seat, move |l| {
                let s = l.unload(me, None, Some(&mut |_| Ok(())))?;
                Ok(l.slot(s)?.address)
            })?;
            let name = other.unwrap_or_else(|| "a cartridge without a barcode".into());
            format!("{name} was in the drive: put back to slot {addr} first")
        }
    };
    event(sched, job, "unloaded", &seat.drive, &what)
}

/// Runs clean job `a` on its drive with its cleaning cartridge.
pub fn run<D: DeviceAccess>(
    sched: &mut Scheduler,
    devs: &D,
    a: &Assignment,
    opts: &CleanOptions,
) -> ExecResult<OpOutcome> {
    let cln = cartridge_of(a)?;
    let seat = DriveSeat::new(devs, &a.device)?;
    put_back_what_the_drive_holds(sched, &seat, a.job)?;
    let (bc, me) = (cln.clone(), seat.number);
    let slot = on_changer(&seat, move |l| match l.find_barcode(&bc) {
        Some(reel_changer::Location::Slot(s)) => {
            l.load(s, me)?;
            Ok(Some(s))
        }
        _ => Ok(None),
    })?;
    let Some(slot) = slot else {
        return Err(ExecError::NotFound(format!(
            "cleaning cartridge {cln} is not in a storage slot of library {}",
            seat.library
        )));
    };
    let loc = Location::Drive {
        library: seat.library.clone(),
        drive: seat.drive.clone(),
    };
    let uses = sched.db_mut().write(|c| {
        db::media::set_location(c, &cln, &loc)?;
        db::media::record_mount(c, &cln)?;
        Ok::<_, ExecError>(db::media::get_media(c, &cln)?.mount_count)
    })?;
    event(
        sched,
        a.job,
        "cleaning",
        &seat.drive,
        &format!(
            "cleaning cartridge {cln} loaded (use {uses} of {})",
            opts.max_uses
        ),
    )?;
    let timeout = opts.timeout;
    let waited = on_drive(&seat, move |d| wait_cleaned(d, timeout));
    // Page 12h does not clear the flags; a drive without it has none to
    // tell here (the clearing page is read below only when needed).
    let flags = on_drive(&seat, |d| d.tape_alerts()).ok();
    let home = on_changer(&seat, move |l| {
        let s = l.unload(me, Some(slot), Some(&mut |_| Ok(())))?;
        Ok(l.slot(s)?.address)
    });
    match (home, &waited) {
        (Ok(addr), _) => {
            let loc = Location::Slot {
                library: seat.library.clone(),
                element: u32::from(addr),
            };
            sched
                .db_mut()
                .write(|c| db::media::set_location(c, &cln, &loc))?;
        }
        (Err(e), Ok(_)) => return Err(e),
        (Err(e), Err(_)) => {
            tracing::warn!(cartridge = %cln, error = %e, "cleaning cartridge left in the drive");
        }
    }
    waited?;
    if let Some(bad) = flags.as_ref().and_then(refused_cartridge) {
        let msg = format!(
            "cleaning cartridge {cln} refused by drive {}: {bad}; retired",
            seat.drive
        );
        retire(sched, &cln)?;
        alert(sched, a.job, &seat.drive, &msg)?;
        return Err(ExecError::Job {
            job: a.job,
            detail: msg,
        });
    }
    let mut summary = format!(
        "drive {} cleaned with {cln} (use {uses} of {})",
        seat.drive, opts.max_uses
    );
    if uses >= opts.max_uses {
        retire(sched, &cln)?;
        let msg = format!("cleaning cartridge {cln} used up after {uses} uses; retired");
        alert(sched, a.job, &seat.drive, &msg)?;
        summary.push_str("; cartridge used up and retired");
    }
    if flags.as_ref().is_none_or(TapeAlerts::cleaning_needed) {
        let others = match clear_flags(&seat) {
            Ok(o) => o,
            Err(e) => {
                // The cleaning itself went well; the alert just lasts.
                tracing::warn!(drive = %seat.drive, error = %e, "TapeAlert flags not cleared");
                Vec::new()
            }
        };
        if !others.is_empty() {
            let msg = format!(
                "TapeAlert flags of drive {} read off while clearing \"clean now\": {}",
                seat.drive,
                others.join(", ")
            );
            alert(sched, a.job, &seat.drive, &msg)?;
        }
    }
    tracing::info!(job = a.job, drive = %seat.drive, cartridge = %cln, uses, "drive cleaned");
    Ok(OpOutcome { summary, bytes: 0 })
}

/// Why the drive did not take the cleaning cartridge, from its flags.
fn refused_cartridge(flags: &TapeAlerts) -> Option<&'static str> {
    if flags.is_set(EXPIRED_CLEANING) {
        Some("expired cleaning media")
    } else if flags.is_set(INVALID_CLEANING) {
        Some("invalid cleaning tape")
    } else {
        None
    }
}

fn retire(sched: &mut Scheduler, barcode: &str) -> ExecResult<()> {
    sched.db_mut().write(|c| {
        manager::set_state(c, barcode, MediaState::Retired, unix_now())?;
        Ok::<_, ExecError>(())
    })
}

/// Reads the clearing TapeAlert page; returns the flags other than the
/// cleaning ones that were set ("03h Hard error").
fn clear_flags<D: DeviceAccess>(seat: &DriveSeat<'_, D>) -> ExecResult<Vec<String>> {
    let flags = on_drive(seat, |d| d.tape_alerts_clearing())?;
    Ok(flags
        .active()
        .iter()
        .filter(|f| !(CLEAN_NOW..=INVALID_CLEANING).contains(&f.number))
        .map(|f: &TapeAlertFlag| format!("{:02X}h {}", f.number, f.name))
        .collect())
}

/// What TEST UNIT READY says while a cleaning cartridge is in the drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CleaningState {
    /// Still cleaning (30/03, becoming ready 04/xx, unit attention).
    Busy,
    /// The drive ejected the cartridge (3A/xx) or is ready.
    Done,
    /// Cleaning failed (30/07) or another error.
    Failed,
}

/// Classifies a TEST UNIT READY answer during a cleaning (pure).
pub fn cleaning_state(r: Result<(), &ScsiError>) -> CleaningState {
    let e = match r {
        Ok(()) => return CleaningState::Done,
        Err(e) => e,
    };
    match (e.class(), e.sense().map(|s| (s.asc, s.ascq))) {
        (ErrorClass::UnitAttention, _) => CleaningState::Busy,
        (ErrorClass::NotReady, Some((0x3a, _))) => CleaningState::Done,
        (ErrorClass::NotReady, Some((0x30, 0x03)) | Some((0x04, _))) => CleaningState::Busy,
        _ => CleaningState::Failed,
    }
}

/// Polls TEST UNIT READY until the cleaning is over.
fn wait_cleaned(d: &mut Drive, timeout: Duration) -> Result<(), ScsiError> {
    let deadline = Instant::now() + timeout;
    loop {
        let r = d.test_unit_ready();
        match cleaning_state(r.as_ref().map(|_| ())) {
            CleaningState::Done => return Ok(()),
            CleaningState::Failed => return r,
            CleaningState::Busy if Instant::now() >= deadline => {
                return Err(ScsiError::Invalid {
                    op: "TEST UNIT READY",
                    detail: format!("cleaning did not end within {} s", timeout.as_secs()),
                });
            }
            CleaningState::Busy => std::thread::sleep(Duration::from_millis(500)),
        }
    }
}

/// The drives whose active alerts ask for a cleaning (TapeAlert 14h
/// "clean now", 15h "clean periodic"), each with the earliest time such an
/// alert was raised. Pure.
pub fn drives_needing_clean(alerts: &[Alert]) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = Vec::new();
    for a in alerts {
        if !matches!(a.key, AlertKey::TapeAlert(CLEAN_NOW | CLEAN_PERIODIC)) {
            continue;
        }
        match out.iter_mut().find(|(d, _)| *d == a.device) {
            Some((_, raised)) => *raised = (*raised).min(a.raised),
            None => out.push((a.device.clone(), a.raised)),
        }
    }
    out
}

/// Submits a Clean job for every drive the registry's active `alerts` ask
/// to clean, when a cleaning cartridge is in its library, no clean job
/// for it is queued or running, and none completed since the alert was
/// raised (a drive whose flag is latched, or that a cleaning did not
/// help, is not cleaned again and again). Returns the jobs submitted.
pub fn auto_clean_needed(sched: &mut Scheduler, alerts: &[Alert]) -> ExecResult<Vec<i64>> {
    let mut jobs = Vec::new();
    for (drive, raised) in drives_needing_clean(alerts) {
        let since = i64::try_from(raised).unwrap_or(i64::MAX);
        let done: i64 = sched.db().conn().query_row(
            "SELECT COUNT(*) FROM jobs WHERE kind = 'clean' AND pinned_device = ?1
                 AND state = 'completed' AND finished_at >= ?2",
            (&drive, since),
            |r| r.get(0),
        )?;
        if done > 0 {
            continue;
        }
        if let Some(job) = submit_auto_clean(sched, &drive)? {
            jobs.push(job);
        }
    }
    Ok(jobs)
}

/// Submits a Clean job for `drive` unless one is queued, paused or
/// running for it already, or no cleaning cartridge is in its library.
pub fn submit_auto_clean(sched: &mut Scheduler, drive: &str) -> ExecResult<Option<i64>> {
    let c = sched.db().conn();
    let dev = match db::devices::get_device(c, drive) {
        Ok(d) => d,
        // An alert of a device the scheduler does not know (not in any
        // pool yet): nothing to submit to.
        Err(DbError::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let Some(library) = dev.library else {
        return Ok(None);
    };
    let pending: i64 = c.query_row(
        "SELECT COUNT(*) FROM jobs WHERE kind = 'clean' AND pinned_device = ?1
             AND state IN ('queued', 'running', 'paused')",
        [drive],
        |r| r.get(0),
    )?;
    if pending > 0 {
        return Ok(None);
    }
    let cartridges: i64 = c.query_row(
        "SELECT COUNT(*) FROM media WHERE state = 'cleaning' AND library = ?1
             AND location_kind IN ('slot', 'drive')",
        [&library],
        |r| r.get(0),
    )?;
    if cartridges == 0 {
        tracing::info!(drive, library = %library, "drive asks for cleaning; no cleaning cartridge in its library");
        return Ok(None);
    }
    let job = submit_clean(sched, drive)?;
    sched.db_mut().write(|c| {
        db::jobs::add_event(
            c,
            job,
            unix_now(),
            "auto",
            Some(drive),
            "submitted because the drive asks for cleaning (TapeAlert)",
        )
    })?;
    tracing::info!(drive, job, "automatic cleaning submitted");
    Ok(Some(job))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::alerts::AlertCategory;
    use reel_drivers::scsi::sense::Sense;
    use reel_drivers::tape::tape_alert::Severity;

    /// A CHECK CONDITION with fixed-format sense: key, ASC, ASCQ.
    fn check(key: u8, asc: u8, ascq: u8) -> ScsiError {
        let raw = vec![
            0x70, 0, key, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, asc, ascq, 0, 0, 0, 0,
        ];
        ScsiError::Check {
            op: "TEST UNIT READY",
            sense: Sense::parse(&raw).unwrap(),
            raw,
        }
    }

    #[test]
    fn cleaning_cycle_states_from_test_unit_ready() {
        use CleaningState::*;
        assert_eq!(cleaning_state(Ok(())), Done);
        // Cleaning cartridge installed: still cleaning.
        assert_eq!(cleaning_state(Err(&check(0x02, 0x30, 0x03))), Busy);
        // Becoming ready / operation in progress.
        assert_eq!(cleaning_state(Err(&check(0x02, 0x04, 0x01))), Busy);
        assert_eq!(cleaning_state(Err(&check(0x02, 0x04, 0x07))), Busy);
        // Medium changed / power on: wait on.
        assert_eq!(cleaning_state(Err(&check(0x06, 0x28, 0x00))), Busy);
        // Ejected: medium not present (tray closed or open).
        assert_eq!(cleaning_state(Err(&check(0x02, 0x3a, 0x00))), Done);
        assert_eq!(cleaning_state(Err(&check(0x02, 0x3a, 0x02))), Done);
        // Cleaning failure, hardware error: the cycle failed.
        assert_eq!(cleaning_state(Err(&check(0x02, 0x30, 0x07))), Failed);
        assert_eq!(cleaning_state(Err(&check(0x04, 0x44, 0x00))), Failed);
        let transport = ScsiError::Invalid {
            op: "TEST UNIT READY",
            detail: "x".into(),
        };
        assert_eq!(cleaning_state(Err(&transport)), Failed);
    }

    fn alert(device: &str, key: AlertKey, raised: u64) -> Alert {
        Alert {
            id: raised,
            device: device.into(),
            key,
            category: AlertCategory::Cleaning,
            severity: Severity::Warning,
            message: String::new(),
            raised,
        }
    }

    #[test]
    fn only_clean_now_and_clean_periodic_ask_for_a_cleaning() {
        let alerts = [
            alert("d0", AlertKey::TapeAlert(0x15), 30),
            alert("d1", AlertKey::TapeAlert(0x16), 5),
            alert("d0", AlertKey::TapeAlert(0x14), 20),
            alert("d2", AlertKey::Offline, 1),
            alert("d3", AlertKey::TapeAlert(0x0b), 1),
            alert("d4", AlertKey::TapeAlert(0x14), 7),
        ];
        assert_eq!(
            drives_needing_clean(&alerts),
            [("d0".to_string(), 20), ("d4".to_string(), 7)]
        );
        assert!(drives_needing_clean(&[]).is_empty());
    }

    #[test]
    fn expired_or_invalid_cleaning_media_is_refused() {
        let mut f = TapeAlerts::default();
        assert_eq!(refused_cartridge(&f), None);
        f.set(CLEAN_NOW);
        assert_eq!(refused_cartridge(&f), None);
        f.set(INVALID_CLEANING);
        assert_eq!(refused_cartridge(&f), Some("invalid cleaning tape"));
        f.set(EXPIRED_CLEANING);
        assert_eq!(refused_cartridge(&f), Some("expired cleaning media"));
    }
}

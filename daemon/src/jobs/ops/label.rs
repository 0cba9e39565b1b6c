//! Label and erase jobs: a fresh scratch reel label at BOT of one
//! cartridge; an erase job first erases the whole tape (ERASE with the
//! long bit), so nothing of the old data stays readable, and the label
//! keeps the cartridge identifiable.
//!
//! Before anything is written, two checks: the catalog (a cartridge it
//! knows as protected, retired or cleaning is refused) and the medium
//! itself (the first block read at BOT goes through the media guard, so a
//! protected reel label is refused even when the catalog lost it; foreign
//! or damaged data only with `force`). What was on a refused medium is
//! imported into the catalog, as a backup's refusal does.
//!
//! The scratch label names no media set (nil set UUID, sequence 0) and is
//! protected until the moment it was written, so the next allocation may
//! replace it. Writing at BOT ends everything after it on the tape: the
//! sets that had pieces on the cartridge become incomplete.

use rusqlite::Connection;
use uuid::Uuid;

use super::{OpOutcome, cartridge_of, event, forced, on_drive, with_mounted};
use crate::db::{self, unix_now};
use crate::jobs::access::DeviceAccess;
use crate::jobs::tape::{DriveSeat, read_first_block};
use crate::jobs::{ExecError, ExecResult};
use crate::media::guard::{OnMedium, WriteRefused, classify_first_block, may_write_at_bot};
use crate::media::label::Label;
use crate::media::manager::{self, MediaError};
use crate::media::{MediaState, classify_barcode, is_protected};
use crate::scheduler::Scheduler;
use crate::scheduler::dispatch::Assignment;

/// Runs label job `a`, or erase job `a` when `erase` is set.
pub fn run<D: DeviceAccess>(
    sched: &mut Scheduler,
    devs: &D,
    a: &Assignment,
    erase: bool,
) -> ExecResult<OpOutcome> {
    let barcode = cartridge_of(a)?;
    let force = forced(sched, a.job)?;
    let seat = DriveSeat::new(devs, &a.device)?;
    check_catalog(sched, &barcode)?;
    let (label, on, sets) = with_mounted(sched, &seat, &barcode, |sched| {
        let on = check_medium(sched, &seat, a.job, &barcode, force)?;
        if erase {
            let what = format!("long erase of {barcode} started");
            event(sched, a.job, "erasing", &seat.drive, &what)?;
            on_drive(&seat, |d| {
                d.rewind(false)?;
                d.erase(true)
            })?;
        }
        let label = write_scratch_label(&seat, &barcode, unix_now())?;
        let sets = sched
            .db_mut()
            .write(|c| record_scratch(c, &barcode, &label, unix_now()))?;
        Ok((label, on, sets))
    })?;
    let summary = format!(
        "cartridge {barcode} {}labelled scratch (label {}, was {}){}",
        if erase { "erased and " } else { "" },
        label.uuid,
        describe(&on),
        lost_sets(sets)
    );
    tracing::info!(job = a.job, cartridge = %barcode, erase, "labelled");
    Ok(OpOutcome { summary, bytes: 0 })
}

/// "; 2 sets with pieces on it are incomplete now".
fn lost_sets(n: usize) -> String {
    match n {
        0 => String::new(),
        1 => "; 1 set with pieces on it is incomplete now".into(),
        n => format!("; {n} sets with pieces on it are incomplete now"),
    }
}

/// What was on the medium, for the summary.
fn describe(on: &OnMedium) -> String {
    match on {
        OnMedium::Blank => "blank".into(),
        OnMedium::Label(l) if l.set_uuid.is_nil() => "a scratch reel label".into(),
        OnMedium::Label(l) => format!(
            "reel label of media set {} (sequence {})",
            l.media_set, l.sequence
        ),
        OnMedium::Foreign => "foreign data".into(),
        OnMedium::Damaged(e) => format!("a damaged reel label ({e})"),
    }
}

/// The catalog's check before a cartridge is mounted for a write at BOT:
/// retired and cleaning cartridges never become scratch, and what the
/// catalog knows as protected is refused without a robot move.
fn check_catalog(sched: &Scheduler, barcode: &str) -> ExecResult<()> {
    let m = db::media::get_media(sched.db().conn(), barcode)?;
    if matches!(m.state, MediaState::Retired | MediaState::Cleaning) {
        return Err(MediaError::Transition {
            barcode: barcode.into(),
            from: m.state.as_str(),
            to: MediaState::Scratch.as_str(),
        }
        .into());
    }
    if matches!(m.state, MediaState::Allocated | MediaState::Full) && is_protected(&m, unix_now()) {
        return Err(ExecError::Refused {
            barcode: barcode.into(),
            refused: WriteRefused::Protected {
                barcode: barcode.into(),
                set: m.media_set.clone().unwrap_or_default(),
                uuid: m.label_uuid.unwrap_or(Uuid::nil()),
                until: m.protect_until.unwrap_or(i64::MAX),
            },
        });
    }
    Ok(())
}

/// The check against the medium (the one that counts) before a write at
/// BOT of the mounted `barcode`. A refusal is recorded (history, catalog
/// re-import of what the medium holds) before the error returns. Returns
/// what the medium held.
fn check_medium<D: DeviceAccess>(
    sched: &mut Scheduler,
    seat: &DriveSeat<'_, D>,
    job: i64,
    barcode: &str,
    force: bool,
) -> ExecResult<OnMedium> {
    let now = unix_now();
    let m = db::media::get_media(sched.db().conn(), barcode)?;
    let first = on_drive(seat, read_first_block)?;
    let on = classify_first_block(first.as_deref());
    if let Err(refused) = may_write_at_bot(&on, now, force) {
        tracing::warn!(cartridge = barcode, %refused, "overwrite at BOT refused");
        let loc = m.location.clone();
        let (drive, msg) = (
            seat.drive.clone(),
            format!("cartridge {barcode} refused: {refused}"),
        );
        sched.db_mut().write(|c| {
            // The medium wins over the catalog: re-import what it says.
            c.execute(
                "UPDATE media SET state = 'scratch', set_uuid = NULL, set_seq = NULL WHERE barcode = ?1",
                [barcode],
            )?;
            manager::import_scan(c, barcode, &on, &loc, now)?;
            db::jobs::add_event(c, job, now, "refused", Some(&drive), &msg)?;
            Ok::<_, ExecError>(())
        })?;
        return Err(ExecError::Refused {
            barcode: barcode.into(),
            refused,
        });
    }
    if force && matches!(on, OnMedium::Foreign | OnMedium::Damaged(_)) {
        event(
            sched,
            job,
            "overwrite",
            &seat.drive,
            &format!("overwriting {} on {barcode} (forced)", describe(&on)),
        )?;
    }
    Ok(on)
}

/// The scratch label of `barcode` written at `now`.
pub fn scratch_label(barcode: &str, now: i64) -> Label {
    Label {
        uuid: Uuid::new_v4(),
        barcode: barcode.into(),
        media_set: String::new(),
        set_uuid: Uuid::nil(),
        sequence: 0,
        written_at: now,
        // Not protected: the next allocation relabels it.
        protect_until: now,
    }
}

/// Writes a new scratch label at BOT (block, filemark, MAM where the
/// drive has it) and reads the block back.
fn write_scratch_label<D: DeviceAccess>(
    seat: &DriveSeat<'_, D>,
    barcode: &str,
    now: i64,
) -> ExecResult<Label> {
    let label = scratch_label(barcode, now);
    let block = label.encode().map_err(MediaError::from)?;
    let mam = crate::media::mam::label_to_mam(&label).ok();
    let back = on_drive(seat, move |d| {
        d.rewind(false)?;
        d.write(&block)?;
        d.write_filemarks(1, false)?;
        if let Some(attrs) = mam
            && let Err(e) = d.write_mam(&attrs)
        {
            // MAM is a convenience copy; the block at BOT is the label.
            tracing::debug!(error = %e, "label not written to MAM");
        }
        read_first_block(d)
    })?;
    match classify_first_block(back.as_deref()) {
        OnMedium::Label(l) if l == label => Ok(label),
        other => Err(ExecError::Layout(format!(
            "label written to {barcode} reads back as {}",
            describe(&other)
        ))),
    }
}

/// The catalog after a new scratch label: scratch, out of its media set
/// (back to the set a barcode rule reserves it for), the new label UUID,
/// no write history; the sets with pieces on it become incomplete.
/// Returns how many sets that were.
pub fn record_scratch(c: &Connection, barcode: &str, label: &Label, now: i64) -> ExecResult<usize> {
    let m = db::media::get_media(c, barcode)?;
    if !m.state.can_become(MediaState::Scratch) {
        return Err(MediaError::Transition {
            barcode: barcode.into(),
            from: m.state.as_str(),
            to: MediaState::Scratch.as_str(),
        }
        .into());
    }
    let reserved = classify_barcode(barcode, &db::media::list_rules(c)?).media_set;
    c.execute(
        "UPDATE media SET state = 'scratch', media_set = ?2, set_uuid = NULL, set_seq = NULL,
             label_uuid = ?3, allocated_at = NULL, first_write = NULL, last_write = NULL,
             protect_until = NULL
         WHERE barcode = ?1",
        (barcode, reserved, label.uuid.to_string()),
    )?;
    let sets = c.execute(
        "UPDATE backup_sets SET state = 'incomplete', finished_at = COALESCE(finished_at, ?2)
         WHERE state <> 'incomplete'
           AND uuid IN (SELECT set_uuid FROM set_pieces WHERE barcode = ?1)",
        (barcode, now),
    )?;
    Ok(sets)
}

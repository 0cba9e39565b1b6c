//! Erase job: the same checks as a label job (catalog, then the medium
//! through the media guard), then ERASE with the long bit (the whole
//! tape) and a fresh scratch label, so the cartridge stays identifiable.
//! The catalog forgets its media set; the sets with pieces on it are
//! incomplete from now on (their data is gone).

use super::label::{check_catalog, check_medium, describe, lost_sets, record_scratch};
use super::{OpOutcome, cartridge_of, event, forced, on_drive, with_mounted};
use crate::db::unix_now;
use crate::jobs::ExecResult;
use crate::jobs::access::DeviceAccess;
use crate::jobs::tape::DriveSeat;
use crate::scheduler::Scheduler;
use crate::scheduler::dispatch::Assignment;

/// Runs erase job `a`.
pub fn run<D: DeviceAccess>(
    sched: &mut Scheduler,
    devs: &D,
    a: &Assignment,
) -> ExecResult<OpOutcome> {
    let barcode = cartridge_of(a)?;
    let force = forced(sched, a.job)?;
    let seat = DriveSeat::new(devs, &a.device)?;
    check_catalog(sched, &barcode)?;
    let (label, on, sets) = with_mounted(sched, &seat, &barcode, |sched| {
        let on = check_medium(sched, &seat, a.job, &barcode, force)?;
        event(
            sched,
            a.job,
            "erasing",
            &seat.drive,
            &format!("long erase of {barcode} started"),
        )?;
        on_drive(&seat, |d| {
            d.rewind(false)?;
            d.erase(true)
        })?;
        let label = super::label::write_scratch_label(&seat, &barcode, unix_now())?;
        let sets = sched
            .db_mut()
            .write(|c| record_scratch(c, &barcode, &label, unix_now()))?;
        Ok((label, on, sets))
    })?;
    let summary = format!(
        "cartridge {barcode} erased and labelled scratch (label {}, was {}){}",
        label.uuid,
        describe(&on),
        lost_sets(sets)
    );
    tracing::info!(job = a.job, cartridge = %barcode, "erased");
    Ok(OpOutcome { summary, bytes: 0 })
}

//! The dispatcher: one task that asks the scheduler for runnable jobs
//! (when poked, and every half second) and hands each assignment to its
//! runner: the data stream waiting for it, or an internal runner
//! (inventory). It also recovers dead leases periodically.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::DaemonError;
use super::daemon::Daemon;
use crate::db::unix_now;
use crate::media::Location;
use crate::scheduler::dispatch::Assignment;
use crate::scheduler::job::JobKind;

const TICK: Duration = Duration::from_millis(500);
const RECOVER_EVERY: Duration = Duration::from_secs(30);

/// Runs until the process ends.
pub async fn dispatcher(d: Arc<Daemon>) {
    let mut last_recover = Instant::now();
    loop {
        tokio::select! {
            _ = d.poke.notified() => {}
            _ = tokio::time::sleep(TICK) => {}
        }
        if last_recover.elapsed() >= RECOVER_EVERY {
            last_recover = Instant::now();
            if let Err(e) = d.sched(|s| s.recover(unix_now())).await {
                tracing::warn!("lease recovery: {e}");
            }
        }
        let assigned = match d.sched(|s| s.dispatch_all(unix_now())).await {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!("dispatch: {e}");
                continue;
            }
        };
        for a in assigned {
            let waiter = d
                .waiters
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&a.job);
            match waiter {
                Some(tx) => {
                    if let Err(a) = tx.send(a) {
                        // The stream went away before its job could start.
                        orphan(&d, &a, "its client went away before it started").await;
                    }
                }
                None => {
                    let d = d.clone();
                    tokio::spawn(async move { run_internal(&d, a).await });
                }
            }
        }
    }
}

/// Cancels a dispatched job nobody runs.
async fn orphan(d: &Arc<Daemon>, a: &Assignment, why: &str) {
    let job = a.job;
    d.alerts.raise(
        "warning",
        &a.device,
        job,
        format!("job {job} ({}) cancelled: {why}", a.kind.as_str()),
    );
    if let Err(e) = d.sched(move |s| s.cancel(job, unix_now())).await {
        tracing::warn!(job, "cancelling an orphaned job: {e}");
    }
    d.poke.notify_one();
}

/// Jobs the daemon runs by itself.
async fn run_internal(d: &Arc<Daemon>, a: Assignment) {
    match a.kind {
        JobKind::Inventory => {
            let job = a.job;
            let r = inventory(d, &a.device).await;
            let done = match r {
                Ok(n) => {
                    tracing::info!(job, library = %a.device, cartridges = n, "inventory done");
                    d.sched(move |s| s.complete(job, unix_now())).await
                }
                Err(e) => {
                    d.alerts.raise(
                        "warning",
                        &a.device,
                        job,
                        format!("inventory of {} failed: {e}", a.device),
                    );
                    let f = crate::scheduler::Failure {
                        device: a.device.clone(),
                        message: e.to_string(),
                        device_failed: false,
                    };
                    d.sched(move |s| s.fail_attempt(job, &f, unix_now()).map(|_| ()))
                        .await
                }
            };
            if let Err(e) = done {
                tracing::warn!(job, "recording inventory result: {e}");
            }
            d.poke.notify_one();
        }
        // Backups and restores need their client's stream; after a restart
        // it is gone.
        _ => {
            orphan(
                d,
                &a,
                "no data stream is attached to it (daemon restarted?)",
            )
            .await
        }
    }
}

/// Takes the inventory of library `id` and brings the catalog's locations
/// up to date (new cartridges are imported by their barcodes). Returns the
/// number of cartridges seen.
pub async fn inventory(d: &Arc<Daemon>, id: &str) -> Result<usize, DaemonError> {
    let lib = d
        .library(id)
        .ok_or_else(|| DaemonError::NotFound(format!("library {id}")))?;
    let elements = lib
        .worker
        .run(|l| -> Result<_, DaemonError> {
            let inv = l.refresh()?;
            let mut v = Vec::new();
            for (kind, list) in [
                ("slot", &inv.slots),
                ("mail", &inv.mail_slots),
                ("drive", &inv.drives),
            ] {
                for (i, e) in list.iter().enumerate() {
                    if let (true, Some(bc)) = (e.full, e.barcode()) {
                        v.push((kind, i, e.address, bc));
                    }
                }
            }
            Ok(v)
        })
        .await??;
    let library = id.to_string();
    let n = elements.len();
    d.sched(move |s| s.db_mut().write(|c| import(c, &library, &elements)))
        .await?;
    Ok(n)
}

/// Imports or relocates the cartridges seen in one inventory.
pub fn import(
    c: &rusqlite::Connection,
    library: &str,
    elements: &[(&'static str, usize, u16, String)],
) -> Result<(), DaemonError> {
    for (kind, i, addr, bc) in elements {
        let loc = match *kind {
            "slot" => Location::Slot {
                library: library.into(),
                element: u32::from(*addr),
            },
            "mail" => Location::MailSlot {
                library: library.into(),
                element: u32::from(*addr),
            },
            _ => Location::Drive {
                library: library.into(),
                drive: format!("{library}/drive{i}"),
            },
        };
        if let Err(e) = crate::media::manager::import_barcode(c, bc, &loc, unix_now()) {
            tracing::warn!(barcode = %bc, "not imported: {e}");
        }
    }
    Ok(())
}

//! Ownership of drives, slots and cartridges: one explicit state machine
//! per resource unit, with leases held by jobs.
//!
//! ```text
//!            Acquire(job)                Release(job) / Recover
//!   Free ───────────────────▶ Held ────────────────────────────▶ Free
//!                              │ ▲ Heartbeat(job)
//!                              │ └──────────┘
//!                              │ Check: holder's process epoch is not the
//!                              ▼ live one, or the heartbeat lapsed
//!                           Expired ── Recover ──▶ Free
//! ```
//!
//! In the catalog, Free is "no row", Held is a row, Expired a row that
//! [`crate::db::leases::dead`] finds. Acquire is an INSERT decided by the
//! table's unique constraints, so two writers (threads or processes) racing
//! for one unit cannot both win, with or without an enclosing transaction.

use rusqlite::Connection;

use crate::db::{self, DbError};

/// Kinds of leased resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    /// A device (tape drive, changer, disk storage, dedup store).
    Device,
    /// A storage slot of a library (kept for the cartridge taken from it).
    Slot,
    /// A cartridge, by barcode.
    Cartridge,
}

impl ResourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Device => "device",
            ResourceKind::Slot => "slot",
            ResourceKind::Cartridge => "cartridge",
        }
    }

    pub fn parse(s: &str) -> Option<ResourceKind> {
        [
            ResourceKind::Device,
            ResourceKind::Slot,
            ResourceKind::Cartridge,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// A leasable resource.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Resource {
    pub kind: ResourceKind,
    pub key: String,
}

impl Resource {
    pub fn device(id: &str) -> Resource {
        Resource {
            kind: ResourceKind::Device,
            key: id.into(),
        }
    }

    pub fn cartridge(barcode: &str) -> Resource {
        Resource {
            kind: ResourceKind::Cartridge,
            key: barcode.into(),
        }
    }

    pub fn slot(library: &str, element: u32) -> Resource {
        Resource {
            kind: ResourceKind::Slot,
            key: format!("{library}:{element}"),
        }
    }
}

impl std::fmt::Display for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind.as_str(), self.key)
    }
}

/// One held unit.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LeaseRecord {
    pub resource: Resource,
    pub unit: u32,
    pub job: i64,
    /// Process epoch of the daemon that granted it.
    pub epoch: i64,
    pub acquired_at: i64,
    pub heartbeat_at: i64,
    pub expires_at: i64,
}

/// State of one resource unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ownership {
    Free,
    Held(LeaseRecord),
    /// Held by a dead holder; must be recovered (the job failed over)
    /// before anyone else gets it.
    Expired(LeaseRecord),
}

/// Inputs of the state machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseEvent {
    Acquire {
        job: i64,
        epoch: i64,
        now: i64,
        ttl: i64,
    },
    Heartbeat {
        job: i64,
        now: i64,
        ttl: i64,
    },
    Release {
        job: i64,
    },
    /// Is the holder alive? (`live_epoch` is the running daemon's.)
    Check {
        live_epoch: i64,
        now: i64,
    },
    /// The dead holder's job has been dealt with; free the unit.
    Recover,
}

/// Refused lease transitions.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error("{resource} is held by job {holder}")]
    Busy { resource: String, holder: i64 },
    #[error("{resource} is held by job {holder}, not by job {job}")]
    NotHolder {
        resource: String,
        holder: i64,
        job: i64,
    },
    #[error("{resource} is not held")]
    NotHeld { resource: String },
    #[error("{resource} was held by dead job {holder} and awaits recovery")]
    AwaitsRecovery { resource: String, holder: i64 },
    #[error("{0}")]
    Db(#[from] DbError),
}

/// The transition function (pure). `resource`/`unit` name the unit for the
/// new record and for errors.
pub fn next(
    state: &Ownership,
    event: &LeaseEvent,
    resource: &Resource,
    unit: u32,
) -> Result<Ownership, LeaseError> {
    let name = || resource.to_string();
    match (state, event) {
        (
            Ownership::Free,
            &LeaseEvent::Acquire {
                job,
                epoch,
                now,
                ttl,
            },
        ) => Ok(Ownership::Held(LeaseRecord {
            resource: resource.clone(),
            unit,
            job,
            epoch,
            acquired_at: now,
            heartbeat_at: now,
            expires_at: now.saturating_add(ttl),
        })),
        (Ownership::Held(l), LeaseEvent::Acquire { .. }) => Err(LeaseError::Busy {
            resource: name(),
            holder: l.job,
        }),
        (Ownership::Held(l), &LeaseEvent::Heartbeat { job, now, ttl }) if l.job == job => {
            Ok(Ownership::Held(LeaseRecord {
                heartbeat_at: now,
                expires_at: now.saturating_add(ttl),
                ..l.clone()
            }))
        }
        (Ownership::Held(l), &LeaseEvent::Release { job }) if l.job == job => Ok(Ownership::Free),
        (Ownership::Held(l), &LeaseEvent::Heartbeat { job, .. } | &LeaseEvent::Release { job }) => {
            Err(LeaseError::NotHolder {
                resource: name(),
                holder: l.job,
                job,
            })
        }
        (Ownership::Held(l), &LeaseEvent::Check { live_epoch, now }) => {
            if l.epoch != live_epoch || now >= l.expires_at {
                Ok(Ownership::Expired(l.clone()))
            } else {
                Ok(state.clone())
            }
        }
        (Ownership::Expired(_), LeaseEvent::Recover) => Ok(Ownership::Free),
        (Ownership::Expired(_), LeaseEvent::Check { .. }) => Ok(state.clone()),
        (Ownership::Expired(l), _) => Err(LeaseError::AwaitsRecovery {
            resource: name(),
            holder: l.job,
        }),
        (Ownership::Held(_), LeaseEvent::Recover) => Ok(state.clone()),
        (Ownership::Free, LeaseEvent::Check { .. } | LeaseEvent::Recover) => Ok(Ownership::Free),
        (Ownership::Free, LeaseEvent::Heartbeat { .. } | LeaseEvent::Release { .. }) => {
            Err(LeaseError::NotHeld { resource: name() })
        }
    }
}

/// Default lease lifetime without a heartbeat.
pub const DEFAULT_TTL: i64 = 300;

/// Acquires unit `unit` of `res` for `job`.
pub fn acquire(
    c: &Connection,
    res: &Resource,
    unit: u32,
    job: i64,
    epoch: i64,
    now: i64,
    ttl: i64,
) -> Result<LeaseRecord, LeaseError> {
    let event = LeaseEvent::Acquire {
        job,
        epoch,
        now,
        ttl,
    };
    let Ownership::Held(rec) = next(&Ownership::Free, &event, res, unit)? else {
        return Err(LeaseError::NotHeld {
            resource: res.to_string(),
        });
    };
    if db::leases::insert(c, &rec)? {
        return Ok(rec);
    }
    // Lost: report who holds it through the same transition function.
    let held = db::leases::get(c, res, unit)?;
    let holder = held.map_or_else(|| Ownership::Free, Ownership::Held);
    match next(&holder, &event, res, unit) {
        Err(e) => Err(e),
        // The unit is free but the job holds another unit of this resource.
        Ok(_) => Err(LeaseError::Busy {
            resource: res.to_string(),
            holder: job,
        }),
    }
}

/// Acquires the first free unit of a resource with `units` units.
pub fn acquire_any(
    c: &Connection,
    res: &Resource,
    units: u32,
    job: i64,
    epoch: i64,
    now: i64,
    ttl: i64,
) -> Result<LeaseRecord, LeaseError> {
    let mut last = None;
    for unit in 0..units.max(1) {
        match acquire(c, res, unit, job, epoch, now, ttl) {
            Ok(rec) => return Ok(rec),
            Err(e @ LeaseError::Busy { .. }) => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| LeaseError::NotHeld {
        resource: res.to_string(),
    }))
}

/// Extends every lease of `job`.
pub fn heartbeat(c: &Connection, job: i64, now: i64, ttl: i64) -> Result<usize, LeaseError> {
    let held = db::leases::of_job(c, job)?;
    for l in &held {
        let event = LeaseEvent::Heartbeat { job, now, ttl };
        if let Ownership::Held(n) = next(&Ownership::Held(l.clone()), &event, &l.resource, l.unit)?
        {
            db::leases::update_heartbeat(c, &l.resource, l.unit, n.heartbeat_at, n.expires_at)?;
        }
    }
    Ok(held.len())
}

/// Releases one lease of `job`.
pub fn release(c: &Connection, res: &Resource, job: i64) -> Result<(), LeaseError> {
    let held = db::leases::of_resource(c, res)?;
    let Some(l) = held.iter().find(|l| l.job == job).or(held.first()) else {
        return Err(LeaseError::NotHeld {
            resource: res.to_string(),
        });
    };
    next(
        &Ownership::Held(l.clone()),
        &LeaseEvent::Release { job },
        res,
        l.unit,
    )?;
    db::leases::delete(c, res, l.unit)?;
    Ok(())
}

/// Releases every lease of `job` (job finished, failed or cancelled).
pub fn release_all(c: &Connection, job: i64) -> Result<usize, LeaseError> {
    let held = db::leases::of_job(c, job)?;
    for l in &held {
        next(
            &Ownership::Held(l.clone()),
            &LeaseEvent::Release { job },
            &l.resource,
            l.unit,
        )?;
        db::leases::delete(c, &l.resource, l.unit)?;
    }
    Ok(held.len())
}

/// The current state of one unit, as the machine sees it at `now`.
pub fn ownership(
    c: &Connection,
    res: &Resource,
    unit: u32,
    live_epoch: i64,
    now: i64,
) -> Result<Ownership, LeaseError> {
    let state = db::leases::get(c, res, unit)?.map_or(Ownership::Free, Ownership::Held);
    next(&state, &LeaseEvent::Check { live_epoch, now }, res, unit)
}

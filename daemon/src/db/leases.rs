//! Lease rows. A row is a held resource unit; no row is a free one. The
//! transitions are decided in [`crate::scheduler::lease`]; these are the
//! statements that carry them out.

use rusqlite::{Connection, ErrorCode, OptionalExtension, Row};

use super::{DbResult, parse_enum};
use crate::scheduler::lease::{LeaseRecord, Resource, ResourceKind};

const COLS: &str =
    "resource_kind, resource, unit, job_id, epoch, acquired_at, heartbeat_at, expires_at";

/// Columns in [`COLS`] order.
type Raw = (String, String, u32, i64, i64, i64, i64, i64);

fn row(r: &Row<'_>) -> rusqlite::Result<Raw> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
    ))
}

fn to_record(
    (kind, key, unit, job, epoch, acquired_at, heartbeat_at, expires_at): Raw,
) -> DbResult<LeaseRecord> {
    Ok(LeaseRecord {
        resource: Resource {
            kind: parse_enum("lease resource kind", kind, ResourceKind::parse)?,
            key,
        },
        unit,
        job,
        epoch,
        acquired_at,
        heartbeat_at,
        expires_at,
    })
}

/// Inserts a lease row; `Ok(false)` when the unit (or another unit of the
/// same resource for the same job) is already held: the unique constraints
/// decided, so two writers racing cannot both win.
pub fn insert(c: &Connection, l: &LeaseRecord) -> DbResult<bool> {
    let r = super::exec(
        c,
        &format!("INSERT INTO leases ({COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
        rusqlite::params![
            l.resource.kind.as_str(),
            l.resource.key,
            l.unit,
            l.job,
            l.epoch,
            l.acquired_at,
            l.heartbeat_at,
            l.expires_at
        ],
    );
    match r {
        Ok(_) => Ok(true),
        // PRIMARY KEY (1555) or UNIQUE (2067) lost the race; a FOREIGN KEY
        // failure (a missing job or epoch) is a caller bug, not contention.
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == ErrorCode::ConstraintViolation
                && matches!(e.extended_code, 1555 | 2067) =>
        {
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}

/// The leases held on `res` (one per unit).
pub fn of_resource(c: &Connection, res: &Resource) -> DbResult<Vec<LeaseRecord>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {COLS} FROM leases WHERE resource_kind = ?1 AND resource = ?2 ORDER BY unit"
    ))?;
    let rows = st.query_map((res.kind.as_str(), &res.key), row)?;
    rows.map(|r| to_record(r?)).collect()
}

pub fn get(c: &Connection, res: &Resource, unit: u32) -> DbResult<Option<LeaseRecord>> {
    super::query_row(
        c,
        &format!(
            "SELECT {COLS} FROM leases WHERE resource_kind = ?1 AND resource = ?2 AND unit = ?3"
        ),
        (res.kind.as_str(), &res.key, unit),
        row,
    )
    .optional()?
    .map(to_record)
    .transpose()
}

pub fn of_job(c: &Connection, job: i64) -> DbResult<Vec<LeaseRecord>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {COLS} FROM leases WHERE job_id = ?1 ORDER BY resource_kind, resource"
    ))?;
    let rows = st.query_map([job], row)?;
    rows.map(|r| to_record(r?)).collect()
}

pub fn all(c: &Connection) -> DbResult<Vec<LeaseRecord>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {COLS} FROM leases ORDER BY resource_kind, resource, unit"
    ))?;
    let rows = st.query_map([], row)?;
    rows.map(|r| to_record(r?)).collect()
}

pub fn update_heartbeat(
    c: &Connection,
    res: &Resource,
    unit: u32,
    now: i64,
    expires_at: i64,
) -> DbResult<()> {
    super::exec(
        c,
        "UPDATE leases SET heartbeat_at = ?4, expires_at = ?5
         WHERE resource_kind = ?1 AND resource = ?2 AND unit = ?3",
        (res.kind.as_str(), &res.key, unit, now, expires_at),
    )?;
    Ok(())
}

pub fn delete(c: &Connection, res: &Resource, unit: u32) -> DbResult<()> {
    super::exec(
        c,
        "DELETE FROM leases WHERE resource_kind = ?1 AND resource = ?2 AND unit = ?3",
        (res.kind.as_str(), &res.key, unit),
    )?;
    Ok(())
}

/// Leases whose holder is dead: taken by another process epoch than
/// `live_epoch`, or not heartbeated before their expiry.
pub fn dead(c: &Connection, live_epoch: i64, now: i64) -> DbResult<Vec<LeaseRecord>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {COLS} FROM leases WHERE epoch <> ?1 OR expires_at <= ?2 ORDER BY job_id"
    ))?;
    let rows = st.query_map((live_epoch, now), row)?;
    rows.map(|r| to_record(r?)).collect()
}

/// Holder of any unit of `res`, for waiting reasons.
pub fn any_holder(c: &Connection, res: &Resource) -> DbResult<Option<i64>> {
    Ok(super::query_row(
        c,
        "SELECT MIN(job_id) FROM leases WHERE resource_kind = ?1 AND resource = ?2",
        (res.kind.as_str(), &res.key),
        |r| r.get::<_, Option<i64>>(0),
    )?)
}

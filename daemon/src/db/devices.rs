//! Devices, pools and pool members.

use rusqlite::{Connection, OptionalExtension, Row};

use super::{DbError, DbResult, parse_enum};
use crate::scheduler::device::{Device, DeviceKind, Health};

const DEVICE_COLS: &str = "id, kind, generation, library, health, max_jobs";

/// Columns of a device row: id, kind, generation, library, health, max_jobs.
type DeviceRaw = (String, String, Option<u8>, Option<String>, String, u32);

fn device_row(r: &Row<'_>) -> rusqlite::Result<DeviceRaw> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

fn to_device((id, kind, generation, library, health, max_jobs): DeviceRaw) -> DbResult<Device> {
    Ok(Device {
        id,
        kind: parse_enum("device kind", kind, DeviceKind::parse)?,
        generation,
        library,
        health: parse_enum("device health", health, Health::parse)?,
        max_jobs,
    })
}

/// Inserts or updates a device (registry discovery).
pub fn upsert_device(c: &Connection, d: &Device, now: i64) -> DbResult<()> {
    super::exec(
        c,
        "INSERT INTO devices (id, kind, generation, library, health, max_jobs, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, generation = excluded.generation,
             library = excluded.library, health = excluded.health,
             max_jobs = excluded.max_jobs, updated_at = excluded.updated_at",
        (
            &d.id,
            d.kind.as_str(),
            d.generation,
            &d.library,
            d.health.as_str(),
            d.max_jobs,
            now,
        ),
    )?;
    Ok(())
}

pub fn get_device(c: &Connection, id: &str) -> DbResult<Device> {
    let row = c
        .query_row(
            &format!("SELECT {DEVICE_COLS} FROM devices WHERE id = ?1"),
            [id],
            device_row,
        )
        .optional()?
        .ok_or_else(|| DbError::NotFound {
            what: "device",
            key: id.into(),
        })?;
    to_device(row)
}

pub fn list_devices(c: &Connection) -> DbResult<Vec<Device>> {
    let mut st = c.prepare_cached(&format!("SELECT {DEVICE_COLS} FROM devices ORDER BY id"))?;
    let rows = st.query_map([], device_row)?;
    rows.map(|r| to_device(r?)).collect()
}

pub fn set_health(c: &Connection, id: &str, health: Health, now: i64) -> DbResult<()> {
    let n = super::exec(
        c,
        "UPDATE devices SET health = ?2, updated_at = ?3 WHERE id = ?1",
        (id, health.as_str(), now),
    )?;
    if n == 0 {
        return Err(DbError::NotFound {
            what: "device",
            key: id.into(),
        });
    }
    Ok(())
}

/// Inserts a pool row (the caller validated kind and members).
pub fn insert_pool(c: &Connection, name: &str, kind: DeviceKind) -> DbResult<()> {
    super::exec(
        c,
        "INSERT INTO pools (name, kind) VALUES (?1, ?2)",
        (name, kind.as_str()),
    )?;
    Ok(())
}

pub fn pool_kind(c: &Connection, name: &str) -> DbResult<DeviceKind> {
    let kind: String = c
        .query_row("SELECT kind FROM pools WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .optional()?
        .ok_or_else(|| DbError::NotFound {
            what: "pool",
            key: name.into(),
        })?;
    parse_enum("pool kind", kind, DeviceKind::parse)
}

pub fn insert_member(c: &Connection, pool: &str, device: &str) -> DbResult<()> {
    super::exec(
        c,
        "INSERT INTO pool_members (pool, device) VALUES (?1, ?2)",
        (pool, device),
    )?;
    Ok(())
}

pub fn pool_members(c: &Connection, pool: &str) -> DbResult<Vec<Device>> {
    let mut st = c.prepare_cached(
        "SELECT d.id, d.kind, d.generation, d.library, d.health, d.max_jobs
         FROM pool_members m JOIN devices d ON d.id = m.device
         WHERE m.pool = ?1 ORDER BY d.id",
    )?;
    let rows = st.query_map([pool], device_row)?;
    rows.map(|r| to_device(r?)).collect()
}

pub fn list_pools(c: &Connection) -> DbResult<Vec<(String, DeviceKind)>> {
    let mut st = c.prepare_cached("SELECT name, kind FROM pools ORDER BY name")?;
    let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    rows.map(|r| {
        let (n, k) = r?;
        Ok((n, parse_enum("pool kind", k, DeviceKind::parse)?))
    })
    .collect()
}

/// Every pool with its kind and stored waiting reason.
pub fn list_pools_with_reason(
    c: &Connection,
) -> DbResult<Vec<(String, DeviceKind, Option<String>)>> {
    let mut st = c.prepare_cached("SELECT name, kind, waiting_reason FROM pools ORDER BY name")?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?,
        ))
    })?;
    rows.map(|r| {
        let (n, k, reason) = r?;
        Ok((n, parse_enum("pool kind", k, DeviceKind::parse)?, reason))
    })
    .collect()
}

/// Stores the pool-wide waiting reason (None: the pool has free members).
/// Written only when it changes, so a busy dispatcher does not rewrite it.
pub fn set_pool_reason(c: &Connection, pool: &str, reason: Option<&str>) -> DbResult<()> {
    super::exec(
        c,
        "UPDATE pools SET waiting_reason = ?2 WHERE name = ?1 AND waiting_reason IS NOT ?2",
        (pool, reason),
    )?;
    Ok(())
}

pub fn pool_reason(c: &Connection, pool: &str) -> DbResult<Option<String>> {
    Ok(super::query_row(
        c,
        "SELECT waiting_reason FROM pools WHERE name = ?1",
        [pool],
        |r| r.get(0),
    )
    .optional()?
    .flatten())
}

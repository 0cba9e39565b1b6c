//! The executors' own catalog rows: each backup set's whole-stream digest
//! and the alerts jobs raise. The tables come from catalog migration 0002
//! (`db/sql/0002_exec.sql`).

use rusqlite::{Connection, OptionalExtension};
use uuid::Uuid;

use crate::db::DbResult;

/// The digest of a finished set's stream.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SetDigest {
    pub algorithm: String,
    pub digest: String,
    pub bytes: u64,
}

pub fn put_digest(c: &Connection, set: Uuid, d: &SetDigest) -> DbResult<()> {
    c.execute(
        "INSERT INTO exec_set_digests (set_uuid, algorithm, digest, bytes) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (set_uuid) DO UPDATE SET algorithm = ?2, digest = ?3, bytes = ?4",
        (
            set.to_string(),
            &d.algorithm,
            &d.digest,
            i64::try_from(d.bytes).unwrap_or(i64::MAX),
        ),
    )?;
    Ok(())
}

pub fn get_digest(c: &Connection, set: Uuid) -> DbResult<Option<SetDigest>> {
    Ok(c.query_row(
        "SELECT algorithm, digest, bytes FROM exec_set_digests WHERE set_uuid = ?1",
        [set.to_string()],
        |r| {
            Ok(SetDigest {
                algorithm: r.get(0)?,
                digest: r.get(1)?,
                bytes: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
            })
        },
    )
    .optional()?)
}

/// An alert a job raised (a device failed under it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct JobAlert {
    pub id: i64,
    pub at: i64,
    pub job: Option<i64>,
    pub device: Option<String>,
    pub message: String,
}

pub fn add_alert(
    c: &Connection,
    at: i64,
    job: Option<i64>,
    device: Option<&str>,
    message: &str,
) -> DbResult<i64> {
    let id: i64 = c.query_row(
        "SELECT COALESCE(MAX(id), 0) + 1 FROM exec_alerts",
        [],
        |r| r.get(0),
    )?;
    c.execute(
        "INSERT INTO exec_alerts (id, at, job_id, device, message) VALUES (?1, ?2, ?3, ?4, ?5)",
        (id, at, job, device, message),
    )?;
    Ok(id)
}

pub fn alerts(c: &Connection) -> DbResult<Vec<JobAlert>> {
    let mut st =
        c.prepare("SELECT id, at, job_id, device, message FROM exec_alerts ORDER BY id")?;
    let rows = st.query_map([], |r| {
        Ok(JobAlert {
            id: r.get(0)?,
            at: r.get(1)?,
            job: r.get(2)?,
            device: r.get(3)?,
            message: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

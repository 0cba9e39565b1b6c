//! Backup sets and their pieces: where each part of a set lives, so a
//! restore knows where to go, and whether the set is complete.

use rusqlite::{Connection, OptionalExtension};
use uuid::Uuid;

use super::{DbError, DbResult};

/// State of a backup set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SetState {
    /// Being written by a running job.
    Writing,
    Complete,
    /// The writing job failed, was cancelled or interrupted: never presented
    /// as a good backup.
    Incomplete,
}

impl SetState {
    pub fn as_str(self) -> &'static str {
        match self {
            SetState::Writing => "writing",
            SetState::Complete => "complete",
            SetState::Incomplete => "incomplete",
        }
    }

    pub fn parse(s: &str) -> Option<SetState> {
        [SetState::Writing, SetState::Complete, SetState::Incomplete]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// Where one piece of a set is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PieceLocation {
    /// Tape file `file_number` of cartridge `barcode`, blocks
    /// `first_block..=last_block`.
    Tape {
        barcode: String,
        file_number: u64,
        first_block: u64,
        last_block: u64,
    },
    /// A container of a disk storage.
    Disk { container: String },
    /// An index of the dedup store.
    Dedup { index: String },
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Piece {
    pub seq: u32,
    pub location: PieceLocation,
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BackupSet {
    pub uuid: Uuid,
    pub job: Option<i64>,
    pub pool: Option<String>,
    pub media_set: Option<String>,
    pub state: SetState,
    pub created_at: i64,
    pub finished_at: Option<i64>,
    pub bytes: u64,
    pub pieces: Vec<Piece>,
}

fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn u(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// Opens a new set in state `writing`.
pub fn begin_set(
    c: &Connection,
    job: Option<i64>,
    pool: Option<&str>,
    media_set: Option<&str>,
    now: i64,
) -> DbResult<Uuid> {
    let uuid = Uuid::new_v4();
    super::exec(
        c,
        "INSERT INTO backup_sets (uuid, job_id, pool, media_set, state, created_at)
         VALUES (?1, ?2, ?3, ?4, 'writing', ?5)",
        (uuid.to_string(), job, pool, media_set, now),
    )?;
    Ok(uuid)
}

/// Appends the next piece of `set`; returns its sequence number.
pub fn add_piece(c: &Connection, set: Uuid, loc: &PieceLocation, bytes: u64) -> DbResult<u32> {
    let seq: u32 = super::query_row(
        c,
        "SELECT COALESCE(MAX(seq), 0) + 1 FROM set_pieces WHERE set_uuid = ?1",
        [set.to_string()],
        |r| r.get(0),
    )?;
    let (kind, barcode, file, first, last, container, index) = match loc {
        PieceLocation::Tape {
            barcode,
            file_number,
            first_block,
            last_block,
        } => (
            "tape",
            Some(barcode.as_str()),
            Some(i(*file_number)),
            Some(i(*first_block)),
            Some(i(*last_block)),
            None,
            None,
        ),
        PieceLocation::Disk { container } => (
            "disk",
            None,
            None,
            None,
            None,
            Some(container.as_str()),
            None,
        ),
        PieceLocation::Dedup { index } => {
            ("dedup", None, None, None, None, None, Some(index.as_str()))
        }
    };
    super::exec(c,
        "INSERT INTO set_pieces (set_uuid, seq, kind, barcode, file_number, first_block, last_block,
             container, dedup_index, bytes)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        rusqlite::params![set.to_string(), seq, kind, barcode, file, first, last, container, index, i(bytes)],
    )?;
    super::exec(
        c,
        "UPDATE backup_sets SET bytes = bytes + ?2 WHERE uuid = ?1",
        (set.to_string(), i(bytes)),
    )?;
    Ok(seq)
}

/// Closes a set as complete or incomplete.
pub fn finish_set(c: &Connection, set: Uuid, state: SetState, now: i64) -> DbResult<()> {
    let n = super::exec(
        c,
        "UPDATE backup_sets SET state = ?2, finished_at = ?3 WHERE uuid = ?1",
        (set.to_string(), state.as_str(), now),
    )?;
    if n == 0 {
        return Err(DbError::NotFound {
            what: "backup set",
            key: set.to_string(),
        });
    }
    Ok(())
}

/// Moves every set `job` is still writing to `state`; returns how many.
pub fn finish_job_sets(c: &Connection, job: i64, state: SetState, now: i64) -> DbResult<usize> {
    Ok(super::exec(
        c,
        "UPDATE backup_sets SET state = ?2, finished_at = ?3 WHERE job_id = ?1 AND state = 'writing'",
        (job, state.as_str(), now),
    )?)
}

pub fn get_set(c: &Connection, set: Uuid) -> DbResult<BackupSet> {
    let head = c
        .query_row(
            "SELECT job_id, pool, media_set, state, created_at, finished_at, bytes
             FROM backup_sets WHERE uuid = ?1",
            [set.to_string()],
            |r| {
                Ok((
                    r.get::<_, Option<i64>>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, Option<i64>>(5)?,
                    r.get::<_, i64>(6)?,
                ))
            },
        )
        .optional()?
        .ok_or_else(|| DbError::NotFound {
            what: "backup set",
            key: set.to_string(),
        })?;
    let (job, pool, media_set, state, created_at, finished_at, bytes) = head;
    let mut st = c.prepare_cached(
        "SELECT seq, kind, barcode, file_number, first_block, last_block, container, dedup_index, bytes
         FROM set_pieces WHERE set_uuid = ?1 ORDER BY seq",
    )?;
    let rows = st.query_map([set.to_string()], |r| {
        Ok((
            r.get::<_, u32>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, Option<i64>>(3)?,
            r.get::<_, Option<i64>>(4)?,
            r.get::<_, Option<i64>>(5)?,
            r.get::<_, Option<String>>(6)?,
            r.get::<_, Option<String>>(7)?,
            r.get::<_, i64>(8)?,
        ))
    })?;
    let mut pieces = Vec::new();
    for row in rows {
        let (seq, kind, barcode, file, first, last, container, index, bytes) = row?;
        let location = match (kind.as_str(), barcode, container, index) {
            ("tape", Some(barcode), _, _) => PieceLocation::Tape {
                barcode,
                file_number: u(file.unwrap_or(0)),
                first_block: u(first.unwrap_or(0)),
                last_block: u(last.unwrap_or(0)),
            },
            ("disk", _, Some(container), _) => PieceLocation::Disk { container },
            ("dedup", _, _, Some(index)) => PieceLocation::Dedup { index },
            _ => {
                return Err(DbError::Corrupt {
                    what: "set piece",
                    value: kind,
                });
            }
        };
        pieces.push(Piece {
            seq,
            location,
            bytes: u(bytes),
        });
    }
    Ok(BackupSet {
        uuid: set,
        job,
        pool,
        media_set,
        state: SetState::parse(&state).ok_or(DbError::Corrupt {
            what: "set state",
            value: state,
        })?,
        created_at,
        finished_at,
        bytes: u(bytes),
        pieces,
    })
}

/// Sets written by `job` (all attempts), oldest first.
pub fn sets_of_job(c: &Connection, job: i64) -> DbResult<Vec<Uuid>> {
    let mut st = c.prepare_cached(
        "SELECT uuid FROM backup_sets WHERE job_id = ?1 ORDER BY created_at, uuid",
    )?;
    let rows = st.query_map([job], |r| r.get::<_, String>(0))?;
    rows.map(|r| {
        let s = r?;
        Uuid::try_parse(&s).map_err(|_| DbError::Corrupt {
            what: "uuid",
            value: s,
        })
    })
    .collect()
}

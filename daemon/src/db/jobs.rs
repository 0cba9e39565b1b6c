//! Jobs, their history and their per-job device exclusions.

use rusqlite::{Connection, OptionalExtension, Row};
use uuid::Uuid;

use super::{DbError, DbResult, next_id, parse_enum};
use crate::scheduler::job::{
    Job, JobEvent, JobKind, JobSpec, JobState, MediaNeed, Progress, Target,
};

/// Inserts a queued job; returns its id.
pub fn insert(c: &Connection, spec: &JobSpec, now: i64) -> DbResult<i64> {
    let id = next_id(c, "jobs")?;
    let (pool, pinned) = match &spec.target {
        Target::Pool(p) => (Some(p.as_str()), None),
        Target::Device(d) => (None, Some(d.as_str())),
    };
    let (set, barcode) = match &spec.media {
        MediaNeed::Writable { media_set } => (Some(media_set.as_str()), None),
        MediaNeed::Specific { barcode } => (None, Some(barcode.as_str())),
        MediaNeed::None | MediaNeed::Cleaning => (None, None),
    };
    super::exec(
        c,
        "INSERT INTO jobs (id, kind, pool, pinned_device, priority, state, media_need, media_set,
             media_barcode, source_set, max_attempts, submitted_at, bytes_total)
         VALUES (?1, ?2, ?3, ?4, ?5, 'queued', ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        rusqlite::params![
            id,
            spec.kind.as_str(),
            pool,
            pinned,
            spec.priority,
            spec.media.kind_str(),
            set,
            barcode,
            spec.source_set.map(|u| u.to_string()),
            spec.max_attempts.max(1),
            now,
            spec.bytes_total
                .map(|b| i64::try_from(b).unwrap_or(i64::MAX)),
        ],
    )?;
    Ok(id)
}

const COLS: &str = "j.id, j.kind, j.pool, j.pinned_device, j.priority, j.state,
    CASE WHEN j.state = 'queued' THEN COALESCE(p.waiting_reason, j.waiting_reason) END,
    j.media_need, j.media_set, j.media_barcode, j.source_set, j.attempts, j.max_attempts,
    j.submitted_at, j.started_at, j.finished_at, j.bytes_done, j.bytes_total, j.rate_bps,
    j.device, j.barcode, j.error";

struct Raw {
    id: i64,
    kind: String,
    pool: Option<String>,
    pinned: Option<String>,
    priority: i32,
    state: String,
    waiting: Option<String>,
    need: String,
    set: Option<String>,
    barcode_need: Option<String>,
    source_set: Option<String>,
    attempts: u32,
    max_attempts: u32,
    submitted_at: i64,
    started_at: Option<i64>,
    finished_at: Option<i64>,
    bytes_done: i64,
    bytes_total: Option<i64>,
    rate: Option<i64>,
    device: Option<String>,
    barcode: Option<String>,
    error: Option<String>,
}

fn raw(r: &Row<'_>) -> rusqlite::Result<Raw> {
    Ok(Raw {
        id: r.get(0)?,
        kind: r.get(1)?,
        pool: r.get(2)?,
        pinned: r.get(3)?,
        priority: r.get(4)?,
        state: r.get(5)?,
        waiting: r.get(6)?,
        need: r.get(7)?,
        set: r.get(8)?,
        barcode_need: r.get(9)?,
        source_set: r.get(10)?,
        attempts: r.get(11)?,
        max_attempts: r.get(12)?,
        submitted_at: r.get(13)?,
        started_at: r.get(14)?,
        finished_at: r.get(15)?,
        bytes_done: r.get(16)?,
        bytes_total: r.get(17)?,
        rate: r.get(18)?,
        device: r.get(19)?,
        barcode: r.get(20)?,
        error: r.get(21)?,
    })
}

fn to_job(r: Raw) -> DbResult<Job> {
    let corrupt = |what, value: String| DbError::Corrupt { what, value };
    let target = match (r.pool, r.pinned) {
        (Some(p), _) => Target::Pool(p),
        (None, Some(d)) => Target::Device(d),
        (None, None) => return Err(corrupt("job target", format!("job {}", r.id))),
    };
    let media = match (r.need.as_str(), r.set, r.barcode_need) {
        ("none", _, _) => MediaNeed::None,
        ("cleaning", _, _) => MediaNeed::Cleaning,
        ("writable", Some(media_set), _) => MediaNeed::Writable { media_set },
        ("specific", _, Some(barcode)) => MediaNeed::Specific { barcode },
        _ => return Err(corrupt("job media need", r.need)),
    };
    let source_set = r
        .source_set
        .map(|s| Uuid::try_parse(&s).map_err(|_| corrupt("uuid", s)))
        .transpose()?;
    let u = |v: i64| u64::try_from(v).unwrap_or(0);
    Ok(Job {
        id: r.id,
        kind: parse_enum("job kind", r.kind, JobKind::parse)?,
        target,
        priority: r.priority,
        state: parse_enum("job state", r.state, JobState::parse)?,
        waiting: r.waiting,
        media,
        source_set,
        attempts: r.attempts,
        max_attempts: r.max_attempts,
        submitted_at: r.submitted_at,
        started_at: r.started_at,
        finished_at: r.finished_at,
        progress: Progress {
            bytes_done: u(r.bytes_done),
            bytes_total: r.bytes_total.map(u),
            rate_bps: r.rate.map(u),
            device: r.device,
            barcode: r.barcode,
        },
        error: r.error,
    })
}

pub fn get(c: &Connection, id: i64) -> DbResult<Job> {
    let r = c
        .prepare_cached(&format!(
            "SELECT {COLS} FROM jobs j LEFT JOIN pools p ON p.name = j.pool WHERE j.id = ?1"
        ))?
        .query_row([id], raw)
        .optional()?
        .ok_or_else(|| DbError::NotFound {
            what: "job",
            key: id.to_string(),
        })?;
    to_job(r)
}

pub fn list(c: &Connection) -> DbResult<Vec<Job>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {COLS} FROM jobs j LEFT JOIN pools p ON p.name = j.pool ORDER BY j.id"
    ))?;
    let rows = st.query_map([], raw)?;
    rows.map(|r| to_job(r?)).collect()
}

/// Up to `limit` queued jobs of `pool` (None: device-pinned jobs) after
/// position `after` = (priority, id), in dispatch order.
pub fn queued_page(
    c: &Connection,
    pool: Option<&str>,
    after: Option<(i32, i64)>,
    limit: u32,
) -> DbResult<Vec<Job>> {
    let (ap, aid) = after.unwrap_or((i32::MAX, i64::MIN));
    let filter = if pool.is_some() {
        "j.pool = ?1"
    } else {
        "j.pool IS NULL AND ?1 IS NULL"
    };
    // The limit is part of the SQL text, not a parameter: SQLite re-prepares
    // a statement on every run when its LIMIT is a bound parameter.
    let mut st = c.prepare_cached(&format!(
        "SELECT {COLS} FROM jobs j LEFT JOIN pools p ON p.name = j.pool
         WHERE j.state = 'queued' AND {filter}
           AND (j.priority < ?2 OR (j.priority = ?2 AND j.id > ?3))
         ORDER BY j.priority DESC, j.id LIMIT {limit}"
    ))?;
    let rows = st.query_map(rusqlite::params![pool, ap, aid], raw)?;
    rows.map(|r| to_job(r?)).collect()
}

/// Sets the state (the caller checked the transition).
pub fn set_state(c: &Connection, id: i64, state: JobState, now: i64) -> DbResult<()> {
    let finished = state.is_terminal().then_some(now);
    super::exec(
        c,
        "UPDATE jobs SET state = ?2, finished_at = COALESCE(?3, finished_at) WHERE id = ?1",
        (id, state.as_str(), finished),
    )?;
    Ok(())
}

pub fn set_paused_from(c: &Connection, id: i64, from: Option<JobState>) -> DbResult<()> {
    super::exec(
        c,
        "UPDATE jobs SET paused_from = ?2 WHERE id = ?1",
        (id, from.map(JobState::as_str)),
    )?;
    Ok(())
}

pub fn paused_from(c: &Connection, id: i64) -> DbResult<Option<JobState>> {
    let s: Option<String> =
        super::query_row(c, "SELECT paused_from FROM jobs WHERE id = ?1", [id], |r| {
            r.get(0)
        })?;
    s.map(|s| parse_enum("job state", s, JobState::parse))
        .transpose()
}

pub fn set_error(c: &Connection, id: i64, error: &str) -> DbResult<()> {
    super::exec(c, "UPDATE jobs SET error = ?2 WHERE id = ?1", (id, error))?;
    Ok(())
}

/// Marks a job running on `device` (with `barcode`), counting the attempt.
pub fn set_running(
    c: &Connection,
    id: i64,
    device: &str,
    barcode: Option<&str>,
    now: i64,
) -> DbResult<()> {
    super::exec(
        c,
        "UPDATE jobs SET state = 'running', device = ?2, barcode = ?3, waiting_reason = NULL,
             attempts = attempts + 1, started_at = COALESCE(started_at, ?4)
         WHERE id = ?1",
        (id, device, barcode, now),
    )?;
    super::exec(
        c,
        "UPDATE devices SET jobs_run = jobs_run + 1 WHERE id = ?1",
        [device],
    )?;
    Ok(())
}

/// Stores a job's own waiting reason, only when it changed.
pub fn set_reason(c: &Connection, id: i64, reason: Option<&str>) -> DbResult<()> {
    c.prepare_cached(
        "UPDATE jobs SET waiting_reason = ?2 WHERE id = ?1 AND waiting_reason IS NOT ?2",
    )?
    .execute((id, reason))?;
    Ok(())
}

pub fn set_progress(c: &Connection, id: i64, p: &Progress) -> DbResult<()> {
    let i = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    super::exec(
        c,
        "UPDATE jobs SET bytes_done = ?2, bytes_total = COALESCE(?3, bytes_total), rate_bps = ?4,
             device = COALESCE(?5, device), barcode = COALESCE(?6, barcode)
         WHERE id = ?1",
        rusqlite::params![
            id,
            i(p.bytes_done),
            p.bytes_total.map(i),
            p.rate_bps.map(i),
            p.device,
            p.barcode
        ],
    )?;
    Ok(())
}

pub fn add_event(
    c: &Connection,
    id: i64,
    at: i64,
    kind: &str,
    device: Option<&str>,
    message: &str,
) -> DbResult<()> {
    c.prepare_cached(
        "INSERT INTO job_events (job_id, seq, at, kind, device, message)
         VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM job_events WHERE job_id = ?1), ?2, ?3, ?4, ?5)",
    )?
    .execute((id, at, kind, device, message))?;
    Ok(())
}

pub fn events(c: &Connection, id: i64) -> DbResult<Vec<JobEvent>> {
    let mut st = c.prepare_cached(
        "SELECT seq, at, kind, device, message FROM job_events WHERE job_id = ?1 ORDER BY seq",
    )?;
    let rows = st.query_map([id], |r| {
        Ok(JobEvent {
            seq: r.get(0)?,
            at: r.get(1)?,
            kind: r.get(2)?,
            device: r.get(3)?,
            message: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn exclude(c: &Connection, id: i64, device: &str) -> DbResult<()> {
    super::exec(
        c,
        "INSERT INTO job_exclusions (job_id, device) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        (id, device),
    )?;
    Ok(())
}

pub fn exclusions(c: &Connection, id: i64) -> DbResult<Vec<String>> {
    let mut st = c.prepare_cached("SELECT device FROM job_exclusions WHERE job_id = ?1")?;
    let rows = st.query_map([id], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

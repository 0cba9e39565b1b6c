//! The reeld catalog database: devices, pools, media, media sets, barcode
//! rules, leases, jobs and backup sets in SQLite.
//!
//! Layout: [`migrate`] applies the versioned SQL files under `sql/`
//! (embedded with `include_str!`); the other modules are the repository
//! functions, one per table group. They take a `&Connection` (or a
//! transaction, which derefs to one) so that callers compose several of
//! them in one transaction.
//!
//! Portability: the SQL stays in the subset PostgreSQL also runs (TEXT,
//! INTEGER, BIGINT, explicit foreign keys, CHECK lists for enumerations).
//! Timestamps are BIGINT unix seconds, UTC: compact, totally ordered and
//! cheap to compare in SQL (`last_write + protect_secs <= now`). Numeric ids
//! are assigned by reeld as `MAX(id) + 1` inside the inserting transaction
//! instead of AUTOINCREMENT/SERIAL; on PostgreSQL that becomes a sequence.

pub mod catalog;
pub mod devices;
pub mod jobs;
pub mod leases;
pub mod media;
pub mod migrate;

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

/// Errors of the catalog database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database schema version {found} is newer than this reeld ({known})")]
    TooNew { found: i64, known: i64 },
    #[error("{what} {key:?} not found")]
    NotFound { what: &'static str, key: String },
    #[error("invalid {what} in database: {value:?}")]
    Corrupt { what: &'static str, value: String },
}

/// Shorthand for repository results.
pub type DbResult<T> = Result<T, DbError>;

/// One connection to the catalog, migrated to the current schema.
///
/// Several threads or processes each open their own `Db` on the same file;
/// writers are serialised by SQLite (WAL mode, busy timeout) and the
/// exclusivity rules live in the schema's unique constraints.
pub struct Db {
    conn: Connection,
}

impl Db {
    /// Opens (creating if needed) the catalog file and migrates it.
    pub fn open(path: &Path) -> DbResult<Db> {
        let conn = Connection::open(path)?;
        // WAL lets readers run beside the single writer; the busy timeout
        // turns writer contention into waiting instead of SQLITE_BUSY.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        Db::setup(conn)
    }

    /// A private in-memory catalog (tests, benchmarks).
    pub fn open_in_memory() -> DbResult<Db> {
        Db::setup(Connection::open_in_memory()?)
    }

    fn setup(mut conn: Connection) -> DbResult<Db> {
        conn.busy_timeout(Duration::from_secs(30))?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrate::migrate(&mut conn)?;
        Ok(Db { conn })
    }

    /// The connection, for read-only queries and single statements.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Runs `f` in an IMMEDIATE transaction (the write lock is taken at
    /// BEGIN, so a read-decide-write sequence cannot interleave with another
    /// writer), committing when it returns `Ok`.
    pub fn write<T, E>(&mut self, f: impl FnOnce(&Connection) -> Result<T, E>) -> Result<T, E>
    where
        E: From<DbError>,
    {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(DbError::from)?;
        let out = f(&tx)?;
        tx.commit().map_err(DbError::from)?;
        Ok(out)
    }

    /// Registers a new daemon process epoch. Leases carry the epoch of the
    /// process that took them, so a restart can tell dead leases apart.
    pub fn start_epoch(&mut self, now: i64) -> DbResult<i64> {
        self.write(|c| {
            let epoch: i64 = c.query_row(
                "SELECT COALESCE(MAX(epoch), 0) + 1 FROM daemon_epochs",
                [],
                |r| r.get(0),
            )?;
            c.execute(
                "INSERT INTO daemon_epochs (epoch, started_at, pid) VALUES (?1, ?2, ?3)",
                (epoch, now, i64::from(std::process::id())),
            )?;
            Ok::<_, DbError>(epoch)
        })
    }

    /// The newest epoch, if any daemon ever started on this catalog.
    pub fn current_epoch(&self) -> DbResult<Option<i64>> {
        Ok(self
            .conn
            .query_row("SELECT MAX(epoch) FROM daemon_epochs", [], |r| {
                r.get::<_, Option<i64>>(0)
            })
            .optional()?
            .flatten())
    }
}

/// Next numeric id of `table` (see the module docs on portability).
pub(crate) fn next_id(c: &Connection, table: &'static str) -> DbResult<i64> {
    let sql = format!("SELECT COALESCE(MAX(id), 0) + 1 FROM {table}");
    Ok(query_row(c, &sql, [], |r| r.get(0))?)
}

/// Maps a stored enumeration text back to its Rust value.
pub(crate) fn parse_enum<T>(
    what: &'static str,
    s: String,
    f: impl FnOnce(&str) -> Option<T>,
) -> DbResult<T> {
    f(&s).ok_or(DbError::Corrupt { what, value: s })
}

/// The wall clock as unix seconds (0 if the clock is before 1970).
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// `Connection::execute` through the statement cache: the scheduler runs
/// the same few statements thousands of times, and preparing them is a
/// large part of their cost.
pub(crate) fn exec(c: &Connection, sql: &str, p: impl rusqlite::Params) -> rusqlite::Result<usize> {
    c.prepare_cached(sql)?.execute(p)
}

/// `Connection::query_row` through the statement cache.
pub(crate) fn query_row<T>(
    c: &Connection,
    sql: &str,
    p: impl rusqlite::Params,
    f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    c.prepare_cached(sql)?.query_row(p, f)
}

//! Versioned schema migrations. Each migration is one SQL file run once, in
//! order, inside one transaction together with its `schema_version` row.

use rusqlite::Connection;

use super::{DbError, DbResult};

/// (version, name, SQL). Append only: a released migration never changes.
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "core", include_str!("sql/0001_core.sql")),
    (2, "exec", include_str!("sql/0002_exec.sql")),
];

/// The schema version this build writes.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

/// The version the catalog is at (0 for an empty database).
pub fn current_version(conn: &Connection) -> DbResult<i64> {
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_version (
            version    BIGINT NOT NULL PRIMARY KEY,
            name       TEXT NOT NULL,
            applied_at BIGINT NOT NULL
        )",
        [],
    )?;
    Ok(conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_version",
        [],
        |r| r.get(0),
    )?)
}

/// Brings the catalog to [`latest_version`]; refuses a catalog written by a
/// newer reeld rather than guessing at its schema.
pub fn migrate(conn: &mut Connection) -> DbResult<()> {
    let found = current_version(conn)?;
    let known = latest_version();
    if found > known {
        return Err(DbError::TooNew { found, known });
    }
    for &(version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > found) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO schema_version (version, name, applied_at) VALUES (?1, ?2, ?3)",
            (version, name, crate::db::unix_now()),
        )?;
        tx.commit()?;
        tracing::info!(version, name, "catalog migrated");
    }
    Ok(())
}

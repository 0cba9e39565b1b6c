//! Media, media sets and barcode rules.

use rusqlite::{Connection, OptionalExtension, Row};
use uuid::Uuid;

use super::{DbError, DbResult, parse_enum};
use crate::media::{BarcodeRule, Location, Media, MediaSet, MediaState};

// ---- media sets ------------------------------------------------------------

pub fn insert_media_set(c: &Connection, s: &MediaSet) -> DbResult<()> {
    super::exec(c,
        "INSERT INTO media_sets (name, media_type, append_secs, protect_secs, current_uuid, current_started)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        (
            &s.name,
            &s.media_type,
            s.append_secs,
            s.protect_secs,
            s.current.map(|(u, _)| u.to_string()),
            s.current.map(|(_, t)| t),
        ),
    )?;
    Ok(())
}

pub fn get_media_set(c: &Connection, name: &str) -> DbResult<MediaSet> {
    let row = c
        .query_row(
            "SELECT name, media_type, append_secs, protect_secs, current_uuid, current_started
             FROM media_sets WHERE name = ?1",
            [name],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<i64>>(5)?,
                ))
            },
        )
        .optional()?
        .ok_or_else(|| DbError::NotFound {
            what: "media set",
            key: name.into(),
        })?;
    let (name, media_type, append_secs, protect_secs, cu, cs) = row;
    let current = match (cu, cs) {
        (Some(u), Some(t)) => Some((parse_uuid(u)?, t)),
        _ => None,
    };
    Ok(MediaSet {
        name,
        media_type,
        append_secs,
        protect_secs,
        current,
    })
}

/// Starts a new instance of set `name` at `now`.
pub fn start_set_instance(c: &Connection, name: &str, uuid: Uuid, now: i64) -> DbResult<()> {
    super::exec(
        c,
        "UPDATE media_sets SET current_uuid = ?2, current_started = ?3 WHERE name = ?1",
        (name, uuid.to_string(), now),
    )?;
    Ok(())
}

// ---- barcode rules ---------------------------------------------------------

pub fn insert_rule(c: &Connection, r: &BarcodeRule) -> DbResult<()> {
    super::exec(
        c,
        "INSERT INTO barcode_rules (prefix, media_type, media_set, cleaning) VALUES (?1, ?2, ?3, ?4)",
        (
            &r.prefix,
            &r.media_type,
            &r.media_set,
            i64::from(r.cleaning),
        ),
    )?;
    Ok(())
}

pub fn list_rules(c: &Connection) -> DbResult<Vec<BarcodeRule>> {
    let mut st = c.prepare_cached(
        "SELECT prefix, media_type, media_set, cleaning FROM barcode_rules ORDER BY prefix",
    )?;
    let rows = st.query_map([], |r| {
        Ok(BarcodeRule {
            prefix: r.get(0)?,
            media_type: r.get(1)?,
            media_set: r.get(2)?,
            cleaning: r.get::<_, i64>(3)? != 0,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

// ---- media -----------------------------------------------------------------

const MEDIA_COLS: &str = "barcode, label_uuid, media_type, generation, library, location_kind,
    location_element, location_drive, state, media_set, set_uuid, set_seq, allocated_at,
    first_write, last_write, protect_until, bytes_written, mount_count, read_errors,
    write_errors, imported_at";

/// Raw columns of a media row, converted outside rusqlite's closure so that
/// bad enumeration texts become [`DbError::Corrupt`].
struct MediaRow {
    barcode: String,
    label_uuid: Option<String>,
    media_type: String,
    generation: Option<u8>,
    library: Option<String>,
    location_kind: String,
    location_element: Option<u32>,
    location_drive: Option<String>,
    state: String,
    media_set: Option<String>,
    set_uuid: Option<String>,
    set_seq: Option<u32>,
    allocated_at: Option<i64>,
    first_write: Option<i64>,
    last_write: Option<i64>,
    protect_until: Option<i64>,
    counters: [i64; 4],
    imported_at: i64,
}

fn media_row(r: &Row<'_>) -> rusqlite::Result<MediaRow> {
    Ok(MediaRow {
        barcode: r.get(0)?,
        label_uuid: r.get(1)?,
        media_type: r.get(2)?,
        generation: r.get(3)?,
        library: r.get(4)?,
        location_kind: r.get(5)?,
        location_element: r.get(6)?,
        location_drive: r.get(7)?,
        state: r.get(8)?,
        media_set: r.get(9)?,
        set_uuid: r.get(10)?,
        set_seq: r.get(11)?,
        allocated_at: r.get(12)?,
        first_write: r.get(13)?,
        last_write: r.get(14)?,
        protect_until: r.get(15)?,
        counters: [r.get(16)?, r.get(17)?, r.get(18)?, r.get(19)?],
        imported_at: r.get(20)?,
    })
}

fn parse_uuid(s: String) -> DbResult<Uuid> {
    Uuid::try_parse(&s).map_err(|_| DbError::Corrupt {
        what: "uuid",
        value: s,
    })
}

fn to_media(m: MediaRow) -> DbResult<Media> {
    let corrupt = |v: String| DbError::Corrupt {
        what: "media location",
        value: v,
    };
    let library = m.library;
    let location = match (
        m.location_kind.as_str(),
        library,
        m.location_element,
        m.location_drive,
    ) {
        ("slot", Some(library), Some(element), _) => Location::Slot { library, element },
        ("mail_slot", Some(library), Some(element), _) => Location::MailSlot { library, element },
        ("drive", Some(library), _, Some(drive)) => Location::Drive { library, drive },
        ("offline", _, _, _) => Location::Offline,
        _ => return Err(corrupt(m.location_kind)),
    };
    let [bw, mc, re, we] = m.counters.map(|v| u64::try_from(v).unwrap_or(0));
    Ok(Media {
        barcode: m.barcode,
        label_uuid: m.label_uuid.map(parse_uuid).transpose()?,
        media_type: m.media_type,
        generation: m.generation,
        location,
        state: parse_enum("media state", m.state, MediaState::parse)?,
        media_set: m.media_set,
        set_uuid: m.set_uuid.map(parse_uuid).transpose()?,
        set_seq: m.set_seq,
        allocated_at: m.allocated_at,
        first_write: m.first_write,
        last_write: m.last_write,
        protect_until: m.protect_until,
        bytes_written: bw,
        mount_count: mc,
        read_errors: re,
        write_errors: we,
        imported_at: m.imported_at,
    })
}

/// Location columns (library, element, drive) of `loc`.
fn location_cols(loc: &Location) -> (Option<&str>, Option<u32>, Option<&str>) {
    match loc {
        Location::Slot { library, element } | Location::MailSlot { library, element } => {
            (Some(library), Some(*element), None)
        }
        Location::Drive { library, drive } => (Some(library), None, Some(drive)),
        Location::Offline => (None, None, None),
    }
}

/// Inserts a cartridge, replacing an older row of the same barcode.
pub fn put_media(c: &Connection, m: &Media) -> DbResult<()> {
    let (library, element, drive) = location_cols(&m.location);
    let i = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    // ON CONFLICT rather than INSERT OR REPLACE: PostgreSQL has the former.
    let updates: Vec<String> = MEDIA_COLS
        .split(',')
        .map(str::trim)
        .filter(|col| *col != "barcode")
        .map(|col| format!("{col} = excluded.{col}"))
        .collect();
    super::exec(c,
        &format!(
            "INSERT INTO media ({MEDIA_COLS}) VALUES
             (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)
             ON CONFLICT (barcode) DO UPDATE SET {}",
            updates.join(", ")
        ),
        rusqlite::params![
            m.barcode,
            m.label_uuid.map(|u| u.to_string()),
            m.media_type,
            m.generation,
            library,
            m.location.kind_str(),
            element,
            drive,
            m.state.as_str(),
            m.media_set,
            m.set_uuid.map(|u| u.to_string()),
            m.set_seq,
            m.allocated_at,
            m.first_write,
            m.last_write,
            m.protect_until,
            i(m.bytes_written),
            i(m.mount_count),
            i(m.read_errors),
            i(m.write_errors),
            m.imported_at,
        ],
    )?;
    Ok(())
}

pub fn find_media(c: &Connection, barcode: &str) -> DbResult<Option<Media>> {
    super::query_row(
        c,
        &format!("SELECT {MEDIA_COLS} FROM media WHERE barcode = ?1"),
        [barcode],
        media_row,
    )
    .optional()?
    .map(to_media)
    .transpose()
}

pub fn get_media(c: &Connection, barcode: &str) -> DbResult<Media> {
    find_media(c, barcode)?.ok_or_else(|| DbError::NotFound {
        what: "cartridge",
        key: barcode.into(),
    })
}

pub fn list_media(c: &Connection) -> DbResult<Vec<Media>> {
    let mut st = c.prepare_cached(&format!("SELECT {MEDIA_COLS} FROM media ORDER BY barcode"))?;
    let rows = st.query_map([], media_row)?;
    rows.map(|r| to_media(r?)).collect()
}

pub fn set_location(c: &Connection, barcode: &str, loc: &Location) -> DbResult<()> {
    let (library, element, drive) = location_cols(loc);
    let n = super::exec(c,
        "UPDATE media SET library = ?2, location_kind = ?3, location_element = ?4, location_drive = ?5
         WHERE barcode = ?1",
        (barcode, library, loc.kind_str(), element, drive),
    )?;
    found(n, barcode)
}

pub fn set_state(c: &Connection, barcode: &str, state: MediaState) -> DbResult<()> {
    let n = super::exec(
        c,
        "UPDATE media SET state = ?2 WHERE barcode = ?1",
        (barcode, state.as_str()),
    )?;
    found(n, barcode)
}

/// Where a cartridge goes in a media set, with its new label.
#[derive(Debug, Clone)]
pub struct Allocation<'a> {
    pub set: &'a str,
    pub set_uuid: Uuid,
    pub seq: u32,
    pub label_uuid: Uuid,
    pub at: i64,
    pub protect_until: i64,
}

/// Assigns a cartridge to a set instance with a fresh label; the write
/// history of its previous use is cleared.
pub fn allocate(c: &Connection, barcode: &str, a: &Allocation<'_>) -> DbResult<()> {
    let n = super::exec(
        c,
        "UPDATE media SET state = 'allocated', media_set = ?2, set_uuid = ?3, set_seq = ?4,
             label_uuid = ?5, allocated_at = ?6, first_write = NULL, last_write = NULL,
             protect_until = ?7
         WHERE barcode = ?1",
        (
            barcode,
            a.set,
            a.set_uuid.to_string(),
            a.seq,
            a.label_uuid.to_string(),
            a.at,
            a.protect_until,
        ),
    )?;
    found(n, barcode)
}

/// Next sequence number in set instance `set_uuid`.
pub fn next_seq(c: &Connection, set_uuid: Uuid) -> DbResult<u32> {
    Ok(super::query_row(
        c,
        "SELECT COALESCE(MAX(set_seq), 0) + 1 FROM media WHERE set_uuid = ?1",
        [set_uuid.to_string()],
        |r| r.get(0),
    )?)
}

/// Records a write: first/last write times, bytes, and the end of the
/// protection period moved to `protect_until` if that is later.
pub fn record_write(
    c: &Connection,
    barcode: &str,
    now: i64,
    bytes: u64,
    protect_until: i64,
) -> DbResult<()> {
    let n = super::exec(
        c,
        "UPDATE media SET first_write = COALESCE(first_write, ?2), last_write = ?2,
             bytes_written = bytes_written + ?3,
             protect_until = MAX(COALESCE(protect_until, ?4), ?4)
         WHERE barcode = ?1",
        (
            barcode,
            now,
            i64::try_from(bytes).unwrap_or(i64::MAX),
            protect_until,
        ),
    )?;
    found(n, barcode)
}

pub fn record_mount(c: &Connection, barcode: &str) -> DbResult<()> {
    let n = super::exec(
        c,
        "UPDATE media SET mount_count = mount_count + 1 WHERE barcode = ?1",
        [barcode],
    )?;
    found(n, barcode)
}

pub fn record_error(c: &Connection, barcode: &str, write: bool) -> DbResult<()> {
    let sql = if write {
        "UPDATE media SET write_errors = write_errors + 1 WHERE barcode = ?1"
    } else {
        "UPDATE media SET read_errors = read_errors + 1 WHERE barcode = ?1"
    };
    let n = super::exec(c, sql, [barcode])?;
    found(n, barcode)
}

/// Cartridge held by no lease, located in `library` (slot or drive).
const FREE_IN_LIBRARY: &str = "m.library = ?1 AND m.location_kind IN ('slot', 'drive')
    AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.resource_kind = 'cartridge' AND l.resource = m.barcode)";

/// An allocated (not full) cartridge of set instance `set_uuid`, free and
/// in `library`, lowest sequence first.
pub fn find_appendable(c: &Connection, library: &str, set_uuid: Uuid) -> DbResult<Option<String>> {
    Ok(super::query_row(
        c,
        &format!(
            "SELECT m.barcode FROM media m WHERE {FREE_IN_LIBRARY}
             AND m.state = 'allocated' AND m.set_uuid = ?2
             ORDER BY m.set_seq LIMIT 1"
        ),
        (library, set_uuid.to_string()),
        |r| r.get(0),
    )
    .optional()?)
}

/// The oldest recyclable cartridge in `library` for media set `set`:
/// scratch (not reserved for another set by a barcode rule), or written and
/// past its protection period; never-written scratch counts as oldest.
/// `media_type` None accepts any data cartridge type.
pub fn find_recyclable(
    c: &Connection,
    library: &str,
    set: &str,
    media_type: Option<&str>,
    now: i64,
) -> DbResult<Option<String>> {
    Ok(super::query_row(
        c,
        &format!(
            "SELECT m.barcode FROM media m WHERE {FREE_IN_LIBRARY}
             AND (?2 IS NULL OR m.media_type = ?2)
             AND ((m.state = 'scratch' AND (m.media_set IS NULL OR m.media_set = ?4))
                  OR (m.state IN ('allocated', 'full') AND m.last_write IS NOT NULL
                      AND m.protect_until IS NOT NULL AND m.protect_until <= ?3))
             ORDER BY COALESCE(m.last_write, 0), m.barcode LIMIT 1"
        ),
        (library, media_type, now, set),
        |r| r.get(0),
    )
    .optional()?)
}

/// A free cleaning cartridge in `library`.
pub fn find_cleaning(c: &Connection, library: &str) -> DbResult<Option<String>> {
    Ok(super::query_row(
        c,
        &format!(
            "SELECT m.barcode FROM media m WHERE {FREE_IN_LIBRARY} AND m.state = 'cleaning'
             ORDER BY m.mount_count, m.barcode LIMIT 1"
        ),
        [library],
        |r| r.get(0),
    )
    .optional()?)
}

fn found(n: usize, barcode: &str) -> DbResult<()> {
    if n == 0 {
        return Err(DbError::NotFound {
            what: "cartridge",
            key: barcode.into(),
        });
    }
    Ok(())
}

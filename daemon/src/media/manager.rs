//! Catalog operations on media: import by barcode, import from a scanned
//! label, scratch allocation, writes, recycling.
//!
//! Protection period: it runs from the last write. The label at BOT is
//! written once, when the cartridge joins a set instance, so the
//! `protect_until` it carries is the latest the protection can end: the end
//! of the instance's append period (after which nothing more is appended)
//! plus the set's protection period. The catalog keeps the same bound and
//! moves it later if a write happens after it (a changed append period), so
//! the catalog never considers recyclable what the label still protects.

use rusqlite::Connection;
use uuid::Uuid;

use super::guard::OnMedium;
use super::label::{Label, LabelError};
use super::{Location, Media, MediaSet, MediaState, classify_barcode, is_protected};
use crate::db::{self, DbError};

/// Media management errors.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("{0}")]
    Db(#[from] DbError),
    #[error("{0}")]
    Label(#[from] LabelError),
    #[error("cartridge {barcode} is protected until {until}")]
    Protected { barcode: String, until: i64 },
    #[error("cartridge {barcode} is {from}; it cannot become {to}")]
    Transition {
        barcode: String,
        from: &'static str,
        to: &'static str,
    },
    #[error("label on cartridge {changer:?} says barcode {label:?}")]
    BarcodeMismatch { changer: String, label: String },
    #[error("cartridge {0} belongs to no media set")]
    NoSet(String),
}

impl From<rusqlite::Error> for MediaError {
    fn from(e: rusqlite::Error) -> MediaError {
        MediaError::Db(e.into())
    }
}

pub type MediaResult<T> = Result<T, MediaError>;

/// Creates a media set definition.
pub fn create_set(
    c: &Connection,
    name: &str,
    media_type: Option<&str>,
    append_secs: i64,
    protect_secs: i64,
) -> MediaResult<()> {
    super::label::check_set_name(name)?;
    db::media::insert_media_set(
        c,
        &MediaSet {
            name: name.into(),
            media_type: media_type.map(str::to_owned),
            append_secs,
            protect_secs,
            current: None,
        },
    )?;
    Ok(())
}

/// A cartridge seen by barcode (inventory, mail slot import). A known one
/// only moves; a new one is classified by the barcode rules (scratch, or
/// cleaning; reserved for the rule's media set).
pub fn import_barcode(
    c: &Connection,
    barcode: &str,
    location: &Location,
    now: i64,
) -> MediaResult<Media> {
    super::label::check_barcode(barcode)?;
    if db::media::find_media(c, barcode)?.is_some() {
        db::media::set_location(c, barcode, location)?;
        return Ok(db::media::get_media(c, barcode)?);
    }
    let rules = db::media::list_rules(c)?;
    let cls = classify_barcode(barcode, &rules);
    let m = Media {
        barcode: barcode.into(),
        label_uuid: None,
        media_type: cls.media_type,
        generation: cls.generation,
        location: location.clone(),
        state: cls.state,
        media_set: cls.media_set,
        set_uuid: None,
        set_seq: None,
        allocated_at: None,
        first_write: None,
        last_write: None,
        protect_until: None,
        bytes_written: 0,
        mount_count: 0,
        read_errors: 0,
        write_errors: 0,
        imported_at: now,
    };
    db::media::put_media(c, &m)?;
    tracing::info!(barcode, state = m.state.as_str(), "cartridge imported");
    Ok(m)
}

/// Re-creates the catalog entry of a cartridge from the label read off it
/// (a foreign cartridge, or a catalog rebuilt after loss). The label wins
/// over what the catalog had: set, sequence, label UUID, protection. The
/// media set is created (with zero periods) when unknown; the cartridge is
/// `full` (its end is not known, so nothing is appended) unless the label
/// names no set (`scratch`).
pub fn import_scanned(
    c: &Connection,
    label: &Label,
    changer_barcode: Option<&str>,
    location: &Location,
    now: i64,
) -> MediaResult<Media> {
    let barcode = match changer_barcode {
        Some(b) if !label.barcode.is_empty() && b != label.barcode => {
            return Err(MediaError::BarcodeMismatch {
                changer: b.into(),
                label: label.barcode.clone(),
            });
        }
        Some(b) => b.to_owned(),
        None => label.barcode.clone(),
    };
    let mut m = import_barcode(c, &barcode, location, now)?;
    let in_set = !label.set_uuid.is_nil() && !label.media_set.is_empty();
    if in_set {
        match db::media::get_media_set(c, &label.media_set) {
            Ok(_) => {}
            Err(DbError::NotFound { .. }) => create_set(c, &label.media_set, None, 0, 0)?,
            Err(e) => return Err(e.into()),
        }
        // Another catalog row with the same set position is stale now.
        c.execute(
            "UPDATE media SET set_uuid = NULL, set_seq = NULL WHERE set_uuid = ?1 AND set_seq = ?2 AND barcode <> ?3",
            (label.set_uuid.to_string(), label.sequence, &barcode),
        )?;
    }
    c.execute(
        "UPDATE media SET label_uuid = NULL WHERE label_uuid = ?1 AND barcode <> ?2",
        (label.uuid.to_string(), &barcode),
    )?;
    m.label_uuid = Some(label.uuid);
    if in_set {
        m.state = MediaState::Full;
        m.media_set = Some(label.media_set.clone());
        m.set_uuid = Some(label.set_uuid);
        m.set_seq = Some(label.sequence);
        m.last_write = Some(label.written_at);
        m.first_write = m.first_write.or(Some(label.written_at));
    } else if m.state != MediaState::Cleaning {
        m.state = MediaState::Scratch;
    }
    m.protect_until = Some(label.protect_until);
    db::media::put_media(c, &m)?;
    tracing::info!(barcode = %m.barcode, set = %label.media_set, seq = label.sequence, "cartridge imported from its label");
    Ok(m)
}

/// Imports whatever a scan at BOT found: a reel label, a blank cartridge,
/// or foreign data.
pub fn import_scan(
    c: &Connection,
    barcode: &str,
    on: &OnMedium,
    location: &Location,
    now: i64,
) -> MediaResult<Media> {
    match on {
        OnMedium::Label(l) => import_scanned(c, l, Some(barcode), location, now),
        OnMedium::Blank => import_barcode(c, barcode, location, now),
        OnMedium::Foreign | OnMedium::Damaged(_) => {
            let mut m = import_barcode(c, barcode, location, now)?;
            if m.state == MediaState::Scratch {
                m.state = MediaState::Foreign;
                db::media::set_state(c, barcode, MediaState::Foreign)?;
            }
            Ok(m)
        }
    }
}

/// A cartridge of `set_name` to write to in library `lib`: the current
/// set instance's appendable cartridge, else the oldest recyclable
/// cartridge, allocated now (starting a new set instance when the append
/// period is over). `Ok(Err(reason))` when there is none.
pub fn writable_cartridge(
    c: &Connection,
    set_name: &str,
    lib: &str,
    now: i64,
) -> MediaResult<Result<String, String>> {
    let set = match db::media::get_media_set(c, set_name) {
        Ok(s) => s,
        Err(DbError::NotFound { .. }) => {
            return Ok(Err(format!("waiting: media set {set_name} does not exist")));
        }
        Err(e) => return Err(e.into()),
    };
    let current = set.current.filter(|_| set.appendable(now));
    if let Some((uuid, _)) = current
        && let Some(bc) = db::media::find_appendable(c, lib, uuid)?
    {
        return Ok(Ok(bc));
    }
    let Some(bc) = db::media::find_recyclable(c, lib, set_name, set.media_type.as_deref(), now)?
    else {
        return Ok(Err(format!(
            "waiting: no scratch cartridge in library {lib}"
        )));
    };
    let (uuid, started) = match current {
        Some(cur) => cur,
        None => {
            let u = Uuid::new_v4();
            db::media::start_set_instance(c, set_name, u, now)?;
            (u, now)
        }
    };
    let seq = db::media::next_seq(c, uuid)?;
    let protect = started
        .saturating_add(set.append_secs)
        .max(now)
        .saturating_add(set.protect_secs);
    let alloc = db::media::Allocation {
        set: set_name,
        set_uuid: uuid,
        seq,
        label_uuid: Uuid::new_v4(),
        at: now,
        protect_until: protect,
    };
    db::media::allocate(c, &bc, &alloc)?;
    tracing::info!(cartridge = %bc, set = set_name, seq, "allocated scratch cartridge");
    Ok(Ok(bc))
}

/// The label to write at BOT of an allocated cartridge (written at `now`).
pub fn label_for(c: &Connection, barcode: &str, now: i64) -> MediaResult<Label> {
    let m = db::media::get_media(c, barcode)?;
    let (Some(set), Some(set_uuid), Some(seq), Some(uuid)) =
        (m.media_set.clone(), m.set_uuid, m.set_seq, m.label_uuid)
    else {
        return Err(MediaError::NoSet(barcode.into()));
    };
    Ok(Label {
        uuid,
        barcode: m.barcode,
        media_set: set,
        set_uuid,
        sequence: seq,
        written_at: now,
        protect_until: m.protect_until.unwrap_or(now),
    })
}

/// Records `bytes` written to `barcode` at `now`.
pub fn record_write(c: &Connection, barcode: &str, bytes: u64, now: i64) -> MediaResult<()> {
    let m = db::media::get_media(c, barcode)?;
    let set = m
        .media_set
        .as_deref()
        .ok_or_else(|| MediaError::NoSet(barcode.into()))?;
    let protect = now.saturating_add(db::media::get_media_set(c, set)?.protect_secs);
    db::media::record_write(c, barcode, now, bytes, protect)?;
    Ok(())
}

/// Moves a cartridge to another state, checking the state machine; a
/// protected cartridge is not turned back into scratch.
pub fn set_state(c: &Connection, barcode: &str, to: MediaState, now: i64) -> MediaResult<()> {
    let m = db::media::get_media(c, barcode)?;
    if !m.state.can_become(to) {
        return Err(MediaError::Transition {
            barcode: barcode.into(),
            from: m.state.as_str(),
            to: to.as_str(),
        });
    }
    if to == MediaState::Scratch && matches!(m.state, MediaState::Allocated | MediaState::Full) {
        if is_protected(&m, now) {
            return Err(MediaError::Protected {
                barcode: barcode.into(),
                until: m.protect_until.unwrap_or(i64::MAX),
            });
        }
        c.execute(
            "UPDATE media SET media_set = NULL, set_uuid = NULL, set_seq = NULL WHERE barcode = ?1",
            [barcode],
        )?;
    }
    db::media::set_state(c, barcode, to)?;
    Ok(())
}

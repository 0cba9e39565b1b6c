//! The reel label in MAM (Medium Auxiliary Memory) host attributes, so a
//! drive or library with MAM can identify a cartridge without reading
//! block 0.
//!
//! | attribute                          | id    | value                         |
//! |------------------------------------|-------|-------------------------------|
//! | APPLICATION VENDOR (ASCII 8)       | 0800h | `REEL`                        |
//! | APPLICATION NAME (ASCII 32)        | 0801h | `reel`                        |
//! | USER MEDIUM TEXT LABEL (TEXT 160)  | 0803h | `reel1 LABELUUID SETUUID SEQ WRITTEN PROTECT` |
//! | DATE AND TIME LAST WRITTEN (ASCII 12) | 0804h | `YYYYMMDDhhmm` (UTC) of WRITTEN |
//! | BARCODE (ASCII 32)                 | 0806h | the barcode                   |
//! | MEDIA POOL (TEXT 160)              | 0808h | the media set name            |
//! | APPLICATION FORMAT VERSION (ASCII 16) | 080Bh | `reel-label-1`              |
//!
//! In the text label the UUIDs are 32 lowercase hex digits, SEQ, WRITTEN and
//! PROTECT decimal (unix seconds), separated by single spaces. The text
//! label alone carries everything the overwrite check needs.

use reel_drivers::scsi::attributes::{Attribute, mam};
use uuid::Uuid;

use super::label::{Label, LabelError, check_barcode, check_set_name};

const TEXT_MAGIC: &str = "reel1";
pub const FORMAT_VERSION: &str = "reel-label-1";

/// The attributes to WRITE ATTRIBUTE for `label`.
pub fn label_to_mam(label: &Label) -> Result<Vec<Attribute>, LabelError> {
    check_barcode(&label.barcode)?;
    check_set_name(&label.media_set)?;
    let text = format!(
        "{TEXT_MAGIC} {} {} {} {} {}",
        label.uuid.simple(),
        label.set_uuid.simple(),
        label.sequence,
        label.written_at,
        label.protect_until
    );
    let attr = |id: u16, v: &str| {
        Attribute::text(id, v).map_err(|e| LabelError::BadField {
            field: mam::name(id),
            detail: e.to_string(),
        })
    };
    Ok(vec![
        attr(mam::APPLICATION_VENDOR, "REEL")?,
        attr(mam::APPLICATION_NAME, "reel")?,
        attr(mam::USER_MEDIUM_TEXT_LABEL, &text)?,
        attr(mam::DATE_TIME_LAST_WRITTEN, &mam_date(label.written_at))?,
        attr(mam::BARCODE, &label.barcode)?,
        attr(mam::MEDIA_POOL, &label.media_set)?,
        attr(mam::APPLICATION_FORMAT_VERSION, FORMAT_VERSION)?,
    ])
}

/// The reel label held in `attrs` (as read with READ ATTRIBUTE): `None`
/// when the cartridge carries no reel text label (another application's
/// or none), an error when it carries a damaged one.
pub fn label_from_mam(attrs: &[Attribute]) -> Result<Option<Label>, LabelError> {
    let find = |id: u16| attrs.iter().find(|a| a.id == id);
    let Some(text) = find(mam::USER_MEDIUM_TEXT_LABEL).and_then(Attribute::as_text) else {
        return Ok(None);
    };
    let mut f = text.split(' ');
    if f.next() != Some(TEXT_MAGIC) {
        return Ok(None);
    }
    let mut field = |name: &'static str| {
        f.next().ok_or(LabelError::BadField {
            field: "MAM text label",
            detail: format!("{name} missing"),
        })
    };
    let uuid = parse_uuid("label uuid", field("label uuid")?)?;
    let set_uuid = parse_uuid("set uuid", field("set uuid")?)?;
    let sequence = parse_num("sequence", field("sequence")?)?;
    let written_at = parse_num("written at", field("written at")?)?;
    let protect_until = parse_num("protect until", field("protect until")?)?;
    if f.next().is_some() {
        return Err(LabelError::BadField {
            field: "MAM text label",
            detail: "trailing fields".into(),
        });
    }
    let barcode = find(mam::BARCODE)
        .and_then(Attribute::as_text)
        .unwrap_or_default();
    let media_set = find(mam::MEDIA_POOL)
        .and_then(Attribute::as_text)
        .unwrap_or_default();
    check_barcode(&barcode)?;
    check_set_name(&media_set)?;
    Ok(Some(Label {
        uuid,
        barcode,
        media_set,
        set_uuid,
        sequence,
        written_at,
        protect_until,
    }))
}

fn parse_uuid(field: &'static str, s: &str) -> Result<Uuid, LabelError> {
    if s.len() != 32 {
        return Err(LabelError::BadField {
            field,
            detail: format!("{s:?} is not 32 hex digits"),
        });
    }
    Uuid::try_parse(s).map_err(|e| LabelError::BadField {
        field,
        detail: e.to_string(),
    })
}

fn parse_num<T: std::str::FromStr>(field: &'static str, s: &str) -> Result<T, LabelError> {
    s.parse().map_err(|_| LabelError::BadField {
        field,
        detail: format!("{s:?} is not a number"),
    })
}

/// `YYYYMMDDhhmm` in UTC (the MAM DATE AND TIME LAST WRITTEN format);
/// times outside years 0..=9999 are clamped.
pub fn mam_date(unix: i64) -> String {
    let unix = unix.clamp(-62_167_219_200, 253_402_300_799);
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}{:02}{:02}",
        secs / 3600,
        (secs % 3600) / 60
    )
}

/// Days since 1970-01-01 → proleptic Gregorian (year, month, day)
/// (H. Hinnant's civil_from_days).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

//! Media management: cartridges, media sets, barcode rules and the reel
//! label.
//!
//! - this module: the data types and the pure rules (state transitions,
//!   protection, barcode rules);
//! - [`label`]: the on-tape reel label block (encoder/decoder);
//! - [`mam`]: the same label in MAM attributes;
//! - [`guard`]: the check the device layer makes before a write at the
//!   beginning of tape, against what is on the medium;
//! - [`manager`]: the catalog operations (import, scratch allocation,
//!   writes, re-import from a scanned label) on top of [`crate::db`].

pub mod guard;
pub mod label;
pub mod mam;
pub mod manager;

use uuid::Uuid;

/// Life-cycle state of a cartridge in the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaState {
    /// Free to be allocated to a media set.
    Scratch,
    /// Member of a media set, appendable.
    Allocated,
    /// Member of a media set, no room left (early warning seen).
    Full,
    /// Never used again (worn out, too many errors).
    Retired,
    /// A cleaning cartridge.
    Cleaning,
    /// Data reel did not write (no or unknown label); never overwritten
    /// without an explicit label or erase job.
    Foreign,
}

impl MediaState {
    pub const ALL: [MediaState; 6] = [
        MediaState::Scratch,
        MediaState::Allocated,
        MediaState::Full,
        MediaState::Retired,
        MediaState::Cleaning,
        MediaState::Foreign,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MediaState::Scratch => "scratch",
            MediaState::Allocated => "allocated",
            MediaState::Full => "full",
            MediaState::Retired => "retired",
            MediaState::Cleaning => "cleaning",
            MediaState::Foreign => "foreign",
        }
    }

    pub fn parse(s: &str) -> Option<MediaState> {
        MediaState::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// Whether the catalog may move a cartridge from `self` to `to`.
    /// Recycling (allocated/full → scratch or straight to allocated in a new
    /// set) is allowed here; whether the protection period allows it is
    /// [`is_protected`]'s question. Retired is final except for an operator
    /// relabel (→ foreign), cleaning cartridges never become data media.
    pub fn can_become(self, to: MediaState) -> bool {
        use MediaState::*;
        if self == to {
            return true;
        }
        matches!(
            (self, to),
            (Scratch, Allocated)
                | (Scratch, Retired)
                | (Allocated, Full)
                | (Allocated, Scratch)
                | (Allocated, Retired)
                | (Allocated, Allocated)
                | (Full, Scratch)
                | (Full, Allocated)
                | (Full, Retired)
                | (Foreign, Scratch)
                | (Foreign, Retired)
                | (Retired, Foreign)
                | (Cleaning, Retired)
        )
    }
}

/// Where a cartridge is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Location {
    /// A storage slot of `library` at element address `element`.
    Slot { library: String, element: u32 },
    /// In a drive (device id) of `library`.
    Drive { library: String, drive: String },
    /// In an import/export (mail) slot.
    MailSlot { library: String, element: u32 },
    /// Outside any library (vault, shelf).
    Offline,
}

impl Location {
    pub fn kind_str(&self) -> &'static str {
        match self {
            Location::Slot { .. } => "slot",
            Location::Drive { .. } => "drive",
            Location::MailSlot { .. } => "mail_slot",
            Location::Offline => "offline",
        }
    }

    pub fn library(&self) -> Option<&str> {
        match self {
            Location::Slot { library, .. }
            | Location::Drive { library, .. }
            | Location::MailSlot { library, .. } => Some(library),
            Location::Offline => None,
        }
    }
}

/// One cartridge in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Media {
    pub barcode: String,
    /// UUID of the reel label on the medium (None before the first label).
    pub label_uuid: Option<Uuid>,
    /// Media type text from the barcode rule, e.g. `LTO-8`.
    pub media_type: String,
    pub generation: Option<u8>,
    pub location: Location,
    pub state: MediaState,
    pub media_set: Option<String>,
    pub set_uuid: Option<Uuid>,
    pub set_seq: Option<u32>,
    pub allocated_at: Option<i64>,
    pub first_write: Option<i64>,
    pub last_write: Option<i64>,
    /// Overwrite protection ends here (last write + the set's period).
    pub protect_until: Option<i64>,
    pub bytes_written: u64,
    pub mount_count: u64,
    pub read_errors: u64,
    pub write_errors: u64,
    pub imported_at: i64,
}

/// A media set definition: which cartridges belong together and for how
/// long they are appended to and protected.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MediaSet {
    pub name: String,
    /// Only cartridges of this type are allocated (None: any).
    pub media_type: Option<String>,
    /// New data is appended to the current set instance for this long after
    /// its first allocation; then a new instance (new UUID) starts.
    pub append_secs: i64,
    /// A cartridge may not be overwritten for this long after its last
    /// write.
    pub protect_secs: i64,
    /// The instance being appended to, with its start.
    pub current: Option<(Uuid, i64)>,
}

impl MediaSet {
    /// Whether the current instance still takes new data at `now`.
    pub fn appendable(&self, now: i64) -> bool {
        self.current
            .is_some_and(|(_, started)| now < started.saturating_add(self.append_secs))
    }
}

/// A barcode rule: cartridges whose barcode starts with `prefix` are of
/// `media_type` and go to `media_set` (if any). The longest matching prefix
/// wins; `CLN` cartridges are cleaning cartridges whatever the rules say.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BarcodeRule {
    pub prefix: String,
    pub media_type: String,
    pub media_set: Option<String>,
    pub cleaning: bool,
}

/// What the rules say about one barcode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    pub media_type: String,
    pub generation: Option<u8>,
    pub media_set: Option<String>,
    pub state: MediaState,
}

/// Applies the barcode rules to `barcode`. Without a matching rule the
/// media type comes from the LTO suffix (`L8` → `LTO-8`, `M8` → LTO-7
/// type M), else `unknown`; new cartridges without a label are scratch.
pub fn classify_barcode(barcode: &str, rules: &[BarcodeRule]) -> Classified {
    let generation = generation_from_barcode(barcode);
    if barcode.starts_with("CLN") {
        return Classified {
            media_type: "cleaning".into(),
            generation,
            media_set: None,
            state: MediaState::Cleaning,
        };
    }
    let rule = rules
        .iter()
        .filter(|r| barcode.starts_with(r.prefix.as_str()))
        .max_by_key(|r| r.prefix.len());
    match rule {
        Some(r) => Classified {
            media_type: r.media_type.clone(),
            generation: generation.or_else(|| generation_from_type(&r.media_type)),
            media_set: r.media_set.clone(),
            state: if r.cleaning {
                MediaState::Cleaning
            } else {
                MediaState::Scratch
            },
        },
        None => Classified {
            media_type: generation.map_or_else(|| "unknown".into(), |g| format!("LTO-{g}")),
            generation,
            media_set: None,
            state: MediaState::Scratch,
        },
    }
}

/// LTO generation from the 2-character media identifier at the end of an
/// 8-character LTO barcode (`L1`..`L9`, `M8` is an LTO-7 cartridge
/// formatted type M, written by LTO-8 drives).
pub fn generation_from_barcode(barcode: &str) -> Option<u8> {
    let b = barcode.as_bytes();
    if b.len() < 3 {
        return None;
    }
    let (kind, digit) = (b[b.len() - 2], b[b.len() - 1]);
    match (kind, digit) {
        (b'L', b'1'..=b'9') => Some(digit - b'0'),
        (b'M', b'8') => Some(7),
        _ => None,
    }
}

/// Generation from a media type text `LTO-N`.
pub fn generation_from_type(media_type: &str) -> Option<u8> {
    media_type
        .strip_prefix("LTO-")
        .and_then(|g| g.parse().ok())
        .filter(|g| (1..=20).contains(g))
}

/// Whether `media` may not be overwritten at `now`: it holds data
/// (allocated or full) and its protection period has not ended, or it is a
/// foreign/cleaning/retired cartridge, which reel never overwrites on its
/// own.
pub fn is_protected(media: &Media, now: i64) -> bool {
    match media.state {
        MediaState::Scratch => false,
        // Allocated but never written: nothing on it to protect yet.
        MediaState::Allocated | MediaState::Full => media.protect_until.is_some_and(|t| now < t),
        MediaState::Retired | MediaState::Cleaning | MediaState::Foreign => true,
    }
}

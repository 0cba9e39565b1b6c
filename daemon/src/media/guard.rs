//! The overwrite check the device layer makes right before a write at the
//! beginning of tape: against the label *on the medium* (block 0 or MAM),
//! so that a lost or stale catalog can never cause a protected cartridge to
//! be overwritten.

use super::label::{Label, LabelError};

/// What the first block of a cartridge says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnMedium {
    /// Nothing written (BLANK CHECK / EOD at block 0).
    Blank,
    /// A valid reel label.
    Label(Label),
    /// Another application's data.
    Foreign,
    /// Looks like a reel label but does not decode (checksum, version).
    Damaged(LabelError),
}

/// Classifies the first block read at BOT (`None`: blank medium).
pub fn classify_first_block(block: Option<&[u8]>) -> OnMedium {
    let Some(block) = block else {
        return OnMedium::Blank;
    };
    match Label::decode(block) {
        Ok(label) => OnMedium::Label(label),
        Err(LabelError::NotALabel(_)) => OnMedium::Foreign,
        Err(LabelError::Short(_)) => OnMedium::Foreign,
        Err(e) => OnMedium::Damaged(e),
    }
}

/// Why a write at BOT is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteRefused {
    #[error(
        "cartridge {barcode} is protected until {until} (media set {set}, label {uuid}); refusing to overwrite"
    )]
    Protected {
        barcode: String,
        set: String,
        uuid: uuid::Uuid,
        until: i64,
    },
    #[error("cartridge holds foreign data; only a label or erase job with force may overwrite it")]
    Foreign,
    #[error(
        "cartridge label is damaged ({0}); only a label or erase job with force may overwrite it"
    )]
    Damaged(LabelError),
}

/// Whether a write at BOT may go ahead on a medium holding `on` at `now`.
/// `force` is the operator's explicit label/erase of a foreign or damaged
/// cartridge; it never overrides a valid label's protection.
pub fn may_write_at_bot(on: &OnMedium, now: i64, force: bool) -> Result<(), WriteRefused> {
    match on {
        OnMedium::Blank => Ok(()),
        OnMedium::Label(l) if l.is_protected(now) => Err(WriteRefused::Protected {
            barcode: l.barcode.clone(),
            set: l.media_set.clone(),
            uuid: l.uuid,
            until: l.protect_until,
        }),
        OnMedium::Label(_) => Ok(()),
        OnMedium::Foreign if force => Ok(()),
        OnMedium::Foreign => Err(WriteRefused::Foreign),
        OnMedium::Damaged(_) if force => Ok(()),
        OnMedium::Damaged(e) => Err(WriteRefused::Damaged(e.clone())),
    }
}

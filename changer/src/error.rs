//! The changer's error: names the element and the reason, never a bare
//! sense dump (the raw SCSI error stays reachable as the source).

use std::time::Duration;

use reel_drivers::scsi::error::{DecodeError, ScsiError};
use reel_drivers::scsi::sense::SenseKey;

#[derive(Debug, thiserror::Error)]
pub enum ChangerError {
    #[error("destination element {element} is full")]
    DestinationFull {
        element: u16,
        #[source]
        source: Option<Box<ScsiError>>,
    },
    #[error("source element {element} is empty")]
    SourceEmpty {
        element: u16,
        #[source]
        source: Option<Box<ScsiError>>,
    },
    #[error("medium removal is prevented at element {element} (the drive or door is locked)")]
    RemovalPrevented {
        element: u16,
        #[source]
        source: Option<Box<ScsiError>>,
    },
    /// Vendor code 3B/90 (Exabyte/Tandberg style, and the VTL): the
    /// cartridge is still threaded in the drive at `element`.
    #[error(
        "the cartridge in drive element {element} is still loaded; unload it through its tape \
         device first (eject_before_move)"
    )]
    NotEjected {
        element: u16,
        #[source]
        source: Option<Box<ScsiError>>,
    },
    #[error("invalid element address {element}")]
    InvalidElement {
        element: u16,
        #[source]
        source: Option<Box<ScsiError>>,
    },
    #[error("library not ready ({reason}) after waiting {waited:?}")]
    NotReady {
        reason: String,
        waited: Duration,
        #[source]
        source: Box<ScsiError>,
    },
    #[error("library is offline")]
    Offline {
        #[source]
        source: Box<ScsiError>,
    },
    #[error("library needs manual intervention (door open or magazine out)")]
    ManualIntervention {
        #[source]
        source: Box<ScsiError>,
    },
    #[error("the library cannot {what}")]
    NotSupported { what: String },
    #[error(transparent)]
    Scsi(Box<ScsiError>),
    #[error("{op}: malformed response: {detail}")]
    Malformed { op: &'static str, detail: String },
    // ---- library model -------------------------------------------------
    #[error("no slot {slot} (the library has slots 1..={slots})")]
    NoSuchSlot { slot: usize, slots: usize },
    #[error("no drive {drive} (the library has {drives} drives)")]
    NoSuchDrive { drive: usize, drives: usize },
    #[error("slot {slot} (element {element}) is full")]
    SlotFull { slot: usize, element: u16 },
    #[error("slot {slot} (element {element}) is empty")]
    SlotEmpty { slot: usize, element: u16 },
    #[error("drive {drive} (element {element}) is full")]
    DriveFull { drive: usize, element: u16 },
    #[error("drive {drive} (element {element}) is empty")]
    DriveEmpty { drive: usize, element: u16 },
    #[error("no empty {what} to put the cartridge in")]
    NoEmptySlot { what: &'static str },
    #[error("slot {slot} is not an import/export (mail) slot")]
    NotMailSlot { slot: usize },
    #[error("no cleaning cartridge (barcode starting with CLN) in the library")]
    NoCleaningCartridge,
    #[error(
        "drive {drive} must eject before the move (eject_before_move is set) but no tape \
         device was given for it; pass one or turn the option off"
    )]
    NoEjector { drive: usize },
    #[error("drive {drive}: unloading through its tape device failed")]
    Eject {
        drive: usize,
        #[source]
        source: Box<ScsiError>,
    },
    #[error("drive {drive}: cleaning failed: {detail}")]
    Cleaning { drive: usize, detail: String },
}

impl From<ScsiError> for ChangerError {
    fn from(e: ScsiError) -> Self {
        ChangerError::Scsi(Box::new(e))
    }
}

impl ChangerError {
    pub fn malformed(op: &'static str, e: DecodeError) -> ChangerError {
        ChangerError::Malformed {
            op,
            detail: e.to_string(),
        }
    }

    /// The underlying SCSI error, when there is one.
    pub fn scsi(&self) -> Option<&ScsiError> {
        match self {
            ChangerError::DestinationFull { source, .. }
            | ChangerError::SourceEmpty { source, .. }
            | ChangerError::RemovalPrevented { source, .. }
            | ChangerError::NotEjected { source, .. }
            | ChangerError::InvalidElement { source, .. } => source.as_deref(),
            ChangerError::NotReady { source, .. }
            | ChangerError::Offline { source }
            | ChangerError::ManualIntervention { source }
            | ChangerError::Eject { source, .. } => Some(source),
            ChangerError::Scsi(e) => Some(e),
            _ => None,
        }
    }
}

/// Which element each CDB byte addresses, for errors whose field pointer
/// names the byte (ILLEGAL REQUEST 21/01).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Elements {
    pub transport: u16,
    pub source: Option<u16>,
    pub dest: Option<u16>,
    pub dest2: Option<u16>,
}

impl Elements {
    /// MOVE/EXCHANGE/POSITION layout: transport at 2-3, source at 4-5, first
    /// destination at 6-7 (POSITION: destination at 4-5), second at 8-9.
    fn by_byte(&self, byte: u16, position: bool) -> Option<u16> {
        match (byte, position) {
            (2 | 3, _) => Some(self.transport),
            (4 | 5, true) => self.dest,
            (4 | 5, false) => self.source,
            (6 | 7, false) => self.dest,
            (8 | 9, false) => self.dest2,
            _ => None,
        }
    }
}

/// Turns the SCSI error of a medium-moving command into one that names the
/// element. `position` is set for POSITION TO ELEMENT (no source field).
pub(crate) fn name_element(
    e: ScsiError,
    el: Elements,
    position: bool,
    waited: Duration,
) -> ChangerError {
    let Some(s) = e.sense() else {
        return ChangerError::Scsi(Box::new(e));
    };
    let fallback = el.source.or(el.dest).unwrap_or(el.transport);
    match (s.key, s.asc, s.ascq) {
        (SenseKey::IllegalRequest, 0x3b, 0x0d) => ChangerError::DestinationFull {
            element: el.dest.unwrap_or(fallback),
            source: Some(Box::new(e)),
        },
        (SenseKey::IllegalRequest, 0x3b, 0x0e) => ChangerError::SourceEmpty {
            element: el.source.unwrap_or(fallback),
            source: Some(Box::new(e)),
        },
        (SenseKey::IllegalRequest, 0x53, 0x02) => ChangerError::RemovalPrevented {
            element: el.source.unwrap_or(fallback),
            source: Some(Box::new(e)),
        },
        (SenseKey::IllegalRequest, 0x3b, 0x90) => ChangerError::NotEjected {
            element: el.source.unwrap_or(fallback),
            source: Some(Box::new(e)),
        },
        (SenseKey::IllegalRequest, 0x21, 0x01) => {
            let pointed = match s.key_specific {
                Some(reel_drivers::scsi::sense::SenseKeySpecific::FieldPointer {
                    in_cdb: true,
                    byte,
                    ..
                }) => el.by_byte(byte, position),
                _ => None,
            };
            ChangerError::InvalidElement {
                element: pointed.unwrap_or(fallback),
                source: Some(Box::new(e)),
            }
        }
        _ => not_ready(e, waited),
    }
}

/// NOT READY conditions that are not retried become typed errors.
pub(crate) fn not_ready(e: ScsiError, waited: Duration) -> ChangerError {
    let Some(s) = e.sense() else {
        return ChangerError::Scsi(Box::new(e));
    };
    if s.key != SenseKey::NotReady {
        return ChangerError::Scsi(Box::new(e));
    }
    match (s.asc, s.ascq) {
        (0x04, 0x12) => ChangerError::Offline {
            source: Box::new(e),
        },
        (0x04, 0x03) => ChangerError::ManualIntervention {
            source: Box::new(e),
        },
        _ => ChangerError::NotReady {
            reason: s.asc_text(),
            waited,
            source: Box::new(e),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reel_drivers::scsi::sense::{Sense, SenseKeySpecific};

    fn check(key: SenseKey, asc: u8, ascq: u8, sks: Option<SenseKeySpecific>) -> ScsiError {
        let mut sense = Sense::new(key, asc, ascq);
        sense.key_specific = sks;
        ScsiError::Check {
            op: "MOVE MEDIUM",
            raw: sense.encode_fixed(),
            sense,
        }
    }

    const EL: Elements = Elements {
        transport: 1,
        source: Some(0x400),
        dest: Some(0x100),
        dest2: Some(0x401),
    };

    #[test]
    fn names_the_element() {
        let e = name_element(
            check(SenseKey::IllegalRequest, 0x3b, 0x0d, None),
            EL,
            false,
            Duration::ZERO,
        );
        assert!(matches!(
            e,
            ChangerError::DestinationFull { element: 0x100, .. }
        ));
        assert_eq!(e.to_string(), "destination element 256 is full");
        let e = name_element(
            check(SenseKey::IllegalRequest, 0x3b, 0x0e, None),
            EL,
            false,
            Duration::ZERO,
        );
        assert!(matches!(
            e,
            ChangerError::SourceEmpty { element: 0x400, .. }
        ));
        let e = name_element(
            check(SenseKey::IllegalRequest, 0x53, 0x02, None),
            EL,
            false,
            Duration::ZERO,
        );
        assert!(matches!(
            e,
            ChangerError::RemovalPrevented { element: 0x400, .. }
        ));
        let fp = |byte| {
            Some(SenseKeySpecific::FieldPointer {
                in_cdb: true,
                bit: None,
                byte,
            })
        };
        let e = name_element(
            check(SenseKey::IllegalRequest, 0x21, 0x01, fp(6)),
            EL,
            false,
            Duration::ZERO,
        );
        assert!(matches!(
            e,
            ChangerError::InvalidElement { element: 0x100, .. }
        ));
        let e = name_element(
            check(SenseKey::IllegalRequest, 0x21, 0x01, fp(8)),
            EL,
            false,
            Duration::ZERO,
        );
        assert!(matches!(
            e,
            ChangerError::InvalidElement { element: 0x401, .. }
        ));
        let e = name_element(
            check(SenseKey::IllegalRequest, 0x21, 0x01, fp(4)),
            EL,
            true,
            Duration::ZERO,
        );
        assert!(matches!(
            e,
            ChangerError::InvalidElement { element: 0x100, .. }
        ));
        let e = name_element(
            check(SenseKey::IllegalRequest, 0x21, 0x01, None),
            EL,
            false,
            Duration::ZERO,
        );
        assert!(matches!(
            e,
            ChangerError::InvalidElement { element: 0x400, .. }
        ));
        let e = name_element(
            check(SenseKey::IllegalRequest, 0x3b, 0x90, None),
            EL,
            false,
            Duration::ZERO,
        );
        assert!(matches!(e, ChangerError::NotEjected { element: 0x400, .. }));
        let e = name_element(
            check(SenseKey::NotReady, 0x04, 0x12, None),
            EL,
            false,
            Duration::ZERO,
        );
        assert!(matches!(e, ChangerError::Offline { .. }));
        let e = name_element(
            check(SenseKey::NotReady, 0x04, 0x03, None),
            EL,
            false,
            Duration::ZERO,
        );
        assert!(matches!(e, ChangerError::ManualIntervention { .. }));
        let e = name_element(
            check(SenseKey::HardwareError, 0x15, 0x01, None),
            EL,
            false,
            Duration::ZERO,
        );
        assert!(matches!(e, ChangerError::Scsi(_)));
        assert!(e.scsi().is_some());
    }
}

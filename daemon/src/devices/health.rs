//! Pure health rules: what a TEST UNIT READY answer says about a device,
//! and the LTO generation a drive's model name implies.

use reel_drivers::scsi::error::{ErrorClass, ScsiError};
use reel_drivers::scsi::sense::SenseKey;

/// What one TEST UNIT READY answer means for the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TurVerdict {
    /// Ready: a medium is loaded (drives) or the robot is ready (changers).
    Ready,
    /// Answering, no medium loaded: a healthy idle drive.
    Empty,
    /// Answering but not ready for a passing reason (becoming ready, an
    /// operation in progress, reserved by another initiator): online.
    Settling(String),
    /// A unit attention was reported instead: ask again.
    Again,
    /// Unreachable or broken: offline, with the reason.
    Offline(String),
}

/// Judges a TEST UNIT READY result.
pub fn judge_tur(r: Result<(), &ScsiError>) -> TurVerdict {
    let e = match r {
        Ok(()) => return TurVerdict::Ready,
        Err(e) => e,
    };
    if let Some(s) = e.sense() {
        return match (s.key, s.asc, s.ascq) {
            (SenseKey::UnitAttention, ..) => TurVerdict::Again,
            // Medium not present (any qualifier: tray open, loadable...).
            (SenseKey::NotReady, 0x3a, _) => TurVerdict::Empty,
            // 04/03 "manual intervention required" is a failure; the other
            // 04/xx qualifiers (becoming ready, operation in progress,
            // cause not reportable) pass.
            (SenseKey::NotReady, 0x04, q) if q != 0x03 => {
                TurVerdict::Settling(format!("not ready: {}", s.asc_text()))
            }
            // Incompatible or unreadable cartridge loaded: the drive is
            // fine, the cartridge is the problem.
            (SenseKey::NotReady, 0x30, _) => TurVerdict::Ready,
            (SenseKey::NotReady, ..) | (SenseKey::HardwareError, ..) => {
                TurVerdict::Offline(e.to_string())
            }
            // Anything else still proves the device answers.
            _ => TurVerdict::Settling(e.to_string()),
        };
    }
    match e.class() {
        ErrorClass::Busy | ErrorClass::ReservationConflict => TurVerdict::Settling(e.to_string()),
        _ => TurVerdict::Offline(e.to_string()),
    }
}

/// The LTO generation a drive's model implies ("ULTRIUM-HH9",
/// "ULTRIUM-TD8", "Ultrium 8-SCSI", "LTO-7"), when it says one.
pub fn lto_generation(model: &str) -> Option<u8> {
    let m = model.to_ascii_uppercase();
    let rest = [
        "ULTRIUM-HH",
        "ULTRIUM-TD",
        "ULTRIUM-FH",
        "ULT3580-HH",
        "ULT3580-TD",
        "ULTRIUM ",
        "LTO-",
        "LTO",
    ]
    .iter()
    .find_map(|p| m.find(p).map(|i| &m[i + p.len()..]))?;
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok().filter(|g| (1..=12).contains(g))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reel_drivers::scsi::sense::Sense;

    fn check(key: SenseKey, asc: u8, ascq: u8) -> ScsiError {
        let s = Sense::new(key, asc, ascq);
        ScsiError::Check {
            op: "TEST UNIT READY",
            raw: s.encode_fixed(),
            sense: s,
        }
    }

    #[test]
    fn verdicts() {
        assert_eq!(judge_tur(Ok(())), TurVerdict::Ready);
        let v = |k, a, q| judge_tur(Err(&check(k, a, q)));
        assert_eq!(v(SenseKey::NotReady, 0x3a, 0x00), TurVerdict::Empty);
        assert_eq!(v(SenseKey::NotReady, 0x3a, 0x02), TurVerdict::Empty);
        assert_eq!(v(SenseKey::UnitAttention, 0x29, 0x00), TurVerdict::Again);
        assert!(matches!(
            v(SenseKey::NotReady, 0x04, 0x01),
            TurVerdict::Settling(_)
        ));
        assert!(matches!(
            v(SenseKey::NotReady, 0x04, 0x03),
            TurVerdict::Offline(_)
        ));
        assert!(matches!(
            v(SenseKey::NotReady, 0x44, 0x00),
            TurVerdict::Offline(_)
        ));
        assert!(matches!(
            v(SenseKey::HardwareError, 0x44, 0x00),
            TurVerdict::Offline(_)
        ));
        assert_eq!(v(SenseKey::NotReady, 0x30, 0x00), TurVerdict::Ready);
        assert!(matches!(
            v(SenseKey::IllegalRequest, 0x20, 0x00),
            TurVerdict::Settling(_)
        ));
        let busy = ScsiError::Status {
            op: "TEST UNIT READY",
            status: reel_drivers::scsi::transport::ScsiStatus::BUSY,
        };
        assert!(matches!(judge_tur(Err(&busy)), TurVerdict::Settling(_)));
        let bad = ScsiError::BadSense {
            op: "TEST UNIT READY",
            raw: vec![0x70],
        };
        assert!(matches!(judge_tur(Err(&bad)), TurVerdict::Offline(_)));
    }

    #[test]
    fn generations() {
        assert_eq!(lto_generation("ULTRIUM-HH9"), Some(9));
        assert_eq!(lto_generation("ULTRIUM-TD8"), Some(8));
        assert_eq!(lto_generation("Ultrium 8-SCSI"), Some(8));
        assert_eq!(lto_generation("LTO-7"), Some(7));
        assert_eq!(lto_generation("ULT3580-TD10"), Some(10));
        assert_eq!(lto_generation("Scalar i3-i6"), None);
        assert_eq!(lto_generation(""), None);
        assert_eq!(lto_generation("LTO-99"), None);
    }
}

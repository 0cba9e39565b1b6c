//! What the Linux st driver would have made of a failed command: the errno
//! text `perror()` prints in mt-st ("/dev/nst0: Input/output error"). The
//! SCSI detail goes to the log instead, so the terminal output stays
//! byte-compatible with mt-st.

use reel_drivers::{ErrorClass, ScsiError};

/// glibc's strerror texts for the errnos st returns.
/// `io::Error`'s text without Rust's " (os error N)" suffix, as perror.
pub fn strip_os_error(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.rfind(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

pub mod text {
    pub const EIO: &str = "Input/output error";
    pub const ENOMEDIUM: &str = "No medium found";
    pub const EROFS: &str = "Read-only file system";
    pub const EACCES: &str = "Permission denied";
    pub const ENOSPC: &str = "No space left on device";
    pub const EINVAL: &str = "Invalid argument";
    pub const EBUSY: &str = "Device or resource busy";
    pub const ENOENT: &str = "No such file or directory";
    pub const ENOSYS: &str = "Function not implemented";
}

/// The errno text for a command that failed after the device was opened.
pub fn operation_error_text(e: &ScsiError) -> &'static str {
    match e.class() {
        ErrorClass::VolumeOverflow => text::ENOSPC,
        ErrorClass::ReservationConflict | ErrorClass::Busy => text::EBUSY,
        ErrorClass::NotReady if e.is_asc(0x3a, 0x00) => text::ENOMEDIUM,
        // st refuses oversized blocks and bad arguments itself with EINVAL.
        _ if matches!(e, ScsiError::Invalid { .. }) => text::EINVAL,
        ErrorClass::Transport
            if matches!(
                e,
                ScsiError::Transport {
                    source: reel_drivers::TransportError::TooLarge { .. },
                    ..
                }
            ) =>
        {
            text::EINVAL
        }
        _ => text::EIO,
    }
}

/// The errno text when a drive is not ready at open (st_open without
/// O_NONBLOCK): ENOMEDIUM with no tape, else EIO.
pub fn open_not_ready_text(e: &ScsiError) -> &'static str {
    if e.is_asc(0x3a, 0x00) {
        text::ENOMEDIUM
    } else {
        text::EIO
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reel_drivers::{Sense, SenseKey};

    fn check(key: SenseKey, asc: u8, ascq: u8) -> ScsiError {
        let sense = Sense::new(key, asc, ascq);
        ScsiError::Check {
            op: "SPACE(6)",
            raw: sense.encode_fixed(),
            sense,
        }
    }

    #[test]
    fn mapping() {
        assert_eq!(
            operation_error_text(&check(SenseKey::BlankCheck, 0x00, 0x05)),
            "Input/output error"
        );
        assert_eq!(
            operation_error_text(&check(SenseKey::VolumeOverflow, 0x00, 0x02)),
            "No space left on device"
        );
        assert_eq!(
            operation_error_text(&check(SenseKey::NotReady, 0x3a, 0x00)),
            "No medium found"
        );
        assert_eq!(
            operation_error_text(&check(SenseKey::NotReady, 0x04, 0x01)),
            "Input/output error"
        );
        assert_eq!(
            operation_error_text(&ScsiError::Invalid {
                op: "MODE SELECT(6)",
                detail: "x".into()
            }),
            "Invalid argument"
        );
        assert_eq!(
            operation_error_text(&ScsiError::Transport {
                op: "WRITE(6)",
                source: reel_drivers::TransportError::TooLarge {
                    requested: 2,
                    max: 1
                }
            }),
            "Invalid argument"
        );
        assert_eq!(
            open_not_ready_text(&check(SenseKey::NotReady, 0x3a, 0x00)),
            "No medium found"
        );
        assert_eq!(
            open_not_ready_text(&check(SenseKey::NotReady, 0x04, 0x01)),
            "Input/output error"
        );
    }
}

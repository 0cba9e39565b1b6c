//! Decoding what SG_IO reported (SCSI status, host status, driver status,
//! residual, sense length) into a [`Completion`] or a [`TransportError`].
//! Pure: numbers in, values out.
//!
//! Precedence follows sg3_utils' categorisation: sense data wins (a
//! CHECK CONDITION, or DRIVER_SENSE with sense bytes even when the status
//! byte is 0, which some HBAs report), then host status, then driver
//! status, then the SCSI status byte.

use std::time::Duration;

use super::sg_io::SgOutcome;
use crate::scsi::transport::{Completion, ScsiStatus, TransportError};

/// `host_status` values (`DID_*`, include/scsi/scsi_status.h).
pub mod host {
    pub const DID_OK: u16 = 0x00;
    pub const DID_NO_CONNECT: u16 = 0x01;
    pub const DID_BUS_BUSY: u16 = 0x02;
    pub const DID_TIME_OUT: u16 = 0x03;
    pub const DID_BAD_TARGET: u16 = 0x04;
    pub const DID_ABORT: u16 = 0x05;
    pub const DID_PARITY: u16 = 0x06;
    pub const DID_ERROR: u16 = 0x07;
    pub const DID_RESET: u16 = 0x08;
    pub const DID_BAD_INTR: u16 = 0x09;
    pub const DID_PASSTHROUGH: u16 = 0x0a;
    pub const DID_SOFT_ERROR: u16 = 0x0b;
    pub const DID_IMM_RETRY: u16 = 0x0c;
    pub const DID_REQUEUE: u16 = 0x0d;
    pub const DID_TRANSPORT_DISRUPTED: u16 = 0x0e;
    pub const DID_TRANSPORT_FAILFAST: u16 = 0x0f;
    pub const DID_TARGET_FAILURE: u16 = 0x10;
    pub const DID_NEXUS_FAILURE: u16 = 0x11;
    pub const DID_ALLOC_FAILURE: u16 = 0x12;
    pub const DID_MEDIUM_ERROR: u16 = 0x13;
    pub const DID_TRANSPORT_MARGINAL: u16 = 0x14;
}

/// `driver_status` values: `DRIVER_*` in the low nibble, `SUGGEST_*` in
/// the high nibble (include/scsi/sg.h, the obsolete scsi.h values that sg
/// still reports).
pub mod driver {
    pub const DRIVER_OK: u16 = 0x00;
    pub const DRIVER_BUSY: u16 = 0x01;
    pub const DRIVER_SOFT: u16 = 0x02;
    pub const DRIVER_MEDIA: u16 = 0x03;
    pub const DRIVER_ERROR: u16 = 0x04;
    pub const DRIVER_INVALID: u16 = 0x05;
    pub const DRIVER_TIMEOUT: u16 = 0x06;
    pub const DRIVER_HARD: u16 = 0x07;
    pub const DRIVER_SENSE: u16 = 0x08;
    pub const DRIVER_MASK: u16 = 0x0f;
    pub const SUGGEST_RETRY: u16 = 0x10;
    pub const SUGGEST_ABORT: u16 = 0x20;
    pub const SUGGEST_REMAP: u16 = 0x30;
    pub const SUGGEST_DIE: u16 = 0x40;
    pub const SUGGEST_SENSE: u16 = 0x80;
    pub const SUGGEST_MASK: u16 = 0xf0;
}

/// Name of a `DID_*` host status.
pub fn host_status_name(code: u16) -> &'static str {
    use host::*;
    match code {
        DID_OK => "DID_OK",
        DID_NO_CONNECT => "DID_NO_CONNECT",
        DID_BUS_BUSY => "DID_BUS_BUSY",
        DID_TIME_OUT => "DID_TIME_OUT",
        DID_BAD_TARGET => "DID_BAD_TARGET",
        DID_ABORT => "DID_ABORT",
        DID_PARITY => "DID_PARITY",
        DID_ERROR => "DID_ERROR",
        DID_RESET => "DID_RESET",
        DID_BAD_INTR => "DID_BAD_INTR",
        DID_PASSTHROUGH => "DID_PASSTHROUGH",
        DID_SOFT_ERROR => "DID_SOFT_ERROR",
        DID_IMM_RETRY => "DID_IMM_RETRY",
        DID_REQUEUE => "DID_REQUEUE",
        DID_TRANSPORT_DISRUPTED => "DID_TRANSPORT_DISRUPTED",
        DID_TRANSPORT_FAILFAST => "DID_TRANSPORT_FAILFAST",
        DID_TARGET_FAILURE => "DID_TARGET_FAILURE",
        DID_NEXUS_FAILURE => "DID_NEXUS_FAILURE",
        DID_ALLOC_FAILURE => "DID_ALLOC_FAILURE",
        DID_MEDIUM_ERROR => "DID_MEDIUM_ERROR",
        DID_TRANSPORT_MARGINAL => "DID_TRANSPORT_MARGINAL",
        _ => "unknown host status",
    }
}

/// Name of the `DRIVER_*` part (low nibble) of a driver status.
pub fn driver_status_name(code: u16) -> &'static str {
    use driver::*;
    match code & DRIVER_MASK {
        DRIVER_OK => "DRIVER_OK",
        DRIVER_BUSY => "DRIVER_BUSY",
        DRIVER_SOFT => "DRIVER_SOFT",
        DRIVER_MEDIA => "DRIVER_MEDIA",
        DRIVER_ERROR => "DRIVER_ERROR",
        DRIVER_INVALID => "DRIVER_INVALID",
        DRIVER_TIMEOUT => "DRIVER_TIMEOUT",
        DRIVER_HARD => "DRIVER_HARD",
        DRIVER_SENSE => "DRIVER_SENSE",
        _ => "unknown driver status",
    }
}

/// Name of the `SUGGEST_*` part (high nibble) of a driver status, if any.
pub fn driver_suggestion_name(code: u16) -> Option<&'static str> {
    use driver::*;
    match code & SUGGEST_MASK {
        0 => None,
        SUGGEST_RETRY => Some("SUGGEST_RETRY"),
        SUGGEST_ABORT => Some("SUGGEST_ABORT"),
        SUGGEST_REMAP => Some("SUGGEST_REMAP"),
        SUGGEST_DIE => Some("SUGGEST_DIE"),
        SUGGEST_SENSE => Some("SUGGEST_SENSE"),
        _ => Some("unknown suggestion"),
    }
}

/// The SCSI status byte. Old drivers filled only `masked_status` (the
/// status shifted right by one); rebuild the byte from it when `status`
/// is 0 but `masked_status` is not.
pub fn scsi_status(o: &SgOutcome) -> ScsiStatus {
    if o.status == 0 && o.masked_status != 0 {
        ScsiStatus((o.masked_status & 0x7f) << 1)
    } else {
        ScsiStatus(o.status)
    }
}

/// Turns one SG_IO outcome into a completion or a transport error.
/// `sense_buf` is the buffer given to the kernel, `requested` the
/// data-phase length and `timeout` the timeout that was applied.
pub fn decode(
    o: &SgOutcome,
    sense_buf: &[u8],
    requested: usize,
    timeout: Duration,
) -> Result<Completion, TransportError> {
    let sense_len = usize::from(o.sb_len_wr).min(sense_buf.len());
    let sense = sense_buf.get(..sense_len).unwrap_or(&[]);
    let status = scsi_status(o);
    let drv = o.driver_status & driver::DRIVER_MASK;

    let has_sense =
        status == ScsiStatus::CHECK_CONDITION || (drv == driver::DRIVER_SENSE && !sense.is_empty());
    if has_sense {
        let residual = residual(o.resid, requested)?;
        return Ok(Completion {
            // DRIVER_SENSE with status 0 is still a CHECK CONDITION.
            status: ScsiStatus::CHECK_CONDITION,
            sense: sense.to_vec(),
            residual,
        });
    }
    if o.host_status != host::DID_OK {
        if o.host_status == host::DID_TIME_OUT {
            return Err(TransportError::Timeout(timeout));
        }
        return Err(TransportError::Host {
            code: o.host_status,
            name: host_status_name(o.host_status),
        });
    }
    // DRIVER_SENSE without sense bytes says nothing useful; ignore it.
    if drv != driver::DRIVER_OK && drv != driver::DRIVER_SENSE {
        if drv == driver::DRIVER_TIMEOUT {
            return Err(TransportError::Timeout(timeout));
        }
        return Err(TransportError::Driver {
            code: o.driver_status,
            name: driver_status_name(o.driver_status),
        });
    }
    let residual = residual(o.resid, requested)?;
    Ok(Completion {
        status,
        sense: sense.to_vec(),
        residual,
    })
}

/// Checks the adapter's residual against the request. A negative residual
/// or one larger than the request is impossible and reported as a
/// transport error, never turned into silently short data (field note A8).
pub fn residual(resid: i32, requested: usize) -> Result<usize, TransportError> {
    if resid < 0 {
        return Err(TransportError::ResidualMismatch {
            requested,
            residual: 0,
            detail: format!("the adapter reported a negative residual ({resid})"),
        });
    }
    let r = resid as usize; // non-negative i32 fits usize
    if r > requested {
        return Err(TransportError::ResidualMismatch {
            requested,
            residual: r,
            detail: "the residual is larger than the transfer".to_string(),
        });
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Duration = Duration::from_secs(30);

    fn out(status: u8, host: u16, drv: u16, sb: u8, resid: i32) -> SgOutcome {
        SgOutcome {
            status,
            masked_status: status >> 1,
            host_status: host,
            driver_status: drv,
            sb_len_wr: sb,
            resid,
            duration_ms: 5,
            info: 0,
        }
    }

    // Fixed-format sense: NOT READY, 3A/00 medium not present.
    const SENSE: [u8; 18] = [
        0x70, 0, 0x02, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x3a, 0x00, 0, 0, 0, 0,
    ];

    fn sense_buf() -> [u8; 252] {
        let mut b = [0u8; 252];
        b[..18].copy_from_slice(&SENSE);
        b
    }

    #[test]
    fn host_names() {
        let cases: [(u16, &str); 21] = [
            (0x00, "DID_OK"),
            (0x01, "DID_NO_CONNECT"),
            (0x02, "DID_BUS_BUSY"),
            (0x03, "DID_TIME_OUT"),
            (0x04, "DID_BAD_TARGET"),
            (0x05, "DID_ABORT"),
            (0x06, "DID_PARITY"),
            (0x07, "DID_ERROR"),
            (0x08, "DID_RESET"),
            (0x09, "DID_BAD_INTR"),
            (0x0a, "DID_PASSTHROUGH"),
            (0x0b, "DID_SOFT_ERROR"),
            (0x0c, "DID_IMM_RETRY"),
            (0x0d, "DID_REQUEUE"),
            (0x0e, "DID_TRANSPORT_DISRUPTED"),
            (0x0f, "DID_TRANSPORT_FAILFAST"),
            (0x10, "DID_TARGET_FAILURE"),
            (0x11, "DID_NEXUS_FAILURE"),
            (0x12, "DID_ALLOC_FAILURE"),
            (0x13, "DID_MEDIUM_ERROR"),
            (0x14, "DID_TRANSPORT_MARGINAL"),
        ];
        for (code, name) in cases {
            assert_eq!(host_status_name(code), name, "code {code:#x}");
        }
        assert_eq!(host_status_name(0x15), "unknown host status");
        assert_eq!(host_status_name(0xffff), "unknown host status");
    }

    #[test]
    fn driver_names() {
        let cases: [(u16, &str); 9] = [
            (0x00, "DRIVER_OK"),
            (0x01, "DRIVER_BUSY"),
            (0x02, "DRIVER_SOFT"),
            (0x03, "DRIVER_MEDIA"),
            (0x04, "DRIVER_ERROR"),
            (0x05, "DRIVER_INVALID"),
            (0x06, "DRIVER_TIMEOUT"),
            (0x07, "DRIVER_HARD"),
            (0x08, "DRIVER_SENSE"),
        ];
        for (code, name) in cases {
            assert_eq!(driver_status_name(code), name);
        }
        // Suggestion bits do not change the DRIVER_* name.
        assert_eq!(driver_status_name(0x28), "DRIVER_SENSE");
        assert_eq!(driver_status_name(0x09), "unknown driver status");
        assert_eq!(driver_suggestion_name(0x28), Some("SUGGEST_ABORT"));
        assert_eq!(driver_suggestion_name(0x10), Some("SUGGEST_RETRY"));
        assert_eq!(driver_suggestion_name(0x30), Some("SUGGEST_REMAP"));
        assert_eq!(driver_suggestion_name(0x40), Some("SUGGEST_DIE"));
        assert_eq!(driver_suggestion_name(0x80), Some("SUGGEST_SENSE"));
        assert_eq!(driver_suggestion_name(0x08), None);
    }

    #[test]
    fn good_with_residual() {
        let c = decode(&out(0, 0, 0, 0, 100), &[0u8; 252], 512, T).unwrap();
        assert_eq!(c.status, ScsiStatus::GOOD);
        assert_eq!(c.residual, 100);
        assert!(c.sense.is_empty());
    }

    #[test]
    fn check_condition_returns_sense() {
        let c = decode(&out(0x02, 0, 0x08, 18, 0), &sense_buf(), 0, T).unwrap();
        assert_eq!(c.status, ScsiStatus::CHECK_CONDITION);
        assert_eq!(c.sense, SENSE.to_vec());
    }

    #[test]
    fn driver_sense_with_status_zero_is_check_condition() {
        let c = decode(&out(0, 0, 0x08, 18, 0), &sense_buf(), 0, T).unwrap();
        assert_eq!(c.status, ScsiStatus::CHECK_CONDITION);
        assert_eq!(c.sense.len(), 18);
    }

    #[test]
    fn driver_sense_without_sense_bytes_is_ignored() {
        let c = decode(&out(0, 0, 0x08, 0, 0), &[0u8; 252], 0, T).unwrap();
        assert_eq!(c.status, ScsiStatus::GOOD);
    }

    #[test]
    fn masked_status_only() {
        // Old driver: status 0, masked_status 0x01 = CHECK CONDITION >> 1.
        let mut o = out(0, 0, 0, 18, 0);
        o.masked_status = 0x01;
        let c = decode(&o, &sense_buf(), 0, T).unwrap();
        assert_eq!(c.status, ScsiStatus::CHECK_CONDITION);
        // masked 0x04 = BUSY (0x08) >> 1
        let mut o = out(0, 0, 0, 0, 0);
        o.masked_status = 0x04;
        assert_eq!(decode(&o, &[], 0, T).unwrap().status, ScsiStatus::BUSY);
    }

    #[test]
    fn sense_length_clamped_to_buffer() {
        // sb_len_wr claims 200 bytes but the buffer given was 32.
        let c = decode(&out(0x02, 0, 0, 200, 0), &[0u8; 32], 0, T).unwrap();
        assert_eq!(c.sense.len(), 32);
    }

    #[test]
    fn host_errors_by_name() {
        for (code, name) in [
            (0x01, "DID_NO_CONNECT"),
            (0x05, "DID_ABORT"),
            (0x07, "DID_ERROR"),
            (0x08, "DID_RESET"),
            (0x0e, "DID_TRANSPORT_DISRUPTED"),
        ] {
            match decode(&out(0, code, 0, 0, 0), &[], 0, T) {
                Err(TransportError::Host { code: c, name: n }) => {
                    assert_eq!(c, code);
                    assert_eq!(n, name);
                }
                other => panic!("{code:#x}: {other:?}"),
            }
        }
        let e = decode(&out(0, 0x05, 0, 0, 0), &[], 0, T).unwrap_err();
        assert_eq!(e.to_string(), "host adapter error DID_ABORT (0x05)");
    }

    #[test]
    fn timeouts() {
        assert!(matches!(
            decode(&out(0, 0x03, 0, 0, 0), &[], 0, T),
            Err(TransportError::Timeout(t)) if t == T
        ));
        assert!(matches!(
            decode(&out(0, 0, 0x06, 0, 0), &[], 0, T),
            Err(TransportError::Timeout(t)) if t == T
        ));
    }

    #[test]
    fn driver_errors() {
        match decode(&out(0, 0, 0x24, 0, 0), &[], 0, T) {
            Err(TransportError::Driver { code, name }) => {
                assert_eq!(code, 0x24);
                assert_eq!(name, "DRIVER_ERROR");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn sense_beats_host_status() {
        let c = decode(&out(0x02, 0x07, 0x08, 18, 0), &sense_buf(), 0, T).unwrap();
        assert_eq!(c.status, ScsiStatus::CHECK_CONDITION);
    }

    #[test]
    fn other_statuses_pass_through() {
        let c = decode(&out(0x18, 0, 0, 0, 0), &[], 0, T).unwrap();
        assert_eq!(c.status, ScsiStatus::RESERVATION_CONFLICT);
        let c = decode(&out(0x08, 0, 0, 0, 0), &[], 0, T).unwrap();
        assert_eq!(c.status, ScsiStatus::BUSY);
    }

    #[test]
    fn impossible_residuals() {
        match decode(&out(0, 0, 0, 0, -4), &[], 512, T) {
            Err(TransportError::ResidualMismatch {
                requested, detail, ..
            }) => {
                assert_eq!(requested, 512);
                assert!(detail.contains("-4"));
            }
            other => panic!("{other:?}"),
        }
        match decode(&out(0x02, 0, 0, 18, 1024), &sense_buf(), 512, T) {
            Err(TransportError::ResidualMismatch {
                requested,
                residual,
                ..
            }) => {
                assert_eq!((requested, residual), (512, 1024));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(residual(512, 512).unwrap(), 512);
        assert_eq!(residual(0, 0).unwrap(), 0);
    }

    proptest::proptest! {
        #[test]
        fn decode_never_panics(
            status: u8, masked: u8, host: u16, drv: u16, sb: u8, resid: i32,
            requested in 0usize..1 << 24, sense in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..260)
        ) {
            let o = SgOutcome { status, masked_status: masked, host_status: host, driver_status: drv, sb_len_wr: sb, resid, duration_ms: 0, info: 0 };
            if let Ok(c) = decode(&o, &sense, requested, T) {
                proptest::prop_assert!(c.residual <= requested);
                proptest::prop_assert!(c.sense.len() <= sense.len());
            }
        }
    }
}

//! Runs one CDB through a transport and turns the outcome into
//! `Result<_, ScsiError>`: the single place where status and sense are
//! classified, for every transport and every device type.
//!
//! [`exchange`] sends a command and decodes its sense data; [`run`] also
//! turns every CHECK CONDITION into an error. Drivers that must look at the
//! sense of a CHECK CONDITION before deciding (a READ that hit a filemark,
//! a WRITE past early warning) call [`exchange`] and then
//! [`Reply::into_result`] for the cases they do not handle.

use std::time::Duration;

use super::error::ScsiError;
use super::sense::Sense;
use super::transport::{DataDirection, ScsiStatus, ScsiTransport, TransportError};

/// A successful command: how many bytes moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub transferred: usize,
}

/// What the device answered to one command, before classification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Bytes the caller asked to move.
    pub requested: usize,
    pub status: ScsiStatus,
    /// Decoded sense data of a CHECK CONDITION.
    pub sense: Option<Sense>,
    /// The sense bytes as the device sent them.
    pub raw_sense: Vec<u8>,
    /// Residual as the transport reported it (not yet cross-checked).
    pub residual: usize,
}

impl Reply {
    /// GOOD (or CONDITION MET): bytes moved, after checking that the
    /// residual is not larger than the request (field note A8). CHECK
    /// CONDITION becomes [`ScsiError::Check`], other statuses
    /// [`ScsiError::Status`].
    pub fn into_result(self, op: &'static str) -> Result<Outcome, ScsiError> {
        match (self.status, self.sense) {
            (ScsiStatus::GOOD | ScsiStatus::CONDITION_MET, _) => {
                if self.residual > self.requested {
                    return Err(ScsiError::residual_mismatch(
                        op,
                        self.requested,
                        self.residual,
                        "residual exceeds the request",
                    ));
                }
                Ok(Outcome {
                    transferred: self.requested - self.residual,
                })
            }
            (_, Some(sense)) => Err(ScsiError::Check {
                op,
                sense,
                raw: self.raw_sense,
            }),
            (status, None) => Err(ScsiError::Status { op, status }),
        }
    }
}

/// Sends `cdb` and decodes the sense data of a CHECK CONDITION (undecodable
/// sense is [`ScsiError::BadSense`]). Refuses transfers above the
/// transport's limit before sending anything.
pub fn exchange(
    t: &mut dyn ScsiTransport,
    op: &'static str,
    cdb: &[u8],
    data: DataDirection<'_>,
    timeout: Duration,
) -> Result<Reply, ScsiError> {
    let requested = data.len();
    let max = t.max_transfer();
    if requested > max {
        return Err(ScsiError::Transport {
            op,
            source: TransportError::TooLarge { requested, max },
        });
    }
    tracing::trace!(op, cdb = ?cdb, len = requested, "scsi command");
    let c = t
        .execute(cdb, data, timeout)
        .map_err(|source| ScsiError::Transport { op, source })?;
    let sense = if c.status == ScsiStatus::CHECK_CONDITION {
        match Sense::parse(&c.sense) {
            Ok(s) => Some(s),
            Err(_) => return Err(ScsiError::BadSense { op, raw: c.sense }),
        }
    } else {
        None
    };
    Ok(Reply {
        requested,
        status: c.status,
        sense,
        raw_sense: c.sense,
        residual: c.residual,
    })
}

/// Executes `cdb`; CHECK CONDITION becomes [`ScsiError::Check`]. Refuses
/// transfers above the transport's limit before sending anything.
pub fn run(
    t: &mut dyn ScsiTransport,
    op: &'static str,
    cdb: &[u8],
    data: DataDirection<'_>,
    timeout: Duration,
) -> Result<Outcome, ScsiError> {
    exchange(t, op, cdb, data, timeout)?.into_result(op)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scsi::error::ErrorClass;
    use crate::scsi::transport::Completion;

    /// Answers every command with one completion.
    struct Fixed(Completion);

    impl ScsiTransport for Fixed {
        fn execute(
            &mut self,
            _cdb: &[u8],
            _data: DataDirection<'_>,
            _timeout: Duration,
        ) -> Result<Completion, TransportError> {
            Ok(self.0.clone())
        }

        fn describe(&self) -> String {
            "fixed".into()
        }
    }

    fn run_with(c: Completion, len: usize) -> Result<Outcome, ScsiError> {
        let mut buf = vec![0u8; len];
        run(
            &mut Fixed(c),
            "INQUIRY",
            &[0x12, 0, 0, 0, 0xff, 0],
            DataDirection::FromDevice(&mut buf),
            Duration::from_secs(1),
        )
    }

    #[test]
    fn good_with_residual() {
        assert_eq!(
            run_with(Completion::good(200), 255).unwrap(),
            Outcome { transferred: 55 }
        );
    }

    #[test]
    fn residual_larger_than_request_is_a_transport_error() {
        let e = run_with(Completion::good(256), 255).unwrap_err();
        assert!(matches!(
            e,
            ScsiError::Transport {
                source: TransportError::ResidualMismatch {
                    requested: 255,
                    residual: 256,
                    ..
                },
                ..
            }
        ));
    }

    #[test]
    fn check_condition_keeps_raw_sense() {
        let raw = vec![
            0x70, 0, 0x02, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x3a, 0x00, 0, 0, 0, 0,
        ];
        let e = run_with(Completion::check_condition(raw.clone(), 255), 255).unwrap_err();
        assert_eq!(e.class(), ErrorClass::NotReady);
        assert!(e.is_asc(0x3a, 0x00));
        assert_eq!(e.raw_sense(), Some(raw.as_slice()));
        let e = run_with(Completion::check_condition(vec![0x00, 1, 2], 0), 255).unwrap_err();
        assert!(matches!(e, ScsiError::BadSense { .. }));
        let busy = Completion {
            status: ScsiStatus::BUSY,
            sense: Vec::new(),
            residual: 0,
        };
        assert_eq!(run_with(busy, 0).unwrap_err().class(), ErrorClass::Busy);
    }
}

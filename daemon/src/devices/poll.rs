//! One health poll of one device, on its worker thread: TEST UNIT READY,
//! then the TapeAlert flags of a drive or the drive elements of a changer.
//! The worker queues a poll only while the device is idle, so nothing here
//! waits behind a moving tape.

use std::time::Duration;

use reel_drivers::scsi::command;
use reel_drivers::scsi::error::{ErrorClass, ScsiError};
use reel_drivers::tape::tape_alert::TapeAlerts;
use reel_drivers::{DataDirection, ScsiTransport};

use super::health::{TurVerdict, judge_tur};
use super::worker::{Changer, Drive};

/// Unit attentions consumed before a poll gives up asking.
const UA_RETRIES: usize = 4;
const TUR_TIMEOUT: Duration = Duration::from_secs(30);

/// What one poll found.
#[derive(Debug, Clone)]
pub(crate) struct PollReport {
    pub verdict: TurVerdict,
    /// The flags and whether the read cleared them on the drive (2Eh).
    pub tape_alerts: Option<(TapeAlerts, bool)>,
    pub loaded: Loaded,
    /// The transport failed: the worker drops it and reopens next time.
    pub transport_lost: bool,
}

/// Cartridges in drives, as far as this poll can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Loaded {
    Unknown,
    /// A drive outside any library: what its cartridge memory says.
    Drive(Option<String>),
    /// A changer: barcode per drive element address.
    Library(Vec<(u16, Option<String>)>),
}

impl PollReport {
    pub fn offline(reason: String) -> PollReport {
        PollReport {
            verdict: TurVerdict::Offline(reason),
            tape_alerts: None,
            loaded: Loaded::Unknown,
            transport_lost: true,
        }
    }
}

/// TEST UNIT READY through `tur`, consuming unit attentions.
fn tur_until_answer(
    mut tur: impl FnMut() -> Result<(), ScsiError>,
) -> (TurVerdict, Option<ErrorClass>) {
    for _ in 0..UA_RETRIES {
        let r = tur();
        let v = judge_tur(r.as_ref().map(|_| ()));
        if v != TurVerdict::Again {
            return (v, r.err().map(|e| e.class()));
        }
    }
    (
        TurVerdict::Settling("unit attentions kept coming".into()),
        None,
    )
}

/// Polls a tape drive. `clearing` reads page 2Eh (clears the flags) and
/// is set for good when the drive lacks page 12h. `standalone` drives
/// report their cartridge from its memory; library drives get it from the
/// changer.
pub(crate) fn poll_drive(d: &mut Drive, clearing: &mut bool, standalone: bool) -> PollReport {
    let (verdict, class) = tur_until_answer(|| d.test_unit_ready());
    let transport_lost = class == Some(ErrorClass::Transport);
    if transport_lost {
        return PollReport::offline(match verdict {
            TurVerdict::Offline(r) => r,
            other => format!("{other:?}"),
        });
    }
    // LOG SENSE needs no medium, so a failed drive still reports why.
    let tape_alerts = read_tape_alerts(d, clearing);
    let loaded = if standalone {
        Loaded::Drive(match verdict {
            TurVerdict::Ready => d.mam().ok().and_then(|m| m.barcode),
            _ => None,
        })
    } else {
        Loaded::Unknown
    };
    PollReport {
        verdict,
        tape_alerts,
        loaded,
        transport_lost: false,
    }
}

fn read_tape_alerts(d: &mut Drive, clearing: &mut bool) -> Option<(TapeAlerts, bool)> {
    if !*clearing {
        match d.tape_alerts() {
            Ok(t) => return Some((t, false)),
            Err(e) if e.class() == ErrorClass::IllegalRequest => {
                tracing::info!("no TapeAlert page 12h; reading page 2Eh (clears the flags)");
                *clearing = true;
            }
            Err(e) => {
                tracing::debug!(error = %e, "TapeAlert read failed");
                return None;
            }
        }
    }
    match d.tape_alerts_clearing() {
        Ok(t) => Some((t, true)),
        Err(e) => {
            tracing::debug!(error = %e, "TapeAlert page 2Eh read failed");
            None
        }
    }
}

/// Polls a changer: TEST UNIT READY, then a fresh element status (which
/// also tells which cartridge each drive holds).
pub(crate) fn poll_changer(l: &mut Changer) -> PollReport {
    let (verdict, class) = tur_until_answer(|| {
        let t: &mut dyn ScsiTransport = l.changer().transport();
        command::run(
            t,
            "TEST UNIT READY",
            &[0; 6],
            DataDirection::None,
            TUR_TIMEOUT,
        )
        .map(|_| ())
    });
    if class == Some(ErrorClass::Transport) {
        return PollReport::offline(match verdict {
            TurVerdict::Offline(r) => r,
            other => format!("{other:?}"),
        });
    }
    // A robot without a magazine answers "medium not present": still fine.
    let verdict = match verdict {
        TurVerdict::Empty => TurVerdict::Ready,
        v => v,
    };
    let mut loaded = Loaded::Unknown;
    let mut verdict = verdict;
    if matches!(verdict, TurVerdict::Ready) {
        match l.refresh() {
            Ok(inv) => {
                loaded = Loaded::Library(
                    inv.drives
                        .iter()
                        .map(|e| (e.address, e.full.then(|| e.barcode()).flatten()))
                        .collect(),
                )
            }
            Err(e) => verdict = TurVerdict::Settling(format!("element status: {e}")),
        }
    }
    PollReport {
        verdict,
        tape_alerts: None,
        loaded,
        transport_lost: false,
    }
}

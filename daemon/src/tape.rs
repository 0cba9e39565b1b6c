//! The one place `reelctl` calls the SSC driver: a thin wrapper around
//! [`TapeDrive`] with the compound operations mt needs (fsfm, asf, the mt
//! status snapshot) and progress for long operations.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use reel_drivers::tape::drive::{FileStart, OperationState};
use reel_drivers::tape::{DriveStatus, Position, SpaceKind, SpaceOutcome, TapeDrive};
use reel_drivers::{ErrorClass, ScsiError, ScsiTransport};

use crate::mt::status::{GstatFacts, MtStatus, gstat};
use crate::poscache::PositionCache;
use crate::progress::Progress;

pub type Drive = TapeDrive<Box<dyn ScsiTransport>>;

#[derive(Debug, thiserror::Error)]
pub enum TapeError {
    #[error(transparent)]
    Scsi(#[from] ScsiError),
    /// A SPACE stopped before moving the whole count.
    #[error("spacing {count} {what} stopped at {at}, {remaining} not moved")]
    Incomplete {
        what: &'static str,
        count: i64,
        at: &'static str,
        remaining: u64,
    },
}

/// An opened tape device and the address it was opened by.
pub struct Tape {
    pub drive: Drive,
    pub address: String,
    /// Where the current file starts, kept across processes (st keeps it in
    /// the kernel); stored when the `Tape` is dropped.
    cache: Option<PositionCache>,
}

impl Tape {
    pub fn new(drive: Drive, address: impl Into<String>) -> Tape {
        Tape {
            drive,
            address: address.into(),
            cache: None,
        }
    }

    /// Keeps the start of the current file in a cache file under `dir`
    /// between processes: offered to the driver now, recorded from what the
    /// driver knows when this `Tape` is dropped.
    pub fn attach_position_cache(&mut self, dir: PathBuf) {
        let c = PositionCache::for_drive(dir, &self.address, &mut self.drive);
        c.restore(&mut self.drive);
        self.cache = Some(c);
    }

    /// Offers the driver the file start it knew before an operation that
    /// made it forget (spacing blocks, LOCATE): still true if the tape is in
    /// the same file, which the driver checks with READ POSITION.
    fn keep_track(&mut self, before: Option<FileStart>) {
        if self.drive.file_start().is_none()
            && let Some(fs) = before
            && let Err(e) = self.drive.remember_file_start(fs.file, fs.origin)
        {
            tracing::debug!("{}: {e}", self.address);
        }
    }

    /// Waits out "becoming ready" and consumes the unit attentions a load or
    /// reset leaves, like st's open does. Not ready without a tape is an
    /// error (3A/00).
    pub fn ready(&mut self) -> Result<(), ScsiError> {
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut ua = 0;
        loop {
            match self.drive.test_unit_ready() {
                Ok(()) => return Ok(()),
                // The driver consumes a few queued unit attentions itself;
                // more than that in a row is worth a few more tries only.
                Err(e) if e.class() == ErrorClass::UnitAttention && ua < 8 => ua += 1,
                Err(e) if e.is_asc(0x04, 0x01) && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => return Err(e),
            }
        }
    }

    pub fn position(&mut self) -> Result<Position, ScsiError> {
        self.drive.read_position()
    }

    /// Logical object number, for `tell`.
    pub fn tell(&mut self) -> Result<u64, ScsiError> {
        let p = self.position()?;
        p.block
            .ok_or_else(|| ScsiError::malformed("READ POSITION", "position unknown (LOCU)"))
    }

    /// SPACE that must move the whole count: stopping early at a
    /// filemark, end of data or the beginning of the partition is a failure
    /// (st returns EIO then), with the tape left where it stopped.
    pub fn space(&mut self, kind: SpaceKind, count: i64) -> Result<(), TapeError> {
        if count == 0 && kind != SpaceKind::EndOfData {
            return Ok(());
        }
        let before = self.drive.file_start();
        let r = self.drive.space(kind, count);
        self.keep_track(before);
        let (at, remaining) = match r? {
            SpaceOutcome::Done => return Ok(()),
            SpaceOutcome::Filemark { remaining } => ("a filemark", remaining),
            SpaceOutcome::EndOfData { remaining } => ("end of data", remaining),
            SpaceOutcome::BeginningOfPartition { remaining } => {
                ("the beginning of the partition", remaining)
            }
            SpaceOutcome::EndOfPartition { remaining } => ("the end of the partition", remaining),
        };
        Err(TapeError::Incomplete {
            what: match kind {
                SpaceKind::Blocks => "records",
                SpaceKind::Filemarks => "filemarks",
                _ => "spacing",
            },
            count,
            at,
            remaining,
        })
    }

    /// st's MTFSFM: forward `n` filemarks, then back over the last one so
    /// the tape sits on its BOP side.
    pub fn fsfm(&mut self, n: i64) -> Result<(), TapeError> {
        self.space(SpaceKind::Filemarks, n)?;
        self.space(SpaceKind::Filemarks, -1)
    }

    /// st's MTBSFM: back `n` filemarks, then forward over one so the tape
    /// sits on the EOP side of it.
    pub fn bsfm(&mut self, n: i64) -> Result<(), TapeError> {
        self.space(SpaceKind::Filemarks, -n)?;
        self.space(SpaceKind::Filemarks, 1)
    }

    /// mt-st's asf: rewind, then forward `n` files.
    pub fn asf(&mut self, n: i64) -> Result<(), TapeError> {
        self.rewind()?;
        self.space(SpaceKind::Filemarks, n)
    }

    /// On a terminal the rewind runs with IMMED and the drive's progress
    /// indication is shown; elsewhere it is one synchronous command.
    pub fn rewind(&mut self) -> Result<(), ScsiError> {
        if !Progress::enabled() {
            return self.drive.rewind(false);
        }
        let p = Progress::start("rewinding");
        let r = self
            .drive
            .rewind(true)
            .and_then(|()| self.wait_operation(&p));
        p.finish();
        r
    }

    pub fn erase(&mut self, long: bool) -> Result<(), ScsiError> {
        if !Progress::enabled() {
            return self.drive.erase(long);
        }
        let p = Progress::start(if long { "erasing (long)" } else { "erasing" });
        let r = self
            .drive
            .start_erase(long)
            .and_then(|()| self.wait_operation(&p));
        p.finish();
        r
    }

    /// Polls REQUEST SENSE until an IMMED operation ends, showing its
    /// progress indication.
    fn wait_operation(&mut self, p: &Progress) -> Result<(), ScsiError> {
        loop {
            match self.drive.operation_state()? {
                OperationState::Done => return Ok(()),
                OperationState::InProgress { fraction } => {
                    if let Some(f) = fraction {
                        p.set_indication((f * 65536.0).min(65535.0) as u16);
                    }
                    std::thread::sleep(Duration::from_millis(250));
                }
            }
        }
    }

    pub fn locate(&mut self, block: u64, partition: Option<u8>) -> Result<(), ScsiError> {
        let before = self.drive.file_start();
        let p = Progress::start("locating");
        let r = self.drive.locate(block, partition);
        p.finish();
        if partition.is_none() {
            self.keep_track(before);
        }
        r
    }

    /// Everything `mt status` prints, never failing and never moving the
    /// tape (mt-st does not either): a drive without a tape reports DR_OPEN
    /// and an unknown position, as st does. The file number comes from
    /// READ POSITION (long form); the block number within the file is known
    /// when the driver knows where the file starts (file 0, a filemark
    /// crossed in this process, or an earlier process's crossing taken from
    /// the position cache on open), otherwise it is -1, as st prints when it
    /// has lost track.
    pub fn mt_status(&mut self) -> MtStatus {
        let online = self.ready().is_ok();
        let st = match self.drive.status() {
            Ok(s) => s,
            Err(e) => {
                tracing::info!("{}: status: {e}", self.address);
                DriveStatus::default()
            }
        };
        let online = online && st.online;
        let (file, block) = if online {
            (
                st.file.map_or(-1, clamp_i32),
                st.block.map_or(-1, clamp_i32),
            )
        } else {
            (-1, -1)
        };
        let facts = GstatFacts {
            file,
            block,
            online,
            no_tape: st.door_open || !online,
            write_protected: online && st.write_protected,
            early_warning: online && st.eot,
            eod: online && st.eod,
            setmark: false,
            density: st.density_code,
            // st buffers writes by default and reports that as IM_REP_EN,
            // with or without a tape.
            buffered: true,
            cleaning_requested: st.cleaning_needed,
        };
        MtStatus {
            file,
            block,
            partition: st.partition,
            block_size: st.block_size,
            density: st.density_code,
            soft_errors: 0,
            gstat: gstat(&facts),
        }
    }
}

impl Drop for Tape {
    fn drop(&mut self) {
        if let Some(c) = self.cache.take() {
            c.store(&mut self.drive);
        }
    }
}

fn clamp_i32(v: u64) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

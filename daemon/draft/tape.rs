//! The one place `reelctl` calls the SSC driver: a thin wrapper around
//! [`TapeDrive`] with the compound operations mt needs (fsfm, asf, the mt
//! status snapshot) and progress for long operations.

use std::time::{Duration, Instant};

use reel_drivers::tape::{Position, SpaceKind, TapeDrive};
use reel_drivers::{ErrorClass, ScsiError, ScsiTransport};

use crate::mt::status::{GstatFacts, MtStatus, gstat};
use crate::progress::Progress;

pub type Drive = TapeDrive<Box<dyn ScsiTransport>>;

/// An opened tape device and the address it was opened by.
pub struct Tape {
    pub drive: Drive,
    pub address: String,
}

impl Tape {
    pub fn new(drive: Drive, address: impl Into<String>) -> Tape {
        Tape {
            drive,
            address: address.into(),
        }
    }

    /// Waits out "becoming ready" and consumes the unit attentions a load or
    /// reset leaves, like st's open does. Not ready without a tape is an
    /// error (3A/00).
    pub fn ready(&mut self) -> Result<(), ScsiError> {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            match self.drive.test_unit_ready() {
                Ok(()) => return Ok(()),
                Err(e) if e.class() == ErrorClass::UnitAttention => continue,
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

    pub fn space(&mut self, kind: SpaceKind, count: i64) -> Result<(), ScsiError> {
        if count == 0 && kind != SpaceKind::EndOfData {
            return Ok(());
        }
        self.drive.space(kind, count).map(|_| ())
    }

    /// st's MTFSFM: forward `n` filemarks, then back over the last one so
    /// the tape sits on its BOP side.
    pub fn fsfm(&mut self, n: i64) -> Result<(), ScsiError> {
        self.space(SpaceKind::Filemarks, n)?;
        self.space(SpaceKind::Filemarks, -1)
    }

    /// st's MTBSFM: back `n` filemarks, then forward over one so the tape
    /// sits on the EOP side of it.
    pub fn bsfm(&mut self, n: i64) -> Result<(), ScsiError> {
        self.space(SpaceKind::Filemarks, -n)?;
        self.space(SpaceKind::Filemarks, 1)
    }

    /// mt-st's asf: rewind, then forward `n` files.
    pub fn asf(&mut self, n: i64) -> Result<(), ScsiError> {
        self.rewind()?;
        self.space(SpaceKind::Filemarks, n)
    }

    pub fn rewind(&mut self) -> Result<(), ScsiError> {
        let p = Progress::start("rewinding");
        let r = self.drive.rewind(false);
        p.finish();
        r
    }

    pub fn erase(&mut self, long: bool) -> Result<(), ScsiError> {
        let p = Progress::start(if long { "erasing (long)" } else { "erasing" });
        let r = self.drive.erase(long);
        p.finish();
        r
    }

    pub fn locate(&mut self, block: u64, partition: Option<u8>) -> Result<(), ScsiError> {
        let p = Progress::start("locating");
        let r = self.drive.locate(block, partition);
        p.finish();
        r.map(|_| ())
    }

    /// The file number, the block number within that file (as st counts
    /// them), and the partition. st tracks these in the kernel across
    /// opens; a fresh process has to ask the drive. READ POSITION gives the
    /// file number, and the start of the current file is found by spacing
    /// back over one filemark and returning (cheap on the VTL; a short
    /// reposition on a real drive).
    pub fn file_and_block(&mut self) -> Result<(i32, i32, u32), ScsiError> {
        let pos = self.position()?;
        let (Some(block), Some(file)) = (pos.block, pos.file) else {
            return Ok((-1, -1, pos.partition));
        };
        if block == 0 || pos.bop {
            return Ok((0, 0, pos.partition));
        }
        let start_of_file = match self.drive.space(SpaceKind::Filemarks, -1) {
            // On the BOP side of the previous filemark: the file starts
            // right after it.
            Ok(_) => self.position()?.block.map(|b| b + 1),
            // Ran into BOP: the current file is the first one.
            Err(e) if self.position().is_ok_and(|p| p.bop || p.block == Some(0)) => {
                tracing::debug!("status probe reached BOP: {e}");
                Some(0)
            }
            Err(e) => return Err(e),
        };
        self.drive.locate(block, None)?;
        let in_file = start_of_file
            .and_then(|s| block.checked_sub(s))
            .map_or(-1, clamp_i32);
        Ok((clamp_i32(file), in_file, pos.partition))
    }

    /// Everything `mt status` prints, never failing: a drive without a
    /// tape reports DR_OPEN and an unknown position, as st does. The
    /// driver tracks the block-in-file number while this process moves the
    /// tape; a fresh process probes for it (see [`Tape::file_and_block`]).
    pub fn mt_status(&mut self) -> MtStatus {
        let online = self.ready().is_ok();
        let st = self.drive.status().unwrap_or_default();
        let (mut file, mut block, mut partition) = (
            st.file.map_or(-1, clamp_i32),
            st.block.map_or(-1, clamp_i32),
            st.partition,
        );
        if online && (st.file.is_none() || st.block.is_none()) {
            match self.file_and_block() {
                Ok((f, b, p)) => (file, block, partition) = (f, b, p),
                Err(e) => tracing::info!("position unknown: {e}"),
            }
        }
        if !online {
            (file, block) = (-1, -1);
        }
        let facts = GstatFacts {
            file,
            block,
            online,
            no_tape: !online || st.door_open,
            write_protected: st.write_protected,
            early_warning: st.eot,
            eod: st.eod,
            setmark: false,
            density: st.density_code,
            // LTO drives run in buffered mode; st reports that as IM_REP_EN.
            buffered: true,
            cleaning_requested: st.cleaning_needed,
        };
        MtStatus {
            file,
            block,
            partition,
            block_size: st.block_size,
            density: st.density_code,
            soft_errors: 0,
            gstat: gstat(&facts),
        }
    }
}

fn clamp_i32(v: u64) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

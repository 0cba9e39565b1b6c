//! [`TapeDrive`]: the SSC driver that issues commands through any
//! [`ScsiTransport`]. CDBs and decoding live in the feature files; this file
//! sequences commands, keeps what `mt status` needs to know between them,
//! and applies the policies real drives require: UNIT ATTENTION after a load
//! is consumed by retrying (bounded), MODE SENSE/SELECT(10) fall back to the
//! 6-byte forms, READ POSITION long form falls back to the short form,
//! residuals are cross-checked (field note A8), and timeouts come from the
//! drive when it reports them.

use std::thread;
use std::time::{Duration, Instant};

use crate::scsi::attributes::{self, Attribute};
use crate::scsi::command::{self, Reply};
use crate::scsi::error::{ErrorClass, ScsiError};
use crate::scsi::log::{self, LogPage};
use crate::scsi::mode::{self, ModeData, ModePage, PageControl};
use crate::scsi::sense::{Sense, SenseKey, SenseKeySpecific};
use crate::scsi::transport::{DataDirection, ScsiStatus, ScsiTransport, TransportError};

use super::block_limits::{self, BlockLimits};
use super::density::{self, DensityDescriptor};
use super::device_config::{self, DataCompression, MediumSettings};
use super::mam::MamInfo;
use super::media;
use super::position::{self, LocateDest, Position, PositionForm, SpaceKind};
use super::rw::{self, ReadOutcome, ResidualPolicy, WriteStatus};
use super::seq_access::{self, SequentialAccessCounters};
use super::tape_alert::{self, TapeAlerts};
use super::timeouts::Timeouts;
use super::volume_stats::{self, VolumeStatistics};

/// How often a command is repeated to consume UNIT ATTENTION conditions
/// (several may be queued: power on, then medium changed, then mode change).
const UA_RETRIES: usize = 4;
/// Poll interval of [`TapeDrive::wait_ready`].
const POLL: Duration = Duration::from_millis(250);

/// The data buffer of one command, reusable across retries.
enum Buf<'a> {
    None,
    Out(&'a [u8]),
    In(&'a mut [u8]),
}

impl Buf<'_> {
    fn dir(&mut self) -> DataDirection<'_> {
        match self {
            Buf::None => DataDirection::None,
            Buf::Out(b) => DataDirection::ToDevice(b),
            Buf::In(b) => DataDirection::FromDevice(b),
        }
    }
}

/// Progress of an operation started with IMMED.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub enum OperationState {
    /// Still running; `fraction` (0.0..1.0) when the drive reports it.
    InProgress {
        fraction: Option<f64>,
    },
    Done,
}

/// Result of a SPACE command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum SpaceOutcome {
    /// Moved the whole count.
    Done,
    /// Stopped at a filemark (spacing blocks); `remaining` not moved.
    Filemark { remaining: u64 },
    /// Stopped at end of data.
    EndOfData { remaining: u64 },
    /// Stopped at beginning of partition (spacing backward).
    BeginningOfPartition { remaining: u64 },
    /// Stopped at end of partition/medium.
    EndOfPartition { remaining: u64 },
}

/// Everything `mt status` prints, and a little more.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DriveStatus {
    /// File number (filemarks before the position); `None` when unknown.
    pub file: Option<u64>,
    /// Block number within the current file; `None` when unknown.
    pub block: Option<u64>,
    /// Logical object number from BOP (blocks and filemarks).
    pub logical_block: Option<u64>,
    pub partition: u32,
    /// 0 = variable.
    pub block_size: u32,
    pub density_code: u8,
    pub density: String,
    pub write_protected: bool,
    pub bot: bool,
    /// Past early warning (EOT in mt terms).
    pub eot: bool,
    pub eod: bool,
    /// The last read stopped at a filemark.
    pub eof: bool,
    pub online: bool,
    /// No medium in the drive.
    pub door_open: bool,
    /// TapeAlert cleaning flags or sense 00/17 seen.
    pub cleaning_needed: bool,
    pub tape_alerts: TapeAlerts,
}

/// What a drive says about itself, from INQUIRY, VPD pages, READ BLOCK
/// LIMITS, REPORT DENSITY SUPPORT and REPORT SUPPORTED OPERATION CODES.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DriveIdentity {
    pub vendor: String,
    pub product: String,
    pub revision: String,
    /// Unit serial number (VPD 80h).
    pub serial: Option<String>,
    /// Device identification designators (VPD 83h), as hex strings.
    pub device_identifiers: Vec<String>,
    /// VPD B0h WORM bit.
    pub worm_capable: bool,
    pub block_limits: Option<BlockLimits>,
    /// The path's maximum transfer (HBA limit), bytes.
    pub max_transfer: usize,
    /// Densities the drive reports (all, not only the loaded medium's).
    pub densities: Vec<DensityDescriptor>,
    /// Highest LTO generation among the writable densities, when LTO.
    pub lto_generation: Option<u8>,
    /// Opcodes from REPORT SUPPORTED OPERATION CODES (empty if unsupported).
    pub supported_opcodes: Vec<u8>,
    /// Commands for which the drive reported its own timeouts.
    pub reported_timeouts: usize,
}

/// Position knowledge kept between commands: what mt calls the file and
/// block number needs the start of the current file, which only events
/// (BOP, crossing a filemark) reveal.
#[derive(Debug, Clone, Copy, Default)]
struct Track {
    file: u64,
    /// Logical object number of the first object of `file`.
    origin: u64,
}

/// Where the current file starts, as [`TapeDrive::file_start`] reports it:
/// what a later process needs to print mt's block number within the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStart {
    pub file: u64,
    /// Logical object number of the first object of `file`.
    pub origin: u64,
}

/// An SSC tape drive on any transport.
pub struct TapeDrive<T: ScsiTransport> {
    t: T,
    timeouts: Timeouts,
    /// The drive rejected the 10-byte MODE commands (field note A11).
    mode6: bool,
    /// The drive rejected READ POSITION long form.
    short_position_only: bool,
    /// Suppress incorrect-length indication on variable reads (then only
    /// the residual tells a short record; off by default).
    sili: bool,
    /// Whether READ lengths may come from sense alone (field note A8).
    residual_policy: ResidualPolicy,
    /// The A8 symptom was logged once already.
    warned_no_residual: bool,
    /// Cached block size (0 = variable); `None` until asked.
    block_size: Option<u32>,
    /// Fixed mode: a filemark or EOD hit after some blocks were returned.
    pending: Option<ReadOutcome>,
    eof: bool,
    eod: bool,
    early_warning: bool,
    cleaning_seen: bool,
    track: Option<Track>,
}

impl<T: ScsiTransport> TapeDrive<T> {
    pub fn new(t: T) -> TapeDrive<T> {
        TapeDrive {
            t,
            timeouts: Timeouts::new(),
            mode6: false,
            short_position_only: false,
            sili: false,
            residual_policy: ResidualPolicy::Strict,
            warned_no_residual: false,
            block_size: None,
            pending: None,
            eof: false,
            eod: false,
            early_warning: false,
            cleaning_seen: false,
            track: None,
        }
    }

    pub fn transport(&mut self) -> &mut T {
        &mut self.t
    }

    pub fn into_inner(self) -> T {
        self.t
    }

    pub fn timeouts(&self) -> &Timeouts {
        &self.timeouts
    }

    pub fn timeouts_mut(&mut self) -> &mut Timeouts {
        &mut self.timeouts
    }

    /// With SILI the drive does not report short records; the transport
    /// residual is then the only measure of a record's length.
    pub fn set_sili(&mut self, on: bool) {
        self.sili = on;
    }

    /// How READ treats the adapter's residual. [`ResidualPolicy::Strict`]
    /// (the default) refuses a residual that disagrees with the sense;
    /// [`ResidualPolicy::TrustSense`] is for adapters known to misreport it
    /// (field note A8) and also stops SILI from being sent. Never switched
    /// automatically: a residual that lies could as well mean lost data.
    pub fn set_residual_policy(&mut self, policy: ResidualPolicy) {
        self.residual_policy = policy;
    }

    pub fn residual_policy(&self) -> ResidualPolicy {
        self.residual_policy
    }

    // ---- command plumbing -------------------------------------------------

    /// Forgets position knowledge (medium changed, reset, or an operation
    /// that lost track).
    fn forget_position(&mut self) {
        self.pending = None;
        self.eof = false;
        self.eod = false;
        self.early_warning = false;
        self.track = None;
    }

    fn note_sense(&mut self, s: &Sense) {
        if s.is_asc(0x00, 0x17) {
            self.cleaning_seen = true;
        }
        if s.is_medium_change_or_reset() {
            // Medium changed or device reset: nothing we knew still holds.
            self.forget_position();
            self.block_size = None;
        }
    }

    /// Sends one CDB. With `consume_ua`, UNIT ATTENTION for a medium change
    /// (28h) or reset (29h) is consumed by repeating the command, a bounded
    /// number of times. Commands that move data or the tape do not consume
    /// it: after a cartridge swap the caller must learn the medium changed
    /// rather than write blindly at BOT of another tape.
    fn raw(
        &mut self,
        op: &'static str,
        cdb: &[u8],
        mut buf: Buf<'_>,
        consume_ua: bool,
    ) -> Result<Reply, ScsiError> {
        let timeout = self.timeouts.for_cdb(cdb);
        let mut attempt = 0;
        loop {
            let r = command::exchange(&mut self.t, op, cdb, buf.dir(), timeout)?;
            let Some(s) = &r.sense else {
                return Ok(r);
            };
            self.note_sense(s);
            if consume_ua && s.is_medium_change_or_reset() && attempt < UA_RETRIES {
                attempt += 1;
                tracing::debug!(op, asc = s.asc, ascq = s.ascq, "consuming unit attention");
                continue;
            }
            return Ok(r);
        }
    }

    /// A command whose every CHECK CONDITION is an error. Returns the bytes
    /// transferred; a residual larger than the request is a transport error.
    fn cmd(
        &mut self,
        op: &'static str,
        cdb: &[u8],
        buf: Buf<'_>,
        consume_ua: bool,
    ) -> Result<usize, ScsiError> {
        let r = self.raw(op, cdb, buf, consume_ua)?;
        Ok(r.into_result(op)?.transferred)
    }

    fn data_in(
        &mut self,
        op: &'static str,
        cdb: &[u8],
        alloc: usize,
        consume_ua: bool,
    ) -> Result<Vec<u8>, ScsiError> {
        let mut buf = vec![0u8; alloc];
        let n = self.cmd(op, cdb, Buf::In(&mut buf), consume_ua)?;
        buf.truncate(n);
        Ok(buf)
    }

    /// A data-in command (UNIT ATTENTION consumed) for sibling modules.
    pub(super) fn command_in(
        &mut self,
        op: &'static str,
        cdb: &[u8],
        alloc: usize,
    ) -> Result<Vec<u8>, ScsiError> {
        self.data_in(op, cdb, alloc, true)
    }

    fn refuse_oversize(&self, op: &'static str, len: usize) -> Result<(), ScsiError> {
        let max = self.t.max_transfer();
        if len > max {
            return Err(ScsiError::Invalid {
                op,
                detail: format!(
                    "block size {len} bytes exceeds the maximum transfer of {max} bytes of {} \
                     (HBA limit); use a block size of at most {max} bytes",
                    self.t.describe()
                ),
            });
        }
        Ok(())
    }

    // ---- readiness --------------------------------------------------------

    pub fn test_unit_ready(&mut self) -> Result<(), ScsiError> {
        self.cmd(
            "TEST UNIT READY",
            &media::test_unit_ready_cdb(),
            Buf::None,
            true,
        )
        .map(|_| ())
    }

    /// Polls TEST UNIT READY until the drive is ready or `timeout` passes.
    /// NOT READY (becoming ready, no medium yet) and UNIT ATTENTION are
    /// waited out; other errors return at once.
    pub fn wait_ready(&mut self, timeout: Duration) -> Result<(), ScsiError> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.test_unit_ready() {
                Ok(()) => return Ok(()),
                Err(e)
                    if matches!(e.class(), ErrorClass::NotReady | ErrorClass::UnitAttention)
                        && Instant::now() < deadline =>
                {
                    thread::sleep(POLL.min(deadline.saturating_duration_since(Instant::now())));
                }
                Err(e) => return Err(e),
            }
        }
    }

    // ---- data -------------------------------------------------------------

    /// Current block size, from the cache or MODE SENSE.
    pub fn block_size(&mut self) -> Result<u32, ScsiError> {
        self.block_size_ua(true)
    }

    /// `consume_ua` false for READ/WRITE: a medium change must reach the
    /// caller, not be swallowed by the MODE SENSE that precedes the I/O.
    fn block_size_ua(&mut self, consume_ua: bool) -> Result<u32, ScsiError> {
        if let Some(b) = self.block_size {
            return Ok(b);
        }
        let m = self.mode_sense_ua(mode::ALL_PAGES, 0, PageControl::Current, consume_ua)?;
        let (_, s) = MediumSettings::from_mode(&m);
        self.block_size = Some(s.block_size);
        Ok(s.block_size)
    }

    fn rw_mode(&mut self, op: &'static str, len: usize) -> Result<(rw::Mode, u32), ScsiError> {
        let bs = self.block_size_ua(false)?;
        if bs == 0 {
            let n = u32::try_from(len)
                .ok()
                .filter(|&n| n <= rw::MAX_COUNT_6)
                .ok_or_else(|| ScsiError::Invalid {
                    op,
                    detail: format!("record of {len} bytes exceeds the 24-bit transfer length"),
                })?;
            return Ok((rw::Mode::Variable, n));
        }
        if !len.is_multiple_of(bs as usize) {
            return Err(ScsiError::Invalid {
                op,
                detail: format!("{len} bytes is not a multiple of the fixed block size {bs}"),
            });
        }
        let n = u32::try_from(len / bs as usize).unwrap_or(u32::MAX);
        Ok((rw::Mode::Fixed(bs), n))
    }

    /// Reads one record (variable mode) or as many whole blocks as `buf`
    /// holds (fixed mode).
    pub fn read(&mut self, buf: &mut [u8]) -> Result<ReadOutcome, ScsiError> {
        const OP: &str = "READ(6)";
        if let Some(p) = self.pending.take() {
            self.note_read(p);
            return Ok(p);
        }
        self.refuse_oversize(OP, buf.len())?;
        let (mode, n) = self.rw_mode(OP, buf.len())?;
        let fixed = matches!(mode, rw::Mode::Fixed(_));
        // With the residual untrusted, SILI would hide short records.
        let sili = self.sili && !fixed && self.residual_policy == ResidualPolicy::Strict;
        let cdb = rw::read6_cdb(fixed, sili, n)?;
        let requested = buf.len();
        let r = self.raw(OP, &cdb, Buf::In(buf), false)?;
        let outcome = match (r.status, r.sense) {
            (ScsiStatus::GOOD | ScsiStatus::CONDITION_MET, _) => {
                rw::interpret_read_good(requested, r.residual, mode, sili)?
            }
            (_, Some(sense)) => {
                let check = ScsiError::Check {
                    op: OP,
                    sense: sense.clone(),
                    raw: r.raw_sense,
                };
                let i = rw::interpret_read_check(
                    requested,
                    r.residual,
                    mode,
                    &sense,
                    check,
                    self.residual_policy,
                )
                .inspect_err(|e| self.note_mismatch(e))?;
                self.pending = i.pending;
                i.outcome
            }
            (status, None) => return Err(ScsiError::Status { op: OP, status }),
        };
        self.note_read(outcome);
        Ok(outcome)
    }

    /// Logs the A8 symptom (no residual although sense gives a length)
    /// once per drive. The policy stays as the caller set it.
    fn note_mismatch(&mut self, e: &ScsiError) {
        let a8 = matches!(e, ScsiError::Transport {
            source: TransportError::ResidualMismatch { detail, .. },
            ..
        } if detail.contains(rw::NO_RESIDUAL_HINT));
        if self.warned_no_residual || !a8 {
            return;
        }
        self.warned_no_residual = true;
        tracing::warn!(
            transport = %self.t.describe(),
            "adapter reports no residual (field note A8); reads stay strict unless \
             --trust-sense-length / REEL_TRUST_SENSE_LENGTH=1 says to trust sense"
        );
    }

    fn note_read(&mut self, o: ReadOutcome) {
        self.eof = o == ReadOutcome::Filemark;
        self.eod = o == ReadOutcome::EndOfData;
        if o == ReadOutcome::Filemark {
            self.crossed_filemarks(1);
        }
    }

    /// The file the driver knows the tape is in and the object number where
    /// that file starts; `None` when it has lost track (after a jump, a
    /// medium change or a reset). Sends no command.
    pub fn file_start(&self) -> Option<FileStart> {
        self.track.map(|t| FileStart {
            file: t.file,
            origin: t.origin,
        })
    }

    /// Offers where file `file` starts, remembered from elsewhere (another
    /// process that crossed the filemark). Accepted only when READ POSITION
    /// agrees: the drive reports the same file number (long form) and an
    /// object number at or after `origin`; file 0 always starts at object 0.
    /// Returns whether the offer was taken. Does not move the tape.
    pub fn remember_file_start(&mut self, file: u64, origin: u64) -> Result<bool, ScsiError> {
        if file == 0 && origin != 0 {
            return Ok(false);
        }
        let p = self.read_position_raw()?;
        let same_file = match p.file {
            Some(f) => f == file,
            // Short form only: no file number to check against.
            None => file == 0,
        };
        let ok = same_file && p.block.is_some_and(|b| b >= origin);
        if ok {
            self.track = Some(Track { file, origin });
        }
        Ok(ok)
    }

    /// After moving forward over `n` filemarks the position is the first
    /// object of a new file.
    fn crossed_filemarks(&mut self, n: u64) {
        let next = self.track.map(|t| t.file + n);
        self.track = None;
        if let Ok(p) = self.read_position_raw()
            && let Some(origin) = p.block
            && let Some(file) = p.file.or(next)
        {
            self.track = Some(Track { file, origin });
        }
    }

    /// Writes one record (variable mode) or whole blocks (fixed mode).
    /// Early warning and programmable early warning are returned as states:
    /// the data was written. VOLUME OVERFLOW is an error (class
    /// `VolumeOverflow`).
    pub fn write(&mut self, data: &[u8]) -> Result<WriteStatus, ScsiError> {
        const OP: &str = "WRITE(6)";
        self.refuse_oversize(OP, data.len())?;
        let (mode, n) = self.rw_mode(OP, data.len())?;
        let cdb = rw::write6_cdb(matches!(mode, rw::Mode::Fixed(_)), n)?;
        self.pending = None;
        self.eof = false;
        let r = self.raw(OP, &cdb, Buf::Out(data), false)?;
        self.write_result(OP, data.len(), r)
    }

    fn write_result(
        &mut self,
        op: &'static str,
        requested: usize,
        r: Reply,
    ) -> Result<WriteStatus, ScsiError> {
        let state = match (r.status, r.sense) {
            (ScsiStatus::GOOD | ScsiStatus::CONDITION_MET, _) => {
                if r.residual != 0 {
                    return Err(ScsiError::residual_mismatch(
                        op,
                        requested,
                        r.residual,
                        "GOOD status yet the adapter did not send all data",
                    ));
                }
                WriteStatus::Ok
            }
            (_, Some(sense)) => {
                let check = ScsiError::Check {
                    op,
                    sense: sense.clone(),
                    raw: r.raw_sense,
                };
                let s = rw::interpret_write_check(&sense, check)?;
                // EW/PEW with data accepted: the residual must agree.
                if r.residual != 0 && r.residual != requested {
                    return Err(ScsiError::residual_mismatch(
                        op,
                        requested,
                        r.residual,
                        "partial transfer at EW",
                    ));
                }
                s
            }
            (status, None) => return Err(ScsiError::Status { op, status }),
        };
        self.eod = true;
        if state == WriteStatus::EarlyWarning {
            self.early_warning = true;
        }
        Ok(state)
    }

    /// Writes `count` filemarks; `count == 0` with `immediate == false`
    /// flushes the drive buffer to the medium.
    pub fn write_filemarks(
        &mut self,
        count: u32,
        immediate: bool,
    ) -> Result<WriteStatus, ScsiError> {
        const OP: &str = "WRITE FILEMARKS(6)";
        let cdb = rw::write_filemarks6_cdb(immediate, count)?;
        self.pending = None;
        let r = self.raw(OP, &cdb, Buf::None, false)?;
        let s = self.write_result(OP, 0, r)?;
        if count > 0 {
            self.eof = false;
            self.crossed_filemarks(u64::from(count));
        }
        Ok(s)
    }

    /// Makes everything written so far durable (WRITE FILEMARKS 0, sync).
    pub fn flush(&mut self) -> Result<(), ScsiError> {
        self.write_filemarks(0, false).map(|_| ())
    }

    // ---- positioning ------------------------------------------------------

    /// SPACE by blocks, filemarks or to end of data. Negative counts move
    /// toward BOP. SPACE(16) is used when the count does not fit SPACE(6).
    pub fn space(&mut self, kind: SpaceKind, count: i64) -> Result<SpaceOutcome, ScsiError> {
        let (op, r) = if (position::SPACE6_MIN..=position::SPACE6_MAX).contains(&count) {
            let cdb = position::space6_cdb(kind, count)?;
            ("SPACE(6)", self.raw("SPACE(6)", &cdb, Buf::None, false)?)
        } else {
            let cdb = position::space16_cdb(kind, count);
            ("SPACE(16)", self.raw("SPACE(16)", &cdb, Buf::None, false)?)
        };
        let prev = self.track;
        self.forget_position();
        let outcome = match (r.status, r.sense) {
            (ScsiStatus::GOOD | ScsiStatus::CONDITION_MET, _) => SpaceOutcome::Done,
            (_, Some(s)) => {
                let remaining = rw::signed_information(&s).map_or(0, i64::unsigned_abs);
                if s.key == SenseKey::BlankCheck && s.is_asc(0x00, 0x05) {
                    SpaceOutcome::EndOfData { remaining }
                } else if s.filemark && matches!(s.key, SenseKey::NoSense) {
                    SpaceOutcome::Filemark { remaining }
                } else if s.is_asc(0x00, 0x04) {
                    SpaceOutcome::BeginningOfPartition { remaining }
                } else if s.is_asc(0x00, 0x02) && s.key == SenseKey::NoSense {
                    SpaceOutcome::EndOfPartition { remaining }
                } else {
                    return Err(ScsiError::Check {
                        op,
                        sense: s,
                        raw: r.raw_sense,
                    });
                }
            }
            (status, None) => return Err(ScsiError::Status { op, status }),
        };
        match (kind, outcome) {
            (SpaceKind::EndOfData, _) | (_, SpaceOutcome::EndOfData { .. }) => self.eod = true,
            _ => {}
        }
        // Forward over filemarks: the position starts a new file.
        let crossed = match (kind, outcome) {
            (SpaceKind::Filemarks, SpaceOutcome::Done) if count > 0 => Some(count as u64),
            (SpaceKind::Blocks, SpaceOutcome::Filemark { .. }) if count > 0 => Some(1),
            _ => None,
        };
        if let Some(n) = crossed {
            self.track = prev;
            self.crossed_filemarks(n);
        } else if let Ok(p) = self.read_position_raw() {
            self.track = Self::track_at_file0(&p);
        }
        Ok(outcome)
    }

    /// In file 0 the file starts at object 0; otherwise the start is unknown
    /// after a jump.
    fn track_at_file0(p: &Position) -> Option<Track> {
        match (p.file, p.block) {
            (Some(0), _) | (None, Some(0)) => Some(Track { file: 0, origin: 0 }),
            _ => None,
        }
    }

    /// LOCATE to a logical object number, optionally in another partition.
    /// LOCATE(16) is used above 32 bits.
    pub fn locate(&mut self, block: u64, partition: Option<u8>) -> Result<(), ScsiError> {
        self.forget_position();
        match u32::try_from(block) {
            Ok(b) => {
                let cdb = position::locate10_cdb(b, partition, false);
                self.cmd("LOCATE(10)", &cdb, Buf::None, false)?;
            }
            Err(_) => {
                let cdb = position::locate16_cdb(LocateDest::Object, block, partition, false);
                self.cmd("LOCATE(16)", &cdb, Buf::None, false)?;
            }
        }
        if let Ok(p) = self.read_position_raw() {
            self.track = Self::track_at_file0(&p);
        }
        Ok(())
    }

    fn read_position_raw(&mut self) -> Result<Position, ScsiError> {
        const OP: &str = "READ POSITION";
        if !self.short_position_only {
            let cdb = position::read_position_cdb(PositionForm::Long);
            match self.data_in(OP, &cdb, PositionForm::Long.length(), true) {
                Ok(b) => {
                    return position::parse_position(PositionForm::Long, &b)
                        .map_err(|e| ScsiError::from_decode(OP, e));
                }
                Err(e) if e.class() == ErrorClass::IllegalRequest => {
                    tracing::debug!("READ POSITION long form unsupported; using the short form");
                    self.short_position_only = true;
                }
                Err(e) => return Err(e),
            }
        }
        let cdb = position::read_position_cdb(PositionForm::Short);
        let b = self.data_in(OP, &cdb, PositionForm::Short.length(), true)?;
        position::parse_position(PositionForm::Short, &b).map_err(|e| ScsiError::from_decode(OP, e))
    }

    /// READ POSITION, long form when the drive has it (it adds the file
    /// number), else the short form.
    pub fn read_position(&mut self) -> Result<Position, ScsiError> {
        let mut p = self.read_position_raw()?;
        if p.file.is_none()
            && let (Some(t), Some(b)) = (self.track, p.block)
            && b >= t.origin
        {
            p.file = Some(t.file);
        }
        Ok(p)
    }

    pub fn rewind(&mut self, immediate: bool) -> Result<(), ScsiError> {
        self.forget_position();
        self.cmd("REWIND", &position::rewind_cdb(immediate), Buf::None, false)?;
        self.track = Some(Track { file: 0, origin: 0 });
        Ok(())
    }

    // ---- medium -----------------------------------------------------------

    /// Loads (and threads) the cartridge, then consumes the UNIT ATTENTION
    /// the load raises so the next data command does not fail on it.
    pub fn load(&mut self) -> Result<(), ScsiError> {
        self.forget_position();
        self.block_size = None;
        self.cmd(
            "LOAD",
            &media::load_unload_cdb(true, false, false),
            Buf::None,
            true,
        )?;
        for _ in 0..UA_RETRIES {
            match self.test_unit_ready() {
                Err(e) if e.class() == ErrorClass::UnitAttention => continue,
                _ => break,
            }
        }
        self.track = Some(Track { file: 0, origin: 0 });
        Ok(())
    }

    pub fn unload(&mut self) -> Result<(), ScsiError> {
        self.forget_position();
        self.block_size = None;
        self.cmd(
            "UNLOAD",
            &media::load_unload_cdb(false, false, false),
            Buf::None,
            true,
        )
        .map(|_| ())
    }

    /// ERASE from the position: `long` erases to the end of the partition,
    /// short writes an end of data here.
    pub fn erase(&mut self, long: bool) -> Result<(), ScsiError> {
        self.pending = None;
        self.cmd(
            "ERASE(6)",
            &media::erase6_cdb(long, false),
            Buf::None,
            false,
        )?;
        self.eod = true;
        Ok(())
    }

    /// Starts ERASE with the IMMED bit: returns once the drive accepted
    /// it. Follow it with [`TapeDrive::operation_state`] to show progress.
    pub fn start_erase(&mut self, long: bool) -> Result<(), ScsiError> {
        self.pending = None;
        self.cmd("ERASE(6)", &media::erase6_cdb(long, true), Buf::None, false)?;
        self.eod = true;
        Ok(())
    }

    /// REQUEST SENSE: the drive's current sense data (NO SENSE when
    /// nothing is pending), decoded.
    pub fn request_sense(&mut self) -> Result<Sense, ScsiError> {
        const OP: &str = "REQUEST SENSE";
        let data = self.data_in(OP, &media::request_sense_cdb(252), 252, false)?;
        Sense::parse(&data).map_err(|e| ScsiError::malformed(OP, e.to_string()))
    }

    /// Whether an operation started with IMMED (rewind, erase, locate,
    /// load) is still running, and how far it is when the drive says.
    /// An error the operation ended with comes back as `Err` (deferred).
    pub fn operation_state(&mut self) -> Result<OperationState, ScsiError> {
        let s = self.request_sense()?;
        if media::is_operation_in_progress(&s) {
            let fraction = match s.key_specific {
                Some(SenseKeySpecific::Progress(p)) => Some(f64::from(p) / 65536.0),
                _ => None,
            };
            return Ok(OperationState::InProgress { fraction });
        }
        if s.deferred || s.key != SenseKey::NoSense {
            let raw = s.encode_fixed();
            return Err(ScsiError::Check {
                op: "REQUEST SENSE",
                sense: s,
                raw,
            });
        }
        Ok(OperationState::Done)
    }

    pub fn prevent_removal(&mut self, prevent: bool) -> Result<(), ScsiError> {
        self.cmd(
            "PREVENT ALLOW MEDIUM REMOVAL",
            &media::prevent_allow_cdb(prevent),
            Buf::None,
            true,
        )
        .map(|_| ())
    }

    // ---- mode parameters --------------------------------------------------

    /// MODE SENSE with the fallbacks real drives need: the 6-byte form when
    /// the 10-byte opcode is unknown (ILLEGAL REQUEST 20/00), and a retry
    /// with DBD flipped when the drive rejects the field (24/00).
    pub fn mode_sense(
        &mut self,
        page: u8,
        subpage: u8,
        pc: PageControl,
    ) -> Result<ModeData, ScsiError> {
        self.mode_sense_ua(page, subpage, pc, true)
    }

    fn mode_sense_ua(
        &mut self,
        page: u8,
        subpage: u8,
        pc: PageControl,
        consume_ua: bool,
    ) -> Result<ModeData, ScsiError> {
        let mut dbd = false;
        let mut dbd_retried = false;
        loop {
            let res = if self.mode6 {
                let cdb = mode::mode_sense6_cdb(page, subpage, pc, dbd, 0xff);
                self.data_in("MODE SENSE(6)", &cdb, 0xff, consume_ua)
                    .and_then(|b| {
                        ModeData::parse6(&b).map_err(|e| ScsiError::from_decode("MODE SENSE(6)", e))
                    })
            } else {
                let cdb = mode::mode_sense10_cdb(page, subpage, pc, dbd, false, 0x2000);
                self.data_in("MODE SENSE(10)", &cdb, 0x2000, consume_ua)
                    .and_then(|b| {
                        ModeData::parse10(&b)
                            .map_err(|e| ScsiError::from_decode("MODE SENSE(10)", e))
                    })
            };
            match res {
                Err(e) if !self.mode6 && e.is_asc(0x20, 0x00) => {
                    tracing::debug!("MODE SENSE(10) unsupported; using the 6-byte form");
                    self.mode6 = true;
                }
                Err(e) if e.is_asc(0x24, 0x00) && !dbd_retried => {
                    dbd_retried = true;
                    dbd = !dbd;
                }
                other => return other,
            }
        }
    }

    /// MODE SELECT (PF set, not saved), 10-byte form unless the drive only
    /// has the 6-byte one.
    pub fn mode_select(&mut self, data: &ModeData) -> Result<(), ScsiError> {
        if !self.mode6 {
            let p = data.encode10();
            // A parameter list length that lied about the data would make
            // the drive read the wrong bytes as mode pages.
            let len = u16::try_from(p.len()).map_err(|_| ScsiError::Invalid {
                op: "MODE SELECT(10)",
                detail: format!("{} bytes of parameters exceed the 10-byte form", p.len()),
            })?;
            let cdb = mode::mode_select10_cdb(true, false, len);
            match self.cmd("MODE SELECT(10)", &cdb, Buf::Out(&p), true) {
                Err(e) if e.is_asc(0x20, 0x00) => self.mode6 = true,
                other => return other.map(|_| ()),
            }
        }
        let p = data.encode6();
        let len = u8::try_from(p.len()).map_err(|_| ScsiError::Invalid {
            op: "MODE SELECT(6)",
            detail: format!("{} bytes of parameters exceed the 6-byte form", p.len()),
        })?;
        let cdb = mode::mode_select6_cdb(true, false, len);
        self.cmd("MODE SELECT(6)", &cdb, Buf::Out(&p), true)
            .map(|_| ())
    }

    /// Sets the block size (0 = variable). The size is checked against the
    /// transport limit and READ BLOCK LIMITS first.
    pub fn set_block_size(&mut self, size: u32) -> Result<(), ScsiError> {
        const OP: &str = "MODE SELECT";
        self.refuse_oversize(OP, size as usize)?;
        if size != 0
            && let Ok(l) = self.read_block_limits()
            && !l.accepts_fixed(size)
        {
            return Err(ScsiError::Invalid {
                op: OP,
                detail: format!(
                    "block size {size} outside the drive's limits ({}..={} bytes, granularity 2^{})",
                    l.min, l.max, l.granularity
                ),
            });
        }
        let cur = self.mode_sense(mode::ALL_PAGES, 0, PageControl::Current)?;
        self.block_size = None;
        self.mode_select(&device_config::block_size_select(&cur, size))?;
        self.block_size = Some(size);
        Ok(())
    }

    fn compression_page(&mut self) -> Result<ModePage, ScsiError> {
        let m = self.mode_sense(
            device_config::PAGE_DATA_COMPRESSION,
            0,
            PageControl::Current,
        )?;
        m.page(device_config::PAGE_DATA_COMPRESSION, 0)
            .cloned()
            .ok_or_else(|| ScsiError::malformed("MODE SENSE", "no data compression page (0Fh)"))
    }

    pub fn compression(&mut self) -> Result<DataCompression, ScsiError> {
        let p = self.compression_page()?;
        DataCompression::parse(&p).map_err(|e| ScsiError::from_decode("MODE SENSE", e))
    }

    pub fn set_compression(&mut self, on: bool) -> Result<(), ScsiError> {
        let p = self.compression_page()?;
        let cur = ModeData::default();
        let page = DataCompression::with_enabled(&p, on)
            .map_err(|e| ScsiError::from_decode("MODE SENSE", e))?;
        self.mode_select(&device_config::page_select(&cur, page))
    }

    pub fn set_buffered_mode(&mut self, on: bool) -> Result<(), ScsiError> {
        let cur = self.mode_sense(mode::ALL_PAGES, 0, PageControl::Current)?;
        self.mode_select(&device_config::buffered_mode_select(&cur, on))
    }

    /// Block size, density, write protection and buffered mode in one go.
    pub fn medium_settings(&mut self) -> Result<MediumSettings, ScsiError> {
        let m = self.mode_sense(mode::ALL_PAGES, 0, PageControl::Current)?;
        let (_, s) = MediumSettings::from_mode(&m);
        self.block_size = Some(s.block_size);
        Ok(s)
    }

    // ---- inquiry-like ------------------------------------------------------

    pub fn read_block_limits(&mut self) -> Result<BlockLimits, ScsiError> {
        const OP: &str = "READ BLOCK LIMITS";
        let b = self.data_in(
            OP,
            &block_limits::read_block_limits_cdb(false),
            block_limits::BLOCK_LIMITS_LEN,
            true,
        )?;
        BlockLimits::parse(&b).map_err(|e| ScsiError::from_decode(OP, e))
    }

    /// REPORT DENSITY SUPPORT; `media_only` lists the loaded medium's only.
    pub fn report_density(
        &mut self,
        media_only: bool,
    ) -> Result<Vec<DensityDescriptor>, ScsiError> {
        const OP: &str = "REPORT DENSITY SUPPORT";
        let alloc: u16 = 0x2000;
        let b = self.data_in(
            OP,
            &density::report_density_cdb(media_only, alloc),
            alloc.into(),
            true,
        )?;
        density::parse_density_support(&b).map_err(|e| ScsiError::from_decode(OP, e))
    }

    // ---- logs -------------------------------------------------------------

    /// LOG SENSE of one page (cumulative values), re-read with a larger
    /// allocation when the page is longer than the first guess.
    pub fn log_sense(&mut self, page: u8, subpage: u8) -> Result<LogPage, ScsiError> {
        const OP: &str = "LOG SENSE";
        let mut alloc: u16 = 0x1000;
        loop {
            let cdb = log::log_sense_cdb(page, subpage, log::pc::CUMULATIVE, 0, alloc);
            let b = self.data_in(OP, &cdb, alloc.into(), true)?;
            let declared = b
                .get(2..4)
                .map_or(0, |l| usize::from(u16::from_be_bytes([l[0], l[1]])) + 4);
            if declared > b.len() && usize::from(alloc) < declared && alloc < 0xfffc {
                alloc = u16::try_from(declared).unwrap_or(0xfffc);
                continue;
            }
            return LogPage::parse(&b).map_err(|e| ScsiError::from_decode(OP, e));
        }
    }

    /// TapeAlert flags from page 12h, which does not clear them.
    pub fn tape_alerts(&mut self) -> Result<TapeAlerts, ScsiError> {
        let p = self.log_sense(tape_alert::PAGE_RESPONSE, 0)?;
        let v = p
            .param(0)
            .ok_or_else(|| ScsiError::malformed("LOG SENSE", "page 12h without parameter 0000h"))?;
        TapeAlerts::from_response_value(&v.value)
            .map_err(|e| ScsiError::from_decode("LOG SENSE", e))
    }

    /// TapeAlert flags from page 2Eh. On most drives this read clears them.
    pub fn tape_alerts_clearing(&mut self) -> Result<TapeAlerts, ScsiError> {
        let p = self.log_sense(tape_alert::PAGE_TAPE_ALERT, 0)?;
        Ok(TapeAlerts::from_flag_params(
            p.params.iter().map(|x| (x.code, x.value.as_slice())),
        ))
    }

    pub fn sequential_access_counters(&mut self) -> Result<SequentialAccessCounters, ScsiError> {
        let p = self.log_sense(seq_access::PAGE, 0)?;
        Ok(SequentialAccessCounters::from_page(&p))
    }

    pub fn volume_statistics(&mut self) -> Result<VolumeStatistics, ScsiError> {
        let p = self.log_sense(volume_stats::PAGE, 0)?;
        Ok(VolumeStatistics::from_page(&p))
    }

    // ---- MAM --------------------------------------------------------------

    /// All attribute values of partition 0 (READ ATTRIBUTE, service action
    /// ATTRIBUTE VALUES), re-read when AVAILABLE DATA says more exist.
    pub fn read_mam(&mut self) -> Result<Vec<Attribute>, ScsiError> {
        const OP: &str = "READ ATTRIBUTE";
        let mut alloc: u32 = 0x4000;
        loop {
            let cdb = attributes::read_attribute_cdb(
                attributes::service_action::ATTRIBUTE_VALUES,
                0,
                0,
                alloc,
                false,
            );
            let b = self.data_in(OP, &cdb, alloc as usize, true)?;
            let available = b
                .get(..4)
                .map_or(0, |h| u32::from_be_bytes([h[0], h[1], h[2], h[3]]))
                .saturating_add(4);
            if available > alloc && alloc < 0x10_0000 {
                alloc = available.min(0x10_0000);
                continue;
            }
            return attributes::parse_attribute_values(&b)
                .map_err(|e| ScsiError::from_decode(OP, e));
        }
    }

    /// The MAM attributes backup software uses, typed.
    pub fn mam(&mut self) -> Result<MamInfo, ScsiError> {
        Ok(MamInfo::from_attributes(&self.read_mam()?))
    }

    /// WRITE ATTRIBUTE (write-through) of the given attributes.
    pub fn write_mam(&mut self, attrs: &[Attribute]) -> Result<(), ScsiError> {
        const OP: &str = "WRITE ATTRIBUTE";
        let p = attributes::encode_attribute_values(attrs);
        let len = u32::try_from(p.len()).map_err(|_| ScsiError::Invalid {
            op: OP,
            detail: "attribute list too long".into(),
        })?;
        let cdb = attributes::write_attribute_cdb(0, len, true);
        self.cmd(OP, &cdb, Buf::Out(&p), true).map(|_| ())
    }

    // ---- status -----------------------------------------------------------

    /// What `mt status` shows. Never fails for a drive without medium: that
    /// is reported as `door_open` and not `online`.
    pub fn status(&mut self) -> Result<DriveStatus, ScsiError> {
        let mut st = DriveStatus {
            density: density::density_label(0),
            ..DriveStatus::default()
        };
        match self.test_unit_ready() {
            Ok(()) => st.online = true,
            // 3Ah: medium not present (any qualifier: tray open or closed).
            Err(e) if e.sense().is_some_and(|s| s.asc == 0x3a) => {
                st.door_open = true;
                self.forget_position();
            }
            // Becoming ready, incompatible medium (30/xx) and the like: the
            // drive answers, it is just not online.
            Err(e) if e.sense().is_some() => {
                tracing::debug!("status: drive not ready: {e}");
            }
            Err(e) => return Err(e),
        }
        if let Ok(a) = self.tape_alerts() {
            st.tape_alerts = a;
        }
        st.cleaning_needed = self.cleaning_seen || st.tape_alerts.cleaning_needed();
        if !st.online {
            return Ok(st);
        }
        let m = self.medium_settings()?;
        st.block_size = m.block_size;
        st.density_code = m.density_code;
        st.density = density::density_label(m.density_code);
        st.write_protected = m.write_protected;
        let p = self.read_position_raw()?;
        st.partition = p.partition;
        st.logical_block = p.block;
        st.bot = p.bop;
        st.eot = p.eop || self.early_warning;
        st.eod = self.eod;
        st.eof = self.eof;
        let track = self.track.or_else(|| Self::track_at_file0(&p));
        st.file = p.file.or(track.map(|t| t.file));
        st.block = match (track, p.block) {
            (Some(t), Some(b)) if st.file == Some(t.file) && b >= t.origin => Some(b - t.origin),
            _ => None,
        };
        Ok(st)
    }
}

#[cfg(test)]
mod tests {
    //! HBA faults the VTL cannot produce (field notes A8, A9), with a tiny
    //! scripted transport. Drive behaviour is tested end to end against the
    //! VTL in hwtests/tests/tape_vtl.rs.

    use super::*;
    use crate::scsi::transport::{Completion, TransportError};
    use std::collections::VecDeque;

    /// Answers each command with the next scripted completion, filling a
    /// data-in buffer with `fill` bytes of 0xAB first.
    struct Scripted {
        answers: VecDeque<(usize, Completion)>,
        max: usize,
        sent: Vec<Vec<u8>>,
    }

    impl ScsiTransport for Scripted {
        fn execute(
            &mut self,
            cdb: &[u8],
            data: DataDirection<'_>,
            _timeout: Duration,
        ) -> Result<Completion, TransportError> {
            self.sent.push(cdb.to_vec());
            let (fill, c) = self
                .answers
                .pop_front()
                .ok_or_else(|| TransportError::Other("script exhausted".into()))?;
            if let DataDirection::FromDevice(b) = data {
                let n = fill.min(b.len());
                b[..n].fill(0xab);
            }
            Ok(c)
        }

        fn max_transfer(&self) -> usize {
            self.max
        }

        fn describe(&self) -> String {
            "scripted".into()
        }
    }

    fn drive(answers: Vec<(usize, Completion)>, max: usize) -> TapeDrive<Scripted> {
        let mut d = TapeDrive::new(Scripted {
            answers: answers.into(),
            max,
            sent: Vec::new(),
        });
        d.block_size = Some(0);
        d
    }

    fn is_mismatch(e: &ScsiError) -> bool {
        matches!(
            e,
            ScsiError::Transport {
                source: TransportError::ResidualMismatch { .. },
                ..
            }
        )
    }

    #[test]
    fn good_read_with_residual_is_a_transport_error() {
        // The HBA moved 1000 of 1024 bytes yet the drive said GOOD.
        let mut d = drive(vec![(1000, Completion::good(24))], usize::MAX);
        let mut buf = [0u8; 1024];
        let e = d.read(&mut buf).unwrap_err();
        assert!(is_mismatch(&e), "{e}");
        assert_eq!(e.class(), ErrorClass::Transport);
    }

    #[test]
    fn short_record_with_misreported_residual() {
        // Drive: ILI, INFORMATION +24 (record of 1000). HBA: residual 0.
        let sense = vec![
            0xf0, 0, 0x20, 0, 0, 0, 0x18, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        let mut d = drive(
            vec![
                (1000, Completion::check_condition(sense.clone(), 0)),
                (1000, Completion::check_condition(sense, 24)),
            ],
            usize::MAX,
        );
        let mut buf = [0u8; 1024];
        assert!(is_mismatch(&d.read(&mut buf).unwrap_err()));
        // With a truthful residual the same sense gives the true length.
        assert_eq!(
            d.read(&mut buf).unwrap(),
            ReadOutcome::ShortBlock { len: 1000 }
        );
    }

    #[test]
    fn trust_sense_reads_through_an_adapter_without_residuals() {
        // Drive: ILI, INFORMATION +24 (record of 1000); filemark next.
        // HBA: residual 0 for both.
        let short = vec![
            0xf0, 0, 0x20, 0, 0, 0, 0x18, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        let filemark = vec![
            0xf0, 0, 0x80, 0, 0, 0x04, 0x00, 0x0a, 0, 0, 0, 0, 0x00, 0x01, 0, 0, 0, 0,
        ];
        let mut d = drive(
            vec![
                (1000, Completion::check_condition(short.clone(), 0)),
                (1000, Completion::check_condition(short, 0)),
                (0, Completion::check_condition(filemark, 0)),
            ],
            usize::MAX,
        );
        d.set_sili(true);
        let mut buf = [0u8; 1024];
        let e = d.read(&mut buf).unwrap_err();
        assert!(
            is_mismatch(&e) && e.to_string().contains("--trust-sense-length"),
            "{e}"
        );
        d.set_residual_policy(ResidualPolicy::TrustSense);
        assert_eq!(d.residual_policy(), ResidualPolicy::TrustSense);
        assert_eq!(
            d.read(&mut buf).unwrap(),
            ReadOutcome::ShortBlock { len: 1000 }
        );
        assert_eq!(d.read(&mut buf).unwrap(), ReadOutcome::Filemark);
        // SILI went out under Strict only: with the residual untrusted it
        // would make a short record look whole.
        let sent = &d.transport().sent;
        assert_eq!(sent[0], [0x08, 0x02, 0x00, 0x04, 0x00, 0x00]);
        assert_eq!(sent[1], [0x08, 0x00, 0x00, 0x04, 0x00, 0x00]);
    }

    #[test]
    fn trust_sense_keeps_good_status_strict() {
        // GOOD status carries no sense to trust: a residual there is lost data.
        let mut d = drive(vec![(1000, Completion::good(24))], usize::MAX);
        d.set_residual_policy(ResidualPolicy::TrustSense);
        let mut buf = [0u8; 1024];
        assert!(is_mismatch(&d.read(&mut buf).unwrap_err()));
    }

    #[test]
    fn good_write_with_residual_is_a_transport_error() {
        let mut d = drive(vec![(0, Completion::good(512))], usize::MAX);
        assert!(is_mismatch(&d.write(&[0u8; 4096]).unwrap_err()));
    }

    #[test]
    fn blocks_above_the_hba_limit_are_refused_before_sending() {
        let mut d = drive(vec![], 1 << 20);
        let mut buf = vec![0u8; (1 << 20) + 1];
        let e = d.read(&mut buf).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("1048577") && msg.contains("1048576"), "{msg}");
        assert!(d.write(&buf).is_err());
        assert!(d.set_block_size((1 << 20) + 512).is_err());
        assert!(d.transport().sent.is_empty());
    }

    #[test]
    fn unit_attention_is_consumed_only_where_safe() {
        // 06/28/00 then GOOD: TEST UNIT READY retries and succeeds.
        let ua = vec![
            0x70, 0, 0x06, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x28, 0x00, 0, 0, 0, 0,
        ];
        let mut d = drive(
            vec![
                (0, Completion::check_condition(ua.clone(), 0)),
                (0, Completion::good(0)),
                (0, Completion::check_condition(ua, 4)),
            ],
            usize::MAX,
        );
        d.test_unit_ready().unwrap();
        // The medium change made the driver forget the block size.
        assert_eq!(d.block_size, None);
        d.block_size = Some(0);
        // A WRITE is not repeated: the medium may have changed under it.
        let e = d.write(&[0u8; 4]).unwrap_err();
        assert_eq!(e.class(), ErrorClass::UnitAttention);
        assert_eq!(d.transport().sent.len(), 3);
    }

    #[test]
    fn mode_select_longer_than_its_length_field_is_refused() {
        let page = |subpage| ModePage {
            page: 0x10,
            subpage,
            ps: false,
            data: vec![0; 0xffff],
        };
        let m = ModeData {
            pages: vec![page(1), page(2)],
            ..ModeData::default()
        };
        let mut d = drive(vec![], usize::MAX);
        let e = d.mode_select(&m).unwrap_err();
        assert!(matches!(e, ScsiError::Invalid { .. }), "{e}");
        assert!(d.transport().sent.is_empty());
    }

    #[test]
    fn unit_attention_retries_are_bounded() {
        let ua = vec![
            0x70, 0, 0x06, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x29, 0x00, 0, 0, 0, 0,
        ];
        let answers = (0..10)
            .map(|_| (0, Completion::check_condition(ua.clone(), 0)))
            .collect();
        let mut d = drive(answers, usize::MAX);
        let e = d.test_unit_ready().unwrap_err();
        assert_eq!(e.class(), ErrorClass::UnitAttention);
        assert_eq!(d.transport().sent.len(), UA_RETRIES + 1);
    }
}

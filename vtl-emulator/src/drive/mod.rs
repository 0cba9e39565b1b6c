//! The SSC tape drive model: a pure state machine that answers CDBs with the
//! status, data and sense bytes a real LTO drive returns.
//!
//! [`Drive::execute`] takes one command from one initiator and returns a
//! [`Response`]; nothing here touches sockets, so the same model is served
//! in-process ([`crate::library::VtlTransport`]) and later over iSCSI.
//! Unit attentions are kept per initiator, as SAM requires.
//!
//! One file per feature: [`dispatch`] (the opcode table and the common
//! checks), [`inquiry`], [`mode`], [`log`], [`rw`], [`position`],
//! [`attributes`], [`density`], [`report`], [`sense`], [`faults`].

pub mod attributes;
pub mod density;
pub mod dispatch;
pub mod faults;
pub mod inquiry;
pub mod log;
pub mod medium;
pub mod mode;
pub mod position;
pub mod report;
pub mod rw;
pub mod sense;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use reel_drivers::scsi::sense::{Sense, SenseKey, SenseKeySpecific};
use reel_drivers::scsi::transport::ScsiStatus;
use serde::{Deserialize, Serialize};

pub use faults::{Faults, ResidualLie};
pub use medium::{Cartridge, Generation, TapePosition};

/// Identifies one initiator (I_T nexus) talking to the drive.
pub type InitiatorId = u64;

/// What the drive returns for one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: ScsiStatus,
    /// Fixed-format sense bytes when `status` is CHECK CONDITION.
    pub sense: Vec<u8>,
    /// Bytes placed at the start of the data-in buffer.
    pub data_in_len: usize,
    /// Residual the transport reports: data-in (or data-out) buffer length
    /// minus what was transferred; a [`ResidualLie`] fault may falsify it.
    pub residual: usize,
}

/// Identity and behaviour of one drive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriveConfig {
    /// INQUIRY vendor, e.g. "IBM" or "HP".
    pub vendor: String,
    /// INQUIRY product, e.g. "ULT3580-TD8" or "Ultrium 8-SCSI".
    pub product: String,
    #[serde(default = "default_revision")]
    pub revision: String,
    pub serial: String,
    pub generation: Generation,
    /// Largest block the drive accepts (READ BLOCK LIMITS).
    #[serde(default = "default_max_block")]
    pub max_block_len: u32,
}

fn default_revision() -> String {
    "R001".into()
}

fn default_max_block() -> u32 {
    0x80_0000
}

impl DriveConfig {
    /// An IBM drive of the given generation (product names as IBM uses them).
    pub fn ibm(generation: Generation, serial: &str) -> DriveConfig {
        let n = match generation {
            Generation::Lto5 => "5",
            Generation::Lto6 => "6",
            Generation::Lto7 | Generation::Lto7M8 => "7",
            Generation::Lto8 => "8",
            Generation::Lto9 => "9",
            Generation::Lto10 => "A",
        };
        DriveConfig {
            vendor: "IBM".into(),
            product: format!("ULT3580-TD{n}"),
            revision: default_revision(),
            serial: serial.into(),
            generation,
            max_block_len: default_max_block(),
        }
    }
}

/// The settings a host changes with MODE SELECT / PREVENT, kept across
/// processes by the library.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriveSettings {
    /// 0 = variable-block mode.
    pub block_size: u32,
    pub compression: bool,
    /// Buffered mode (device-specific parameter bits 6..4).
    pub buffered_mode: u8,
    /// Initiators holding PREVENT MEDIUM REMOVAL.
    pub prevent: BTreeSet<InitiatorId>,
    /// Informational exceptions page: DEXCPT and MRIE.
    pub dexcpt: bool,
    pub mrie: u8,
}

impl Default for DriveSettings {
    fn default() -> Self {
        DriveSettings {
            block_size: 0,
            compression: true,
            buffered_mode: 1,
            prevent: BTreeSet::new(),
            dexcpt: false,
            mrie: 3,
        }
    }
}

/// A long operation started with IMMED=1 (or becoming ready after a load):
/// TEST UNIT READY answers NOT READY and REQUEST SENSE reports progress
/// until `until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Busy {
    pub kind: BusyKind,
    pub start: Instant,
    pub until: Instant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BusyKind {
    Loading,
    Rewinding,
    Locating,
    Erasing,
    Unloading,
}

impl BusyKind {
    /// ASC/ASCQ REQUEST SENSE reports (key NO SENSE) while it runs.
    fn progress_code(self) -> (u8, u8) {
        match self {
            BusyKind::Loading => (0x04, 0x01),
            BusyKind::Rewinding => (0x00, 0x1a),
            BusyKind::Locating => (0x00, 0x19),
            BusyKind::Erasing => (0x00, 0x18),
            BusyKind::Unloading => (0x00, 0x16),
        }
    }
}

/// Counters behind LOG SENSE 0Ch and 17h (reset by LOG SELECT PCR).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    pub host_bytes_written: u64,
    pub host_bytes_read: u64,
    pub medium_bytes_written: u64,
    pub medium_bytes_read: u64,
    pub records_written: u64,
    pub records_read: u64,
    pub read_errors: u64,
    pub write_errors: u64,
}

/// Where the inserted cartridge is.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum MediumState {
    /// No cartridge in the drive.
    Empty,
    /// In the drive but not threaded (after UNLOAD): LOAD makes it ready.
    Unloaded,
    /// Threaded and usable (possibly still becoming ready).
    Loaded,
    /// The drive cannot read this generation: only UNLOAD and eject work.
    Incompatible,
}

/// One virtual tape drive.
pub struct Drive {
    pub(crate) cfg: DriveConfig,
    pub(crate) cart: Option<Cartridge>,
    pub(crate) medium: MediumState,
    pub(crate) settings: DriveSettings,
    /// Pending unit attentions per initiator; an initiator not in the map
    /// has not been seen since power-on and gets 29/00 first.
    pub(crate) ua: BTreeMap<InitiatorId, VecDeque<(u8, u8)>>,
    pub(crate) busy: Option<Busy>,
    pub(crate) tape_alerts: u64,
    pub(crate) counters: Counters,
    pub(crate) faults: Faults,
    /// Bumped whenever persistent state changes (the library saves then).
    pub(crate) state_epoch: u64,
}

impl std::fmt::Debug for Drive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Drive")
            .field("cfg", &self.cfg)
            .field("medium", &self.medium)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Why an operator action on the drive was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DriveError {
    #[error("drive already holds a cartridge")]
    Occupied,
    #[error("drive is empty")]
    Empty,
    #[error("medium removal is prevented by an initiator")]
    RemovalPrevented,
}

/// A refused insert hands the cartridge back.
#[derive(Debug)]
pub struct InsertError {
    pub error: DriveError,
    pub cartridge: Box<Cartridge>,
}

impl Drive {
    /// A powered-on drive with no cartridge.
    pub fn new(cfg: DriveConfig) -> Drive {
        Drive {
            cfg,
            cart: None,
            medium: MediumState::Empty,
            settings: DriveSettings::default(),
            ua: BTreeMap::new(),
            busy: None,
            tape_alerts: 0,
            counters: Counters::default(),
            faults: Faults::default(),
            state_epoch: 0,
        }
    }

    pub fn config(&self) -> &DriveConfig {
        &self.cfg
    }

    pub fn settings(&self) -> &DriveSettings {
        &self.settings
    }

    pub fn set_settings(&mut self, s: DriveSettings) {
        self.settings = s;
    }

    pub fn medium_state(&self) -> MediumState {
        self.medium
    }

    pub fn cartridge(&self) -> Option<&Cartridge> {
        self.cart.as_ref()
    }

    pub fn cartridge_mut(&mut self) -> Option<&mut Cartridge> {
        self.cart.as_mut()
    }

    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Programmable faults (see [`Faults`]).
    pub fn faults_mut(&mut self) -> &mut Faults {
        self.touch();
        &mut self.faults
    }

    pub fn tape_alert_flags(&self) -> u64 {
        self.tape_alerts
    }

    /// Raises TapeAlert flag `n` (1..=64), as the drive would on a fault.
    pub fn set_tape_alert(&mut self, n: u8) {
        if (1..=64).contains(&n) {
            self.tape_alerts |= 1u64 << (64 - u32::from(n));
        }
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Counter that changes whenever state worth persisting changes.
    pub fn state_epoch(&self) -> u64 {
        self.state_epoch
    }

    /// EW / PEW zone of the loaded cartridge's current position (none
    /// without a cartridge). Derived, never remembered, so it is right
    /// after any motion, a reload or a library restart.
    pub(crate) fn zone(&self) -> medium::WriteState {
        self.cart.as_ref().map(Cartridge::zone).unwrap_or_default()
    }

    pub(crate) fn touch(&mut self) {
        self.state_epoch = self.state_epoch.wrapping_add(1);
    }

    /// Queues a unit attention for every initiator seen so far (initiators
    /// not seen yet get the power-on UA, which covers it).
    pub fn raise_unit_attention(&mut self, asc: u8, ascq: u8) {
        for q in self.ua.values_mut() {
            if !q.contains(&(asc, ascq)) {
                q.push_back((asc, ascq));
            }
        }
    }

    /// Forgets every initiator: all of them get 29/00 next (power-on/reset).
    pub fn power_on_reset(&mut self) {
        self.ua.clear();
        self.busy = None;
        self.settings.prevent.clear();
        if let Some(c) = self.cart.as_mut() {
            c.rewind();
        }
        self.touch();
    }

    /// Initiators that have been seen, for persistence.
    pub fn known_initiators(&self) -> Vec<InitiatorId> {
        self.ua.keys().copied().collect()
    }

    /// Marks initiators as seen with no UA pending (restoring a library).
    pub fn restore_initiators(&mut self, ids: &[InitiatorId]) {
        for id in ids {
            self.ua.entry(*id).or_default();
        }
    }

    /// Operator or robot inserts a cartridge: the drive threads it (auto
    /// load), becomes ready after the load delay and raises 28/00.
    pub fn insert(&mut self, cart: Cartridge) -> Result<(), InsertError> {
        if self.cart.is_some() {
            return Err(InsertError {
                error: DriveError::Occupied,
                cartridge: Box::new(cart),
            });
        }
        self.cart = Some(cart);
        self.thread_medium(None);
        Ok(())
    }

    /// Puts a cartridge back exactly as it was (restoring a library after a
    /// clean close): no load, no unit attention.
    pub fn restore(&mut self, cart: Cartridge, loaded: bool) {
        let compatible = medium::can_read(self.cfg.generation, cart.spec().generation);
        self.cart = Some(cart);
        self.medium = match (loaded, compatible) {
            (_, false) => MediumState::Incompatible,
            (true, true) => MediumState::Loaded,
            (false, true) => MediumState::Unloaded,
        };
    }

    /// Operator or robot removes the cartridge (refused while prevented).
    pub fn eject(&mut self) -> Result<Cartridge, DriveError> {
        if !self.settings.prevent.is_empty() && self.medium == MediumState::Loaded {
            return Err(DriveError::RemovalPrevented);
        }
        let cart = self.cart.take().ok_or(DriveError::Empty)?;
        self.medium = MediumState::Empty;
        self.busy = None;
        self.touch();
        Ok(cart)
    }

    /// Threads the cartridge: load count, delay, UA 28/00 to everyone but
    /// `issuer` (the initiator whose LOAD caused it, if any).
    pub(crate) fn thread_medium(&mut self, issuer: Option<InitiatorId>) {
        let Some(cart) = self.cart.as_mut() else {
            return;
        };
        if !medium::can_read(self.cfg.generation, cart.spec().generation) {
            self.medium = MediumState::Incompatible;
            self.set_tape_alert(faults::TA_UNSUPPORTED_FORMAT);
            self.touch();
            return;
        }
        cart.rewind();
        if let Err(e) = cart.note_load() {
            tracing::warn!("cannot record load count: {e}");
        }
        self.medium = MediumState::Loaded;
        let delay = self.faults.load_delay;
        if !delay.is_zero() {
            let now = Instant::now();
            self.busy = Some(Busy {
                kind: BusyKind::Loading,
                start: now,
                until: now + delay,
            });
        }
        for (id, q) in self.ua.iter_mut() {
            if Some(*id) != issuer && !q.contains(&(0x28, 0x00)) {
                q.push_back((0x28, 0x00));
            }
        }
        self.touch();
    }

    /// Progress of the running long operation, 0..=65535.
    pub(crate) fn busy_progress(&self, b: &Busy) -> u16 {
        let total = b.until.saturating_duration_since(b.start).as_secs_f64();
        let done = b.start.elapsed().as_secs_f64();
        if total <= 0.0 {
            return u16::MAX;
        }
        ((done / total).clamp(0.0, 1.0) * 65535.0) as u16
    }

    /// Starts `kind` lasting `delay`: with IMMED the command returns now and
    /// the drive stays busy; otherwise the caller really waits.
    pub(crate) fn mechanical_delay(&mut self, kind: BusyKind, delay: Duration, immed: bool) {
        if delay.is_zero() {
            return;
        }
        if immed {
            let now = Instant::now();
            self.busy = Some(Busy {
                kind,
                start: now,
                until: now + delay,
            });
        } else {
            std::thread::sleep(delay);
        }
    }

    /// Sense returned by REQUEST SENSE / TUR while busy.
    pub(crate) fn busy_sense(&self, b: &Busy, for_request_sense: bool) -> Sense {
        let p = self.busy_progress(b);
        let mut s = if b.kind == BusyKind::Loading {
            Sense::new(SenseKey::NotReady, 0x04, 0x01)
        } else if for_request_sense {
            let (asc, ascq) = b.kind.progress_code();
            Sense::new(SenseKey::NoSense, asc, ascq)
        } else {
            Sense::new(SenseKey::NotReady, 0x04, 0x07)
        };
        s.key_specific = Some(SenseKeySpecific::Progress(p));
        s
    }

    /// Executes one CDB for `initiator`. Never panics, whatever the bytes.
    pub fn execute(
        &mut self,
        initiator: InitiatorId,
        cdb: &[u8],
        data_out: &[u8],
        data_in: &mut [u8],
    ) -> Response {
        let in_len = data_in.len();
        let out_len = data_out.len();
        let result = dispatch::dispatch(self, initiator, cdb, data_out, data_in);
        let (status, sense, n) = match result {
            Ok(n) => (ScsiStatus::GOOD, Vec::new(), n.min(in_len)),
            Err(f) => {
                tracing::debug!(
                    op = cdb.first().copied().unwrap_or(0),
                    "CHECK CONDITION {}",
                    f.sense
                );
                (
                    ScsiStatus::CHECK_CONDITION,
                    f.sense.encode_fixed(),
                    f.data_in_len.min(in_len),
                )
            }
        };
        let residual = if in_len > 0 { in_len - n } else { 0 };
        let residual = match self.faults.misreport_residual {
            None => residual,
            Some(lie) => lie.apply(residual, in_len.max(out_len)),
        };
        Response {
            status,
            sense,
            data_in_len: n,
            residual,
        }
    }
}

#[cfg(test)]
mod tests;

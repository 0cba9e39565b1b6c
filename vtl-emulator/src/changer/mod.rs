//! The SMC-3 medium changer model: a state machine that answers CDBs with
//! the status, data and sense bytes a real tape library returns.
//!
//! [`Changer::execute`] takes one command from one initiator and returns a
//! [`Response`]. The robot reaches the drives through a [`DriveBay`], so the
//! same model runs against the library's real drive models
//! ([`crate::library`]) or against [`SimpleBay`] (tests, fuzzing).
//!
//! Elements live in four disjoint address ranges ([`ElementMap`]); the
//! picker never holds a cartridge between commands (moves are atomic), so the
//! medium transport element always reads empty.
//!
//! One file per feature: [`dispatch`] (opcode table and common checks),
//! [`inquiry`] (INQUIRY, VPD, REPORT LUNS, TEST UNIT READY, REQUEST SENSE),
//! [`mode`] (pages 1Dh, 1Eh, 1Fh), [`element_status`] (READ ELEMENT
//! STATUS), [`movement`] (MOVE/EXCHANGE MEDIUM, POSITION TO ELEMENT,
//! INITIALIZE ELEMENT STATUS, PREVENT/ALLOW, OPEN/CLOSE IMPORT/EXPORT),
//! [`volume_tag`] (SEND VOLUME TAG, REQUEST VOLUME ELEMENT ADDRESS),
//! [`bay`] (the drive side), [`faults`].
//!
//! Sense codes chosen where SMC-3 leaves it to the vendor:
//! - a cartridge still threaded in its drive (the host has not sent UNLOAD
//!   and `auto_unload` is off): ILLEGAL REQUEST 3B/90 (as Exabyte/Tandberg
//!   autoloaders report "cartridge loaded inside the drive, not accessible");
//! - door open: NOT READY 04/03 (manual intervention required); offline:
//!   NOT READY 04/12; becoming ready after power-on or a door close: NOT
//!   READY 04/01;
//! - an element the robot cannot reach (mail slots pulled out with OPEN
//!   IMPORT/EXPORT ELEMENT, disabled elements): ILLEGAL REQUEST 3B/11;
//! - picker failure: HARDWARE ERROR 15/01 (mechanical positioning error);
//! - a cartridge file that cannot be opened for a load: MEDIUM ERROR 53/00.

pub mod bay;
pub mod dispatch;
pub mod element_status;
pub mod faults;
pub mod inquiry;
pub mod mode;
pub mod movement;
pub mod volume_tag;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use reel_drivers::scsi::sense::{Sense, SenseKey, SenseKeySpecific};
use reel_drivers::scsi::transport::ScsiStatus;
use serde::{Deserialize, Serialize};

pub use crate::drive::{InitiatorId, Response};
pub use bay::{BayError, DriveBay, SimpleBay};
pub use faults::{ChangerFaults, PickerFault};

/// SMC element types (element type codes 1..=4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ElementKind {
    Transport,
    Storage,
    ImportExport,
    DataTransfer,
}

impl ElementKind {
    pub const ALL: [ElementKind; 4] = [
        ElementKind::Transport,
        ElementKind::Storage,
        ElementKind::ImportExport,
        ElementKind::DataTransfer,
    ];

    /// Element type code (SMC-3 table "element type code").
    pub fn code(self) -> u8 {
        match self {
            ElementKind::Transport => 1,
            ElementKind::Storage => 2,
            ElementKind::ImportExport => 3,
            ElementKind::DataTransfer => 4,
        }
    }
}

/// First address and count of each element type (MODE page 1Dh).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElementMap {
    pub transport: (u16, u16),
    pub storage: (u16, u16),
    pub import_export: (u16, u16),
    pub data_transfer: (u16, u16),
}

/// Default first addresses: picker 0x0001, drives 0x0100, mail slots
/// 0x0300, storage slots 0x0400.
pub const DEFAULT_TRANSPORT: u16 = 0x0001;
pub const DEFAULT_DRIVES: u16 = 0x0100;
pub const DEFAULT_MAIL: u16 = 0x0300;
pub const DEFAULT_STORAGE: u16 = 0x0400;

impl ElementMap {
    /// The default map for a library of this size.
    pub fn standard(slots: u16, mail_slots: u16, drives: u16) -> ElementMap {
        ElementMap {
            transport: (DEFAULT_TRANSPORT, 1),
            storage: (DEFAULT_STORAGE, slots),
            import_export: (DEFAULT_MAIL, mail_slots),
            data_transfer: (DEFAULT_DRIVES, drives),
        }
    }

    pub fn range(&self, kind: ElementKind) -> (u16, u16) {
        match kind {
            ElementKind::Transport => self.transport,
            ElementKind::Storage => self.storage,
            ElementKind::ImportExport => self.import_export,
            ElementKind::DataTransfer => self.data_transfer,
        }
    }

    /// The element at `addr`: its type and index within the type.
    pub fn locate(&self, addr: u16) -> Option<(ElementKind, usize)> {
        ElementKind::ALL.into_iter().find_map(|k| {
            let (first, n) = self.range(k);
            let off = addr.checked_sub(first)?;
            (off < n).then_some((k, usize::from(off)))
        })
    }

    /// Address of element `index` of `kind` (None past the count).
    pub fn address(&self, kind: ElementKind, index: usize) -> Option<u16> {
        let (first, n) = self.range(kind);
        let i = u16::try_from(index).ok()?;
        (i < n).then(|| first + i)
    }

    /// Types in ascending address order (how READ ELEMENT STATUS walks).
    pub fn kinds_by_address(&self) -> [ElementKind; 4] {
        let mut k = ElementKind::ALL;
        k.sort_by_key(|&k| self.range(k).0);
        k
    }

    /// Checks that ranges fit in 16 bits and do not overlap.
    pub fn validate(&self) -> Result<(), String> {
        let mut spans: Vec<(u32, u32, ElementKind)> = Vec::new();
        for k in ElementKind::ALL {
            let (first, n) = self.range(k);
            let end = u32::from(first) + u32::from(n);
            if end > 0x1_0000 {
                return Err(format!("{k:?} elements run past address 0xFFFF"));
            }
            if n > 0 {
                spans.push((u32::from(first), end, k));
            }
        }
        spans.sort();
        for w in spans.windows(2) {
            if w[0].1 > w[1].0 {
                return Err(format!(
                    "{:?} and {:?} element addresses overlap",
                    w[0].2, w[1].2
                ));
            }
        }
        Ok(())
    }
}

/// What a cartridge is, as the library's barcode reader and SMC medium
/// type field see it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediumKind {
    #[default]
    Data,
    Worm,
    Cleaning,
}

impl MediumKind {
    /// SMC-3 MEDIUM TYPE field (element descriptor byte 9 bits 2..0).
    pub fn smc_code(self) -> u8 {
        match self {
            MediumKind::Data => 1,
            MediumKind::Cleaning => 2,
            MediumKind::Worm => 4,
        }
    }
}

/// One cartridge inside the library.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Medium {
    pub barcode: String,
    #[serde(default)]
    pub kind: MediumKind,
    /// Cleaning cycles left (cleaning cartridges only).
    #[serde(default)]
    pub cleaning_uses: u32,
    /// Alternate volume tag, reported when the library has them enabled.
    #[serde(default)]
    pub alternate_tag: Option<String>,
    /// False for a cartridge without a readable barcode label (its volume
    /// tag reads as zeros).
    #[serde(default = "yes")]
    pub labelled: bool,
    /// The element it was last moved from (SValid/source address).
    #[serde(default)]
    pub source: Option<u16>,
    /// Placed in a mail slot by the operator (ImpExp bit).
    #[serde(default)]
    pub by_operator: bool,
}

fn yes() -> bool {
    true
}

impl Medium {
    pub fn data(barcode: impl Into<String>) -> Medium {
        Medium {
            barcode: barcode.into(),
            kind: MediumKind::Data,
            cleaning_uses: 0,
            alternate_tag: None,
            labelled: true,
            source: None,
            by_operator: false,
        }
    }

    pub fn cleaning(barcode: impl Into<String>, uses: u32) -> Medium {
        Medium {
            kind: MediumKind::Cleaning,
            cleaning_uses: uses,
            ..Medium::data(barcode)
        }
    }
}

/// Identity of the library and of each drive (for INQUIRY and DVCID).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub vendor: String,
    pub product: String,
    pub revision: String,
    pub serial: String,
}

/// Behaviour switches of the robot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangerOptions {
    /// The robot unloads a threaded cartridge itself before taking it out
    /// of a drive (some real libraries refuse instead: field note A6).
    pub auto_unload: bool,
    /// EXCHANGE MEDIUM supported (reported in page 1Fh).
    pub exchange: bool,
    /// Alternate volume tags reported (AVolTag).
    pub alternate_tags: bool,
    /// Time one MOVE/EXCHANGE/POSITION takes (really slept).
    pub move_delay: Duration,
    /// Inventory time: INITIALIZE ELEMENT STATUS blocks this long, and the
    /// library is NOT READY 04/01 this long after power-on or a door close.
    pub init_delay: Duration,
}

impl Default for ChangerOptions {
    fn default() -> Self {
        ChangerOptions {
            auto_unload: false,
            exchange: true,
            alternate_tags: false,
            move_delay: Duration::ZERO,
            init_delay: Duration::ZERO,
        }
    }
}

/// Static description of a changer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangerConfig {
    pub identity: Identity,
    pub map: ElementMap,
    /// One per data transfer element, in element order.
    pub drives: Vec<Identity>,
    pub options: ChangerOptions,
}

/// Where a cartridge sits, by element type and 0-based index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Location {
    Slot(usize),
    MailSlot(usize),
    Drive(usize),
}

impl Location {
    pub fn kind(self) -> ElementKind {
        match self {
            Location::Slot(_) => ElementKind::Storage,
            Location::MailSlot(_) => ElementKind::ImportExport,
            Location::Drive(_) => ElementKind::DataTransfer,
        }
    }

    pub fn index(self) -> usize {
        match self {
            Location::Slot(i) | Location::MailSlot(i) | Location::Drive(i) => i,
        }
    }
}

/// Everything about the changer that persists across processes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangerState {
    pub slots: Vec<Option<Medium>>,
    pub mail_slots: Vec<Option<Medium>>,
    pub drives: Vec<Option<Medium>>,
    #[serde(default)]
    pub door_open: bool,
    /// Mail slots pulled out to the operator (OPEN IMPORT/EXPORT ELEMENT).
    #[serde(default)]
    pub mail_open: bool,
    /// Initiators holding PREVENT MEDIUM REMOVAL.
    #[serde(default)]
    pub prevent: BTreeSet<InitiatorId>,
    #[serde(default)]
    pub faults: ChangerFaults,
    /// Initiators seen since power-on (they do not get 29/00 again).
    #[serde(default)]
    pub initiators: Vec<InitiatorId>,
    /// Cartridges the operator took out through the mail slots (only
    /// cleaning cartridges need this: data cartridges stay in the store).
    #[serde(default)]
    pub shelf: Vec<Medium>,
}

impl ChangerState {
    /// An empty library of this shape.
    pub fn empty(map: &ElementMap) -> ChangerState {
        ChangerState {
            slots: vec![None; usize::from(map.storage.1)],
            mail_slots: vec![None; usize::from(map.import_export.1)],
            drives: vec![None; usize::from(map.data_transfer.1)],
            ..ChangerState::default()
        }
    }

    pub fn get(&self, loc: Location) -> Option<&Medium> {
        self.list(loc.kind())
            .and_then(|l| l.get(loc.index()))
            .and_then(Option::as_ref)
    }

    fn list(&self, kind: ElementKind) -> Option<&Vec<Option<Medium>>> {
        match kind {
            ElementKind::Storage => Some(&self.slots),
            ElementKind::ImportExport => Some(&self.mail_slots),
            ElementKind::DataTransfer => Some(&self.drives),
            ElementKind::Transport => None,
        }
    }

    pub(crate) fn cell(&mut self, loc: Location) -> Option<&mut Option<Medium>> {
        match loc {
            Location::Slot(i) => self.slots.get_mut(i),
            Location::MailSlot(i) => self.mail_slots.get_mut(i),
            Location::Drive(i) => self.drives.get_mut(i),
        }
    }

    /// Where the cartridge with `barcode` is.
    pub fn find(&self, barcode: &str) -> Option<Location> {
        let hit = |l: &Vec<Option<Medium>>| {
            l.iter()
                .position(|m| m.as_ref().is_some_and(|m| m.barcode == barcode))
        };
        hit(&self.slots)
            .map(Location::Slot)
            .or_else(|| hit(&self.mail_slots).map(Location::MailSlot))
            .or_else(|| hit(&self.drives).map(Location::Drive))
    }

    /// First empty storage slot.
    pub fn first_empty_slot(&self) -> Option<usize> {
        self.slots.iter().position(Option::is_none)
    }
}

/// One virtual medium changer.
pub struct Changer {
    pub(crate) cfg: ChangerConfig,
    pub(crate) state: ChangerState,
    /// Pending unit attentions per initiator seen since power-on.
    pub(crate) ua: BTreeMap<InitiatorId, VecDeque<(u8, u8)>>,
    /// NOT READY 04/01 until then (inventory after power-on / door close).
    pub(crate) becoming_ready: Option<(Instant, Instant)>,
    /// The last SEND VOLUME TAG translate of each initiator.
    pub(crate) searches: BTreeMap<InitiatorId, volume_tag::VolumeSearch>,
    pub(crate) epoch: u64,
}

impl std::fmt::Debug for Changer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Changer")
            .field("cfg", &self.cfg)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl Changer {
    /// A changer just powered on, holding `state` (whose element lists are
    /// resized to the map). Every initiator gets 29/00 first.
    pub fn new(cfg: ChangerConfig, mut state: ChangerState) -> Changer {
        state.slots.resize(usize::from(cfg.map.storage.1), None);
        state
            .mail_slots
            .resize(usize::from(cfg.map.import_export.1), None);
        state
            .drives
            .resize(usize::from(cfg.map.data_transfer.1), None);
        let mut c = Changer {
            cfg,
            state,
            ua: BTreeMap::new(),
            becoming_ready: None,
            searches: BTreeMap::new(),
            epoch: 0,
        };
        c.power_on_reset();
        c
    }

    /// Restores a changer after a clean close: known initiators keep their
    /// nexus (no 29/00), no inventory delay.
    pub fn restore(cfg: ChangerConfig, state: ChangerState) -> Changer {
        let mut c = Changer::new(cfg, state);
        c.becoming_ready = None;
        for id in c.state.initiators.clone() {
            c.ua.entry(id).or_default();
        }
        c
    }

    pub fn config(&self) -> &ChangerConfig {
        &self.cfg
    }

    pub fn state(&self) -> &ChangerState {
        &self.state
    }

    /// The state with the list of seen initiators filled in, for saving.
    pub fn snapshot(&self) -> ChangerState {
        let mut s = self.state.clone();
        s.initiators = self.ua.keys().copied().collect();
        s
    }

    pub fn faults(&self) -> &ChangerFaults {
        &self.state.faults
    }

    /// Programmable faults (see [`ChangerFaults`]).
    pub fn faults_mut(&mut self) -> &mut ChangerFaults {
        self.touch();
        &mut self.state.faults
    }

    pub fn options_mut(&mut self) -> &mut ChangerOptions {
        &mut self.cfg.options
    }

    /// Counter bumped whenever state worth persisting changes.
    pub fn state_epoch(&self) -> u64 {
        self.epoch
    }

    pub(crate) fn touch(&mut self) {
        self.epoch = self.epoch.wrapping_add(1);
    }

    /// Power-on: everyone gets 29/00, PREVENT is cleared, and the library
    /// takes an inventory (NOT READY 04/01) for `init_delay`.
    pub fn power_on_reset(&mut self) {
        self.ua.clear();
        self.searches.clear();
        self.state.prevent.clear();
        self.start_inventory();
        self.touch();
    }

    fn start_inventory(&mut self) {
        let d = self.cfg.options.init_delay;
        self.becoming_ready = (!d.is_zero()).then(|| {
            let now = Instant::now();
            (now, now + d)
        });
    }

    /// Queues a unit attention for every initiator seen (except `but`).
    pub fn raise_unit_attention(&mut self, asc: u8, ascq: u8, but: Option<InitiatorId>) {
        for (id, q) in self.ua.iter_mut() {
            if Some(*id) != but && !q.contains(&(asc, ascq)) {
                q.push_back((asc, ascq));
            }
        }
        self.touch();
    }

    /// Operator opens the front door: the robot stops (NOT READY 04/03).
    pub fn open_door(&mut self) {
        self.state.door_open = true;
        self.touch();
    }

    /// Operator closes the door: UA 28/00 for everyone, then an inventory.
    pub fn close_door(&mut self) {
        if self.state.door_open {
            self.state.door_open = false;
            self.raise_unit_attention(0x28, 0x00, None);
            self.start_inventory();
        }
    }

    /// Whether the operator may open the mail slots (no PREVENT).
    pub fn removal_prevented(&self) -> bool {
        !self.state.prevent.is_empty()
    }

    /// Operator puts `medium` into mail slot `i` (UA 28/01 follows).
    pub fn operator_import(&mut self, i: usize, mut medium: Medium) -> Result<(), OperatorError> {
        if self.removal_prevented() {
            return Err(OperatorError::Prevented);
        }
        let cell = self
            .state
            .mail_slots
            .get_mut(i)
            .ok_or(OperatorError::NoSuchElement)?;
        if cell.is_some() {
            return Err(OperatorError::Full);
        }
        medium.source = None;
        medium.by_operator = true;
        *cell = Some(medium);
        self.mail_accessed();
        Ok(())
    }

    /// Operator takes the cartridge out of mail slot `i` (UA 28/01 follows).
    pub fn operator_export(&mut self, i: usize) -> Result<Medium, OperatorError> {
        if self.removal_prevented() {
            return Err(OperatorError::Prevented);
        }
        let cell = self
            .state
            .mail_slots
            .get_mut(i)
            .ok_or(OperatorError::NoSuchElement)?;
        let m = cell.take().ok_or(OperatorError::Empty)?;
        self.mail_accessed();
        Ok(m)
    }

    /// Operator pushes the mail slots back in (after OPEN IMPORT/EXPORT).
    pub fn operator_close_mail(&mut self) {
        if self.state.mail_open {
            self.state.mail_open = false;
            self.mail_accessed();
        }
    }

    fn mail_accessed(&mut self) {
        // SMC-3: 28/01 "import or export element accessed".
        self.raise_unit_attention(0x28, 0x01, None);
    }

    /// Places or removes a cartridge by hand (door open, or setting up a
    /// library): no unit attention here, the door close raises it.
    pub fn set_element(
        &mut self,
        loc: Location,
        medium: Option<Medium>,
    ) -> Result<(), OperatorError> {
        let cell = self.state.cell(loc).ok_or(OperatorError::NoSuchElement)?;
        *cell = medium;
        self.touch();
        Ok(())
    }

    /// The sense a robot command gets when the library cannot move.
    pub(crate) fn not_ready_sense(&self) -> Option<Sense> {
        if self.state.faults.offline {
            return Some(Sense::new(SenseKey::NotReady, 0x04, 0x12));
        }
        if self.state.door_open {
            return Some(Sense::new(SenseKey::NotReady, 0x04, 0x03));
        }
        if let Some((start, until)) = self.becoming_ready {
            let total = until.saturating_duration_since(start).as_secs_f64();
            let done = start.elapsed().as_secs_f64();
            let p = if total > 0.0 {
                ((done / total).clamp(0.0, 1.0) * 65535.0) as u16
            } else {
                u16::MAX
            };
            let mut s = Sense::new(SenseKey::NotReady, 0x04, 0x01);
            s.key_specific = Some(SenseKeySpecific::Progress(p));
            return Some(s);
        }
        None
    }

    /// Executes one CDB for `initiator`, reaching drives through `bay`.
    /// Never panics, whatever the bytes.
    pub fn execute(
        &mut self,
        initiator: InitiatorId,
        cdb: &[u8],
        data_out: &[u8],
        data_in: &mut [u8],
        bay: &mut dyn DriveBay,
    ) -> Response {
        let in_len = data_in.len();
        let result = dispatch::dispatch(self, bay, initiator, cdb, data_out, data_in);
        let (status, sense, n) = match result {
            Ok(n) => (ScsiStatus::GOOD, Vec::new(), n.min(in_len)),
            Err(f) => {
                tracing::debug!(
                    op = cdb.first().copied().unwrap_or(0),
                    "changer CHECK CONDITION {}",
                    f.sense
                );
                (
                    ScsiStatus::CHECK_CONDITION,
                    f.sense.encode_fixed(),
                    f.data_in_len.min(in_len),
                )
            }
        };
        Response {
            status,
            sense,
            data_in_len: n,
            residual: in_len - n,
        }
    }
}

/// Why an operator action was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OperatorError {
    #[error("medium removal is prevented by an initiator (mail slots locked)")]
    Prevented,
    #[error("no such element")]
    NoSuchElement,
    #[error("the element is full")]
    Full,
    #[error("the element is empty")]
    Empty,
    #[error("the library door is closed")]
    DoorClosed,
}

#[cfg(test)]
mod tests;

//! The Bench: what a case gets. The drive and changer under test, the
//! media policy (what may be written or moved), and, for targets reel
//! controls, a [`Fixture`] that can do what no SCSI command can (make a
//! small cartridge, flip a write-protect tab, power-cycle the target).

use std::time::Duration;

use reel_changer::library::identifier_matches;
use reel_changer::{Changer, ChangerOptions, ElementStatus, InventoryOptions};
use reel_drivers::ScsiError;
use reel_drivers::scsi::sense::SenseKey;
use reel_drivers::tape::TapeDrive;

use super::{CaseError, Transport, glob};

/// What a run may do to media.
#[derive(Debug, Clone, Default)]
pub struct MediaPolicy {
    pub destructive: bool,
    /// glob over barcodes (e.g. "RL00*", "*"); cartridges not matching are never
    /// written, loaded for writing, or moved by a destructive case.
    pub allow_barcodes: Option<String>,
}

impl MediaPolicy {
    /// May a destructive case write to (or move) the cartridge `barcode`?
    /// Cleaning cartridges never.
    pub fn allows(&self, barcode: &str) -> bool {
        self.destructive
            && !barcode.starts_with("CLN")
            && self
                .allow_barcodes
                .as_deref()
                .is_some_and(|g| glob::matches(g, barcode))
    }
}

/// Operations only a target reel controls can do (the VTL, in process or
/// served over iSCSI from this process). Absent for tgtd and real devices:
/// cases needing it return CaseError::Skip("needs a VTL fixture: ...").
pub trait Fixture: Send {
    /// Create (or reuse) a cartridge with this capacity/flags, put it in a free
    /// storage slot, return its barcode.
    fn cartridge(&mut self, spec: FixtureCartridge) -> Result<String, CaseError>;
    /// Toggle the write-protect tab of a cartridge (wherever it is).
    fn set_write_protect(&mut self, barcode: &str, on: bool) -> Result<(), CaseError>;
    /// Simulate a power-on/reset of the target (new UA 29/00 for every nexus).
    fn reset(&mut self) -> Result<(), CaseError>;
    /// Another initiator's transport to the same drive (for UA-per-nexus cases).
    fn second_tape_transport(&mut self) -> Result<Transport, CaseError>;
    /// Set the programmable early warning size (bytes before EW) of the
    /// cartridge in the drive under test.
    fn set_pew_size(&mut self, _bytes: u64) -> Result<(), CaseError> {
        Err(CaseError::Skip(
            "the fixture cannot set a programmable early warning".into(),
        ))
    }
    /// Raise TapeAlert flag `flag` (1..=64) on the drive under test.
    fn set_tape_alert(&mut self, _flag: u8) -> Result<(), CaseError> {
        Err(CaseError::Skip(
            "the fixture cannot raise TapeAlert flags".into(),
        ))
    }
}

/// A cartridge a fixture makes for one case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FixtureCartridge {
    pub capacity_bytes: Option<u64>,
    pub worm: bool,
    pub write_protected: bool,
    pub generation: Option<u8>,
}

/// Opens another initiator's transport to the drive under test (a new
/// iSCSI session, a second SG handle...), for targets without a fixture.
pub type TransportOpener = Box<dyn FnMut() -> Result<Transport, CaseError> + Send>;

/// How long a drive may take to become ready after a load or reset.
const READY: Duration = Duration::from_secs(120);
/// UNIT ATTENTIONs drained after a case (each reset, medium change, mode
/// change and log clear can queue one per nexus).
const UA_DRAIN: usize = 8;

/// The cartridge the bench itself put into the drive, and where from.
#[derive(Debug, Clone)]
struct Loaded {
    barcode: String,
    /// Storage element it came from (`None` without a changer).
    slot: Option<u16>,
}

/// The devices under test and what may be done to them.
pub struct Bench {
    tape: Option<TapeDrive<Transport>>,
    changer: Option<Changer<Transport>>,
    policy: MediaPolicy,
    fixture: Option<Box<dyn Fixture>>,
    /// The changer's element for the drive under test, once found.
    drive_element: Option<u16>,
    loaded: Option<Loaded>,
    /// Cartridges a fixture made for particular cases (WORM, tiny,
    /// write-protected): never handed out as scratch tapes.
    special: Vec<String>,
    second_tape: Option<TransportOpener>,
}

impl Bench {
    pub fn new(
        tape: Option<Transport>,
        changer: Option<Transport>,
        policy: MediaPolicy,
        fixture: Option<Box<dyn Fixture>>,
    ) -> Bench {
        Bench {
            tape: tape.map(TapeDrive::new),
            changer: changer.map(|t| Changer::new(t, ChangerOptions::default())),
            policy,
            fixture,
            drive_element: None,
            loaded: None,
            special: Vec::new(),
            second_tape: None,
        }
    }

    /// Replaces the changer's options (shorter retry intervals in tests).
    pub fn set_changer_options(&mut self, opts: ChangerOptions) {
        if let Some(c) = &mut self.changer {
            *c.options_mut() = opts;
        }
    }

    pub fn policy(&self) -> &MediaPolicy {
        &self.policy
    }

    pub fn has_tape(&self) -> bool {
        self.tape.is_some()
    }

    pub fn has_changer(&self) -> bool {
        self.changer.is_some()
    }

    pub fn has_fixture(&self) -> bool {
        self.fixture.is_some()
    }

    pub fn fixture(&mut self) -> Result<&mut dyn Fixture, CaseError> {
        match &mut self.fixture {
            Some(f) => Ok(f.as_mut()),
            None => Err(CaseError::Skip(
                "needs a VTL fixture: the target is not one reel controls".into(),
            )),
        }
    }

    /// A cartridge made by the fixture for one case; remembered so that
    /// [`Bench::scratch_tape`] never hands it out and [`Bench::load_barcode`]
    /// accepts it whatever the barcode policy says.
    pub fn fixture_cartridge(&mut self, spec: FixtureCartridge) -> Result<String, CaseError> {
        if !self.policy.destructive {
            return Err(CaseError::Skip("needs --destructive".into()));
        }
        let b = self.fixture()?.cartridge(spec)?;
        if !self.special.contains(&b) {
            self.special.push(b.clone());
        }
        Ok(b)
    }

    /// How to open another nexus to the drive under test when the target
    /// has no fixture (tgtd and real devices over iSCSI).
    pub fn set_second_tape(&mut self, opener: TransportOpener) {
        self.second_tape = Some(opener);
    }

    /// Another I_T nexus to the drive under test: from the opener given to
    /// [`Bench::set_second_tape`], else from the fixture (Skip if neither).
    pub fn second_tape_transport(&mut self) -> Result<Transport, CaseError> {
        if let Some(open) = &mut self.second_tape {
            return open();
        }
        match &mut self.fixture {
            Some(f) => f.second_tape_transport(),
            None => Err(CaseError::Skip(
                "needs a second initiator to the drive (a VTL fixture or an iSCSI target)".into(),
            )),
        }
    }

    /// Unloads the cartridge the bench loaded and returns it to its slot
    /// (nothing without a changer).
    pub fn unload_to_slot(&mut self) -> Result<(), CaseError> {
        self.put_back()
    }

    /// The drive under test (Skip if none). Caller decides what is loaded.
    pub fn tape(&mut self) -> Result<&mut TapeDrive<Transport>, CaseError> {
        self.tape
            .as_mut()
            .ok_or_else(|| CaseError::Skip("no tape drive under test (--tape)".into()))
    }

    /// The changer under test as reel's Changer (Skip if none).
    pub fn changer(&mut self) -> Result<&mut Changer<Transport>, CaseError> {
        self.changer
            .as_mut()
            .ok_or_else(|| CaseError::Skip("no changer under test (--changer)".into()))
    }

    /// The barcode of the cartridge the bench loaded, if any.
    pub fn loaded_barcode(&self) -> Option<&str> {
        self.loaded.as_ref().map(|l| l.barcode.as_str())
    }

    /// A writable cartridge allowed by the policy, loaded in the drive under
    /// test and rewound (moved there by the changer when there is one; the
    /// drive's element is found by matching DVCID / VPD 80h serial, else the
    /// first data transfer element). Skip when not --destructive or nothing
    /// allowed is available. Returns the barcode (or "" when unknown).
    pub fn scratch_tape(&mut self) -> Result<String, CaseError> {
        if !self.policy.destructive {
            return Err(CaseError::Skip("needs --destructive".into()));
        }
        self.tape()?;
        if self.changer.is_none() {
            return self.scratch_standalone();
        }
        let drive = self.drive_element()?;
        let inv = self.changer()?.inventory(&InventoryOptions::default())?;
        let in_drive = inv.drives.iter().find(|e| e.address == drive).cloned();
        if let Some(d) = in_drive.filter(|d| d.full) {
            let barcode = tag(&d);
            if !self.usable(&barcode) {
                return Err(CaseError::Skip(format!(
                    "the drive holds {barcode:?}, which --allow-barcodes does not allow"
                )));
            }
            self.prepare_loaded()?;
            if self.loaded.is_none() {
                self.loaded = Some(Loaded {
                    barcode: barcode.clone(),
                    slot: d.source,
                });
            }
            return Ok(barcode);
        }
        let candidates: Vec<(u16, String)> = inv
            .slots
            .iter()
            .filter(|s| s.full)
            .map(|s| (s.address, tag(s)))
            .filter(|(_, b)| self.usable(b))
            .collect();
        for (slot, barcode) in candidates {
            self.move_in(slot, drive, &barcode)?;
            if !self.tape()?.status()?.write_protected {
                return Ok(barcode);
            }
            tracing::info!(barcode, "write-protected: not a scratch tape, next");
            self.put_back()?;
        }
        Err(CaseError::Skip(
            "no writable cartridge matching --allow-barcodes in the library".into(),
        ))
    }

    /// Without a changer: the cartridge already in the drive, if the policy
    /// allows its barcode (from MAM; "" when the drive cannot tell, which
    /// only "*" allows).
    fn scratch_standalone(&mut self) -> Result<String, CaseError> {
        let d = self.tape()?;
        if !medium_present(d)? {
            return Err(CaseError::Skip(
                "no cartridge in the drive and no changer to load one".into(),
            ));
        }
        let barcode = d
            .mam()
            .ok()
            .and_then(|m| m.barcode)
            .map(|b| b.trim().to_string())
            .unwrap_or_default();
        let allowed = self.special.contains(&barcode)
            || self.policy.allows(&barcode)
            || (barcode.is_empty() && self.policy.allow_barcodes.as_deref() == Some("*"));
        if !allowed {
            return Err(CaseError::Skip(format!(
                "the cartridge in the drive ({barcode:?}) does not match --allow-barcodes"
            )));
        }
        self.prepare_loaded()?;
        if self.tape()?.status()?.write_protected {
            return Err(CaseError::Skip(
                "the cartridge in the drive is write-protected".into(),
            ));
        }
        Ok(barcode)
    }

    /// Scratch candidates: allowed by the policy and not made for a case.
    fn usable(&self, barcode: &str) -> bool {
        self.policy.allows(barcode) && !self.special.iter().any(|s| s == barcode)
    }

    /// Load a specific cartridge (barcode) into the drive under test.
    pub fn load_barcode(&mut self, barcode: &str) -> Result<(), CaseError> {
        if !self.policy.destructive {
            return Err(CaseError::Skip("needs --destructive".into()));
        }
        if !self.special.iter().any(|s| s == barcode) && !self.policy.allows(barcode) {
            return Err(CaseError::Skip(format!(
                "{barcode} does not match --allow-barcodes"
            )));
        }
        let drive = self.drive_element()?;
        if self.loaded.as_ref().is_some_and(|l| l.barcode == barcode) {
            return self.prepare_loaded();
        }
        self.put_back()?;
        let inv = self.changer()?.inventory(&InventoryOptions::default())?;
        if let Some(d) = inv.drives.iter().find(|e| e.address == drive && e.full) {
            return Err(CaseError::Fail(format!(
                "the drive under test holds {:?}, which the bench did not load",
                tag(d)
            )));
        }
        let Some(slot) = inv
            .slots
            .iter()
            .find(|s| s.full && tag(s) == barcode)
            .map(|s| s.address)
        else {
            return Err(CaseError::Skip(format!(
                "{barcode} is not in a storage slot"
            )));
        };
        self.move_in(slot, drive, barcode)
    }

    /// Moves the cartridge at `slot` into the drive and waits until it is
    /// ready at BOT.
    fn move_in(&mut self, slot: u16, drive: u16, barcode: &str) -> Result<(), CaseError> {
        self.changer()?.move_medium(slot, drive, false)?;
        self.loaded = Some(Loaded {
            barcode: barcode.to_string(),
            slot: Some(slot),
        });
        self.prepare_loaded()
    }

    /// Ready, variable block mode, at BOT.
    fn prepare_loaded(&mut self) -> Result<(), CaseError> {
        let d = self.tape()?;
        if !medium_present(d)? {
            // A cartridge in the drive but not threaded (after UNLOAD).
            d.load()?;
        }
        d.wait_ready(READY)?;
        if d.block_size()? != 0 {
            d.set_block_size(0)?;
        }
        d.rewind(false)?;
        Ok(())
    }

    /// Unloads the cartridge the bench loaded and returns it to its slot.
    fn put_back(&mut self) -> Result<(), CaseError> {
        let Some(l) = self.loaded.take() else {
            return Ok(());
        };
        let Some(slot) = l.slot else {
            return Ok(());
        };
        let drive = self.drive_element()?;
        let d = self.tape()?;
        // A case may have left removal prevented or the cartridge unloaded.
        let _ = d.prevent_removal(false);
        if let Err(e) = d.unload()
            && !is_not_ready(&e)
        {
            return Err(e.into());
        }
        let ch = self.changer()?;
        let inv = ch.inventory(&InventoryOptions::default())?;
        if !inv.drives.iter().any(|e| e.address == drive && e.full) {
            // A case moved it already (a changer case); nothing to do.
            return Ok(());
        }
        ch.move_medium(drive, slot, false)?;
        Ok(())
    }

    /// Empties the drive under test of a cartridge a case loaded through
    /// the changer itself (allowed or fixture-made only): back to its
    /// source slot when that is free, else to the first free slot.
    /// A changer whose element status cannot be read (the case said so
    /// already) is left alone rather than failing every later case.
    fn clear_drive(&mut self) -> Result<(), CaseError> {
        let found = self.drive_element().and_then(|drive| {
            Ok((
                drive,
                self.changer()?.inventory(&InventoryOptions::default())?,
            ))
        });
        let (drive, inv) = match found {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!("tidy-up: cannot read the changer's element status: {e}");
                return Ok(());
            }
        };
        let Some(d) = inv.drives.iter().find(|e| e.address == drive && e.full) else {
            return Ok(());
        };
        let barcode = tag(d);
        if !self.policy.allows(&barcode) && !self.special.contains(&barcode) {
            tracing::info!(
                barcode,
                "left in the drive: not allowed by --allow-barcodes"
            );
            return Ok(());
        }
        let home = d
            .source
            .filter(|a| inv.slots.iter().any(|s| s.address == *a && !s.full))
            .or_else(|| inv.slots.iter().find(|s| !s.full).map(|s| s.address));
        let Some(home) = home else {
            return Err(CaseError::Fail(format!(
                "no free slot to put {barcode:?} back into"
            )));
        };
        if let Some(t) = &mut self.tape {
            let _ = t.prevent_removal(false);
            if let Err(e) = t.unload()
                && !is_not_ready(&e)
            {
                return Err(e.into());
            }
        }
        self.changer()?.move_medium(drive, home, false)?;
        Ok(())
    }

    /// The data transfer element of the drive under test: DVCID matched to
    /// the drive's VPD 80h serial, else the first drive.
    pub fn drive_element(&mut self) -> Result<u16, CaseError> {
        if let Some(e) = self.drive_element {
            return Ok(e);
        }
        let serial = match &mut self.tape {
            Some(d) => d.identify().ok().and_then(|i| i.serial),
            None => None,
        };
        let inv = self.changer()?.inventory(&InventoryOptions::default())?;
        let matched = serial.as_deref().and_then(|s| {
            inv.drives.iter().find(|e| {
                e.identifier
                    .as_ref()
                    .is_some_and(|id| identifier_matches(id, s))
            })
        });
        let Some(e) = matched.or(inv.drives.first()) else {
            return Err(CaseError::Skip("the changer reports no drive".into()));
        };
        self.drive_element = Some(e.address);
        Ok(e.address)
    }

    /// Put the drive/changer back to a neutral state after a case (unload
    /// the drive back to its source slot, clear pending UAs). Called by the runner.
    pub fn tidy(&mut self) -> Result<(), String> {
        let mut problems = Vec::new();
        if let Some(d) = &mut self.tape {
            drain_unit_attentions(d);
            if self.policy.destructive && d.test_unit_ready().is_ok() {
                // Cases switch to fixed mode or change settings: back to
                // variable blocks so the next case starts alike.
                if let Err(e) = d
                    .block_size()
                    .and_then(|b| if b != 0 { d.set_block_size(0) } else { Ok(()) })
                {
                    problems.push(format!("variable block mode: {e}"));
                }
                d.set_sili(false);
            }
        }
        if self.policy.destructive
            && let Some(c) = &mut self.changer
        {
            // Some cases lock the door; a failure here is not the case's.
            // Never in a read-only run: the lock may be backup software's.
            let _ = c.prevent_removal(false);
        }
        if self.changer.is_some()
            && self.policy.destructive
            && let Err(e) = self.put_back().and_then(|()| self.clear_drive())
        {
            problems.push(format!("return the cartridge: {e}"));
        }
        if let Some(d) = &mut self.tape {
            drain_unit_attentions(d);
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }
}

/// Whether a cartridge is in the drive: NOT READY 3A/xx says no at once;
/// other NOT READY states (becoming ready) are waited out.
pub fn medium_present(d: &mut TapeDrive<Transport>) -> Result<bool, CaseError> {
    for _ in 0..UA_DRAIN {
        let r = reel_drivers::scsi::command::exchange(
            d.transport(),
            "TEST UNIT READY",
            &[0u8; 6],
            reel_drivers::DataDirection::None,
            Duration::from_secs(60),
        )?;
        match r.sense {
            None => return Ok(true),
            Some(s) if s.key == SenseKey::UnitAttention => continue,
            Some(s) if s.key == SenseKey::NotReady && s.asc == 0x3a => return Ok(false),
            Some(s) if s.key == SenseKey::NotReady => {
                d.wait_ready(READY)?;
                return Ok(true);
            }
            Some(_) => return Ok(true),
        }
    }
    Err(CaseError::Fail("unit attentions never stop".into()))
}

/// TEST UNIT READY until no UNIT ATTENTION is pending (bounded).
fn drain_unit_attentions(d: &mut TapeDrive<Transport>) {
    for _ in 0..UA_DRAIN {
        match reel_drivers::scsi::command::run(
            d.transport(),
            "TEST UNIT READY",
            &[0u8; 6],
            reel_drivers::DataDirection::None,
            Duration::from_secs(60),
        ) {
            Err(ScsiError::Check { sense, .. }) if sense.key == SenseKey::UnitAttention => {}
            _ => return,
        }
    }
}

fn is_not_ready(e: &ScsiError) -> bool {
    e.sense().is_some_and(|s| s.key == SenseKey::NotReady)
}

/// The primary volume tag as text ("" when the element has none).
fn tag(e: &ElementStatus) -> String {
    e.primary_tag.as_ref().map(|t| t.text()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::MediaPolicy;

    #[test]
    fn policy_allows_only_matching_non_cleaning_cartridges_when_destructive() {
        let p = |destructive, allow: Option<&str>| MediaPolicy {
            destructive,
            allow_barcodes: allow.map(str::to_string),
        };
        assert!(p(true, Some("RL00*")).allows("RL0001L8"));
        assert!(!p(true, Some("RL00*")).allows("RL0101L8"));
        assert!(!p(false, Some("*")).allows("RL0001L8"), "read-only run");
        assert!(
            !p(true, None).allows("RL0001L8"),
            "no pattern, no cartridge"
        );
        assert!(
            !p(true, Some("*")).allows("CLN001L1"),
            "never a cleaning tape"
        );
        assert!(p(true, Some("A*,B*")).allows("B00001L8"));
    }
}

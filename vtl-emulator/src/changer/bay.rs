//! The drive side of the robot: what the changer needs from the drives it
//! serves. The library implements it over its drive models; [`SimpleBay`]
//! is a self-contained stand-in for tests and fuzzing.

use super::Medium;

/// Why a drive refused a cartridge move.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BayError {
    /// An initiator prevents medium removal on the drive.
    #[error("the drive prevents medium removal")]
    RemovalPrevented,
    /// The cartridge is still threaded (the host has not unloaded it).
    #[error("the cartridge is still loaded in the drive")]
    NotUnloaded,
    /// The drive already holds a cartridge.
    #[error("the drive is occupied")]
    Occupied,
    /// The cartridge could not be loaded (its file is missing or corrupt).
    #[error("load failed: {0}")]
    LoadFailed(String),
}

/// Access to the data transfer elements (0-based drive index).
pub trait DriveBay {
    /// Inserts `medium` into drive `n`; the drive threads it and raises
    /// UNIT ATTENTION 28/00 for its initiators.
    fn load(&mut self, n: usize, medium: &Medium) -> Result<(), BayError>;

    /// Takes the cartridge out of drive `n`. With `unload`, a threaded
    /// cartridge is unloaded first; without, it must already be unloaded.
    fn take(&mut self, n: usize, medium: &Medium, unload: bool) -> Result<(), BayError>;
}

/// One drive of a [`SimpleBay`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimpleDrive {
    pub barcode: Option<String>,
    /// Threaded (a host must UNLOAD before the robot can take it).
    pub threaded: bool,
    pub prevented: bool,
}

/// Drives without tape models: they remember what they hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimpleBay {
    pub drives: Vec<SimpleDrive>,
    /// Barcodes whose load fails (missing cartridge files).
    pub broken: Vec<String>,
}

impl SimpleBay {
    pub fn new(drives: usize) -> SimpleBay {
        SimpleBay {
            drives: vec![SimpleDrive::default(); drives],
            broken: Vec::new(),
        }
    }

    /// The host unloads drive `n` (LOAD UNLOAD with LOAD=0).
    pub fn unload(&mut self, n: usize) {
        if let Some(d) = self.drives.get_mut(n) {
            d.threaded = false;
        }
    }
}

impl DriveBay for SimpleBay {
    fn load(&mut self, n: usize, medium: &Medium) -> Result<(), BayError> {
        if self.broken.contains(&medium.barcode) {
            return Err(BayError::LoadFailed(format!(
                "{}: no such cartridge",
                medium.barcode
            )));
        }
        let d = self
            .drives
            .get_mut(n)
            .ok_or_else(|| BayError::LoadFailed(format!("no drive {n}")))?;
        if d.barcode.is_some() {
            return Err(BayError::Occupied);
        }
        d.barcode = Some(medium.barcode.clone());
        d.threaded = true;
        Ok(())
    }

    fn take(&mut self, n: usize, _medium: &Medium, unload: bool) -> Result<(), BayError> {
        let Some(d) = self.drives.get_mut(n) else {
            return Ok(());
        };
        if d.threaded {
            if d.prevented {
                return Err(BayError::RemovalPrevented);
            }
            if !unload {
                return Err(BayError::NotUnloaded);
            }
        }
        *d = SimpleDrive {
            prevented: d.prevented,
            ..SimpleDrive::default()
        };
        Ok(())
    }
}

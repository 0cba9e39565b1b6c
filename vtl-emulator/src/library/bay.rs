//! The robot's side of the drives: [`DriveBay`] over the library's drive
//! models and cartridge store.

use crate::cartridge::Cartridge;
use crate::changer::{BayError, DriveBay, Medium};
use crate::drive::{DriveError, MediumState};

use super::Shared;

pub(crate) struct LibraryBay<'a> {
    pub shared: &'a Shared,
}

impl DriveBay for LibraryBay<'_> {
    fn load(&mut self, n: usize, medium: &Medium) -> Result<(), BayError> {
        let path = self
            .shared
            .dir
            .join(&self.shared.config.cartridges_dir)
            .join(&medium.barcode);
        let cart = Cartridge::open(&path)
            .map_err(|e| BayError::LoadFailed(format!("{}: {e}", medium.barcode)))?;
        let mut d = self
            .shared
            .lock_drive(n)
            .map_err(|e| BayError::LoadFailed(e.to_string()))?;
        d.insert(cart).map_err(|e| {
            if let Err(c) = e.cartridge.close() {
                tracing::warn!("closing refused cartridge: {c}");
            }
            BayError::Occupied
        })
    }

    fn take(&mut self, n: usize, _medium: &Medium, unload: bool) -> Result<(), BayError> {
        let Ok(mut d) = self.shared.lock_drive(n) else {
            return Ok(());
        };
        if d.cartridge().is_none() {
            return Ok(());
        }
        if d.medium_state() == MediumState::Loaded {
            if !d.settings().prevent.is_empty() {
                return Err(BayError::RemovalPrevented);
            }
            if !unload {
                return Err(BayError::NotUnloaded);
            }
        }
        match d.eject() {
            Ok(cart) => {
                if let Err(e) = cart.close() {
                    tracing::error!("closing cartridge taken from drive {n}: {e}");
                }
                Ok(())
            }
            Err(DriveError::RemovalPrevented) => Err(BayError::RemovalPrevented),
            Err(_) => Ok(()),
        }
    }
}

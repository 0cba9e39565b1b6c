//! What every connection of one `reel-vtl serve` shares: the configuration,
//! the library, and the counters that make sessions distinct.

use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};

use super::config::ServeConfig;
use super::params::TargetLimits;
use crate::drive::InitiatorId;
use crate::library::VirtualLibrary;

/// The one portal group this target has.
pub const PORTAL_GROUP_TAG: u16 = 1;

pub struct Portal {
    pub config: ServeConfig,
    pub library: VirtualLibrary,
    pub limits: TargetLimits,
    next_tsih: AtomicU16,
    next_initiator: AtomicU64,
}

impl Portal {
    pub fn new(config: ServeConfig, library: VirtualLibrary) -> Portal {
        // Initiator ids must not repeat across restarts: the library
        // remembers the ones it has seen, and a new session must get its
        // power-on unit attention (29/00).
        let base = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1 << 40, |d| d.as_micros() as u64)
            << 8;
        Portal {
            config,
            library,
            limits: TargetLimits::default(),
            next_tsih: AtomicU16::new(1),
            next_initiator: AtomicU64::new(base),
        }
    }

    /// A new TSIH, never 0.
    pub fn new_tsih(&self) -> u16 {
        loop {
            let t = self.next_tsih.fetch_add(1, Ordering::Relaxed);
            if t != 0 {
                return t;
            }
        }
    }

    pub fn new_initiator(&self) -> InitiatorId {
        self.next_initiator.fetch_add(1, Ordering::Relaxed)
    }
}

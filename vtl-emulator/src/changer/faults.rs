//! Fault injection for the changer: what a test bench needs to reproduce a
//! failing picker, an offline library and unreachable elements. The door
//! (operator action) and slow mechanics ([`super::ChangerOptions`]) are the
//! other half.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// A picker that fails MOVE MEDIUM, EXCHANGE MEDIUM, POSITION TO ELEMENT
/// and INITIALIZE ELEMENT STATUS with HARDWARE ERROR `asc`/`ascq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PickerFault {
    pub asc: u8,
    pub ascq: u8,
    /// Fails every time (and the transport element reports Except with
    /// this ASC/ASCQ); otherwise fails once and clears.
    pub persistent: bool,
}

impl PickerFault {
    /// HARDWARE ERROR 15/01, mechanical positioning error.
    pub fn positioning(persistent: bool) -> PickerFault {
        PickerFault {
            asc: 0x15,
            ascq: 0x01,
            persistent,
        }
    }
}

/// Faults armed on the changer. All default to off.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangerFaults {
    #[serde(default)]
    pub picker: Option<PickerFault>,
    /// The library is offline: robot commands get NOT READY 04/12.
    #[serde(default)]
    pub offline: bool,
    /// Element addresses the robot cannot reach (Access bit 0; moves to or
    /// from them fail with ILLEGAL REQUEST 3B/11).
    #[serde(default)]
    pub inaccessible: BTreeSet<u16>,
}

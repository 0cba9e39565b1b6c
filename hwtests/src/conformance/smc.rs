//! Changer (SMC) cases. Owner: helper `smc`.

use super::Case;

pub fn cases() -> Vec<Case> {
    Vec::new()
}

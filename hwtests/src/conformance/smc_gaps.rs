//! Known gaps of the changer cases per target kind. Owner: helper `smc`.

use super::TargetKind;

/// (case name, why it fails there) for the changer cases.
pub fn known_gaps(kind: TargetKind) -> &'static [(&'static str, &'static str)] {
    match kind {
        TargetKind::VtlInProcess | TargetKind::VtlIscsi | TargetKind::Tgtd | TargetKind::Device => {
            &[]
        }
    }
}

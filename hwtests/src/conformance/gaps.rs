//! Known gaps per target kind: cases a target is known to fail, with why.
//! A listed case that fails is reported as a known gap (not a failure); a
//! listed case that passes is reported as an unexpected pass, so the list
//! follows the target's behaviour both ways.

use super::{TargetKind, smc_gaps};

/// (case name, why the target fails it).
pub type Gap = (&'static str, &'static str);

/// tgt 1.0.x's SSC emulation, as observed through reel's initiator.
const TGTD_SSC: &[Gap] = &[];

/// The known gaps of `kind`, tape cases then changer cases.
pub fn known_gaps(kind: TargetKind) -> Vec<Gap> {
    let ssc: &[Gap] = match kind {
        TargetKind::Tgtd => TGTD_SSC,
        TargetKind::VtlInProcess | TargetKind::VtlIscsi | TargetKind::Device => &[],
    };
    let mut v = ssc.to_vec();
    v.extend_from_slice(smc_gaps::known_gaps(kind));
    v
}

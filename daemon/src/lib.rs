//! reeld: the device host service. For now it holds what `reelctl` needs:
//! mt-st compatible parsing and output ([`mt`]).

pub mod bench;
pub mod device;
pub mod mt;
pub mod progress;
pub mod report;

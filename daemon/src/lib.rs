//! reeld: the device host service. For now it holds what `reelctl` needs:
//! mt-st compatible parsing and output ([`mt`]), the tape commands
//! ([`tapecmd`]), VTL administration ([`vtlcmd`]), the demo and the
//! benchmark.

pub mod bench;
pub mod changer_device;
pub mod changerbench;
pub mod changercmd;
pub mod db;
pub mod demo;
pub mod device;
pub mod diskcmd;
pub mod devices;
pub mod jobs;
pub mod jobscmd;
pub mod media;
pub mod mt;
pub mod mtx;
pub mod poscache;
pub mod progress;
pub mod report;
pub mod schedbench;
pub mod scheduler;
pub mod tape;
pub mod tapebench;
pub mod tapecmd;
pub mod vtlcmd;

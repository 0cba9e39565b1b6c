//! reeld: the device host service. For now it holds what `reelctl` needs:
//! mt-st compatible parsing and output ([`mt`]), the tape commands
//! ([`tapecmd`]), VTL administration ([`vtlcmd`]), the demo and the
//! benchmark.

pub mod api;
pub mod auth;
pub mod backupbench;
pub mod bench;
pub mod changer_device;
pub mod changerbench;
pub mod changercmd;
pub mod db;
pub mod dedup;
pub mod dedup_copy;
pub mod dedupbench;
pub mod dedupcmd;
pub mod dedupcopycmd;
pub mod demo;
pub mod device;
pub mod devices;
pub mod diskbench;
pub mod diskcmd;
pub mod http;
pub mod jobs;
pub mod jobscmd;
pub mod media;
pub mod mt;
pub mod mtx;
pub mod poscache;
pub mod progress;
pub mod reeldbench;
pub mod remote;
pub mod report;
pub mod schedbench;
pub mod scheduler;
pub mod server;
pub mod tape;
pub mod tapebench;
pub mod tapecmd;
pub mod vtlcmd;

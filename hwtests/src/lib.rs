//! reel-hwtests: one conformance suite for every transport, plus the
//! harnesses that run software reel did not write next to reel's own
//! iSCSI target and initiator:
//!
//! - [`tgt`]: Linux `tgtd` with a tape (SSC) and a changer (SMC) LUN;
//! - [`libiscsi`]: libiscsi's command line tools (`iscsi-ls`, `iscsi-inq`);
//! - [`reel_vtl_server`]: `reel-vtl serve` as a child process.
//!
//! Every process a harness starts is stopped by its PID on drop.

pub mod bench;
pub mod conformance;
pub mod libiscsi;
pub mod reel_vtl_server;
pub mod tgt;
pub mod tools;

pub use tools::HarnessError;

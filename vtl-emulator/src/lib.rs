//! reel-vtl: a virtual tape library that answers CDBs as real devices do.
//!
//! - [`cartridge`]: virtual cartridges stored as files (partitions, records
//!   with CRC32C, filemarks, EOD, index, capacity zones, WORM, crash safety).
//! - [`drive`]: the SSC tape drive model (CDB dispatch, sense, unit
//!   attentions, modes, logs, MAM) and fault injection.
//! - [`changer`]: the SMC-3 medium changer model (element status with
//!   volume tags and device identifiers, moves, exchanges, mail slots, door,
//!   unit attentions) and its fault injection.
//! - [`library`]: a VTL directory (`library.toml`: drives, slots, mail
//!   slots, cartridges; persisted state) and the in-process
//!   [`reel_drivers::ScsiTransport`]s to its drives and changer.

pub mod cartridge;
pub mod changer;
pub mod drive;
pub mod iscsi;
pub mod library;

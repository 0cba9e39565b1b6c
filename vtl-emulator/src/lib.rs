//! reel-vtl: a virtual tape library that answers CDBs as real devices do.
//!
//! - [`cartridge`]: virtual cartridges stored as files (partitions, records
//!   with CRC32C, filemarks, EOD, index, capacity zones, WORM, crash safety).
//! - [`drive`]: the SSC tape drive model (CDB dispatch, sense, unit
//!   attentions, modes, logs, MAM) and fault injection.
//! - [`library`]: a VTL directory (drives, cartridges, persisted state) and
//!   the in-process [`reel_drivers::ScsiTransport`].

pub mod cartridge;
pub mod changer;
pub mod drive;
pub mod library;

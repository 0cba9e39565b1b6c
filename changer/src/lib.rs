//! reel-changer: the SMC media changer driver.
//!
//! Layout (one file per SCSI feature; pure builders/decoders apart from the
//! code that issues commands):
//! - [`element_status`]: READ ELEMENT STATUS CDB and the element status parser.
//! - [`mode_pages`]: mode pages 1Dh, 1Eh, 1Fh.
//! - [`moves`]: MOVE/EXCHANGE MEDIUM, POSITION, INITIALIZE, PREVENT/ALLOW,
//!   OPEN/CLOSE IMPORT/EXPORT CDBs.
//! - [`changer`]: [`Changer`], the commands with retries, fallbacks and
//!   paging.
//! - [`library`]: the library model (slots from 1, drives from 0, load,
//!   unload, cleaning, drive matching by serial).

pub mod element_status;
pub mod error;
pub mod mode_pages;
pub mod moves;

pub use element_status::{DeviceIdentifier, ElementStatus, ElementType, MediumType, VolumeTag};
pub use error::ChangerError;
pub use mode_pages::{DeviceCapabilities, ElementAssignment};
pub mod changer;

pub use changer::{Changer, ChangerOptions, Inventory, InventoryOptions, Progress};
pub mod library;

pub use library::{DriveMatch, Ejector, Library, Location, TapeDevices, match_drives};

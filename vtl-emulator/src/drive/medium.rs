//! The cartridge API the drive uses (from [`crate::cartridge`]).

pub use crate::cartridge::{
    Cartridge, CartridgeError, CartridgeSpec, Generation, ReadRecord, SpaceResult, TapePosition,
    Usage, WriteState, can_read, can_write,
};

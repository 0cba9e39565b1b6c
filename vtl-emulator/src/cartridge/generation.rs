//! LTO generations, density codes, capacities and the drive/media
//! compatibility rules.

use serde::{Deserialize, Serialize};

/// LTO media generation (of a cartridge or of a drive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Generation {
    Lto5,
    Lto6,
    Lto7,
    /// LTO-7 Type M: an LTO-7 cartridge initialised at 9 TB by an LTO-8 drive.
    Lto7M8,
    Lto8,
    Lto9,
    Lto10,
}

const TB: u64 = 1_000_000_000_000;

impl Generation {
    /// Every generation, oldest first.
    pub const ALL: [Generation; 7] = [
        Generation::Lto5,
        Generation::Lto6,
        Generation::Lto7,
        Generation::Lto7M8,
        Generation::Lto8,
        Generation::Lto9,
        Generation::Lto10,
    ];

    /// Primary density code (MODE SENSE block descriptor, REPORT DENSITY SUPPORT).
    pub fn density_code(self) -> u8 {
        match self {
            Generation::Lto5 => 0x58,
            Generation::Lto6 => 0x5A,
            Generation::Lto7 => 0x5C,
            Generation::Lto7M8 => 0x5D,
            Generation::Lto8 => 0x5E,
            Generation::Lto9 => 0x60,
            Generation::Lto10 => 0x62,
        }
    }

    /// The generation with this density code, if any.
    pub fn from_density_code(code: u8) -> Option<Generation> {
        Generation::ALL
            .into_iter()
            .find(|g| g.density_code() == code)
    }

    /// Native (uncompressed) capacity in bytes.
    pub fn native_capacity(self) -> u64 {
        match self {
            Generation::Lto5 => 1_500_000_000_000,
            Generation::Lto6 => 2_500_000_000_000,
            Generation::Lto7 => 6 * TB,
            Generation::Lto7M8 => 9 * TB,
            Generation::Lto8 => 12 * TB,
            Generation::Lto9 => 18 * TB,
            Generation::Lto10 => 30 * TB,
        }
    }

    /// Human name as drives and labels spell it.
    pub fn name(self) -> &'static str {
        match self {
            Generation::Lto5 => "LTO-5",
            Generation::Lto6 => "LTO-6",
            Generation::Lto7 => "LTO-7",
            Generation::Lto7M8 => "LTO-7 M8",
            Generation::Lto8 => "LTO-8",
            Generation::Lto9 => "LTO-9",
            Generation::Lto10 => "LTO-10",
        }
    }
}

/// Whether a drive of generation `drive` can read media of `media`.
///
/// LTO-5..LTO-7 read two generations back; LTO-8 reads LTO-7, LTO-7 M8
/// and LTO-8; LTO-9 reads LTO-8 and LTO-9; LTO-10 reads only LTO-10.
/// Type M media is only usable in LTO-8 drives.
pub fn can_read(drive: Generation, media: Generation) -> bool {
    use Generation::*;
    match drive {
        Lto5 => matches!(media, Lto5),
        Lto6 => matches!(media, Lto5 | Lto6),
        Lto7 => matches!(media, Lto5 | Lto6 | Lto7),
        // An M8 "drive" does not exist; treat it as the LTO-8 drive that made it.
        Lto7M8 | Lto8 => matches!(media, Lto7 | Lto7M8 | Lto8),
        Lto9 => matches!(media, Lto8 | Lto9),
        Lto10 => matches!(media, Lto10),
    }
}

/// Whether a drive of generation `drive` can write media of `media`.
///
/// LTO-5..LTO-7 write one generation back; LTO-8 writes LTO-7, M8 and
/// LTO-8; LTO-9 writes LTO-8 and LTO-9; LTO-10 writes only LTO-10.
pub fn can_write(drive: Generation, media: Generation) -> bool {
    use Generation::*;
    match drive {
        Lto5 => matches!(media, Lto5),
        Lto6 => matches!(media, Lto5 | Lto6),
        Lto7 => matches!(media, Lto6 | Lto7),
        Lto7M8 | Lto8 => matches!(media, Lto7 | Lto7M8 | Lto8),
        Lto9 => matches!(media, Lto8 | Lto9),
        Lto10 => matches!(media, Lto10),
    }
}

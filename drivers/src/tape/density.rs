//! REPORT DENSITY SUPPORT (SSC-5 6.x) and density code names.
//!
//! Drives are identified by what they report, never by a vendor/model
//! allowlist: an unknown density code is shown as "unknown (0xNN)" and works
//! like any other (field note A16).

use crate::scsi::error::DecodeError;
use crate::scsi::opcodes;

/// REPORT DENSITY SUPPORT with MEDIUM TYPE = 0 (density descriptors).
/// `media_only` sets MEDIA: only densities of the loaded medium.
pub fn report_density_cdb(media_only: bool, alloc: u16) -> [u8; 10] {
    let mut c = [0u8; 10];
    c[0] = opcodes::REPORT_DENSITY_SUPPORT;
    c[1] = u8::from(media_only);
    c[7..9].copy_from_slice(&alloc.to_be_bytes());
    c
}

/// One density support data block descriptor (52 bytes).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DensityDescriptor {
    pub primary_code: u8,
    pub secondary_code: u8,
    /// The drive can write this density (WRTOK).
    pub writable: bool,
    /// DUP: the descriptor duplicates another one.
    pub duplicate: bool,
    /// DEFLT: the drive's default density.
    pub default: bool,
    pub bits_per_mm: u32,
    /// Tenths of millimetres.
    pub media_width: u16,
    pub tracks: u16,
    /// Megabytes (10^6 bytes).
    pub capacity_mb: u32,
    pub organization: String,
    pub name: String,
    pub description: String,
}

const DESCRIPTOR_LEN: usize = 52;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b)
        .trim_end_matches([' ', '\0'])
        .to_string()
}

/// Decodes the answer: a 4-byte header (AVAILABLE DENSITY SUPPORT LENGTH,
/// which excludes its own 2 bytes) then 52-byte descriptors. A truncated
/// trailing descriptor is dropped; a header claiming more than was received
/// is honoured only as far as the data goes.
pub fn parse_density_support(b: &[u8]) -> Result<Vec<DensityDescriptor>, DecodeError> {
    const WHAT: &str = "REPORT DENSITY SUPPORT data";
    if b.len() < 4 {
        return Err(DecodeError::short(WHAT, 4, b.len()));
    }
    let declared = 2 + usize::from(u16::from_be_bytes([b[0], b[1]]));
    let body = &b[4..declared.clamp(4, b.len())];
    Ok(body
        .chunks_exact(DESCRIPTOR_LEN)
        .map(|d| DensityDescriptor {
            primary_code: d[0],
            secondary_code: d[1],
            writable: d[2] & 0x80 != 0,
            duplicate: d[2] & 0x40 != 0,
            default: d[2] & 0x20 != 0,
            bits_per_mm: u32::from_be_bytes([0, d[5], d[6], d[7]]),
            media_width: u16::from_be_bytes([d[8], d[9]]),
            tracks: u16::from_be_bytes([d[10], d[11]]),
            capacity_mb: u32::from_be_bytes([d[12], d[13], d[14], d[15]]),
            organization: text(&d[16..24]),
            name: text(&d[24..32]),
            description: text(&d[32..52]),
        })
        .collect())
}

/// Well-known names of density codes (LTO per the LTO SCSI references).
pub fn density_name(code: u8) -> Option<&'static str> {
    Some(match code {
        0x00 => "default",
        0x40 => "LTO-1",
        0x42 => "LTO-2",
        0x44 => "LTO-3",
        0x46 => "LTO-4",
        0x58 => "LTO-5",
        0x5a => "LTO-6",
        0x5c => "LTO-7",
        0x5d => "LTO-7 M8",
        0x5e => "LTO-8",
        0x60 => "LTO-9",
        _ => return None,
    })
}

/// Name for display: the known name, or "unknown (0xNN)".
pub fn density_label(code: u8) -> String {
    match density_name(code) {
        Some(n) => n.to_string(),
        None => format!("unknown (0x{code:02x})"),
    }
}

/// LTO generation number of a density code, when it is a known LTO code
/// (M8 media counts as generation 7).
pub fn lto_generation(code: u8) -> Option<u8> {
    Some(match code {
        0x40 => 1,
        0x42 => 2,
        0x44 => 3,
        0x46 => 4,
        0x58 => 5,
        0x5a => 6,
        0x5c | 0x5d => 7,
        0x5e => 8,
        0x60 => 9,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdb_bytes() {
        assert_eq!(
            report_density_cdb(false, 0x2000),
            [0x44, 0x00, 0, 0, 0, 0, 0, 0x20, 0x00, 0]
        );
        assert_eq!(
            report_density_cdb(true, 0xffff),
            [0x44, 0x01, 0, 0, 0, 0, 0, 0xff, 0xff, 0]
        );
    }

    fn descriptor(code: u8, flags: u8, name: &[u8; 8]) -> Vec<u8> {
        let mut d = vec![code, code, flags, 0x00, 0x00];
        d.extend_from_slice(&[0x00, 0x4e, 0x20]); // 20000 bits/mm
        d.extend_from_slice(&[0x00, 0x7f]); // 12.7 mm
        d.extend_from_slice(&[0x21, 0x00]); // 8448 tracks
        d.extend_from_slice(&[0x01, 0x12, 0xa8, 0x80]); // 18 000 000 MB
        d.extend_from_slice(b"LTO-CVE ");
        d.extend_from_slice(name);
        d.extend_from_slice(b"Ultrium 9/16T       ");
        assert_eq!(d.len(), 52);
        d
    }

    #[test]
    fn parse_two_descriptors() {
        let mut b = vec![0x00, 0x6a, 0x00, 0x00]; // 2 + 104 bytes follow
        b.extend(descriptor(0x60, 0xa0, b"U-916   "));
        b.extend(descriptor(0x5e, 0x80, b"U-832   "));
        let d = parse_density_support(&b).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].primary_code, 0x60);
        assert!(d[0].writable && d[0].default && !d[0].duplicate);
        assert_eq!(d[0].bits_per_mm, 20000);
        assert_eq!(d[0].media_width, 127);
        assert_eq!(d[0].tracks, 8448);
        assert_eq!(d[0].capacity_mb, 18_000_000);
        assert_eq!(d[0].organization, "LTO-CVE");
        assert_eq!(d[0].name, "U-916");
        assert_eq!(d[0].description, "Ultrium 9/16T");
        assert!(!d[1].default);
    }

    #[test]
    fn parse_lying_lengths() {
        let mut b = vec![0xff, 0xff, 0x00, 0x00];
        b.extend(descriptor(0x60, 0, b"U-916   "));
        b.extend_from_slice(&[1, 2, 3]); // partial descriptor dropped
        assert_eq!(parse_density_support(&b).unwrap().len(), 1);
        // Header says 0 descriptors although one follows: trust the header.
        let mut b = vec![0x00, 0x02, 0x00, 0x00];
        b.extend(descriptor(0x60, 0, b"U-916   "));
        assert!(parse_density_support(&b).unwrap().is_empty());
        assert!(parse_density_support(&[0, 0, 0]).is_err());
    }

    #[test]
    fn names_and_generations() {
        assert_eq!(density_label(0x58), "LTO-5");
        assert_eq!(density_label(0x5a), "LTO-6");
        assert_eq!(density_label(0x5c), "LTO-7");
        assert_eq!(density_label(0x5d), "LTO-7 M8");
        assert_eq!(density_label(0x5e), "LTO-8");
        assert_eq!(density_label(0x60), "LTO-9");
        // A future code is not refused, just unnamed.
        assert_eq!(density_label(0x62), "unknown (0x62)");
        assert_eq!(lto_generation(0x5d), Some(7));
        assert_eq!(lto_generation(0x60), Some(9));
        assert_eq!(lto_generation(0x62), None);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(b in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let _ = parse_density_support(&b);
        }
    }
}

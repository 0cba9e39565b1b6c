//! REPORT LUNS (SPC-5 6.33) and the single-level LUN formats (SAM-5 4.7).
//!
//! Decoding honours LUN LIST LENGTH: surplus is ignored; data shorter than
//! declared (allocation length too small) is an error.

use super::bytes;
use super::error::DecodeError;
use super::opcodes;

/// SELECT REPORT values.
pub mod select_report {
    /// Logical units with a LUN conglomerate-less address (the usual list).
    pub const ALL: u8 = 0x00;
    pub const WELL_KNOWN_ONLY: u8 = 0x01;
    pub const ALL_ACCESSIBLE: u8 = 0x02;
}

pub fn report_luns_cdb(select_report: u8, alloc: u32) -> [u8; 12] {
    let a = alloc.to_be_bytes();
    [
        opcodes::REPORT_LUNS,
        0,
        select_report,
        0,
        0,
        0,
        a[0],
        a[1],
        a[2],
        a[3],
        0,
        0,
    ]
}

/// The 8-byte LUNs, each as a big-endian u64 (byte 0 of the LUN in the
/// high byte).
pub fn parse_report_luns(b: &[u8]) -> Result<Vec<u64>, DecodeError> {
    const W: &str = "REPORT LUNS data";
    let h = bytes::need(W, b, 8)?;
    let n = usize::try_from(u32::from_be_bytes([h[0], h[1], h[2], h[3]])).unwrap_or(usize::MAX);
    if n % 8 != 0 {
        return Err(DecodeError::new(
            W,
            format!("LUN list length {n} is not a multiple of 8"),
        ));
    }
    let list = bytes::declared_body(W, b, 8, n, "LUN list length")?;
    Ok(list
        .chunks_exact(8)
        .map(|c| {
            let mut a = [0u8; 8];
            a.copy_from_slice(c);
            u64::from_be_bytes(a)
        })
        .collect())
}

/// REPORT LUNS parameter data for `luns` (for device models).
pub fn encode_report_luns(luns: &[u64]) -> Vec<u8> {
    let n = u32::try_from(luns.len() * 8).unwrap_or(u32::MAX);
    let mut out = n.to_be_bytes().to_vec();
    out.extend_from_slice(&[0; 4]);
    for l in luns {
        out.extend_from_slice(&l.to_be_bytes());
    }
    out
}

/// A single-level LUN number from its 8-byte form: peripheral device
/// addressing (bus 0) or flat space addressing. `None` for other methods,
/// a non-zero bus, or further levels.
pub fn lun_number(lun: u64) -> Option<u16> {
    let b = lun.to_be_bytes();
    if b[2..].iter().any(|&x| x != 0) {
        return None;
    }
    match b[0] >> 6 {
        0b00 if b[0] == 0 => Some(u16::from(b[1])),
        0b01 => Some(u16::from_be_bytes([b[0] & 0x3f, b[1]])),
        _ => None,
    }
}

/// The 8-byte form of LUN `n`: peripheral addressing below 256, flat space
/// addressing up to 16383 (larger values are cut to 14 bits).
pub fn lun_from_number(n: u16) -> u64 {
    let [hi, lo] = n.to_be_bytes();
    let b0 = if n < 256 { 0 } else { 0x40 | (hi & 0x3f) };
    u64::from_be_bytes([b0, lo, 0, 0, 0, 0, 0, 0])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cdb_bytes() {
        assert_eq!(
            report_luns_cdb(select_report::ALL, 0x0000_1000),
            [0xa0, 0, 0x00, 0, 0, 0, 0x00, 0x00, 0x10, 0x00, 0, 0]
        );
        assert_eq!(
            report_luns_cdb(select_report::ALL_ACCESSIBLE, 0xffff_ffff),
            [0xa0, 0, 0x02, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0]
        );
    }

    const DATA: [u8; 24] = [
        0x00, 0x00, 0x00, 0x10, 0, 0, 0, 0, //
        0x00, 0x00, 0, 0, 0, 0, 0, 0, // LUN 0
        0x41, 0x02, 0, 0, 0, 0, 0, 0, // flat LUN 258
    ];

    #[test]
    fn parse() {
        let l = parse_report_luns(&DATA).unwrap();
        assert_eq!(l, vec![0, 0x4102_0000_0000_0000]);
        assert_eq!(lun_number(l[0]), Some(0));
        assert_eq!(lun_number(l[1]), Some(258));
        assert_eq!(encode_report_luns(&l), DATA.to_vec());
    }

    #[test]
    fn lengths() {
        let mut b = DATA.to_vec();
        b.extend_from_slice(&[7; 8]);
        assert_eq!(parse_report_luns(&b).unwrap().len(), 2);
        let e = parse_report_luns(&DATA[..16]).unwrap_err();
        assert!(e.detail.contains("truncated"), "{e}");
        assert!(parse_report_luns(&[0, 0, 0, 4, 0, 0, 0, 0, 1, 2, 3, 4]).is_err());
        assert!(parse_report_luns(&[0, 0, 0, 0, 0, 0, 0]).is_err());
        assert_eq!(parse_report_luns(&[0; 8]).unwrap(), vec![]);
        assert!(parse_report_luns(&[0xff, 0xff, 0xff, 0xf8, 0, 0, 0, 0]).is_err());
    }

    #[test]
    fn lun_numbers() {
        assert_eq!(lun_from_number(5), 0x0005_0000_0000_0000);
        assert_eq!(lun_from_number(0x0123), 0x4123_0000_0000_0000);
        // Bus 1 peripheral, logical unit addressing, second level: not simple.
        assert_eq!(lun_number(0x0105_0000_0000_0000), None);
        assert_eq!(lun_number(0x8005_0000_0000_0000), None);
        assert_eq!(lun_number(0x0005_0001_0000_0000), None);
        // Well-known LUN (extended addressing, C1h): not simple.
        assert_eq!(lun_number(0xc101_0000_0000_0000), None);
    }

    proptest! {
        #[test]
        fn parse_never_panics(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_report_luns(&b);
        }

        #[test]
        fn number_round_trip(n in 0u16..0x4000) {
            prop_assert_eq!(lun_number(lun_from_number(n)), Some(n));
        }
    }
}

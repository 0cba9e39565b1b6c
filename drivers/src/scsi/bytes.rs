//! Byte-level helpers every decoder and CDB builder shares: big-endian
//! fields of odd widths and the two length checks SCSI data needs (a fixed
//! minimum, and a body whose length a header declares).

use super::error::DecodeError;

/// Big-endian unsigned value of `b` (at most 8 bytes are meaningful: longer
/// input keeps the low 64 bits). Empty input is 0.
pub fn be_uint(b: &[u8]) -> u64 {
    b.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x))
}

/// Big-endian unsigned value of 1..=8 bytes; `None` for other lengths.
pub fn be_u64(b: &[u8]) -> Option<u64> {
    (1..=8).contains(&b.len()).then(|| be_uint(b))
}

/// The low 24 bits of `v`, big-endian (6-byte CDB lengths and counts).
pub fn u24_be(v: u32) -> [u8; 3] {
    let [_, a, b, c] = v.to_be_bytes();
    [a, b, c]
}

/// The first `n` bytes of `b`, or "need n bytes, got m".
pub fn need<'a>(what: &'static str, b: &'a [u8], n: usize) -> Result<&'a [u8], DecodeError> {
    b.get(..n)
        .ok_or_else(|| DecodeError::short(what, n, b.len()))
}

/// The `len` bytes after a `start`-byte header whose `field` declared
/// them. Data shorter than declared is an error (usually an allocation
/// length too small); surplus after the body is the caller's to ignore.
pub fn declared_body<'a>(
    what: &'static str,
    b: &'a [u8],
    start: usize,
    len: usize,
    field: &str,
) -> Result<&'a [u8], DecodeError> {
    b.get(start..).and_then(|r| r.get(..len)).ok_or_else(|| {
        DecodeError::new(
            what,
            format!(
                "truncated: {field} {len} bytes, got {} (allocation length too small?)",
                b.len().saturating_sub(start)
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_endian() {
        assert_eq!(be_uint(&[]), 0);
        assert_eq!(be_uint(&[0x12, 0x34, 0x56]), 0x12_3456);
        assert_eq!(
            be_u64(&[0x01, 0, 0, 0, 0, 0, 0, 0x02]),
            Some(0x0100_0000_0000_0002)
        );
        assert_eq!(be_u64(&[]), None);
        assert_eq!(be_u64(&[0; 9]), None);
        assert_eq!(u24_be(0x00ab_cdef), [0xab, 0xcd, 0xef]);
        assert_eq!(u24_be(0xffab_cdef), [0xab, 0xcd, 0xef]);
    }

    #[test]
    fn lengths() {
        assert_eq!(need("x", &[1, 2, 3], 2).unwrap(), &[1, 2]);
        assert_eq!(
            need("x", &[1], 2).unwrap_err().to_string(),
            "x: need 2 bytes, got 1"
        );
        let b = [0, 0, 0, 3, 7, 8, 9, 10];
        assert_eq!(declared_body("x", &b, 4, 3, "length").unwrap(), &[7, 8, 9]);
        let e = declared_body("x", &b, 4, 5, "page length").unwrap_err();
        assert_eq!(
            e.to_string(),
            "x: truncated: page length 5 bytes, got 4 (allocation length too small?)"
        );
        assert!(declared_body("x", &b, 9, 0, "length").is_err());
        assert!(declared_body("x", &b, 4, usize::MAX, "length").is_err());
    }
}

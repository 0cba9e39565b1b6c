//! Pure tar header decoding (bytes in, values out) for the tar-aware ingest.
//!
//! The ingest only needs to know where each member's data starts and how long
//! it is; every byte still goes to the store unchanged, so a header we read
//! wrongly can only cost dedup, never correctness. Formats: v7, ustar, GNU
//! (long names 'L'/'K', base-256 sizes, old sparse 'S' with extension
//! blocks) and pax ('x'/'g' records, whose `size` overrides the next header's).

/// Size of a tar block.
pub const BLOCK: usize = 512;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TarError {
    #[error("tar header checksum mismatch (stored {stored}, computed {computed})")]
    Checksum { stored: u64, computed: u64 },
    #[error("tar header field {field} is not a number")]
    BadNumber { field: &'static str },
    #[error("pax record malformed at byte {at}")]
    BadPax { at: usize },
}

/// The parts of a header block the ingest needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub typeflag: u8,
    /// Data bytes that follow (before pax overrides and 512-byte padding).
    pub size: u64,
    /// The name field (first 100 bytes, NUL-trimmed): a stable key for a member.
    pub name: Vec<u8>,
    /// GNU old sparse ('S'): extension blocks of sparse maps follow the header.
    pub sparse_extended: bool,
}

impl Header {
    /// Extension headers describe the member that follows them.
    pub fn is_extension(&self) -> bool {
        matches!(self.typeflag, b'L' | b'K' | b'x' | b'g' | b'X')
    }
}

/// True for the all-zero block that ends an archive.
pub fn is_zero_block(block: &[u8; BLOCK]) -> bool {
    block.iter().all(|&b| b == 0)
}

/// Decodes one 512-byte header block. A zero block is an error here
/// (callers test [`is_zero_block`] first).
pub fn parse_header(block: &[u8; BLOCK]) -> Result<Header, TarError> {
    let stored = parse_octal(&block[148..156]).ok_or(TarError::BadNumber { field: "chksum" })?;
    let mut unsigned: u64 = 0;
    let mut signed: i64 = 0;
    for (i, &b) in block.iter().enumerate() {
        let b = if (148..156).contains(&i) { b' ' } else { b };
        unsigned += u64::from(b);
        signed += i64::from(b as i8);
    }
    if stored != unsigned && i64::try_from(stored).ok() != Some(signed) {
        return Err(TarError::Checksum {
            stored,
            computed: unsigned,
        });
    }
    let size = parse_number(&block[124..136]).ok_or(TarError::BadNumber { field: "size" })?;
    let name_end = block[..100].iter().position(|&b| b == 0).unwrap_or(100);
    let typeflag = block[156];
    Ok(Header {
        typeflag,
        size,
        name: block[..name_end].to_vec(),
        sparse_extended: typeflag == b'S' && block[482] != 0,
    })
}

/// GNU sparse extension block: does another one follow?
pub fn sparse_block_continues(block: &[u8; BLOCK]) -> bool {
    block[504] != 0
}

/// Octal (NUL/space padded) or GNU base-256 (high bit of the first byte set).
pub fn parse_number(field: &[u8]) -> Option<u64> {
    match field.first() {
        Some(&b) if b & 0x80 != 0 => {
            if b == 0xff {
                return None; // negative
            }
            let mut v: u64 = u64::from(b & 0x7f);
            for &b in &field[1..] {
                v = v.checked_mul(256)?.checked_add(u64::from(b))?;
            }
            Some(v)
        }
        _ => parse_octal(field),
    }
}

fn parse_octal(field: &[u8]) -> Option<u64> {
    let mut it = field
        .iter()
        .skip_while(|&&b| b == b' ' || b == 0)
        .peekable();
    let mut v: u64 = 0;
    let mut digits = 0;
    while let Some(&&b) = it.peek() {
        if !(b'0'..=b'7').contains(&b) {
            break;
        }
        v = v.checked_mul(8)?.checked_add(u64::from(b - b'0'))?;
        digits += 1;
        it.next();
    }
    // Only terminators may follow the digits.
    if it.any(|&b| b != b' ' && b != 0) {
        return None;
    }
    // An all-blank field reads as 0 (some writers leave unused numbers empty).
    let _ = digits;
    Some(v)
}

/// The `size` keyword of a pax extended header's records, if present.
/// Records are `"<len> <key>=<value>\n"` where len counts the whole record.
pub fn pax_size(data: &[u8]) -> Result<Option<u64>, TarError> {
    let mut pos = 0;
    let mut size = None;
    while pos < data.len() {
        let rest = &data[pos..];
        // Trailing NUL padding ends the records.
        if rest[0] == 0 {
            break;
        }
        let sp = rest
            .iter()
            .position(|&b| b == b' ')
            .ok_or(TarError::BadPax { at: pos })?;
        let len: usize = std::str::from_utf8(&rest[..sp])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or(TarError::BadPax { at: pos })?;
        if len <= sp + 1 || len > rest.len() || rest[len - 1] != b'\n' {
            return Err(TarError::BadPax { at: pos });
        }
        let record = &rest[sp + 1..len - 1];
        if let Some(value) = record.strip_prefix(b"size=") {
            let v = std::str::from_utf8(value)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or(TarError::BadPax { at: pos })?;
            size = Some(v);
        }
        pos += len;
    }
    Ok(size)
}

/// Data length rounded up to whole blocks.
pub fn padded(size: u64) -> u64 {
    size.div_ceil(BLOCK as u64) * BLOCK as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A GNU tar 1.35 header for a 5-byte regular file "hello.txt", written
    /// out field by field (not by any encoder of ours).
    fn gnu_hello() -> [u8; BLOCK] {
        let mut b = [0u8; BLOCK];
        b[..9].copy_from_slice(b"hello.txt");
        b[100..108].copy_from_slice(b"0000644\0");
        b[108..116].copy_from_slice(b"0001750\0");
        b[116..124].copy_from_slice(b"0001750\0");
        b[124..136].copy_from_slice(b"00000000005\0");
        b[136..148].copy_from_slice(b"14723565126\0");
        b[156] = b'0';
        b[257..265].copy_from_slice(b"ustar  \0");
        b[265..269].copy_from_slice(b"user");
        b[297..302].copy_from_slice(b"group");
        let sum: u32 = b.iter().map(|&x| u32::from(x)).sum::<u32>() + 8 * 32;
        let s = format!("{sum:06o}\0 ");
        b[148..156].copy_from_slice(s.as_bytes());
        b
    }

    #[test]
    fn parses_a_gnu_header() {
        let h = parse_header(&gnu_hello()).unwrap();
        assert_eq!(h.typeflag, b'0');
        assert_eq!(h.size, 5);
        assert_eq!(h.name, b"hello.txt");
        assert!(!h.sparse_extended);
    }

    #[test]
    fn rejects_a_bad_checksum_and_bad_numbers() {
        let mut b = gnu_hello();
        b[0] = b'j';
        assert!(matches!(parse_header(&b), Err(TarError::Checksum { .. })));
        let mut b = gnu_hello();
        b[148..156].copy_from_slice(b"zz\0     ");
        assert_eq!(
            parse_header(&b),
            Err(TarError::BadNumber { field: "chksum" })
        );
        assert!(parse_header(&[b'x'; BLOCK]).is_err());
    }

    #[test]
    fn numbers_octal_and_base256() {
        assert_eq!(parse_number(b"00000000005\0"), Some(5));
        assert_eq!(parse_number(b"     17 \0"), Some(15));
        assert_eq!(parse_number(b"\0\0\0\0"), Some(0));
        assert_eq!(parse_number(b"12a4"), None);
        assert_eq!(
            parse_number(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0, 0]),
            Some(0x0002_0000)
        );
        assert_eq!(parse_number(&[0xff, 0xff, 0xff]), None);
        assert_eq!(
            parse_number(&[0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            None
        );
    }

    #[test]
    fn pax_records() {
        assert_eq!(pax_size(b"16 size=1234567\n").unwrap(), Some(1_234_567));
        assert_eq!(
            pax_size(b"20 path=a/long/name\n16 size=1234567\n\0\0\0").unwrap(),
            Some(1_234_567)
        );
        assert_eq!(pax_size(b"12 uid=1000\n").unwrap(), None);
        assert!(pax_size(b"99 size=1\n").is_err());
        assert!(pax_size(b"5 size=1\n").is_err());
        assert!(pax_size(b"nonsense").is_err());
    }

    #[test]
    fn padding() {
        assert_eq!(padded(0), 0);
        assert_eq!(padded(1), 512);
        assert_eq!(padded(512), 512);
        assert_eq!(padded(513), 1024);
    }
}

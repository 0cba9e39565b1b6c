//! READ ATTRIBUTE / WRITE ATTRIBUTE (SPC-5 6.17, 6.40, 7.4): CDB builders,
//! the attribute list format and the MAM attribute identifiers.
//!
//! Decoding honours AVAILABLE DATA: bytes after it are ignored; data shorter
//! than it (allocation length too small) or an attribute running past it is
//! an error.

use super::bytes;
use super::error::DecodeError;
use super::opcodes;

/// READ ATTRIBUTE service actions.
pub mod service_action {
    pub const ATTRIBUTE_VALUES: u8 = 0x00;
    pub const ATTRIBUTE_LIST: u8 = 0x01;
    pub const LOGICAL_VOLUME_LIST: u8 = 0x02;
    pub const PARTITION_LIST: u8 = 0x03;
    pub const SUPPORTED_ATTRIBUTES: u8 = 0x05;
}

/// READ ATTRIBUTE (16 bytes). Logical volume number 0; `cache` lets the
/// device answer from a cached copy of the medium auxiliary memory.
pub fn read_attribute_cdb(
    service_action: u8,
    partition: u8,
    first_attribute: u16,
    alloc: u32,
    cache: bool,
) -> [u8; 16] {
    let f = first_attribute.to_be_bytes();
    let a = alloc.to_be_bytes();
    [
        opcodes::READ_ATTRIBUTE,
        service_action & 0x1f,
        0,
        0,
        0,
        0, // logical volume number
        0,
        partition,
        f[0],
        f[1],
        a[0],
        a[1],
        a[2],
        a[3],
        u8::from(cache),
        0,
    ]
}

/// WRITE ATTRIBUTE (16 bytes). `write_through_cache` (WTC) asks the device
/// to write the medium auxiliary memory before returning status.
pub fn write_attribute_cdb(partition: u8, param_len: u32, write_through_cache: bool) -> [u8; 16] {
    let l = param_len.to_be_bytes();
    [
        opcodes::WRITE_ATTRIBUTE,
        u8::from(write_through_cache),
        0,
        0,
        0,
        0, // logical volume number
        0,
        partition,
        0,
        0,
        l[0],
        l[1],
        l[2],
        l[3],
        0,
        0,
    ]
}

/// FORMAT field of an attribute (SPC-5 table "Attribute format").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum AttributeFormat {
    Binary = 0,
    /// Printable ASCII, left-aligned, padded with spaces.
    Ascii = 1,
    /// Text in the character set of the TEXT LOCALIZATION IDENTIFIER,
    /// padded with NULs.
    Text = 2,
    Reserved = 3,
}

impl AttributeFormat {
    pub fn from_u8(v: u8) -> AttributeFormat {
        match v & 0x03 {
            0 => AttributeFormat::Binary,
            1 => AttributeFormat::Ascii,
            2 => AttributeFormat::Text,
            _ => AttributeFormat::Reserved,
        }
    }
}

/// One attribute (identifier, flags, value).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Attribute {
    pub id: u16,
    /// READ ONLY bit (reported by READ ATTRIBUTE; ignored on write).
    pub read_only: bool,
    pub format: AttributeFormat,
    pub value: Vec<u8>,
}

impl Attribute {
    /// Big-endian unsigned value of a 1..=8 byte attribute.
    pub fn as_u64(&self) -> Option<u64> {
        super::bytes::be_u64(&self.value)
    }

    /// The value as text without trailing spaces and NULs; `None` when it is
    /// not valid UTF-8.
    pub fn as_text(&self) -> Option<String> {
        let end = self
            .value
            .iter()
            .rposition(|&c| c != b' ' && c != 0)
            .map_or(0, |i| i + 1);
        std::str::from_utf8(&self.value[..end])
            .ok()
            .map(str::to_owned)
    }

    /// A binary attribute of `len` bytes holding `v` (big-endian, high bytes
    /// cut when `len` < 8).
    pub fn binary(id: u16, v: u64, len: usize) -> Attribute {
        let be = v.to_be_bytes();
        let value = if len <= 8 {
            be[8 - len..].to_vec()
        } else {
            let mut out = vec![0; len - 8];
            out.extend_from_slice(&be);
            out
        };
        Attribute {
            id,
            read_only: false,
            format: AttributeFormat::Binary,
            value,
        }
    }

    /// A text attribute for a writable (host type) id, padded the way SPC
    /// asks (ASCII with spaces, TEXT with NULs) to the length from
    /// [`mam::spec`]. Fails for unknown or binary ids, for values longer
    /// than the attribute, and for non-printable ASCII.
    pub fn text(id: u16, s: &str) -> Result<Attribute, DecodeError> {
        const W: &str = "attribute value";
        let Some((format, len, _)) = mam::spec(id) else {
            return Err(DecodeError::new(W, format!("unknown attribute {id:04X}h")));
        };
        let pad = match format {
            AttributeFormat::Ascii => b' ',
            AttributeFormat::Text => 0,
            _ => {
                return Err(DecodeError::new(
                    W,
                    format!("attribute {id:04X}h ({}) is not text", mam::name(id)),
                ));
            }
        };
        if format == AttributeFormat::Ascii && !s.bytes().all(|c| (0x20..0x7f).contains(&c)) {
            return Err(DecodeError::new(
                W,
                format!("{} must be printable ASCII", mam::name(id)),
            ));
        }
        let len = usize::from(len);
        if len != 0 && s.len() > len {
            return Err(DecodeError::new(
                W,
                format!(
                    "{} holds at most {len} bytes, got {}",
                    mam::name(id),
                    s.len()
                ),
            ));
        }
        let mut value = s.as_bytes().to_vec();
        value.resize(len.max(value.len()), pad);
        Ok(Attribute {
            id,
            read_only: false,
            format,
            value,
        })
    }
}

/// The 4-byte AVAILABLE DATA header and the bytes it covers.
fn available<'a>(what: &'static str, b: &'a [u8]) -> Result<&'a [u8], DecodeError> {
    let h = bytes::need(what, b, 4)?;
    let n = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
    let n = usize::try_from(n).unwrap_or(usize::MAX);
    bytes::declared_body(what, b, 4, n, "available data")
}

/// Decodes READ ATTRIBUTE with service action ATTRIBUTE VALUES.
pub fn parse_attribute_values(b: &[u8]) -> Result<Vec<Attribute>, DecodeError> {
    const W: &str = "attribute values";
    let mut rest = available(W, b)?;
    let mut attrs = Vec::new();
    while !rest.is_empty() {
        let Some(h) = rest.get(..5) else {
            return Err(DecodeError::new(
                W,
                format!("attribute header cut after {} bytes", rest.len()),
            ));
        };
        let id = u16::from_be_bytes([h[0], h[1]]);
        let len = usize::from(u16::from_be_bytes([h[3], h[4]]));
        let Some(value) = rest.get(5..5 + len) else {
            return Err(DecodeError::new(
                W,
                format!(
                    "attribute {id:04X}h declares {len} bytes, only {} left",
                    rest.len() - 5
                ),
            ));
        };
        attrs.push(Attribute {
            id,
            read_only: h[2] & 0x80 != 0,
            format: AttributeFormat::from_u8(h[2]),
            value: value.to_vec(),
        });
        rest = &rest[5 + len..];
    }
    Ok(attrs)
}

/// Decodes READ ATTRIBUTE with service action ATTRIBUTE LIST or SUPPORTED
/// ATTRIBUTES: the attribute identifiers.
pub fn parse_attribute_list(b: &[u8]) -> Result<Vec<u16>, DecodeError> {
    const W: &str = "attribute list";
    let rest = available(W, b)?;
    if rest.len() % 2 != 0 {
        return Err(DecodeError::new(
            W,
            format!("odd list length {}", rest.len()),
        ));
    }
    Ok(rest
        .chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect())
}

/// Decodes READ ATTRIBUTE with service action PARTITION LIST (or LOGICAL
/// VOLUME LIST): (first number, how many).
pub fn parse_partition_list(b: &[u8]) -> Result<(u8, u8), DecodeError> {
    const W: &str = "partition list";
    let h = bytes::need(W, b, 4)?;
    let n = u16::from_be_bytes([h[0], h[1]]);
    if n < 2 {
        return Err(DecodeError::new(W, format!("available data {n}, need 2")));
    }
    Ok((h[2], h[3]))
}

/// The parameter list for WRITE ATTRIBUTE: 4-byte PARAMETER LIST LENGTH,
/// then the attributes (READ ONLY bit clear, it is reserved here). Values
/// longer than 65535 bytes are cut (the length field has 16 bits).
pub fn encode_attribute_values(attrs: &[Attribute]) -> Vec<u8> {
    let mut out = vec![0; 4];
    for a in attrs {
        let n = a.value.len().min(0xffff);
        out.extend_from_slice(&a.id.to_be_bytes());
        out.push(a.format as u8);
        out.extend_from_slice(&(n as u16).to_be_bytes());
        out.extend_from_slice(&a.value[..n]);
    }
    let len = u32::try_from(out.len() - 4).unwrap_or(u32::MAX);
    out[..4].copy_from_slice(&len.to_be_bytes());
    out
}

/// The READ ATTRIBUTE response a device returns for `attrs` (READ ONLY bits
/// kept), e.g. for a device model.
pub fn encode_attribute_response(attrs: &[Attribute]) -> Vec<u8> {
    let mut out = encode_attribute_values(attrs);
    // Same layout; only the READ ONLY bits differ.
    let mut at = 4;
    for a in attrs {
        if let Some(b) = out.get_mut(at + 2)
            && a.read_only
        {
            *b |= 0x80;
        }
        at += 5 + a.value.len().min(0xffff);
    }
    out
}

/// MAM attribute identifiers (SPC-5 table "MAM attribute identifiers";
/// device type 0000h-03FFh, medium type 0400h-07FFh, host type
/// 0800h-0BFFh) with their names, formats and lengths.
pub mod mam {
    use super::AttributeFormat::{self, Ascii, Binary, Text};

    // Device type attributes (maintained by the drive, read only).
    pub const REMAINING_CAPACITY: u16 = 0x0000;
    pub const MAXIMUM_CAPACITY: u16 = 0x0001;
    pub const TAPEALERT_FLAGS: u16 = 0x0002;
    pub const LOAD_COUNT: u16 = 0x0003;
    pub const MAM_SPACE_REMAINING: u16 = 0x0004;
    pub const ASSIGNING_ORGANIZATION: u16 = 0x0005;
    pub const FORMATTED_DENSITY_CODE: u16 = 0x0006;
    pub const INITIALIZATION_COUNT: u16 = 0x0007;
    pub const VOLUME_IDENTIFIER: u16 = 0x0008;
    pub const VOLUME_CHANGE_REFERENCE: u16 = 0x0009;
    pub const DEVICE_AT_LAST_LOAD: u16 = 0x020a;
    pub const DEVICE_AT_LOAD_1: u16 = 0x020b;
    pub const DEVICE_AT_LOAD_2: u16 = 0x020c;
    pub const DEVICE_AT_LOAD_3: u16 = 0x020d;
    pub const TOTAL_MB_WRITTEN: u16 = 0x0220;
    pub const TOTAL_MB_READ: u16 = 0x0221;
    pub const TOTAL_MB_WRITTEN_THIS_LOAD: u16 = 0x0222;
    pub const TOTAL_MB_READ_THIS_LOAD: u16 = 0x0223;
    pub const FIRST_ENCRYPTED_BLOCK: u16 = 0x0224;
    pub const FIRST_UNENCRYPTED_BLOCK: u16 = 0x0225;
    pub const MEDIUM_USAGE_HISTORY: u16 = 0x0340;
    pub const PARTITION_USAGE_HISTORY: u16 = 0x0341;
    // Medium type attributes (written at manufacture, read only).
    pub const MEDIUM_MANUFACTURER: u16 = 0x0400;
    pub const MEDIUM_SERIAL: u16 = 0x0401;
    pub const MEDIUM_LENGTH: u16 = 0x0402;
    pub const MEDIUM_WIDTH: u16 = 0x0403;
    pub const MEDIUM_ASSIGNING_ORGANIZATION: u16 = 0x0404;
    pub const MEDIUM_DENSITY_CODE: u16 = 0x0405;
    pub const MEDIUM_MANUFACTURE_DATE: u16 = 0x0406;
    pub const MAM_CAPACITY: u16 = 0x0407;
    pub const MEDIUM_TYPE: u16 = 0x0408;
    pub const MEDIUM_TYPE_INFORMATION: u16 = 0x0409;
    pub const NUMERIC_MEDIUM_SERIAL: u16 = 0x040a;
    pub const SUPPORTED_DENSITY_CODES: u16 = 0x040b;
    // Host type attributes (written by applications).
    pub const APPLICATION_VENDOR: u16 = 0x0800;
    pub const APPLICATION_NAME: u16 = 0x0801;
    pub const APPLICATION_VERSION: u16 = 0x0802;
    pub const USER_MEDIUM_TEXT_LABEL: u16 = 0x0803;
    pub const DATE_TIME_LAST_WRITTEN: u16 = 0x0804;
    pub const TEXT_LOCALIZATION_IDENTIFIER: u16 = 0x0805;
    pub const BARCODE: u16 = 0x0806;
    pub const OWNING_HOST_TEXTUAL_NAME: u16 = 0x0807;
    pub const MEDIA_POOL: u16 = 0x0808;
    pub const PARTITION_USER_TEXT_LABEL: u16 = 0x0809;
    pub const LOAD_UNLOAD_AT_PARTITION: u16 = 0x080a;
    pub const APPLICATION_FORMAT_VERSION: u16 = 0x080b;
    pub const VOLUME_COHERENCY_INFORMATION: u16 = 0x080c;
    pub const MEDIUM_GUID: u16 = 0x0820;
    pub const MEDIA_POOL_GUID: u16 = 0x0821;

    /// (id, name, format, length (0 = variable), read only). Sorted by id.
    static TABLE: &[(u16, &str, AttributeFormat, u16, bool)] = &[
        (
            0x0000,
            "Remaining capacity in partition (MiB)",
            Binary,
            8,
            true,
        ),
        (
            0x0001,
            "Maximum capacity in partition (MiB)",
            Binary,
            8,
            true,
        ),
        (0x0002, "TapeAlert flags", Binary, 8, true),
        (0x0003, "Load count", Binary, 8, true),
        (0x0004, "MAM space remaining (bytes)", Binary, 8, true),
        (0x0005, "Assigning organization", Ascii, 8, true),
        (0x0006, "Formatted density code", Binary, 1, true),
        (0x0007, "Initialization count", Binary, 2, true),
        (0x0008, "Volume identifier", Ascii, 32, true),
        (0x0009, "Volume change reference", Binary, 4, true),
        (
            0x020a,
            "Device vendor/serial number at last load",
            Ascii,
            40,
            true,
        ),
        (
            0x020b,
            "Device vendor/serial number at load-1",
            Ascii,
            40,
            true,
        ),
        (
            0x020c,
            "Device vendor/serial number at load-2",
            Ascii,
            40,
            true,
        ),
        (
            0x020d,
            "Device vendor/serial number at load-3",
            Ascii,
            40,
            true,
        ),
        (0x0220, "Total MiB written in medium life", Binary, 8, true),
        (0x0221, "Total MiB read in medium life", Binary, 8, true),
        (
            0x0222,
            "Total MiB written in current/last load",
            Binary,
            8,
            true,
        ),
        (
            0x0223,
            "Total MiB read in current/last load",
            Binary,
            8,
            true,
        ),
        (
            0x0224,
            "Logical position of first encrypted block",
            Binary,
            8,
            true,
        ),
        (
            0x0225,
            "Logical position of first unencrypted block after first encrypted block",
            Binary,
            8,
            true,
        ),
        (0x0340, "Medium usage history", Binary, 90, true),
        (0x0341, "Partition usage history", Binary, 60, true),
        (0x0400, "Medium manufacturer", Ascii, 8, true),
        (0x0401, "Medium serial number", Ascii, 32, true),
        (0x0402, "Medium length (m)", Binary, 4, true),
        (0x0403, "Medium width (0.1 mm)", Binary, 4, true),
        (0x0404, "Assigning organization", Ascii, 8, true),
        (0x0405, "Medium density code", Binary, 1, true),
        (0x0406, "Medium manufacture date", Ascii, 8, true),
        (0x0407, "MAM capacity (bytes)", Binary, 8, true),
        (0x0408, "Medium type", Binary, 1, true),
        (0x0409, "Medium type information", Binary, 2, true),
        (0x040a, "Numeric medium serial number", Binary, 0, true),
        (0x040b, "Supported density codes", Binary, 0, true),
        (0x0800, "Application vendor", Ascii, 8, false),
        (0x0801, "Application name", Ascii, 32, false),
        (0x0802, "Application version", Ascii, 8, false),
        (0x0803, "User medium text label", Text, 160, false),
        (0x0804, "Date and time last written", Ascii, 12, false),
        (0x0805, "Text localization identifier", Binary, 1, false),
        (0x0806, "Barcode", Ascii, 32, false),
        (0x0807, "Owning host textual name", Text, 80, false),
        (0x0808, "Media pool", Text, 160, false),
        (0x0809, "Partition user text label", Ascii, 16, false),
        (0x080a, "Load/unload at partition", Binary, 1, false),
        (0x080b, "Application format version", Ascii, 16, false),
        (0x080c, "Volume coherency information", Binary, 0, false),
        (
            0x0820,
            "Medium globally unique identifier",
            Binary,
            36,
            false,
        ),
        (
            0x0821,
            "Media pool globally unique identifier",
            Binary,
            36,
            false,
        ),
    ];

    fn find(id: u16) -> Option<&'static (u16, &'static str, AttributeFormat, u16, bool)> {
        TABLE
            .binary_search_by_key(&id, |e| e.0)
            .ok()
            .and_then(|i| TABLE.get(i))
    }

    /// Human name of an attribute id; ranges without a standard name are
    /// named by kind.
    pub fn name(id: u16) -> &'static str {
        if let Some(e) = find(id) {
            return e.1;
        }
        match id {
            0x0000..=0x03ff => "Device type attribute",
            0x0400..=0x07ff => "Medium type attribute",
            0x0800..=0x0bff => "Host type attribute",
            0x1000..=0x13ff => "Vendor specific device type attribute",
            0x1400..=0x17ff => "Vendor specific medium type attribute",
            0x1800..=0x1bff => "Vendor specific host type attribute",
            _ => "Reserved attribute",
        }
    }

    /// (format, length in bytes (0 = variable), read only) of a standard
    /// attribute.
    pub fn spec(id: u16) -> Option<(AttributeFormat, u16, bool)> {
        find(id).map(|e| (e.2, e.3, e.4))
    }

    /// Every standard attribute id, ascending.
    pub fn all() -> impl Iterator<Item = u16> {
        TABLE.iter().map(|e| e.0)
    }

    #[cfg(test)]
    pub(super) fn table_sorted_unique() -> bool {
        TABLE.windows(2).all(|w| w[0].0 < w[1].0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn read_attribute_cdb_bytes() {
        assert_eq!(
            read_attribute_cdb(0, 1, 0x0800, 0x0001_0000, true),
            [
                0x8c, 0x00, 0, 0, 0, 0, 0, 0x01, 0x08, 0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00
            ]
        );
        assert_eq!(
            read_attribute_cdb(
                service_action::SUPPORTED_ATTRIBUTES,
                0,
                0,
                0x1234_5678,
                false
            ),
            [
                0x8c, 0x05, 0, 0, 0, 0, 0, 0x00, 0x00, 0x00, 0x12, 0x34, 0x56, 0x78, 0x00, 0x00
            ]
        );
        assert_eq!(read_attribute_cdb(0xff, 0, 0, 0, false)[1], 0x1f);
    }

    #[test]
    fn write_attribute_cdb_bytes() {
        assert_eq!(
            write_attribute_cdb(3, 0x0000_0105, true),
            [
                0x8d, 0x01, 0, 0, 0, 0, 0, 0x03, 0, 0, 0x00, 0x00, 0x01, 0x05, 0, 0
            ]
        );
        assert_eq!(
            write_attribute_cdb(0, 0xffff_ffff, false),
            [
                0x8d, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0
            ]
        );
    }

    /// Load count (binary, read only), medium serial (ASCII, read only),
    /// barcode (ASCII).
    const VALUES: [u8; 4 + 13 + 17 + 13] = [
        0x00, 0x00, 0x00, 0x2b, // 43 bytes follow
        0x00, 0x03, 0x80, 0x00, 0x08, 0, 0, 0, 0, 0, 0, 0x01, 0x2c, // load count 300
        0x04, 0x01, 0x81, 0x00, 0x0c, b'A', b'B', b'C', b'1', b'2', b'3', b' ', b' ', 0, 0, b' ',
        0, // serial "ABC123" padded
        0x08, 0x06, 0x01, 0x00, 0x08, b'L', b'T', b'O', b'0', b'0', b'1', b'L', b'9',
    ];

    #[test]
    fn parse_values() {
        let a = parse_attribute_values(&VALUES).unwrap();
        assert_eq!(a.len(), 3);
        assert_eq!(a[0].id, mam::LOAD_COUNT);
        assert!(a[0].read_only);
        assert_eq!(a[0].format, AttributeFormat::Binary);
        assert_eq!(a[0].as_u64(), Some(300));
        assert_eq!(a[1].id, mam::MEDIUM_SERIAL);
        assert_eq!(a[1].format, AttributeFormat::Ascii);
        assert_eq!(a[1].as_text().as_deref(), Some("ABC123"));
        assert_eq!(a[2].id, mam::BARCODE);
        assert!(!a[2].read_only);
        assert_eq!(a[2].as_text().as_deref(), Some("LTO001L9"));
        assert_eq!(a[2].as_u64(), Some(u64::from_be_bytes(*b"LTO001L9")));
    }

    #[test]
    fn parse_values_lengths() {
        // Surplus after AVAILABLE DATA is ignored.
        let mut b = VALUES.to_vec();
        b.extend_from_slice(&[0x08, 0x00, 0x01, 0x00, 0x01, b'x']);
        assert_eq!(parse_attribute_values(&b).unwrap().len(), 3);
        // Short data fails clearly.
        let e = parse_attribute_values(&VALUES[..40]).unwrap_err();
        assert!(e.detail.contains("truncated"), "{e}");
        assert!(parse_attribute_values(&[0, 0, 0]).is_err());
        // An attribute longer than AVAILABLE DATA.
        let b = [0, 0, 0, 6, 0x08, 0x06, 0x01, 0x00, 0x08, b'L'];
        let e = parse_attribute_values(&b).unwrap_err();
        assert!(e.detail.contains("0806h"), "{e}");
        // A header cut in half.
        assert!(parse_attribute_values(&[0, 0, 0, 3, 0x08, 0x06, 0x01]).is_err());
        // Nothing available.
        assert_eq!(parse_attribute_values(&[0, 0, 0, 0]).unwrap(), vec![]);
        // AVAILABLE DATA near u32::MAX must not overflow.
        assert!(parse_attribute_values(&[0xff, 0xff, 0xff, 0xff, 0]).is_err());
    }

    #[test]
    fn encode_values_bytes() {
        let attrs = [
            Attribute::text(mam::APPLICATION_VENDOR, "REEL").unwrap(),
            Attribute {
                id: mam::BARCODE,
                read_only: true, // reserved in WRITE ATTRIBUTE: not sent
                format: AttributeFormat::Ascii,
                value: b"A1".to_vec(),
            },
        ];
        assert_eq!(
            encode_attribute_values(&attrs),
            vec![
                0, 0, 0, 0x14, //
                0x08, 0x00, 0x01, 0x00, 0x08, b'R', b'E', b'E', b'L', b' ', b' ', b' ',
                b' ', //
                0x08, 0x06, 0x01, 0x00, 0x02, b'A', b'1',
            ]
        );
        let r = encode_attribute_response(&attrs);
        assert_eq!(r[6], 0x01);
        assert_eq!(r[19], 0x81);
        assert_eq!(parse_attribute_values(&r).unwrap(), attrs.to_vec());
    }

    #[test]
    fn constructors() {
        assert_eq!(
            Attribute::binary(mam::LOAD_COUNT, 0x0102, 8).value,
            vec![0, 0, 0, 0, 0, 0, 1, 2]
        );
        assert_eq!(Attribute::binary(0x0805, 0x1234, 1).value, vec![0x34]);
        assert_eq!(Attribute::binary(0x0820, 1, 10).value.len(), 10);
        let t = Attribute::text(mam::MEDIA_POOL, "pool").unwrap();
        assert_eq!(t.format, AttributeFormat::Text);
        assert_eq!(t.value.len(), 160);
        assert_eq!(t.value[4], 0);
        assert_eq!(t.as_text().as_deref(), Some("pool"));
        assert!(Attribute::text(mam::APPLICATION_VENDOR, "TOO LONG!").is_err());
        assert!(Attribute::text(mam::BARCODE, "caf\u{e9}").is_err());
        assert!(Attribute::text(mam::LOAD_COUNT, "1").is_err());
        assert!(Attribute::text(0x0bff, "x").is_err());
    }

    #[test]
    fn as_text_edge_cases() {
        let a = |v: &[u8]| Attribute {
            id: 0,
            read_only: false,
            format: AttributeFormat::Ascii,
            value: v.to_vec(),
        };
        assert_eq!(a(b"").as_text().as_deref(), Some(""));
        assert_eq!(a(b"   \0\0").as_text().as_deref(), Some(""));
        assert_eq!(a(b" x y ").as_text().as_deref(), Some(" x y"));
        assert_eq!(a(&[0xff, 0xfe]).as_text(), None);
    }

    #[test]
    fn lists() {
        let b = [0, 0, 0, 4, 0x00, 0x03, 0x08, 0x06, 0xaa];
        assert_eq!(parse_attribute_list(&b).unwrap(), vec![0x0003, 0x0806]);
        assert!(parse_attribute_list(&[0, 0, 0, 3, 0, 3, 8]).is_err());
        assert!(parse_attribute_list(&b[..7]).is_err());
        assert_eq!(parse_partition_list(&[0, 2, 0, 4]).unwrap(), (0, 4));
        assert!(parse_partition_list(&[0, 1, 0, 4]).is_err());
        assert!(parse_partition_list(&[0, 2, 0]).is_err());
    }

    #[test]
    fn mam_table() {
        assert!(mam::table_sorted_unique());
        assert_eq!(mam::name(mam::BARCODE), "Barcode");
        assert_eq!(mam::name(mam::MEDIA_POOL), "Media pool");
        assert_eq!(mam::name(0x03ff), "Device type attribute");
        assert_eq!(mam::name(0x1801), "Vendor specific host type attribute");
        assert_eq!(mam::name(0xffff), "Reserved attribute");
        assert_eq!(
            mam::spec(mam::MEDIUM_SERIAL),
            Some((AttributeFormat::Ascii, 32, true))
        );
        assert_eq!(
            mam::spec(mam::USER_MEDIUM_TEXT_LABEL),
            Some((AttributeFormat::Text, 160, false))
        );
        assert_eq!(
            mam::spec(mam::LOAD_COUNT),
            Some((AttributeFormat::Binary, 8, true))
        );
        assert_eq!(
            mam::spec(mam::DATE_TIME_LAST_WRITTEN),
            Some((AttributeFormat::Ascii, 12, false))
        );
        assert_eq!(mam::spec(0x0fff), None);
        // Host type attributes are the writable ones.
        for id in mam::all() {
            let (_, _, ro) = mam::spec(id).unwrap();
            assert_eq!(ro, id < 0x0800, "{id:04X}");
        }
    }

    proptest! {
        #[test]
        fn parse_never_panics(b in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse_attribute_values(&b);
            let _ = parse_attribute_list(&b);
            let _ = parse_partition_list(&b);
        }

        #[test]
        fn round_trip(attrs in proptest::collection::vec(
            (any::<u16>(), any::<bool>(), 0u8..4, proptest::collection::vec(any::<u8>(), 0..50)), 0..6)
        ) {
            let attrs: Vec<Attribute> = attrs
                .into_iter()
                .map(|(id, ro, f, value)| Attribute {
                    id,
                    read_only: ro,
                    format: AttributeFormat::from_u8(f),
                    value,
                })
                .collect();
            prop_assert_eq!(parse_attribute_values(&encode_attribute_response(&attrs)).unwrap(), attrs.clone());
            let sent = parse_attribute_values(&encode_attribute_values(&attrs)).unwrap();
            prop_assert!(sent.iter().all(|a| !a.read_only));
        }
    }
}

//! INQUIRY (SPC-5 6.7): the CDB, the standard data and the VPD pages a tape
//! driver uses to identify a device by capability: 00h (supported pages),
//! 80h (unit serial number), 83h (device identification) and B0h
//! (SSC: sequential-access device capabilities). Encoders are provided for
//! device models.
//!
//! VPD decoding honours the declared page length: surplus bytes are
//! ignored and data shorter than declared is an error. The standard data
//! needs its 36 mandatory bytes; the optional tail (vendor specific bytes,
//! version descriptors) is read as far as both the declared length and the
//! returned data go, since drivers routinely ask for fewer bytes than a
//! device has.

use super::bytes;
use super::error::DecodeError;
use super::opcodes;

/// VPD page codes used here.
pub mod vpd {
    pub const SUPPORTED_PAGES: u8 = 0x00;
    pub const UNIT_SERIAL_NUMBER: u8 = 0x80;
    pub const DEVICE_IDENTIFICATION: u8 = 0x83;
    pub const EXTENDED_INQUIRY: u8 = 0x86;
    pub const SEQUENTIAL_ACCESS_CAPABILITIES: u8 = 0xb0;
    pub const MANUFACTURER_ASSIGNED_SERIAL: u8 = 0xb1;
}

/// Peripheral device types (SPC-5 table 50) relevant to reel.
pub mod device_type {
    pub const DIRECT_ACCESS: u8 = 0x00;
    pub const SEQUENTIAL_ACCESS: u8 = 0x01;
    pub const MEDIUM_CHANGER: u8 = 0x08;
    pub const ENCLOSURE: u8 = 0x0d;
    pub const UNKNOWN: u8 = 0x1f;
}

/// INQUIRY. With `evpd` clear `page` must be 0 (standard data).
pub fn inquiry_cdb(evpd: bool, page: u8, alloc: u16) -> [u8; 6] {
    let a = alloc.to_be_bytes();
    [opcodes::INQUIRY, u8::from(evpd), page, a[0], a[1], 0]
}

/// Standard INQUIRY data.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StandardInquiry {
    /// Peripheral qualifier: 0 connected, 1 not connected, 3 no LU here.
    pub qualifier: u8,
    pub device_type: u8,
    pub removable: bool,
    pub version: u8,
    pub response_format: u8,
    /// Embedded medium changer (MCHNGR).
    pub mchngr: bool,
    pub vendor: String,
    pub product: String,
    pub revision: String,
    /// Bytes 36..56 (vendor specific), as far as present.
    pub vendor_specific: Vec<u8>,
    /// HISUP: hierarchical LUN addressing.
    pub hisup: bool,
    /// PROTECT: logical block protection supported.
    pub protect: bool,
    /// MULTIP: multi-port device.
    pub multip: bool,
    /// CMDQUE: command queuing.
    pub cmdque: bool,
    /// Version descriptors (bytes 58..74), zero entries dropped.
    pub version_descriptors: Vec<u16>,
}

/// Printable text of an ASCII field: NULs read as spaces, other
/// non-printable bytes as '?', trailing spaces removed.
fn ascii(b: &[u8]) -> String {
    let s: String = b
        .iter()
        .map(|&c| match c {
            0 => ' ',
            0x20..0x7f => c as char,
            _ => '?',
        })
        .collect();
    s.trim_end().to_owned()
}

/// ASCII field padded with spaces (or cut) to `n` bytes.
fn pad(s: &str, n: usize) -> Vec<u8> {
    let mut v: Vec<u8> = s.bytes().take(n).collect();
    v.resize(n, b' ');
    v
}

impl StandardInquiry {
    pub fn parse(b: &[u8]) -> Result<Self, DecodeError> {
        const W: &str = "standard INQUIRY data";
        if b.len() < 36 {
            return Err(DecodeError::short(W, 36, b.len()));
        }
        let declared = usize::from(b[4]) + 5;
        if declared < 36 {
            return Err(DecodeError::new(
                W,
                format!(
                    "additional length {} leaves out the mandatory 36 bytes",
                    b[4]
                ),
            ));
        }
        let b = &b[..declared.min(b.len())];
        let version_descriptors = b
            .get(58..74.min(b.len()))
            .unwrap_or(&[])
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .filter(|&v| v != 0)
            .collect();
        Ok(StandardInquiry {
            qualifier: b[0] >> 5,
            device_type: b[0] & 0x1f,
            removable: b[1] & 0x80 != 0,
            version: b[2],
            response_format: b[3] & 0x0f,
            mchngr: b[6] & 0x08 != 0,
            vendor: ascii(&b[8..16]),
            product: ascii(&b[16..32]),
            revision: ascii(&b[32..36]),
            vendor_specific: b.get(36..56.min(b.len())).unwrap_or(&[]).to_vec(),
            hisup: b[3] & 0x10 != 0,
            protect: b[5] & 0x01 != 0,
            multip: b[6] & 0x10 != 0,
            cmdque: b[7] & 0x02 != 0,
            version_descriptors,
        })
    }

    /// The data a device returns: 58 bytes plus the version descriptors
    /// (at most 8), strings space padded, vendor specific bytes padded with
    /// spaces to 20.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; 58];
        b[0] = (self.qualifier << 5) | (self.device_type & 0x1f);
        b[1] = if self.removable { 0x80 } else { 0 };
        b[2] = self.version;
        b[3] = (self.response_format & 0x0f) | if self.hisup { 0x10 } else { 0 };
        b[5] = u8::from(self.protect);
        b[6] = if self.multip { 0x10 } else { 0 } | if self.mchngr { 0x08 } else { 0 };
        b[7] = if self.cmdque { 0x02 } else { 0 };
        b[8..16].copy_from_slice(&pad(&self.vendor, 8));
        b[16..32].copy_from_slice(&pad(&self.product, 16));
        b[32..36].copy_from_slice(&pad(&self.revision, 4));
        let mut vs = self.vendor_specific.clone();
        vs.resize(20, b' ');
        b[36..56].copy_from_slice(&vs[..20]);
        for v in self.version_descriptors.iter().take(8) {
            b.extend_from_slice(&v.to_be_bytes());
        }
        b[4] = (b.len() - 5) as u8;
        b
    }
}

/// Checks a VPD page header and returns the page body (honouring PAGE
/// LENGTH).
pub fn vpd_body<'a>(what: &'static str, b: &'a [u8], page: u8) -> Result<&'a [u8], DecodeError> {
    let h = bytes::need(what, b, 4)?;
    if h[1] != page {
        return Err(DecodeError::new(
            what,
            format!("page code {:02X}h, expected {page:02X}h", h[1]),
        ));
    }
    let len = usize::from(u16::from_be_bytes([h[2], h[3]]));
    bytes::declared_body(what, b, 4, len, "page length")
}

/// A VPD page as a device returns it: header for `device_type`, then `body`
/// (cut at 65535 bytes).
pub fn encode_vpd(device_type: u8, page: u8, body: &[u8]) -> Vec<u8> {
    let n = body.len().min(0xffff);
    let mut out = vec![device_type & 0x1f, page];
    out.extend_from_slice(&(n as u16).to_be_bytes());
    out.extend_from_slice(&body[..n]);
    out
}

/// VPD 00h: the supported page codes.
pub fn parse_supported_vpd(b: &[u8]) -> Result<Vec<u8>, DecodeError> {
    Ok(vpd_body("supported VPD pages", b, vpd::SUPPORTED_PAGES)?.to_vec())
}

/// VPD 80h: the unit serial number (ASCII, spaces trimmed on both sides:
/// drives right-align it).
pub fn parse_unit_serial(b: &[u8]) -> Result<String, DecodeError> {
    let body = vpd_body("unit serial number VPD", b, vpd::UNIT_SERIAL_NUMBER)?;
    Ok(ascii(body).trim_start().to_owned())
}

/// Designator types (SPC-5 table 586).
pub mod designator_type {
    pub const VENDOR_SPECIFIC: u8 = 0x0;
    pub const T10_VENDOR_ID: u8 = 0x1;
    pub const EUI64: u8 = 0x2;
    pub const NAA: u8 = 0x3;
    pub const RELATIVE_TARGET_PORT: u8 = 0x4;
    pub const TARGET_PORT_GROUP: u8 = 0x5;
    pub const LOGICAL_UNIT_GROUP: u8 = 0x6;
    pub const MD5_LOGICAL_UNIT: u8 = 0x7;
    pub const SCSI_NAME_STRING: u8 = 0x8;
    pub const PROTOCOL_SPECIFIC_PORT: u8 = 0x9;
    pub const UUID: u8 = 0xa;
}

/// Code sets of a designator.
pub mod code_set {
    pub const BINARY: u8 = 1;
    pub const ASCII: u8 = 2;
    pub const UTF8: u8 = 3;
}

/// One designation descriptor of VPD 83h.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Designator {
    /// PROTOCOL IDENTIFIER, present when PIV is set for a port or target
    /// association (e.g. 0 Fibre Channel, 5 iSCSI, 6 SAS).
    pub protocol: Option<u8>,
    pub code_set: u8,
    /// 0 logical unit, 1 target port, 2 target device.
    pub association: u8,
    pub designator_type: u8,
    pub value: Vec<u8>,
}

impl Designator {
    pub fn type_name(&self) -> &'static str {
        use designator_type::*;
        match self.designator_type {
            VENDOR_SPECIFIC => "vendor specific",
            T10_VENDOR_ID => "T10 vendor ID",
            EUI64 => "EUI-64",
            NAA => "NAA",
            RELATIVE_TARGET_PORT => "relative target port",
            TARGET_PORT_GROUP => "target port group",
            LOGICAL_UNIT_GROUP => "logical unit group",
            MD5_LOGICAL_UNIT => "MD5 logical unit",
            SCSI_NAME_STRING => "SCSI name string",
            PROTOCOL_SPECIFIC_PORT => "protocol specific port",
            UUID => "UUID",
            _ => "reserved",
        }
    }

    pub fn association_name(&self) -> &'static str {
        match self.association {
            0 => "logical unit",
            1 => "target port",
            2 => "target device",
            _ => "reserved",
        }
    }

    /// Printable value: text for ASCII/UTF-8 code sets, the port number for
    /// relative target ports and port groups, hex otherwise.
    pub fn value_string(&self) -> String {
        use designator_type::*;
        match (self.code_set, self.designator_type) {
            (code_set::ASCII | code_set::UTF8, _) => {
                let s = String::from_utf8_lossy(&self.value);
                s.trim_end_matches(['\0', ' ']).to_owned()
            }
            (_, RELATIVE_TARGET_PORT | TARGET_PORT_GROUP | LOGICAL_UNIT_GROUP)
                if self.value.len() == 4 =>
            {
                u16::from_be_bytes([self.value[2], self.value[3]]).to_string()
            }
            _ => self.value.iter().map(|b| format!("{b:02x}")).collect(),
        }
    }

    /// The descriptor as it appears in VPD 83h.
    pub fn encode(&self) -> Vec<u8> {
        let n = self.value.len().min(0xff);
        let proto = self.protocol.unwrap_or(0);
        let piv = if self.protocol.is_some() { 0x80 } else { 0 };
        let mut out = vec![
            (proto << 4) | (self.code_set & 0x0f),
            piv | ((self.association & 0x03) << 4) | (self.designator_type & 0x0f),
            0,
            n as u8,
        ];
        out.extend_from_slice(&self.value[..n]);
        out
    }
}

/// VPD 83h: every designation descriptor.
pub fn parse_device_identification(b: &[u8]) -> Result<Vec<Designator>, DecodeError> {
    const W: &str = "device identification VPD";
    let mut rest = vpd_body(W, b, vpd::DEVICE_IDENTIFICATION)?;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let Some(h) = rest.get(..4) else {
            return Err(DecodeError::new(
                W,
                format!("designator header cut after {} bytes", rest.len()),
            ));
        };
        let len = usize::from(h[3]);
        let Some(value) = rest.get(4..4 + len) else {
            return Err(DecodeError::new(
                W,
                format!(
                    "designator declares {len} bytes, only {} left",
                    rest.len() - 4
                ),
            ));
        };
        let association = (h[1] >> 4) & 0x03;
        let piv = h[1] & 0x80 != 0;
        out.push(Designator {
            // PIV only means something for port and target associations.
            protocol: (piv && matches!(association, 1 | 2)).then_some(h[0] >> 4),
            code_set: h[0] & 0x0f,
            association,
            designator_type: h[1] & 0x0f,
            value: value.to_vec(),
        });
        rest = &rest[4 + len..];
    }
    Ok(out)
}

/// VPD B0h for a sequential-access device (SSC-5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct SequentialCapabilities {
    /// WORM media supported.
    pub worm: bool,
    /// Tape stream mirroring capable.
    pub tsmc: bool,
    /// Byte 4 as returned, for bits without a field here.
    pub flags: u8,
}

pub fn parse_sequential_capabilities(b: &[u8]) -> Result<SequentialCapabilities, DecodeError> {
    const W: &str = "sequential-access device capabilities VPD";
    let body = vpd_body(W, b, vpd::SEQUENTIAL_ACCESS_CAPABILITIES)?;
    let Some(&flags) = body.first() else {
        return Err(DecodeError::short(W, 5, 4));
    };
    Ok(SequentialCapabilities {
        worm: flags & 0x01 != 0,
        tsmc: flags & 0x02 != 0,
        flags,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cdb_bytes() {
        assert_eq!(inquiry_cdb(false, 0, 96), [0x12, 0, 0, 0, 0x60, 0]);
        assert_eq!(
            inquiry_cdb(true, 0x83, 0x1000),
            [0x12, 0x01, 0x83, 0x10, 0x00, 0]
        );
    }

    fn std_bytes() -> Vec<u8> {
        let mut b = vec![
            0x01, 0x80, 0x06, 0x12, 0x39, 0x01, 0x18,
            0x02, // tape, RMB, SPC-4, HISUP, PROTECT, MULTIP, MCHNGR, CMDQUE
        ];
        b.extend_from_slice(b"IBM     ULT3580-TD9     N9M1");
        b.extend_from_slice(b"VS-BYTES-0123456789!"); // 36..56
        b.extend_from_slice(&[0, 0]); // 56, 57
        b.extend_from_slice(&[0x04, 0x60, 0x00, 0x00, 0x02, 0x17]); // version descriptors
        b.extend_from_slice(&[0; 6]); // up to byte 70
        assert_eq!(b.len(), 70);
        b.extend_from_slice(&[0xee; 4]); // surplus: beyond any declared length used below
        b
    }

    #[test]
    fn parse_standard() {
        let mut b = std_bytes();
        b[4] = 65; // 70 bytes declared
        let s = StandardInquiry::parse(&b).unwrap();
        assert_eq!(s.qualifier, 0);
        assert_eq!(s.device_type, device_type::SEQUENTIAL_ACCESS);
        assert!(s.removable);
        assert_eq!(s.version, 6);
        assert_eq!(s.response_format, 2);
        assert!(s.hisup && s.protect && s.multip && s.mchngr && s.cmdque);
        assert_eq!(s.vendor, "IBM");
        assert_eq!(s.product, "ULT3580-TD9");
        assert_eq!(s.revision, "N9M1");
        assert_eq!(s.vendor_specific, b"VS-BYTES-0123456789!".to_vec());
        assert_eq!(s.version_descriptors, vec![0x0460, 0x0217]);
    }

    #[test]
    fn parse_standard_truncated_tail_and_short() {
        // Asked for 36 bytes of a device with more: fine, no tail.
        let b = std_bytes();
        let s = StandardInquiry::parse(&b[..36]).unwrap();
        assert!(s.vendor_specific.is_empty());
        assert!(s.version_descriptors.is_empty());
        // Declared length 36: the bytes after are surplus.
        let mut b = std_bytes();
        b[4] = 31;
        let s = StandardInquiry::parse(&b).unwrap();
        assert!(s.vendor_specific.is_empty());
        // Declared 40: four vendor specific bytes.
        b[4] = 35;
        assert_eq!(
            StandardInquiry::parse(&b).unwrap().vendor_specific,
            b"VS-B".to_vec()
        );
        assert!(StandardInquiry::parse(&b[..35]).is_err());
        b[4] = 30;
        assert!(StandardInquiry::parse(&b).is_err());
    }

    #[test]
    fn non_ascii_strings_do_not_panic() {
        let mut b = std_bytes();
        b[8] = 0xff;
        b[9] = 0x00;
        let s = StandardInquiry::parse(&b).unwrap();
        assert_eq!(s.vendor, "? M");
    }

    #[test]
    fn encode_standard() {
        let s = StandardInquiry {
            qualifier: 0,
            device_type: 1,
            removable: true,
            version: 6,
            response_format: 2,
            mchngr: false,
            vendor: "REEL".into(),
            product: "VTL LTO-9".into(),
            revision: "0001".into(),
            vendor_specific: vec![],
            hisup: true,
            protect: false,
            multip: false,
            cmdque: true,
            version_descriptors: vec![0x0460],
        };
        let b = s.encode();
        assert_eq!(b.len(), 60);
        assert_eq!(&b[..8], &[0x01, 0x80, 0x06, 0x12, 55, 0x00, 0x00, 0x02]);
        assert_eq!(&b[8..36], b"REEL    VTL LTO-9       0001");
        assert_eq!(&b[36..56], &[b' '; 20]);
        assert_eq!(&b[58..60], &[0x04, 0x60]);
        let mut back = StandardInquiry::parse(&b).unwrap();
        assert_eq!(back.vendor_specific, vec![b' '; 20]);
        back.vendor_specific.clear();
        assert_eq!(back, s);
    }

    #[test]
    fn supported_vpd() {
        let b = [0x01, 0x00, 0x00, 0x05, 0x00, 0x80, 0x83, 0xb0, 0xc0, 0xff];
        assert_eq!(
            parse_supported_vpd(&b).unwrap(),
            vec![0x00, 0x80, 0x83, 0xb0, 0xc0]
        );
        assert!(parse_supported_vpd(&b[..8]).is_err());
        let e = parse_supported_vpd(&[0x01, 0x80, 0, 0]).unwrap_err();
        assert!(e.detail.contains("expected 00h"), "{e}");
        assert!(parse_supported_vpd(&[0x01, 0x00, 0]).is_err());
    }

    #[test]
    fn unit_serial() {
        let b = [
            0x01, 0x80, 0x00, 0x0c, b' ', b' ', b'1', b'0', b'7', b'8', b'0', b'0', b'0', b'4',
            b'5', b' ',
        ];
        assert_eq!(parse_unit_serial(&b).unwrap(), "107800045");
        assert!(parse_unit_serial(&b[..10]).is_err());
        assert_eq!(parse_unit_serial(&[0x01, 0x80, 0, 0]).unwrap(), "");
    }

    /// NAA (binary), T10 vendor id (ASCII), relative target port with
    /// PIV + SAS, SCSI name string (UTF-8, target device).
    const VPD83: [u8; 4 + 12 + 20 + 8 + 12] = [
        0x01, 0x83, 0x00, 0x34, //
        0x01, 0x03, 0x00, 0x08, 0x50, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, // NAA
        0x02, 0x01, 0x00, 0x10, b'I', b'B', b'M', b' ', b' ', b' ', b' ', b' ', b'U', b'L', b'T',
        b'3', b'5', b'8', b'0', b' ', // T10 vendor id
        0x61, 0x94, 0x00, 0x04, 0x00, 0x00, 0x00, 0x02, // SAS, PIV, port, rel tgt port 2
        0x53, 0xa8, 0x00, 0x08, b'i', b'q', b'n', b'.', b'x', 0, 0, 0, // iSCSI name, device
    ];

    #[test]
    fn device_identification() {
        let d = parse_device_identification(&VPD83).unwrap();
        assert_eq!(d.len(), 4);
        assert_eq!(d[0].designator_type, designator_type::NAA);
        assert_eq!(d[0].code_set, code_set::BINARY);
        assert_eq!(d[0].association, 0);
        assert_eq!(d[0].protocol, None);
        assert_eq!(d[0].value_string(), "500123456789abcd");
        assert_eq!(d[0].type_name(), "NAA");
        assert_eq!(d[1].designator_type, designator_type::T10_VENDOR_ID);
        assert_eq!(d[1].value_string(), "IBM     ULT3580");
        assert_eq!(d[2].protocol, Some(6));
        assert_eq!(d[2].association, 1);
        assert_eq!(d[2].association_name(), "target port");
        assert_eq!(d[2].value_string(), "2");
        assert_eq!(d[3].protocol, Some(5));
        assert_eq!(d[3].association, 2);
        assert_eq!(d[3].designator_type, designator_type::SCSI_NAME_STRING);
        assert_eq!(d[3].value_string(), "iqn.x");
        // Round trip through the encoder.
        let body: Vec<u8> = d.iter().flat_map(Designator::encode).collect();
        assert_eq!(encode_vpd(1, 0x83, &body), VPD83.to_vec());
    }

    #[test]
    fn device_identification_bad() {
        // PIV with logical unit association: no protocol.
        let b = [0x01, 0x83, 0, 6, 0x51, 0x83, 0, 2, 0xaa, 0xbb];
        assert_eq!(parse_device_identification(&b).unwrap()[0].protocol, None);
        // Designator longer than the page.
        let b = [0x01, 0x83, 0, 6, 0x01, 0x03, 0, 8, 0xaa, 0xbb];
        assert!(parse_device_identification(&b).is_err());
        // Header cut.
        let b = [0x01, 0x83, 0, 2, 0x01, 0x03];
        assert!(parse_device_identification(&b).is_err());
        assert!(parse_device_identification(&VPD83[..50]).is_err());
        // Surplus ignored.
        let mut b = VPD83.to_vec();
        b.extend_from_slice(&[1, 2, 3]);
        assert_eq!(parse_device_identification(&b).unwrap().len(), 4);
    }

    #[test]
    fn sequential_capabilities() {
        let b = [0x01, 0xb0, 0x00, 0x02, 0x01, 0x00];
        let c = parse_sequential_capabilities(&b).unwrap();
        assert!(c.worm && !c.tsmc);
        let b = [0x01, 0xb0, 0x00, 0x01, 0x02];
        let c = parse_sequential_capabilities(&b).unwrap();
        assert!(!c.worm && c.tsmc);
        assert!(parse_sequential_capabilities(&[0x01, 0xb0, 0, 0]).is_err());
        assert!(parse_sequential_capabilities(&[0x01, 0xb0, 0, 2, 1]).is_err());
        assert!(parse_sequential_capabilities(&[0x01, 0xb1, 0, 1, 1]).is_err());
    }

    proptest! {
        #[test]
        fn parse_never_panics(b in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = StandardInquiry::parse(&b);
            let _ = parse_supported_vpd(&b);
            let _ = parse_unit_serial(&b);
            let _ = parse_device_identification(&b);
            let _ = parse_sequential_capabilities(&b);
        }

        #[test]
        fn designators_never_panic(body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_device_identification(&encode_vpd(1, 0x83, &body));
        }
    }
}

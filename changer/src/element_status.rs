//! READ ELEMENT STATUS (SMC-3 6.11): the CDB builder and the parser of the
//! element status data (header, element status pages, element descriptors).
//!
//! Libraries misreport lengths (field notes A3, A4), so the parser trusts
//! only what it can check: the descriptor length of each page header (longer
//! descriptors than the standard layout, e.g. Quantum Scalar's, and shorter
//! ones, down to 4-byte descriptors), the bytes actually transferred and the
//! descriptors actually present. Surplus bytes after the declared report are
//! dropped; a report cut short is flagged (`complete == false`) with every
//! whole descriptor kept, so the caller can re-request from the next address.

use reel_drivers::scsi::error::DecodeError;
use reel_drivers::scsi::opcodes;

/// Element type codes (SMC-3 table 11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ElementType {
    MediumTransport = 1,
    Storage = 2,
    ImportExport = 3,
    DataTransfer = 4,
}

impl ElementType {
    pub const ALL: [ElementType; 4] = [
        ElementType::MediumTransport,
        ElementType::Storage,
        ElementType::ImportExport,
        ElementType::DataTransfer,
    ];

    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: u8) -> Option<ElementType> {
        match code {
            1 => Some(ElementType::MediumTransport),
            2 => Some(ElementType::Storage),
            3 => Some(ElementType::ImportExport),
            4 => Some(ElementType::DataTransfer),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ElementType::MediumTransport => "medium transport",
            ElementType::Storage => "storage",
            ElementType::ImportExport => "import/export",
            ElementType::DataTransfer => "data transfer",
        }
    }
}

impl std::fmt::Display for ElementType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The fields of one READ ELEMENT STATUS request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElementStatusRequest {
    /// VOLTAG: report volume tags.
    pub voltag: bool,
    /// `None` asks for all element types (code 0).
    pub element_type: Option<ElementType>,
    pub start: u16,
    pub count: u16,
    /// CURDATA: answer from the library's current data, without moving
    /// anything to scan barcodes.
    pub curdata: bool,
    /// DVCID: report the device identifier of data transfer elements.
    pub dvcid: bool,
    /// 24-bit allocation length (0xFFFF by default, field note A1).
    pub alloc: u32,
}

/// READ ELEMENT STATUS (B8h), 12 bytes. The allocation length is cut to its
/// 24 bits.
pub fn read_element_status_cdb(r: &ElementStatusRequest) -> [u8; 12] {
    let start = r.start.to_be_bytes();
    let count = r.count.to_be_bytes();
    let alloc = (r.alloc & 0x00ff_ffff).to_be_bytes();
    [
        opcodes::READ_ELEMENT_STATUS,
        (u8::from(r.voltag) << 4) | r.element_type.map_or(0, ElementType::code),
        start[0],
        start[1],
        count[0],
        count[1],
        (u8::from(r.curdata) << 1) | u8::from(r.dvcid),
        alloc[1],
        alloc[2],
        alloc[3],
        0,
        0,
    ]
}

/// A primary or alternate volume tag (SMC-3 table 15): a 32-byte volume
/// identifier and a 2-byte volume sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VolumeTag {
    /// Kept raw: mtx prints the space-padded field exactly.
    pub raw: [u8; 32],
    pub sequence: u16,
}

impl VolumeTag {
    /// The identifier up to the first byte outside printable ASCII, trailing
    /// spaces removed.
    pub fn text(&self) -> String {
        self.mtx_text().trim_end().to_owned()
    }

    /// The identifier as mtx prints it: the raw field up to the first byte
    /// outside 32..=127, padding kept.
    pub fn mtx_text(&self) -> String {
        self.raw
            .iter()
            .take_while(|&&c| (32..=127).contains(&c))
            .map(|&c| c as char)
            .collect()
    }

    /// A tag holding `text` padded with spaces (or cut) to 32 bytes.
    pub fn new(text: &str, sequence: u16) -> VolumeTag {
        let mut raw = [b' '; 32];
        for (d, s) in raw.iter_mut().zip(text.bytes()) {
            *d = s;
        }
        VolumeTag { raw, sequence }
    }

    /// Blank (all spaces or NULs): libraries report a full slot without a
    /// readable barcode this way.
    pub fn is_blank(&self) -> bool {
        self.raw.iter().all(|&c| c == b' ' || c == 0)
    }

    fn parse(b: &[u8; 36]) -> VolumeTag {
        let mut raw = [0u8; 32];
        raw.copy_from_slice(&b[..32]);
        VolumeTag {
            raw,
            sequence: u16::from_be_bytes([b[34], b[35]]),
        }
    }
}

/// The device identifier of an element (DVCID; SMC-3 table 16), shaped like
/// an SPC designation descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeviceIdentifier {
    /// PROTOCOL IDENTIFIER (meaningful with PIV).
    pub protocol: u8,
    /// 1 binary, 2 ASCII, 3 UTF-8.
    pub code_set: u8,
    pub piv: bool,
    /// 0 logical unit, 1 target port, 2 target device.
    pub association: u8,
    /// 0 vendor specific (usually the unit serial), 1 T10 vendor ID, 3 NAA...
    pub identifier_type: u8,
    pub value: Vec<u8>,
}

impl DeviceIdentifier {
    /// ASCII/UTF-8 identifiers as trimmed text, binary ones in hex.
    pub fn value_string(&self) -> String {
        if matches!(self.code_set, 2 | 3) {
            String::from_utf8_lossy(&self.value)
                .trim_matches(|c: char| c == ' ' || c == '\0')
                .to_owned()
        } else {
            self.value.iter().map(|b| format!("{b:02x}")).collect()
        }
    }
}

/// Medium type of a full element (SMC-3 table 14).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediumType {
    Unspecified,
    Data,
    Cleaning,
    Diagnostic,
    Worm,
    Reserved(u8),
}

impl MediumType {
    pub fn from_code(c: u8) -> MediumType {
        match c & 0x07 {
            0 => MediumType::Unspecified,
            1 => MediumType::Data,
            2 => MediumType::Cleaning,
            3 => MediumType::Diagnostic,
            4 => MediumType::Worm,
            other => MediumType::Reserved(other),
        }
    }
}

/// One element descriptor. Fields a short descriptor does not carry keep
/// their neutral value (false, 0, `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElementStatus {
    pub address: u16,
    pub kind: ElementType,
    pub full: bool,
    pub except: bool,
    pub access: bool,
    /// ImpExp: the medium was placed by an operator (import/export only).
    pub import_export: bool,
    pub import_enabled: bool,
    pub export_enabled: bool,
    pub asc: u8,
    pub ascq: u8,
    /// Source storage element address, when SValid is set.
    pub source: Option<u16>,
    pub invert: bool,
    /// ED: the element is disabled.
    pub disabled: bool,
    pub medium_type: MediumType,
    pub primary_tag: Option<VolumeTag>,
    pub alternate_tag: Option<VolumeTag>,
    pub identifier: Option<DeviceIdentifier>,
}

impl ElementStatus {
    /// An empty element of `kind` at `address`.
    pub fn empty(kind: ElementType, address: u16) -> ElementStatus {
        ElementStatus {
            address,
            kind,
            full: false,
            except: false,
            access: false,
            import_export: false,
            import_enabled: false,
            export_enabled: false,
            asc: 0,
            ascq: 0,
            source: None,
            invert: false,
            disabled: false,
            medium_type: MediumType::Unspecified,
            primary_tag: None,
            alternate_tag: None,
            identifier: None,
        }
    }

    /// The primary volume tag text, when present and not blank.
    pub fn barcode(&self) -> Option<String> {
        self.primary_tag
            .as_ref()
            .filter(|t| !t.is_blank())
            .map(VolumeTag::text)
    }
}

/// One element status page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElementStatusPage {
    pub kind: ElementType,
    pub pvoltag: bool,
    pub avoltag: bool,
    pub descriptor_length: u16,
    pub elements: Vec<ElementStatus>,
}

/// Decoded READ ELEMENT STATUS data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElementStatusData {
    pub first_address: u16,
    /// NUMBER OF ELEMENTS AVAILABLE as the header states it (not trusted:
    /// count the descriptors instead).
    pub elements_available: u16,
    /// BYTE COUNT OF REPORT AVAILABLE (excludes the 8-byte header).
    pub report_bytes: u32,
    pub pages: Vec<ElementStatusPage>,
    /// False when the header declares more data than was transferred (the
    /// allocation length was too small, or the device sent short data).
    pub complete: bool,
}

impl ElementStatusData {
    /// Every descriptor of every page, in order.
    pub fn elements(&self) -> impl Iterator<Item = &ElementStatus> {
        self.pages.iter().flat_map(|p| p.elements.iter())
    }

    /// Number of descriptors actually returned.
    pub fn count(&self) -> usize {
        self.pages.iter().map(|p| p.elements.len()).sum()
    }
}

const WHAT: &str = "element status data";
const HEADER: usize = 8;
const PAGE_HEADER: usize = 8;
/// A descriptor must hold at least the address and the flags byte.
const MIN_DESCRIPTOR: usize = 3;
const TAG: usize = 36;

fn u24(b: &[u8]) -> u32 {
    u32::from_be_bytes([0, b[0], b[1], b[2]])
}

/// How long the report starting at `b` says it is: the 8-byte header plus
/// its BYTE COUNT OF REPORT AVAILABLE (`None` for less than a header).
/// Bytes past this are not report data whatever the adapter's residual
/// claims (field note A8: some adapters report every transfer as full).
pub fn declared_len(b: &[u8]) -> Option<usize> {
    let h = b.get(..HEADER)?;
    Some(HEADER.saturating_add(u24(&h[5..8]) as usize))
}

/// Decodes `b`, the bytes the device transferred. `dvcid` says whether the
/// request set DVCID: only then do the bytes after the volume tags hold a
/// device identifier (SMC-2 libraries put vendor bytes there).
pub fn parse_element_status(b: &[u8], dvcid: bool) -> Result<ElementStatusData, DecodeError> {
    let Some(h) = b.get(..HEADER) else {
        return Err(DecodeError::short(WHAT, HEADER, b.len()));
    };
    let first_address = u16::from_be_bytes([h[0], h[1]]);
    let elements_available = u16::from_be_bytes([h[2], h[3]]);
    let report_bytes = u24(&h[5..8]);
    let declared_end = HEADER.saturating_add(report_bytes as usize);
    let mut complete = b.len() >= declared_end;
    // Surplus after the declared report is dropped.
    let mut rest = &b[HEADER..b.len().min(declared_end)];
    let mut pages = Vec::new();
    while !rest.is_empty() {
        let Some(ph) = rest.get(..PAGE_HEADER) else {
            if complete {
                return Err(DecodeError::new(
                    WHAT,
                    format!(
                        "page header cut after {} bytes inside the declared report",
                        rest.len()
                    ),
                ));
            }
            break;
        };
        let Some(kind) = ElementType::from_code(ph[0]) else {
            return Err(DecodeError::new(
                WHAT,
                format!("page with unknown element type code {}", ph[0]),
            ));
        };
        let pvoltag = ph[1] & 0x80 != 0;
        let avoltag = ph[1] & 0x40 != 0;
        let descriptor_length = u16::from_be_bytes([ph[2], ph[3]]);
        let page_bytes = u24(&ph[5..8]) as usize;
        let body = &rest[PAGE_HEADER..];
        let dl = usize::from(descriptor_length);
        if page_bytes > 0 && dl < MIN_DESCRIPTOR {
            return Err(DecodeError::new(
                WHAT,
                format!(
                    "{kind} page: element descriptor length {dl} cannot hold an address and flags"
                ),
            ));
        }
        let page_data = if body.len() >= page_bytes {
            &body[..page_bytes]
        } else {
            // The page runs past what we hold: the report itself is cut
            // (or the page header lies within a complete report).
            if complete {
                return Err(DecodeError::new(
                    WHAT,
                    format!(
                        "{kind} page declares {page_bytes} bytes of descriptors, \
                         only {} remain in the report",
                        body.len()
                    ),
                ));
            }
            body
        };
        let mut elements = Vec::new();
        if dl >= MIN_DESCRIPTOR {
            let chunks = page_data.chunks_exact(dl);
            if !chunks.remainder().is_empty() {
                if page_data.len() == page_bytes {
                    // Within a page whose bytes are all here: a length
                    // that is no multiple of the descriptor length.
                    return Err(DecodeError::new(
                        WHAT,
                        format!(
                            "{kind} page: {page_bytes} bytes is not a whole number of \
                             {dl}-byte descriptors"
                        ),
                    ));
                }
                complete = false;
            }
            for d in chunks {
                elements.push(parse_descriptor(kind, pvoltag, avoltag, dvcid, d));
            }
        }
        pages.push(ElementStatusPage {
            kind,
            pvoltag,
            avoltag,
            descriptor_length,
            elements,
        });
        if page_data.len() < page_bytes {
            complete = false;
            break;
        }
        rest = &body[page_bytes..];
    }
    Ok(ElementStatusData {
        first_address,
        elements_available,
        report_bytes,
        pages,
        complete,
    })
}

/// One descriptor of `d.len() >= MIN_DESCRIPTOR` bytes; absent fields stay
/// neutral.
fn parse_descriptor(
    kind: ElementType,
    pvoltag: bool,
    avoltag: bool,
    dvcid: bool,
    d: &[u8],
) -> ElementStatus {
    let byte = |i: usize| d.get(i).copied().unwrap_or(0);
    let mut e = ElementStatus::empty(kind, u16::from_be_bytes([byte(0), byte(1)]));
    let flags = byte(2);
    e.full = flags & 0x01 != 0;
    e.except = flags & 0x04 != 0;
    // The transport element has no ACCESS bit; the others do.
    e.access = kind != ElementType::MediumTransport && flags & 0x08 != 0;
    if kind == ElementType::ImportExport {
        e.import_export = flags & 0x02 != 0;
        e.export_enabled = flags & 0x10 != 0;
        e.import_enabled = flags & 0x20 != 0;
    }
    e.asc = byte(4);
    e.ascq = byte(5);
    let b9 = byte(9);
    if d.len() >= 12 {
        e.invert = b9 & 0x40 != 0;
        e.disabled = b9 & 0x08 != 0;
        e.medium_type = MediumType::from_code(b9);
        if b9 & 0x80 != 0 {
            e.source = Some(u16::from_be_bytes([d[10], d[11]]));
        }
    } else {
        e.disabled = b9 & 0x08 != 0;
    }
    let mut off = 12;
    let tag_at = |off: usize| -> Option<VolumeTag> {
        d.get(off..off + TAG)
            .and_then(|t| <&[u8; TAG]>::try_from(t).ok())
            .map(VolumeTag::parse)
    };
    if pvoltag {
        e.primary_tag = tag_at(off);
        off += TAG;
    }
    if avoltag {
        e.alternate_tag = tag_at(off);
        off += TAG;
    }
    if dvcid && let Some(h) = d.get(off..off + 4) {
        let len = usize::from(h[3]);
        // An identifier running past the descriptor is cut to it.
        let value = d.get(off + 4..).unwrap_or(&[]);
        let value = &value[..len.min(value.len())];
        if !value.is_empty() {
            e.identifier = Some(DeviceIdentifier {
                protocol: h[0] >> 4,
                code_set: h[0] & 0x0f,
                piv: h[1] & 0x80 != 0,
                association: (h[1] >> 4) & 0x03,
                identifier_type: h[1] & 0x0f,
                value: value.to_vec(),
            });
        }
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cdb_storage_with_tags() {
        let cdb = read_element_status_cdb(&ElementStatusRequest {
            voltag: true,
            element_type: Some(ElementType::Storage),
            start: 0x0400,
            count: 1000,
            curdata: false,
            dvcid: false,
            alloc: 0xffff,
        });
        assert_eq!(
            cdb,
            [
                0xb8, 0x12, 0x04, 0x00, 0x03, 0xe8, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00
            ]
        );
    }

    #[test]
    fn cdb_drives_dvcid_curdata_all_types() {
        let cdb = read_element_status_cdb(&ElementStatusRequest {
            voltag: false,
            element_type: Some(ElementType::DataTransfer),
            start: 0x0100,
            count: 4,
            curdata: true,
            dvcid: true,
            alloc: 0x01_2345,
        });
        assert_eq!(
            cdb,
            [
                0xb8, 0x04, 0x01, 0x00, 0x00, 0x04, 0x03, 0x01, 0x23, 0x45, 0x00, 0x00
            ]
        );
        let all = read_element_status_cdb(&ElementStatusRequest {
            voltag: true,
            element_type: None,
            start: 0,
            count: 0xffff,
            curdata: false,
            dvcid: false,
            alloc: 0x1ff_ffff,
        });
        assert_eq!(
            all,
            [
                0xb8, 0x10, 0x00, 0x00, 0xff, 0xff, 0x00, 0xff, 0xff, 0xff, 0x00, 0x00
            ]
        );
    }

    fn tag(text: &str) -> Vec<u8> {
        let mut v = vec![b' '; 32];
        v[..text.len()].copy_from_slice(text.as_bytes());
        v.extend_from_slice(&[0, 0, 0, 0]);
        v
    }

    /// Two storage slots, primary tags (52-byte descriptors as SMC-3 lays
    /// them out: 12 bytes + 36 tag + 4 reserved).
    #[test]
    fn storage_page_with_primary_tags() {
        let mut b = vec![
            0x04, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x70, // header: 2 elems, 112 bytes
            0x02, 0x80, 0x00, 0x34, 0x00, 0x00, 0x00, 0x68, // storage page, PVolTag, 52, 104
        ];
        // slot 0x0400: full, access, source 0x0101 valid, data medium
        b.extend_from_slice(&[
            0x04, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x81, 0x01, 0x01,
        ]);
        b.extend_from_slice(&tag("ABC123L8"));
        b.extend_from_slice(&[0, 0, 0, 0]);
        // slot 0x0401: empty, access, except with ASC/ASCQ 30/03
        b.extend_from_slice(&[
            0x04, 0x01, 0x0c, 0x00, 0x30, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ]);
        b.extend_from_slice(&[b' '; 32]);
        b.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
        let d = parse_element_status(&b, false).unwrap();
        assert!(d.complete);
        assert_eq!(d.first_address, 0x0400);
        assert_eq!(d.count(), 2);
        let p = &d.pages[0];
        assert_eq!(p.kind, ElementType::Storage);
        assert!(p.pvoltag && !p.avoltag);
        let e0 = &p.elements[0];
        assert_eq!(e0.address, 0x0400);
        assert!(e0.full && e0.access && !e0.except);
        assert_eq!(e0.source, Some(0x0101));
        assert_eq!(e0.medium_type, MediumType::Data);
        assert_eq!(e0.barcode().as_deref(), Some("ABC123L8"));
        assert_eq!(
            e0.primary_tag.unwrap().mtx_text(),
            format!("ABC123L8{}", " ".repeat(24))
        );
        assert!(e0.alternate_tag.is_none());
        let e1 = &p.elements[1];
        assert!(!e1.full && e1.except && e1.access);
        assert_eq!((e1.asc, e1.ascq), (0x30, 0x03));
        assert_eq!(e1.source, None);
        assert!(e1.primary_tag.is_some());
        assert_eq!(e1.barcode(), None);
    }

    /// A drive with both tags and a DVCID ASCII serial after them.
    #[test]
    fn drive_with_both_tags_and_dvcid() {
        let mut desc = vec![
            0x01, 0x00, 0x09, 0x00, 0x00, 0x00, 0xa0, 0x05, 0x00, 0xc1, 0x04, 0x07,
        ];
        desc.extend_from_slice(&tag("VOL001L8"));
        desc.extend_from_slice(&tag("ALT001"));
        // code set 2 (ASCII), association 0, type 0, length 10
        desc.extend_from_slice(&[0x02, 0x00, 0x00, 0x0a]);
        desc.extend_from_slice(b"HU1234567 ");
        desc.extend_from_slice(&[0, 0]); // vendor padding kept inside the length
        let dl = desc.len() as u8; // 12 + 72 + 4 + 10 + 2 = 100
        assert_eq!(dl, 100);
        let mut b = vec![
            0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 108, 0x04, 0xc0, 0x00, dl, 0x00, 0x00, 0x00,
            dl,
        ];
        b.extend_from_slice(&desc);
        let d = parse_element_status(&b, true).unwrap();
        let e = &d.pages[0].elements[0];
        assert_eq!(e.kind, ElementType::DataTransfer);
        assert_eq!(e.address, 0x0100);
        assert!(e.full && e.access && e.invert);
        assert_eq!(e.source, Some(0x0407));
        assert_eq!(e.barcode().as_deref(), Some("VOL001L8"));
        assert_eq!(e.alternate_tag.unwrap().text(), "ALT001");
        let id = e.identifier.as_ref().unwrap();
        assert_eq!((id.code_set, id.association, id.identifier_type), (2, 0, 0));
        assert_eq!(id.value, b"HU1234567 ");
        assert_eq!(id.value_string(), "HU1234567");
        // Without DVCID in the request the bytes are vendor specific.
        let d = parse_element_status(&b, false).unwrap();
        assert!(d.pages[0].elements[0].identifier.is_none());
    }

    /// DVCID requested, no tags: the identifier starts at byte 12; an
    /// identifier length of 0 means none.
    #[test]
    fn dvcid_without_tags_and_empty_identifier() {
        let b = [
            0x01, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x38, // header
            0x04, 0x00, 0x00, 0x18, 0x00, 0x00, 0x00, 0x30, // DT page, 24-byte descriptors
            0x01, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //
            0x01, 0x03, 0x00, 0x08, 0x50, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, // NAA
            0x01, 0x01, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //
            0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ];
        let d = parse_element_status(&b, true).unwrap();
        let e = &d.pages[0].elements;
        let id = e[0].identifier.as_ref().unwrap();
        assert_eq!((id.code_set, id.identifier_type), (1, 3));
        assert_eq!(id.value_string(), "5001020304050607");
        assert!(e[1].identifier.is_none());
        assert!(e[0].primary_tag.is_none());
    }

    /// Import/export flags: ImpExp, ExEnab, InEnab, Access, Full.
    #[test]
    fn import_export_flags() {
        let b = [
            0x03, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x14, //
            0x03, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x0c, //
            0x03, 0x00, 0x3b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ];
        let e = &parse_element_status(&b, false).unwrap().pages[0].elements[0];
        assert_eq!(e.kind, ElementType::ImportExport);
        assert!(e.full && e.import_export && e.access && e.import_enabled && e.export_enabled);
        let b2 = [
            0x03, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x14, //
            0x03, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x0c, //
            0x03, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ];
        let e = &parse_element_status(&b2, false).unwrap().pages[0].elements[0];
        assert!(!e.full && !e.import_export && !e.import_enabled && e.export_enabled);
    }

    /// The transport element has no ACCESS bit; bit 3 is reserved there.
    #[test]
    fn transport_ignores_access_bit() {
        let b = [
            0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x14, //
            0x01, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x0c, //
            0x00, 0x01, 0x0d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ];
        let e = &parse_element_status(&b, false).unwrap().pages[0].elements[0];
        assert!(e.full && e.except && !e.access);
    }

    /// 4-byte descriptors (field note A4): address and flags only.
    #[test]
    fn four_byte_descriptors() {
        let b = [
            0x04, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x14, //
            0x02, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x0c, //
            0x04, 0x00, 0x01, 0x00, 0x04, 0x01, 0x00, 0x00, 0x04, 0x02, 0x09, 0x00,
        ];
        let d = parse_element_status(&b, false).unwrap();
        let e = &d.pages[0].elements;
        assert_eq!(e.len(), 3);
        assert_eq!(
            e.iter().map(|e| (e.address, e.full)).collect::<Vec<_>>(),
            [(0x0400, true), (0x0401, false), (0x0402, true)]
        );
        assert!(e[2].access);
        assert_eq!(e[0].source, None);
    }

    /// Quantum-style longer descriptors: extra vendor bytes after the tag
    /// are skipped by honouring the page's descriptor length.
    #[test]
    fn longer_descriptors_than_expected() {
        let mut b = vec![
            0x04, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x98, // 8 + 2*72 = 152
            0x02, 0x80, 0x00, 0x48, 0x00, 0x00, 0x00, 0x90, // 72-byte descriptors
        ];
        for (addr, label) in [(0x00u8, "QTM001"), (0x01, "QTM002")] {
            b.extend_from_slice(&[
                0x04, addr, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            ]);
            b.extend_from_slice(&tag(label));
            b.extend_from_slice(&[0xee; 24]);
        }
        let d = parse_element_status(&b, false).unwrap();
        let e = &d.pages[0].elements;
        assert_eq!(e.len(), 2);
        assert_eq!(e[1].address, 0x0401);
        assert_eq!(e[1].barcode().as_deref(), Some("QTM002"));
    }

    /// PVolTag set but the descriptor is too short to hold the tag: the tag
    /// is absent rather than read past the descriptor.
    #[test]
    fn tag_flag_with_short_descriptor() {
        let b = [
            0x04, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x14, //
            0x02, 0x80, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x0c, //
            0x04, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ];
        let e = &parse_element_status(&b, false).unwrap().pages[0].elements[0];
        assert!(e.full && e.primary_tag.is_none());
    }

    /// Bytes after the declared report are dropped.
    #[test]
    fn surplus_is_truncated() {
        let mut b = vec![
            0x04, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x14, //
            0x02, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x0c, //
            0x04, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ];
        b.extend_from_slice(&[0x02, 0x00, 0x00, 0x0c, 0xff, 0xff, 0xff, 0xff, 0x99]);
        let d = parse_element_status(&b, false).unwrap();
        assert!(d.complete);
        assert_eq!(d.pages.len(), 1);
        assert_eq!(d.count(), 1);
    }

    /// An adapter that reports residual 0 (field note A8; QEMU's iSCSI
    /// passthrough) hands over the whole allocation: the report is read by
    /// the header's byte count and the zero bytes after it are not
    /// elements, nor a cut or lying report.
    #[test]
    fn whole_allocation_from_an_adapter_without_residual() {
        let mut b = vec![
            0x04, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x20, // 2 elements, 32 bytes
            0x02, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x18, // storage, 12-byte descriptors
            0x04, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, // 0400 full
            0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, // 0401 empty
        ];
        b.resize(0x100, 0);
        assert_eq!(declared_len(&b), Some(40));
        assert_eq!(declared_len(&b[..7]), None);
        let d = parse_element_status(&b, false).unwrap();
        assert!(d.complete);
        assert_eq!(d.report_bytes, 0x20);
        assert_eq!(d.count(), 2);
        let e: Vec<_> = d.elements().map(|e| (e.address, e.full)).collect();
        assert_eq!(e, [(0x400, true), (0x401, false)]);
    }

    /// Data cut inside a descriptor: whole descriptors are kept and the
    /// data is flagged incomplete, so the caller re-requests.
    #[test]
    fn cut_report_keeps_whole_descriptors() {
        let b = [
            0x04, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x2c, // declares 44 bytes
            0x02, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x24, // 3 descriptors
            0x04, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //
            0x04, 0x01, 0x01, 0x00, 0x00, 0x00, // cut here
        ];
        let d = parse_element_status(&b, false).unwrap();
        assert!(!d.complete);
        assert_eq!(d.count(), 1);
        assert_eq!(d.report_bytes, 0x2c);
    }

    /// A page header that claims more than the complete report holds is a
    /// lie, not a transfer cut: clear error.
    #[test]
    fn page_longer_than_complete_report_is_an_error() {
        let b = [
            0x04, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x14, //
            0x02, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x30, // claims 48
            0x04, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ];
        let e = parse_element_status(&b, false).unwrap_err();
        assert!(e.detail.contains("declares 48 bytes"), "{e}");
    }

    #[test]
    fn short_and_invalid_data() {
        assert_eq!(
            parse_element_status(&[0x04, 0x00, 0x00], false).unwrap_err(),
            DecodeError::short(WHAT, 8, 3)
        );
        // unknown element type 7
        let b = [
            0, 0, 0, 1, 0, 0, 0, 20, 7, 0, 0, 12, 0, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert!(parse_element_status(&b, false).is_err());
        // descriptor length 0 with data
        let b = [0, 0, 0, 1, 0, 0, 0, 12, 2, 0, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4];
        assert!(parse_element_status(&b, false).is_err());
        // page bytes not a multiple of the descriptor length
        let b = [
            0, 0, 0, 1, 0, 0, 0, 18, 2, 0, 0, 12, 0, 0, 0, 10, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0,
        ];
        assert!(parse_element_status(&b, false).is_err());
        // partial page header inside a complete report
        let b = [0, 0, 0, 0, 0, 0, 0, 4, 2, 0, 0, 12];
        assert!(parse_element_status(&b, false).is_err());
    }

    /// A header that lies about the element count: descriptors are counted.
    #[test]
    fn element_count_is_counted_not_trusted() {
        let b = [
            0x04, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x00, 0x14, // says 1000 elements
            0x02, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x0c, //
            0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ];
        let d = parse_element_status(&b, false).unwrap();
        assert_eq!(d.elements_available, 1000);
        assert_eq!(d.count(), 1);
        assert!(d.complete);
    }

    /// Empty report (header only, zero bytes).
    #[test]
    fn empty_report() {
        let d = parse_element_status(&[0, 0, 0, 0, 0, 0, 0, 0], false).unwrap();
        assert!(d.complete && d.pages.is_empty());
    }

    /// 1000 slots with tags: 8 + 8 + 1000 * 52 = 52016 bytes.
    #[test]
    fn thousand_slots() {
        let n: usize = 1000;
        let dl = 52usize;
        let page_bytes = n * dl;
        let mut b = vec![0x10, 0x00, 0x03, 0xe8, 0x00];
        b.extend_from_slice(&((page_bytes + 8) as u32).to_be_bytes()[1..]);
        b.extend_from_slice(&[0x02, 0x80, 0x00, 0x34, 0x00]);
        b.extend_from_slice(&(page_bytes as u32).to_be_bytes()[1..]);
        for i in 0..n {
            let a = (0x1000 + i as u16).to_be_bytes();
            let full = u8::from(i % 3 == 0);
            b.extend_from_slice(&[a[0], a[1], full | 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            b.extend_from_slice(&tag(&format!("T{i:05}L8")));
            b.extend_from_slice(&[0, 0, 0, 0]);
        }
        assert_eq!(b.len(), 52016);
        let d = parse_element_status(&b, false).unwrap();
        assert!(d.complete);
        assert_eq!(d.count(), 1000);
        let e: Vec<_> = d.elements().collect();
        assert_eq!(e[999].address, 0x1000 + 999);
        assert!(e[999].full);
        assert_eq!(e[999].barcode().as_deref(), Some("T00999L8"));
        assert!(!e[998].full);
    }

    #[test]
    fn volume_tag_text() {
        let mut t = VolumeTag::new("ABC", 0);
        assert_eq!(t.mtx_text().len(), 32);
        assert_eq!(t.text(), "ABC");
        t.raw[5] = 0;
        assert_eq!(t.mtx_text(), "ABC  ");
        assert!(VolumeTag::new("", 0).is_blank());
    }

    proptest! {
        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..600), dvcid: bool) {
            let _ = parse_element_status(&b, dvcid);
        }

        /// Valid headers with random bodies: never panics either.
        #[test]
        fn never_panics_structured(
            dl in 0u16..200, pv: bool, av: bool, dvcid: bool,
            body in proptest::collection::vec(any::<u8>(), 0..800),
            ty in 0u8..6,
        ) {
            let mut b = vec![0, 0, 0, 1, 0];
            b.extend_from_slice(&((body.len() + 8) as u32).to_be_bytes()[1..]);
            b.extend_from_slice(&[ty, (u8::from(pv) << 7) | (u8::from(av) << 6)]);
            b.extend_from_slice(&dl.to_be_bytes());
            b.push(0);
            b.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
            b.extend_from_slice(&body);
            let _ = parse_element_status(&b, dvcid);
        }
    }
}

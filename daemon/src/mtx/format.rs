//! mtx's output, as pure functions of the data (no I/O).

use reel_changer::{ElementStatus, Inventory};

/// mtx's version string.
pub const VERSION: &str = "1.3.12";

/// mtx 1.3.12's usage text (stderr; exit status 1).
pub const USAGE: &str = "Usage:\n\
\tmtx --version\n\
\tmtx [ -f <loader-dev> ] noattach <more commands>\n\
\tmtx [ -f <loader-dev> ] inquiry | inventory \n\
\tmtx [ -f <loader-dev> ] [altres] [nobarcode] status\n\
\tmtx [ -f <loader-dev> ] [altres] first [<drive#>]\n\
\tmtx [ -f <loader-dev> ] [altres] last [<drive#>]\n\
\tmtx [ -f <loader-dev> ] [altres] previous [<drive#>]\n\
\tmtx [ -f <loader-dev> ] [altres] next [<drive#>]\n\
\tmtx [ -f <loader-dev> ] [altres] [invert] load <storage-element-number> [<drive#>]\n\
\tmtx [ -f <loader-dev> ] [altres] [invert] unload [<storage-element-number>][<drive#>]\n\
\tmtx [ -f <loader-dev> ] [altres] [eepos eepos-number] transfer <storage-element-number> <storage-element-number>\n\
\tmtx [ -f <loader-dev> ] [altres] [eepos eepos-number][invert][invert2] exchange <storage-element-number> <storage-element-number>\n\
\tmtx [ -f <loader-dev> ] [altres] position <storage-element-number>\n\
\tmtx [ -f <loader-dev> ] eject\n";

/// `mtx --version` (stderr, followed by the usage).
pub fn version_text() -> String {
    format!("mtx version {VERSION}\n\n")
}

/// A drive as mtx sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MtxDrive {
    pub address: u16,
    pub full: bool,
    /// For a full drive: the slot index (from 0) mtx believes the
    /// cartridge came from, -1 when unknown. For an empty drive mtx keeps
    /// the raw source address field.
    pub source: i32,
    pub tag: String,
    pub alt_tag: String,
}

/// A storage or import/export slot as mtx sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MtxSlot {
    pub address: u16,
    pub full: bool,
    pub import_export: bool,
    pub tag: String,
    pub alt_tag: String,
}

/// mtx's `ElementStatus_T`: storage slots then import/export slots (mtx
/// numbers both from 1 in that order), drives, the transport address.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MtxStatus {
    pub transport: u16,
    pub drives: Vec<MtxDrive>,
    pub slots: Vec<MtxSlot>,
    pub import_export_count: usize,
}

/// A volume tag as mtx prints it: the raw field up to the first byte
/// outside 32..=127 (padding kept); empty when absent.
fn tag_text(e: &ElementStatus, alternate: bool) -> String {
    let t = if alternate {
        e.alternate_tag.as_ref()
    } else {
        e.primary_tag.as_ref()
    };
    t.map(|t| t.mtx_text()).unwrap_or_default()
}

impl MtxStatus {
    /// Builds mtx's model from an inventory, as mtxl.c's
    /// ReadElementStatus: storage slots reporting ASC/ASCQ 83/02 and drives
    /// reporting 83/04 (not installed) are skipped; a full drive's source is
    /// the slot it names when that slot is empty, else (source unknown,
    /// invalid, or full: mtx ignores SValid) the next empty storage slot in
    /// order, else unknown (-1).
    pub fn from_inventory(inv: &Inventory) -> Result<MtxStatus, String> {
        let mut st = MtxStatus {
            transport: inv.transports.first().map_or(0, |t| t.address),
            ..MtxStatus::default()
        };
        let mut empty_storage = Vec::new();
        for e in inv
            .slots
            .iter()
            .filter(|e| !(e.asc == 0x83 && e.ascq == 0x02))
        {
            if !e.full {
                empty_storage.push(st.slots.len() as i32);
            }
            st.slots.push(MtxSlot {
                address: e.address,
                full: e.full,
                import_export: false,
                tag: tag_text(e, false),
                alt_tag: tag_text(e, true),
            });
        }
        for e in &inv.mail_slots {
            st.slots.push(MtxSlot {
                address: e.address,
                full: e.full,
                import_export: true,
                tag: tag_text(e, false),
                alt_tag: tag_text(e, true),
            });
            st.import_export_count += 1;
        }
        for e in inv
            .drives
            .iter()
            .filter(|e| !(e.asc == 0x83 && e.ascq == 0x04))
        {
            st.drives.push(MtxDrive {
                address: e.address,
                full: e.full,
                // mtx reads the field whether SValid is set or not; reel's
                // parser keeps it only when SValid is set (0 otherwise).
                source: i32::from(e.source.unwrap_or(0)),
                tag: tag_text(e, false),
                alt_tag: tag_text(e, true),
            });
        }
        if st.drives.is_empty() {
            return Err("no Data Transfer Element reported\n".into());
        }
        if st.slots.is_empty() {
            return Err("no Storage Elements reported\n".into());
        }
        // Pass 1: translate the source address into a slot index when that
        // slot is empty.
        for i in 0..st.drives.len() {
            if !st.drives[i].full {
                continue;
            }
            let raw = st.drives[i].source;
            let mut idx = -1;
            for (j, s) in st.slots.iter().enumerate() {
                if i32::from(s.address) == raw && !s.full {
                    idx = j as i32;
                }
            }
            st.drives[i].source = idx;
        }
        // Pass 2: unknown sources get the empty storage slots in order.
        let mut next = empty_storage.into_iter();
        for d in st.drives.iter_mut().filter(|d| d.full && d.source < 0) {
            d.source = next.next().unwrap_or(-1);
        }
        Ok(st)
    }

    /// Storage slots without the import/export slots.
    pub fn storage_count(&self) -> usize {
        self.slots.len() - self.import_export_count
    }
}

/// `mtx status`.
pub fn format_status(device: &str, st: &MtxStatus) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(64 * (st.slots.len() + st.drives.len() + 1));
    let _ = writeln!(
        out,
        "  Storage Changer {device}:{} Drives, {} Slots ( {} Import/Export )",
        st.drives.len(),
        st.slots.len(),
        st.import_export_count
    );
    for (i, d) in st.drives.iter().enumerate() {
        let _ = write!(out, "Data Transfer Element {i}:");
        if d.full {
            if d.source > -1 {
                let _ = write!(out, "Full (Storage Element {} Loaded)", d.source + 1);
            } else {
                out.push_str("Full (Unknown Storage Element Loaded)");
            }
            if !d.tag.is_empty() {
                let _ = write!(out, ":VolumeTag = {}", d.tag);
            }
            if !d.alt_tag.is_empty() {
                let _ = write!(out, ":AlternateVolumeTag = {}", d.alt_tag);
            }
            out.push('\n');
        } else {
            out.push_str("Empty\n");
        }
    }
    for (i, s) in st.slots.iter().enumerate() {
        let _ = write!(
            out,
            "      Storage Element {}{}:{}",
            i + 1,
            if s.import_export {
                " IMPORT/EXPORT"
            } else {
                ""
            },
            if s.full { "Full " } else { "Empty" }
        );
        if !s.tag.is_empty() {
            let _ = write!(out, ":VolumeTag={}", s.tag);
        }
        if !s.alt_tag.is_empty() {
            let _ = write!(out, ":AlternateVolumeTag={}", s.alt_tag);
        }
        out.push('\n');
    }
    out
}

const PERIPHERAL_TYPES: [&str; 17] = [
    "Disk Drive",
    "Tape Drive",
    "Printer",
    "Processor",
    "Write-once",
    "CD-ROM",
    "Scanner",
    "Optical",
    "Medium Changer",
    "Communications",
    "ASC IT8",
    "ASC IT8",
    "RAID Array",
    "Enclosure Services",
    "RBC Simplified Disk",
    "OCR/W",
    "Bridging Expander",
];

/// `mtx inquiry` from the raw standard INQUIRY data (missing bytes read as
/// zeros, as in mtx's zeroed buffer; fields are printed byte for byte).
pub fn format_inquiry(raw: &[u8]) -> String {
    let b = |i: usize| raw.get(i).copied().unwrap_or(0);
    let field = |r: std::ops::Range<usize>| -> String { r.map(|i| char::from(b(i))).collect() };
    let kind = usize::from(b(0) & 0x1f);
    let name = match kind {
        0x1f => "Unknown",
        k => PERIPHERAL_TYPES.get(k).copied().unwrap_or("Reserved"),
    };
    format!(
        "Product Type: {name}\nVendor ID: '{}'\nProduct ID: '{}'\nRevision: '{}'\nAttached Changer API: {}\n",
        field(8..16),
        field(16..32),
        field(32..36),
        if b(6) & 0x08 != 0 { "Yes" } else { "No" }
    )
}

const SENSE_KEYS: [&str; 16] = [
    "No Sense",
    "Recovered Error",
    "Not Ready",
    "Medium Error",
    "Hardware Error",
    "Illegal Request",
    "Unit Attention",
    "Data Protect",
    "Blank Check",
    "0x09",
    "0x0a",
    "Aborted Command",
    "0x0c",
    "Volume Overflow",
    "Miscompare",
    "0x0f",
];

/// mtx's `PrintRequestSense` of fixed-format sense bytes (absent bytes are
/// zeros, as in mtx's cleared buffer). Always prefixed `mtx: `.
pub fn format_request_sense(raw: &[u8]) -> String {
    use std::fmt::Write;
    let b = |i: usize| raw.get(i).copied().unwrap_or(0);
    let yn = |v: bool| if v { "yes" } else { "no" };
    let valid = b(0) & 0x80 != 0;
    let code = b(0) & 0x7f;
    let kind = match code {
        0x70 => "Current",
        0x71 => "Deferred",
        _ => "Unknown?!",
    };
    let (sksv, cd, bpv) = (b(15) & 0x80 != 0, b(15) & 0x40 != 0, b(15) & 0x08 != 0);
    let mut s = String::new();
    let p = "mtx: Request Sense:";
    let _ = writeln!(s, "{p} Long Report=yes");
    let _ = writeln!(s, "{p} Valid Residual={}", yn(valid));
    let _ = writeln!(s, "{p} Error Code={code:x} ({kind})");
    let _ = writeln!(s, "{p} Sense Key={}", SENSE_KEYS[usize::from(b(2) & 0x0f)]);
    let _ = writeln!(s, "{p} FileMark={}", yn(b(2) & 0x80 != 0));
    let _ = writeln!(s, "{p} EOM={}", yn(b(2) & 0x40 != 0));
    let _ = writeln!(s, "{p} ILI={}", yn(b(2) & 0x20 != 0));
    if valid {
        let _ = writeln!(
            s,
            "{p} Residual = {:02X} {:02X} {:02X} {:02X}",
            b(3),
            b(4),
            b(5),
            b(6)
        );
    }
    let _ = writeln!(s, "{p} Additional Sense Code = {:02X}", b(12));
    let _ = writeln!(s, "{p} Additional Sense Qualifier = {:02X}", b(13));
    if sksv {
        let _ = writeln!(s, "{p} Field in Error = {:02X}", b(15) & 0x07);
    }
    let _ = writeln!(s, "{p} BPV={}", yn(bpv));
    let _ = writeln!(s, "{p} Error in CDB={}", yn(cd));
    let _ = writeln!(s, "{p} SKSV={}", yn(sksv));
    if bpv || sksv {
        let _ = writeln!(s, "{p} Field Pointer = {:02X} {:02X}", b(16), b(17));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use reel_changer::{ElementType, VolumeTag};

    fn el(kind: ElementType, address: u16, full: bool, tag: Option<&str>) -> ElementStatus {
        let mut e = ElementStatus::empty(kind, address);
        e.full = full;
        e.primary_tag = tag.map(|t| VolumeTag::new(t, 0));
        e
    }

    fn zero_tag() -> Option<VolumeTag> {
        Some(VolumeTag {
            raw: [0; 32],
            sequence: 0,
        })
    }

    fn small() -> Inventory {
        let mut inv = Inventory::default();
        inv.transports
            .push(el(ElementType::MediumTransport, 1, false, None));
        inv.slots
            .push(el(ElementType::Storage, 0x400, true, Some("A00001L8")));
        inv.slots.push(el(ElementType::Storage, 0x401, false, None));
        let mut unlabelled = el(ElementType::Storage, 0x402, true, None);
        unlabelled.primary_tag = zero_tag();
        inv.slots.push(unlabelled);
        inv.mail_slots
            .push(el(ElementType::ImportExport, 0x300, true, Some("IMP001L8")));
        inv.drives
            .push(el(ElementType::DataTransfer, 0x100, false, None));
        inv
    }

    #[test]
    fn status_lines_are_mtx_exact() {
        let mut inv = small();
        let mut d = el(ElementType::DataTransfer, 0x101, true, Some("A00002L8"));
        d.source = Some(0x401);
        inv.drives.push(d);
        let st = MtxStatus::from_inventory(&inv).unwrap();
        assert_eq!(st.transport, 1);
        let pad = " ".repeat(24);
        assert_eq!(
            format_status("/dev/sg3", &st),
            format!(
                "  Storage Changer /dev/sg3:2 Drives, 4 Slots ( 1 Import/Export )\n\
                 Data Transfer Element 0:Empty\n\
                 Data Transfer Element 1:Full (Storage Element 2 Loaded):VolumeTag = A00002L8{pad}\n      \
                 Storage Element 1:Full :VolumeTag=A00001L8{pad}\n      \
                 Storage Element 2:Empty\n      \
                 Storage Element 3:Full \n      \
                 Storage Element 4 IMPORT/EXPORT:Full :VolumeTag=IMP001L8{pad}\n"
            )
        );
    }

    #[test]
    fn tags_stop_at_the_first_unprintable_byte() {
        let mut inv = small();
        let mut raw = [b' '; 32];
        raw[..4].copy_from_slice(b"AB\x01C");
        inv.slots[0].primary_tag = Some(VolumeTag { raw, sequence: 0 });
        inv.slots[0].alternate_tag = Some(VolumeTag::new("ALT", 0));
        let st = MtxStatus::from_inventory(&inv).unwrap();
        let text = format_status("x", &st);
        let alt = format!("ALT{}", " ".repeat(29));
        assert!(
            text.contains(&format!(
                "Storage Element 1:Full :VolumeTag=AB:AlternateVolumeTag={alt}\n"
            )),
            "{text}"
        );
    }

    #[test]
    fn drive_sources_follow_mtx() {
        // Sources: valid and empty; pointing at a full slot; unknown; and a
        // fourth full drive when no empty storage slot is left.
        let mut inv = Inventory::default();
        for (i, full) in [false, false, true, false].into_iter().enumerate() {
            inv.slots
                .push(el(ElementType::Storage, 0x400 + i as u16, full, None));
        }
        // An empty mail slot is never handed out as a source.
        inv.mail_slots
            .push(el(ElementType::ImportExport, 0x300, false, None));
        let drive = |addr, src: Option<u16>| {
            let mut d = el(ElementType::DataTransfer, addr, true, None);
            d.source = src;
            d
        };
        inv.drives.push(drive(0x100, Some(0x401)));
        inv.drives.push(drive(0x101, Some(0x402)));
        inv.drives.push(drive(0x102, None));
        inv.drives.push(drive(0x103, Some(0x9999)));
        let st = MtxStatus::from_inventory(&inv).unwrap();
        let sources: Vec<i32> = st.drives.iter().map(|d| d.source).collect();
        // Drive 0 keeps slot 2; drive 1 (full source) gets slot 1, the first
        // empty slot; drive 2 (no source) slot 2 again (mtx does not skip
        // slots claimed in pass 1); drive 3 the last empty slot, 4.
        assert_eq!(sources, vec![1, 0, 1, 3]);
        inv.drives.push(drive(0x104, None));
        let st = MtxStatus::from_inventory(&inv).unwrap();
        assert_eq!(st.drives[4].source, -1);
        assert!(
            format_status("d", &st)
                .contains("Data Transfer Element 4:Full (Unknown Storage Element Loaded)\n")
        );
    }

    #[test]
    fn skipped_elements_and_empty_libraries() {
        let mut inv = small();
        inv.slots[1].asc = 0x83;
        inv.slots[1].ascq = 0x02;
        inv.drives
            .push(el(ElementType::DataTransfer, 0x101, false, None));
        inv.drives[1].asc = 0x83;
        inv.drives[1].ascq = 0x04;
        let st = MtxStatus::from_inventory(&inv).unwrap();
        assert_eq!(st.slots.len(), 3);
        assert_eq!(st.drives.len(), 1);
        assert_eq!(st.storage_count(), 2);
        let mut no_drives = small();
        no_drives.drives.clear();
        assert_eq!(
            MtxStatus::from_inventory(&no_drives).unwrap_err(),
            "no Data Transfer Element reported\n"
        );
        let mut no_slots = small();
        no_slots.slots.clear();
        no_slots.mail_slots.clear();
        assert_eq!(
            MtxStatus::from_inventory(&no_slots).unwrap_err(),
            "no Storage Elements reported\n"
        );
    }

    #[test]
    fn inquiry_prints_raw_fields() {
        let mut raw = vec![0x08, 0x80, 0x05, 0x02, 0x1f, 0, 0x08, 0];
        raw.extend_from_slice(b"IBM     3573-TL         R001");
        assert_eq!(
            format_inquiry(&raw),
            "Product Type: Medium Changer\nVendor ID: 'IBM     '\n\
             Product ID: '3573-TL         '\nRevision: 'R001'\nAttached Changer API: Yes\n"
        );
        // Truncated data: zeros, printed as NUL bytes like mtx's buffer.
        let t = format_inquiry(&[0x01]);
        assert!(t.starts_with("Product Type: Tape Drive\nVendor ID: '\0\0\0\0\0\0\0\0'\n"));
        assert!(t.ends_with("Attached Changer API: No\n"));
        assert!(format_inquiry(&[0x1f]).starts_with("Product Type: Unknown\n"));
        assert!(format_inquiry(&[0x12]).starts_with("Product Type: Reserved\n"));
    }

    #[test]
    fn request_sense_dump() {
        // ILLEGAL REQUEST 3B/0D, SKSV with C/D, field pointer 0x0006.
        let raw = [
            0x70, 0, 0x05, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x3b, 0x0d, 0, 0xc0, 0x00, 0x06,
        ];
        assert_eq!(
            format_request_sense(&raw),
            "mtx: Request Sense: Long Report=yes\n\
             mtx: Request Sense: Valid Residual=no\n\
             mtx: Request Sense: Error Code=70 (Current)\n\
             mtx: Request Sense: Sense Key=Illegal Request\n\
             mtx: Request Sense: FileMark=no\n\
             mtx: Request Sense: EOM=no\n\
             mtx: Request Sense: ILI=no\n\
             mtx: Request Sense: Additional Sense Code = 3B\n\
             mtx: Request Sense: Additional Sense Qualifier = 0D\n\
             mtx: Request Sense: Field in Error = 00\n\
             mtx: Request Sense: BPV=no\n\
             mtx: Request Sense: Error in CDB=yes\n\
             mtx: Request Sense: SKSV=yes\n\
             mtx: Request Sense: Field Pointer = 00 06\n"
        );
        // Valid information, deferred, bit pointer; and no data at all.
        let raw = [
            0xf1, 0, 0xe2, 1, 2, 3, 4, 0x0a, 0, 0, 0, 0, 0x04, 0x01, 0, 0x8d, 0x12, 0x34,
        ];
        let t = format_request_sense(&raw);
        assert!(t.contains("Valid Residual=yes\n"));
        assert!(t.contains("Error Code=71 (Deferred)\n"));
        assert!(t.contains("Sense Key=Not Ready\n"));
        assert!(
            t.contains("FileMark=yes\nmtx: Request Sense: EOM=yes\nmtx: Request Sense: ILI=yes\n")
        );
        assert!(t.contains("Residual = 01 02 03 04\n"));
        assert!(t.contains("Field in Error = 05\n"));
        assert!(t.contains("BPV=yes\n"));
        assert!(t.contains("Error in CDB=no\n"));
        let z = format_request_sense(&[]);
        assert!(z.contains("Error Code=0 (Unknown?!)\n"));
        assert!(z.contains("Sense Key=No Sense\n"));
        assert!(!z.contains("Field Pointer"));
    }
}

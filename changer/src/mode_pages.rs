//! SMC mode pages (SMC-3 7.3): element address assignment (1Dh), transport
//! geometry parameters (1Eh) and device capabilities (1Fh). Pure decoders of
//! the page data (the bytes after the 2-byte page header, as
//! [`reel_drivers::scsi::mode::ModePage::data`] holds them).

use reel_drivers::scsi::error::DecodeError;

use crate::element_status::ElementType;

pub const PAGE_ELEMENT_ADDRESS_ASSIGNMENT: u8 = 0x1d;
pub const PAGE_TRANSPORT_GEOMETRY: u8 = 0x1e;
pub const PAGE_DEVICE_CAPABILITIES: u8 = 0x1f;

/// Mode page 1Dh: the first address and the number of elements of each
/// type, as `(first, count)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ElementAssignment {
    pub transport: (u16, u16),
    pub storage: (u16, u16),
    pub import_export: (u16, u16),
    pub data_transfer: (u16, u16),
}

fn be16(b: &[u8], i: usize) -> u16 {
    u16::from_be_bytes([b[i], b[i + 1]])
}

impl ElementAssignment {
    /// Decodes the 18 bytes of page data (page length 12h).
    pub fn parse(data: &[u8]) -> Result<ElementAssignment, DecodeError> {
        const W: &str = "element address assignment page (1Dh)";
        if data.len() < 16 {
            return Err(DecodeError::short(W, 16, data.len()));
        }
        Ok(ElementAssignment {
            transport: (be16(data, 0), be16(data, 2)),
            storage: (be16(data, 4), be16(data, 6)),
            import_export: (be16(data, 8), be16(data, 10)),
            data_transfer: (be16(data, 12), be16(data, 14)),
        })
    }

    /// The 18 bytes of page data (for device models and MODE SELECT).
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(18);
        for (first, count) in [
            self.transport,
            self.storage,
            self.import_export,
            self.data_transfer,
        ] {
            v.extend_from_slice(&first.to_be_bytes());
            v.extend_from_slice(&count.to_be_bytes());
        }
        v.extend_from_slice(&[0, 0]);
        v
    }

    pub fn range(&self, kind: ElementType) -> (u16, u16) {
        match kind {
            ElementType::MediumTransport => self.transport,
            ElementType::Storage => self.storage,
            ElementType::ImportExport => self.import_export,
            ElementType::DataTransfer => self.data_transfer,
        }
    }

    /// The type whose address range holds `address`.
    pub fn kind_of(&self, address: u16) -> Option<ElementType> {
        ElementType::ALL.into_iter().find(|&k| {
            let (first, count) = self.range(k);
            address >= first && u32::from(address) < u32::from(first) + u32::from(count)
        })
    }
}

/// One transport geometry descriptor of page 1Eh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransportGeometry {
    /// The transport can rotate media (handle two-sided media).
    pub rotate: bool,
    pub member: u8,
}

/// Decodes page 1Eh: one 2-byte descriptor per transport element.
pub fn parse_transport_geometry(data: &[u8]) -> Result<Vec<TransportGeometry>, DecodeError> {
    const W: &str = "transport geometry page (1Eh)";
    if !data.len().is_multiple_of(2) {
        return Err(DecodeError::new(
            W,
            format!(
                "{} bytes is not a whole number of 2-byte descriptors",
                data.len()
            ),
        ));
    }
    Ok(data
        .chunks_exact(2)
        .map(|c| TransportGeometry {
            rotate: c[0] & 0x01 != 0,
            member: c[1],
        })
        .collect())
}

/// Page 1Fh: which element types can store media, and which moves and
/// exchanges the library performs. Bits are indexed by element type:
/// bit 0 transport, 1 storage, 2 import/export, 3 data transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeviceCapabilities {
    pub store: u8,
    /// `moves[from - 1]`: bit set for each destination type.
    pub moves: [u8; 4],
    /// `exchanges[from - 1]`: bit set for each destination type.
    pub exchanges: [u8; 4],
}

fn bit(kind: ElementType) -> u8 {
    1 << (kind.code() - 1)
}

impl DeviceCapabilities {
    /// Decodes the 18 bytes of page data (page length 12h); a 2-byte
    /// shorter SMC-1 page without the exchange bytes is accepted (no
    /// exchanges).
    pub fn parse(data: &[u8]) -> Result<DeviceCapabilities, DecodeError> {
        const W: &str = "device capabilities page (1Fh)";
        if data.len() < 6 {
            return Err(DecodeError::short(W, 6, data.len()));
        }
        let mut c = DeviceCapabilities {
            store: data[0] & 0x0f,
            ..Default::default()
        };
        for i in 0..4 {
            c.moves[i] = data[2 + i] & 0x0f;
            c.exchanges[i] = data.get(10 + i).map_or(0, |b| b & 0x0f);
        }
        Ok(c)
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut v = vec![self.store & 0x0f, 0];
        v.extend(self.moves.iter().map(|b| b & 0x0f));
        v.extend_from_slice(&[0, 0, 0, 0]);
        v.extend(self.exchanges.iter().map(|b| b & 0x0f));
        v.extend_from_slice(&[0, 0, 0, 0]);
        v
    }

    pub fn can_store(&self, kind: ElementType) -> bool {
        self.store & bit(kind) != 0
    }

    pub fn can_move(&self, from: ElementType, to: ElementType) -> bool {
        self.moves[usize::from(from.code() - 1)] & bit(to) != 0
    }

    pub fn can_exchange(&self, from: ElementType, to: ElementType) -> bool {
        self.exchanges[usize::from(from.code() - 1)] & bit(to) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use reel_drivers::scsi::mode::ModeData;

    /// MODE SENSE(6) data: 4-byte header, no block descriptors, page 1Dh.
    #[test]
    fn element_assignment_from_mode_sense6() {
        let b = [
            0x17, 0x00, 0x00, 0x00, // header: 23 + 1 bytes
            0x9d, 0x12, // page 1Dh, PS, length 18
            0x00, 0x01, 0x00, 0x01, // transport 1, one
            0x04, 0x00, 0x00, 0x32, // storage 0x400, 50
            0x03, 0x00, 0x00, 0x04, // import/export 0x300, 4
            0x01, 0x00, 0x00, 0x04, // drives 0x100, 4
            0x00, 0x00,
        ];
        let m = ModeData::parse6(&b).unwrap();
        let p = m.page(PAGE_ELEMENT_ADDRESS_ASSIGNMENT, 0).unwrap();
        let a = ElementAssignment::parse(&p.data).unwrap();
        assert_eq!(
            a,
            ElementAssignment {
                transport: (1, 1),
                storage: (0x400, 50),
                import_export: (0x300, 4),
                data_transfer: (0x100, 4),
            }
        );
        assert_eq!(a.encode(), b[6..].to_vec());
        assert_eq!(a.kind_of(0x0431), Some(ElementType::Storage));
        assert_eq!(a.kind_of(0x0432), None);
        assert_eq!(a.kind_of(0x0103), Some(ElementType::DataTransfer));
        assert_eq!(a.kind_of(0x0001), Some(ElementType::MediumTransport));
        assert!(ElementAssignment::parse(&b[6..20]).is_err());
    }

    #[test]
    fn transport_geometry() {
        let g = parse_transport_geometry(&[0x01, 0x00, 0x00, 0x01]).unwrap();
        assert_eq!(
            g,
            [
                TransportGeometry {
                    rotate: true,
                    member: 0
                },
                TransportGeometry {
                    rotate: false,
                    member: 1
                }
            ]
        );
        assert!(parse_transport_geometry(&[0x01]).is_err());
    }

    #[test]
    fn device_capabilities() {
        let data = [
            0x0e, 0x00, // StorDT, StorI/E, StorST (not MT)
            0x0e, // MT -> DT, I/E, ST
            0x0e, // ST -> DT, I/E, ST
            0x0e, // I/E -> DT, I/E, ST
            0x06, // DT -> I/E, ST
            0x00, 0x00, 0x00, 0x00, //
            0x00, // MT <> nothing
            0x0a, // ST <> DT, ST
            0x00, // I/E <> nothing
            0x02, // DT <> ST
            0x00, 0x00, 0x00, 0x00,
        ];
        let c = DeviceCapabilities::parse(&data).unwrap();
        use ElementType::*;
        assert!(c.can_store(DataTransfer) && c.can_store(Storage) && !c.can_store(MediumTransport));
        assert!(c.can_move(Storage, DataTransfer));
        assert!(!c.can_move(DataTransfer, DataTransfer));
        assert!(c.can_move(DataTransfer, ImportExport));
        assert!(c.can_exchange(Storage, DataTransfer));
        assert!(c.can_exchange(Storage, Storage));
        assert!(!c.can_exchange(ImportExport, Storage));
        assert!(c.can_exchange(DataTransfer, Storage));
        assert_eq!(c.encode(), data.to_vec());
        assert!(DeviceCapabilities::parse(&data[..5]).is_err());
        // SMC-1 short page: moves only.
        let short = DeviceCapabilities::parse(&data[..8]).unwrap();
        assert_eq!(short.exchanges, [0; 4]);
        assert!(short.can_move(Storage, DataTransfer));
    }

    proptest! {
        #[test]
        fn never_panic(b in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = ElementAssignment::parse(&b);
            let _ = parse_transport_geometry(&b);
            let _ = DeviceCapabilities::parse(&b);
        }
    }
}

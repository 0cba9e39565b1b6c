//! MODE SENSE / MODE SELECT (SPC-5 6.13-6.16, 7.5): CDB builders and the
//! mode parameter list (header, block descriptors, pages) in both the 6- and
//! 10-byte forms.
//!
//! Decoding honours the lengths the device declares: surplus bytes after the
//! declared mode data length are ignored, and data shorter than declared is
//! an error (the caller's allocation length was too small; retry larger)
//! rather than a silently truncated page.

use super::error::DecodeError;
use super::opcodes;

/// PC field of MODE SENSE: which values the device reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum PageControl {
    Current = 0,
    Changeable = 1,
    Default = 2,
    Saved = 3,
}

/// Page code that asks for every page (with subpage 0 or FFh).
pub const ALL_PAGES: u8 = 0x3f;
/// Subpage code that asks for every subpage.
pub const ALL_SUBPAGES: u8 = 0xff;

/// MODE SENSE(6). `page` is masked to its 6 bits.
pub fn mode_sense6_cdb(page: u8, subpage: u8, pc: PageControl, dbd: bool, alloc: u8) -> [u8; 6] {
    [
        opcodes::MODE_SENSE_6,
        u8::from(dbd) << 3,
        ((pc as u8) << 6) | (page & 0x3f),
        subpage,
        alloc,
        0,
    ]
}

/// MODE SENSE(10). `llbaa` allows 16-byte (LONGLBA) block descriptors.
pub fn mode_sense10_cdb(
    page: u8,
    subpage: u8,
    pc: PageControl,
    dbd: bool,
    llbaa: bool,
    alloc: u16,
) -> [u8; 10] {
    let a = alloc.to_be_bytes();
    [
        opcodes::MODE_SENSE_10,
        (u8::from(llbaa) << 4) | (u8::from(dbd) << 3),
        ((pc as u8) << 6) | (page & 0x3f),
        subpage,
        0,
        0,
        0,
        a[0],
        a[1],
        0,
    ]
}

/// MODE SELECT(6). `pf`: pages follow the SPC page format; `sp`: save pages.
pub fn mode_select6_cdb(pf: bool, sp: bool, param_len: u8) -> [u8; 6] {
    [
        opcodes::MODE_SELECT_6,
        select_flags(pf, sp),
        0,
        0,
        param_len,
        0,
    ]
}

/// MODE SELECT(10).
pub fn mode_select10_cdb(pf: bool, sp: bool, param_len: u16) -> [u8; 10] {
    let l = param_len.to_be_bytes();
    [
        opcodes::MODE_SELECT_10,
        select_flags(pf, sp),
        0,
        0,
        0,
        0,
        0,
        l[0],
        l[1],
        0,
    ]
}

fn select_flags(pf: bool, sp: bool) -> u8 {
    (u8::from(pf) << 4) | u8::from(sp)
}

/// One block descriptor. In the 8-byte general format `blocks` has 24 bits;
/// in the 16-byte LONGLBA format 64 bits (and the block length 32 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct BlockDescriptor {
    pub density: u8,
    pub blocks: u64,
    /// 0 on a tape drive means variable-length blocks.
    pub block_length: u32,
}

impl BlockDescriptor {
    fn fits_short(&self) -> bool {
        self.blocks <= 0xff_ffff && self.block_length <= 0xff_ffff
    }

    /// General (8-byte) format: density, blocks (24 bits), reserved,
    /// block length (24 bits). Values that do not fit saturate.
    fn encode_short(&self, out: &mut Vec<u8>) {
        let blocks = self.blocks.min(0xff_ffff) as u32;
        let len = self.block_length.min(0xff_ffff);
        out.push(self.density);
        out.extend_from_slice(&blocks.to_be_bytes()[1..]);
        out.push(0);
        out.extend_from_slice(&len.to_be_bytes()[1..]);
    }

    /// LONGLBA (16-byte) format: blocks (64 bits), density, 3 reserved,
    /// block length (32 bits).
    fn encode_long(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.blocks.to_be_bytes());
        out.extend_from_slice(&[self.density, 0, 0, 0]);
        out.extend_from_slice(&self.block_length.to_be_bytes());
    }

    fn parse_short(b: &[u8; 8]) -> BlockDescriptor {
        BlockDescriptor {
            density: b[0],
            blocks: u64::from(u32::from_be_bytes([0, b[1], b[2], b[3]])),
            block_length: u32::from_be_bytes([0, b[5], b[6], b[7]]),
        }
    }

    fn parse_long(b: &[u8; 16]) -> BlockDescriptor {
        let mut blocks = [0u8; 8];
        blocks.copy_from_slice(&b[..8]);
        BlockDescriptor {
            density: b[8],
            blocks: u64::from_be_bytes(blocks),
            block_length: u32::from_be_bytes([b[12], b[13], b[14], b[15]]),
        }
    }
}

/// One mode page. `data` holds the bytes after the page header (2 bytes in
/// the page_0 format, 4 in the sub_page format).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ModePage {
    pub page: u8,
    pub subpage: u8,
    /// Parameters savable (PS bit); reported by MODE SENSE only.
    pub ps: bool,
    pub data: Vec<u8>,
}

impl ModePage {
    /// A page for MODE SELECT (PS clear).
    pub fn new(page: u8, subpage: u8, data: Vec<u8>) -> ModePage {
        ModePage {
            page,
            subpage,
            ps: false,
            data,
        }
    }

    /// The sub_page format is used exactly when the subpage is non-zero.
    /// A page_0 page carries at most 255 data bytes and a sub_page page at
    /// most 65535; longer data is cut (no standard page is that long).
    fn encode(&self, out: &mut Vec<u8>, keep_ps: bool) {
        let ps = if keep_ps && self.ps { 0x80 } else { 0 };
        if self.subpage == 0 {
            let n = self.data.len().min(0xff);
            out.push(ps | (self.page & 0x3f));
            out.push(n as u8);
            out.extend_from_slice(&self.data[..n]);
        } else {
            let n = self.data.len().min(0xffff);
            out.push(ps | 0x40 | (self.page & 0x3f));
            out.push(self.subpage);
            out.extend_from_slice(&(n as u16).to_be_bytes());
            out.extend_from_slice(&self.data[..n]);
        }
    }
}

/// A decoded mode parameter list.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct ModeData {
    pub medium_type: u8,
    /// Device-specific parameter; for tape: WP (bit 7), BUFFERED MODE
    /// (bits 6..4), SPEED (bits 3..0).
    pub device_specific: u8,
    pub block_descriptors: Vec<BlockDescriptor>,
    pub pages: Vec<ModePage>,
}

const WHAT6: &str = "mode parameter list (6)";
const WHAT10: &str = "mode parameter list (10)";

impl ModeData {
    /// Decodes the data of MODE SENSE(6).
    pub fn parse6(b: &[u8]) -> Result<ModeData, DecodeError> {
        if b.len() < 4 {
            return Err(DecodeError::short(WHAT6, 4, b.len()));
        }
        // MODE DATA LENGTH excludes itself.
        let total = usize::from(b[0]) + 1;
        let b = declared(WHAT6, b, total, 4)?;
        let bd_len = usize::from(b[3]);
        Self::parse_body(WHAT6, b[1], b[2], false, bd_len, &b[4..])
    }

    /// Decodes the data of MODE SENSE(10), with 8- or 16-byte (LONGLBA)
    /// block descriptors.
    pub fn parse10(b: &[u8]) -> Result<ModeData, DecodeError> {
        if b.len() < 8 {
            return Err(DecodeError::short(WHAT10, 8, b.len()));
        }
        let total = usize::from(u16::from_be_bytes([b[0], b[1]])) + 2;
        let b = declared(WHAT10, b, total, 8)?;
        let long = b[4] & 0x01 != 0;
        let bd_len = usize::from(u16::from_be_bytes([b[6], b[7]]));
        Self::parse_body(WHAT10, b[2], b[3], long, bd_len, &b[8..])
    }

    fn parse_body(
        what: &'static str,
        medium_type: u8,
        device_specific: u8,
        long: bool,
        bd_len: usize,
        rest: &[u8],
    ) -> Result<ModeData, DecodeError> {
        let Some(bd) = rest.get(..bd_len) else {
            return Err(DecodeError::new(
                what,
                format!(
                    "block descriptor length {bd_len} exceeds the {} bytes after the header",
                    rest.len()
                ),
            ));
        };
        let size = if long { 16 } else { 8 };
        if !bd.chunks_exact(size).remainder().is_empty() {
            return Err(DecodeError::new(
                what,
                format!("block descriptor length {bd_len} is not a multiple of {size}"),
            ));
        }
        let block_descriptors = if long {
            bd.chunks_exact(16)
                .filter_map(|c| c.try_into().ok())
                .map(BlockDescriptor::parse_long)
                .collect()
        } else {
            bd.chunks_exact(8)
                .filter_map(|c| c.try_into().ok())
                .map(BlockDescriptor::parse_short)
                .collect()
        };
        let pages = parse_pages(what, &rest[bd_len..])?;
        Ok(ModeData {
            medium_type,
            device_specific,
            block_descriptors,
            pages,
        })
    }

    /// Parameter list for MODE SELECT(6): MODE DATA LENGTH is reserved (0)
    /// and PS bits are cleared. Only 8-byte descriptors exist in this form.
    pub fn encode6(&self) -> Vec<u8> {
        let mut out = vec![0, self.medium_type, self.device_specific, 0];
        for d in &self.block_descriptors {
            d.encode_short(&mut out);
        }
        out[3] = u8::try_from(out.len() - 4).unwrap_or(u8::MAX);
        for p in &self.pages {
            p.encode(&mut out, false);
        }
        out
    }

    /// Parameter list for MODE SELECT(10). LONGLBA descriptors are used
    /// when a descriptor does not fit the 8-byte format.
    pub fn encode10(&self) -> Vec<u8> {
        let long = self.block_descriptors.iter().any(|d| !d.fits_short());
        let mut out = vec![
            0,
            0,
            self.medium_type,
            self.device_specific,
            u8::from(long),
            0,
            0,
            0,
        ];
        for d in &self.block_descriptors {
            if long {
                d.encode_long(&mut out);
            } else {
                d.encode_short(&mut out);
            }
        }
        let bd_len = u16::try_from(out.len() - 8).unwrap_or(u16::MAX);
        out[6..8].copy_from_slice(&bd_len.to_be_bytes());
        for p in &self.pages {
            p.encode(&mut out, false);
        }
        out
    }

    pub fn page(&self, page: u8, subpage: u8) -> Option<&ModePage> {
        self.pages
            .iter()
            .find(|p| p.page == page && p.subpage == subpage)
    }

    pub fn page_mut(&mut self, page: u8, subpage: u8) -> Option<&mut ModePage> {
        self.pages
            .iter_mut()
            .find(|p| p.page == page && p.subpage == subpage)
    }

    /// Tape: the medium is write protected (WP, device-specific bit 7).
    pub fn write_protected(&self) -> bool {
        self.device_specific & 0x80 != 0
    }

    /// Tape: BUFFERED MODE (device-specific bits 6..4); 0 = unbuffered,
    /// 1 = buffered.
    pub fn buffered_mode(&self) -> u8 {
        (self.device_specific >> 4) & 0x07
    }

    /// Tape: SPEED (device-specific bits 3..0).
    pub fn speed(&self) -> u8 {
        self.device_specific & 0x0f
    }
}

/// `b` cut to the declared total length; shorter than declared is an error.
fn declared<'a>(
    what: &'static str,
    b: &'a [u8],
    total: usize,
    header: usize,
) -> Result<&'a [u8], DecodeError> {
    if total < header {
        return Err(DecodeError::new(
            what,
            format!("mode data length {total} is shorter than the {header}-byte header"),
        ));
    }
    b.get(..total).ok_or_else(|| {
        DecodeError::new(
            what,
            format!(
                "truncated: device declares {total} bytes, got {} (allocation length too small?)",
                b.len()
            ),
        )
    })
}

/// Decodes the mode pages that follow the block descriptors.
fn parse_pages(what: &'static str, mut b: &[u8]) -> Result<Vec<ModePage>, DecodeError> {
    let mut pages = Vec::new();
    while !b.is_empty() {
        let ps = b[0] & 0x80 != 0;
        let spf = b[0] & 0x40 != 0;
        let page = b[0] & 0x3f;
        let (subpage, hdr, len) = if spf {
            let Some(h) = b.get(..4) else {
                return Err(DecodeError::new(
                    what,
                    format!(
                        "page {page:02X}h: sub_page header cut after {} bytes",
                        b.len()
                    ),
                ));
            };
            (h[1], 4, usize::from(u16::from_be_bytes([h[2], h[3]])))
        } else {
            let Some(&n) = b.get(1) else {
                return Err(DecodeError::new(
                    what,
                    format!("page {page:02X}h: page header cut after 1 byte"),
                ));
            };
            (0, 2, usize::from(n))
        };
        let Some(data) = b.get(hdr..hdr + len) else {
            return Err(DecodeError::new(
                what,
                format!(
                    "page {page:02X}h/{subpage:02X}h declares {len} bytes, only {} present",
                    b.len() - hdr
                ),
            ));
        };
        pages.push(ModePage {
            page,
            subpage,
            ps,
            data: data.to_vec(),
        });
        b = &b[hdr + len..];
    }
    Ok(pages)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sense6_cdb_bytes() {
        assert_eq!(
            mode_sense6_cdb(0x0f, 0, PageControl::Current, false, 0xff),
            [0x1a, 0x00, 0x0f, 0x00, 0xff, 0x00]
        );
        assert_eq!(
            mode_sense6_cdb(0x3f, 0xff, PageControl::Saved, true, 0x20),
            [0x1a, 0x08, 0xff, 0xff, 0x20, 0x00]
        );
        assert_eq!(
            mode_sense6_cdb(0x10, 0, PageControl::Changeable, false, 12),
            [0x1a, 0x00, 0x50, 0x00, 0x0c, 0x00]
        );
    }

    #[test]
    fn sense10_cdb_bytes() {
        assert_eq!(
            mode_sense10_cdb(0x0f, 0x01, PageControl::Default, true, true, 0x1234),
            [0x5a, 0x18, 0x8f, 0x01, 0, 0, 0, 0x12, 0x34, 0]
        );
        assert_eq!(
            mode_sense10_cdb(0x11, 0, PageControl::Current, false, false, 0xffff),
            [0x5a, 0x00, 0x11, 0x00, 0, 0, 0, 0xff, 0xff, 0]
        );
    }

    #[test]
    fn select_cdb_bytes() {
        assert_eq!(
            mode_select6_cdb(true, false, 12),
            [0x15, 0x10, 0, 0, 0x0c, 0]
        );
        assert_eq!(mode_select6_cdb(false, true, 4), [0x15, 0x01, 0, 0, 4, 0]);
        assert_eq!(
            mode_select10_cdb(true, true, 0x0102),
            [0x55, 0x11, 0, 0, 0, 0, 0, 0x01, 0x02, 0]
        );
    }

    /// MODE SENSE(6) of an LTO drive: header, one block descriptor
    /// (density 5Ah, variable blocks), data compression page 0Fh.
    const SENSE6: [u8; 28] = [
        0x1b, 0x00, 0x90, 0x08, // len 27, medium 0, WP + buffered 1, bd len 8
        0x5a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // density 5Ah, 0 blocks, len 0
        0x8f, 0x0e, 0xc0, 0x80, 0x00, 0x00, 0x00, 0x01, // page 0Fh PS, DCE DCC, DDE
        0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    ];

    #[test]
    fn parse6_tape() {
        let m = ModeData::parse6(&SENSE6).unwrap();
        assert_eq!(m.medium_type, 0);
        assert!(m.write_protected());
        assert_eq!(m.buffered_mode(), 1);
        assert_eq!(
            m.block_descriptors,
            vec![BlockDescriptor {
                density: 0x5a,
                blocks: 0,
                block_length: 0
            }]
        );
        assert_eq!(m.pages.len(), 1);
        let p = m.page(0x0f, 0).unwrap();
        assert!(p.ps);
        assert_eq!(p.data.len(), 14);
        assert_eq!(p.data[0], 0xc0);
        assert!(m.page(0x10, 0).is_none());
    }

    #[test]
    fn parse6_honours_declared_length_and_ignores_surplus() {
        let mut b = SENSE6.to_vec();
        b.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(
            ModeData::parse6(&b).unwrap(),
            ModeData::parse6(&SENSE6).unwrap()
        );
    }

    #[test]
    fn parse6_short_data_fails() {
        let e = ModeData::parse6(&SENSE6[..20]).unwrap_err();
        assert!(e.detail.contains("truncated"), "{e}");
        assert!(ModeData::parse6(&[0x03, 0, 0]).is_err());
        assert!(ModeData::parse6(&[]).is_err());
    }

    #[test]
    fn parse6_lying_lengths() {
        // Block descriptor length beyond the data.
        assert!(ModeData::parse6(&[0x03, 0, 0, 0x08]).is_err());
        // Block descriptor length not a multiple of 8.
        let e = ModeData::parse6(&[0x07, 0, 0, 0x04, 1, 2, 3, 4]).unwrap_err();
        assert!(e.detail.contains("multiple"), "{e}");
        // Page claims more bytes than the mode data holds.
        let e = ModeData::parse6(&[0x05, 0, 0, 0, 0x10, 0x0a]).unwrap_err();
        assert!(e.detail.contains("page 10h"), "{e}");
        // Page header cut in half.
        assert!(ModeData::parse6(&[0x04, 0, 0, 0, 0x10]).is_err());
        // Mode data length 0 cannot even hold the header.
        assert!(ModeData::parse6(&[0x00, 0, 0, 0]).is_err());
    }

    #[test]
    fn parse6_header_only() {
        let m = ModeData::parse6(&[0x03, 0x00, 0x10, 0x00]).unwrap();
        assert!(!m.write_protected());
        assert_eq!(m.buffered_mode(), 1);
        assert!(m.block_descriptors.is_empty() && m.pages.is_empty());
    }

    #[test]
    fn encode6_bytes() {
        let mut m = ModeData::parse6(&SENSE6).unwrap();
        m.block_descriptors[0].block_length = 0x040000;
        let e = m.encode6();
        let mut want = SENSE6.to_vec();
        want[0] = 0; // reserved in MODE SELECT
        want[11] = 0x00;
        want[9] = 0x04; // block length 040000h at bytes 5..8 of the descriptor
        want[12] = 0x0f; // PS cleared
        assert_eq!(e, want);
    }

    /// MODE SENSE(10) with a LONGLBA descriptor and a sub_page format page.
    const SENSE10_LONG: [u8; 35] = [
        0x00, 0x21, 0x00, 0x10, 0x01, 0x00, 0x00, 0x10, // len 33, LONGLBA, bd len 16
        0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, // blocks 1_0000_0000h
        0x60, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, // density 60h, len 100000h
        0xd1, 0x01, 0x00, 0x04, 0xaa, 0xbb, 0xcc, 0xdd, // page 11h/01h PS+SPF, 4 bytes
        0x02, 0x01, 0x7f, // page 02h, 1 byte
    ];

    #[test]
    fn parse10_longlba_and_subpage() {
        let m = ModeData::parse10(&SENSE10_LONG).unwrap();
        assert_eq!(m.device_specific, 0x10);
        assert_eq!(
            m.block_descriptors,
            vec![BlockDescriptor {
                density: 0x60,
                blocks: 0x1_0000_0000,
                block_length: 0x10_0000
            }]
        );
        assert_eq!(m.pages.len(), 2);
        assert_eq!(
            m.pages[0],
            ModePage {
                page: 0x11,
                subpage: 0x01,
                ps: true,
                data: vec![0xaa, 0xbb, 0xcc, 0xdd]
            }
        );
        assert_eq!(m.page(0x02, 0).unwrap().data, vec![0x7f]);
    }

    #[test]
    fn parse10_short_descriptors() {
        let b = [
            0x00, 0x0e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, //
            0x58, 0x01, 0x02, 0x03, 0x00, 0x00, 0x80, 0x00,
        ];
        let m = ModeData::parse10(&b).unwrap();
        assert_eq!(
            m.block_descriptors,
            vec![BlockDescriptor {
                density: 0x58,
                blocks: 0x010203,
                block_length: 0x8000
            }]
        );
        assert!(ModeData::parse10(&b[..15]).is_err());
        // LONGLBA set, 8 bytes of descriptors: not a multiple of 16.
        let mut bad = b;
        bad[4] = 1;
        assert!(ModeData::parse10(&bad).is_err());
        // Length smaller than the header.
        assert!(ModeData::parse10(&[0, 5, 0, 0, 0, 0, 0, 0]).is_err());
        assert!(ModeData::parse10(&[0, 6, 0, 0, 0, 0, 0]).is_err());
    }

    #[test]
    fn encode10_picks_longlba_only_when_needed() {
        let short = ModeData {
            medium_type: 0,
            device_specific: 0x10,
            block_descriptors: vec![BlockDescriptor {
                density: 0x5a,
                blocks: 0,
                block_length: 0x40000,
            }],
            pages: vec![ModePage::new(0x10, 0, vec![1, 2])],
        };
        assert_eq!(
            short.encode10(),
            vec![
                0, 0, 0, 0x10, 0, 0, 0, 8, //
                0x5a, 0, 0, 0, 0, 0x04, 0, 0, //
                0x10, 0x02, 1, 2
            ]
        );
        let mut m = ModeData::parse10(&SENSE10_LONG).unwrap();
        let e = m.encode10();
        let mut want = SENSE10_LONG.to_vec();
        want[1] = 0; // reserved in MODE SELECT
        want[24] = 0x51; // PS cleared, SPF kept
        assert_eq!(e, want);
        m.pages.clear();
        m.block_descriptors.clear();
        assert_eq!(m.encode10(), vec![0, 0, 0, 0x10, 0, 0, 0, 0]);
    }

    #[test]
    fn encode6_saturates_large_descriptors() {
        let m = ModeData {
            block_descriptors: vec![BlockDescriptor {
                density: 1,
                blocks: u64::MAX,
                block_length: u32::MAX,
            }],
            ..ModeData::default()
        };
        assert_eq!(
            m.encode6(),
            vec![0, 0, 0, 8, 1, 0xff, 0xff, 0xff, 0, 0xff, 0xff, 0xff]
        );
    }

    proptest! {
        #[test]
        fn parse_never_panics(b in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = ModeData::parse6(&b);
            let _ = ModeData::parse10(&b);
        }

        #[test]
        fn encode_parse_round_trip(
            dev in any::<u8>(),
            density in any::<u8>(),
            blocks in 0u64..0x100_0000,
            len in 0u32..0x100_0000,
            pages in proptest::collection::vec(
                (0u8..0x3f, any::<u8>(), proptest::collection::vec(any::<u8>(), 0..40)), 0..4),
        ) {
            let m = ModeData {
                medium_type: 0,
                device_specific: dev,
                block_descriptors: vec![BlockDescriptor { density, blocks, block_length: len }],
                pages: pages.into_iter().map(|(p, s, d)| ModePage::new(p, s, d)).collect(),
            };
            let mut e6 = m.encode6();
            // MODE SENSE fills in the mode data length that MODE SELECT leaves 0.
            if e6.len() <= 256 {
                e6[0] = (e6.len() - 1) as u8;
                prop_assert_eq!(ModeData::parse6(&e6).unwrap(), m.clone());
            }
            let mut e10 = m.encode10();
            let n = (e10.len() - 2) as u16;
            e10[..2].copy_from_slice(&n.to_be_bytes());
            prop_assert_eq!(ModeData::parse10(&e10).unwrap(), m);
        }
    }
}

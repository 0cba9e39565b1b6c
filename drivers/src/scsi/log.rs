//! LOG SENSE / LOG SELECT (SPC-5 6.7, 6.8, 7.3): CDB builders and the log
//! page format (4-byte page header, then parameters of a 4-byte header
//! and a value each).
//!
//! Decoding honours the declared page length: bytes after it are ignored;
//! data shorter than declared, or a parameter running past the page, is an
//! error.

use super::bytes;
use super::error::DecodeError;
use super::opcodes;

/// Page control values for LOG SENSE / LOG SELECT.
pub mod pc {
    pub const THRESHOLD: u8 = 0;
    pub const CUMULATIVE: u8 = 1;
    pub const DEFAULT_THRESHOLD: u8 = 2;
    pub const DEFAULT_CUMULATIVE: u8 = 3;
}

/// LOG SENSE. `pc` (0..=3, 1 = current cumulative values) is masked to two
/// bits; `param_pointer` is the first parameter code to return.
pub fn log_sense_cdb(page: u8, subpage: u8, pc: u8, param_pointer: u16, alloc: u16) -> [u8; 10] {
    let p = param_pointer.to_be_bytes();
    let a = alloc.to_be_bytes();
    [
        opcodes::LOG_SENSE,
        0,
        ((pc & 0x03) << 6) | (page & 0x3f),
        subpage,
        0,
        p[0],
        p[1],
        a[0],
        a[1],
        0,
    ]
}

/// LOG SELECT. `pcr` resets the parameters (with `param_len` 0); `sp` saves.
pub fn log_select_cdb(
    pcr: bool,
    sp: bool,
    pc: u8,
    page: u8,
    subpage: u8,
    param_len: u16,
) -> [u8; 10] {
    let l = param_len.to_be_bytes();
    [
        opcodes::LOG_SELECT,
        (u8::from(pcr) << 1) | u8::from(sp),
        ((pc & 0x03) << 6) | (page & 0x3f),
        subpage,
        0,
        0,
        0,
        l[0],
        l[1],
        0,
    ]
}

/// One log parameter.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LogParameter {
    pub code: u16,
    /// Control byte: DU (bit 7), TSD (bit 5), ETC (bit 4), TMC (bits 3..2),
    /// FORMAT AND LINKING (bits 1..0).
    pub control: u8,
    pub value: Vec<u8>,
}

impl LogParameter {
    /// The value as a big-endian unsigned number (1 to 8 bytes).
    pub fn as_u64(&self) -> Option<u64> {
        bytes::be_u64(&self.value)
    }

    /// FORMAT AND LINKING: 0 bounded counter, 1 ASCII list, 2 bounded
    /// counter (unbounded data), 3 binary list.
    pub fn format_and_linking(&self) -> u8 {
        self.control & 0x03
    }
}

/// A decoded log page.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LogPage {
    pub page: u8,
    pub subpage: u8,
    pub params: Vec<LogParameter>,
}

const WHAT: &str = "log page";

/// Page header: (page, subpage, declared page length).
fn header<'a>(what: &'static str, b: &'a [u8]) -> Result<(u8, u8, &'a [u8]), DecodeError> {
    let h = bytes::need(what, b, 4)?;
    let page = h[0] & 0x3f;
    let subpage = if h[0] & 0x40 != 0 { h[1] } else { 0 };
    let len = usize::from(u16::from_be_bytes([h[2], h[3]]));
    let body = bytes::declared_body(what, b, 4, len, "page length")?;
    Ok((page, subpage, body))
}

impl LogPage {
    /// Decodes a LOG SENSE response.
    pub fn parse(b: &[u8]) -> Result<LogPage, DecodeError> {
        let (page, subpage, mut body) = header(WHAT, b)?;
        let mut params = Vec::new();
        while !body.is_empty() {
            let Some(h) = body.get(..4) else {
                return Err(DecodeError::new(
                    WHAT,
                    format!(
                        "page {page:02X}h: parameter header cut after {} bytes",
                        body.len()
                    ),
                ));
            };
            let code = u16::from_be_bytes([h[0], h[1]]);
            let len = usize::from(h[3]);
            let Some(value) = body.get(4..4 + len) else {
                return Err(DecodeError::new(
                    WHAT,
                    format!(
                        "page {page:02X}h parameter {code:04X}h declares {len} bytes, only {} left in the page",
                        body.len() - 4
                    ),
                ));
            };
            params.push(LogParameter {
                code,
                control: h[2],
                value: value.to_vec(),
            });
            body = &body[4 + len..];
        }
        Ok(LogPage {
            page,
            subpage,
            params,
        })
    }

    pub fn param(&self, code: u16) -> Option<&LogParameter> {
        self.params.iter().find(|p| p.code == code)
    }

    /// Encodes the page (for LOG SELECT, or as a device returns it). SPF is
    /// set when the subpage is non-zero; DS is clear. Values longer than
    /// 255 bytes are cut (the parameter length field is one byte).
    pub fn encode(&self) -> Vec<u8> {
        let spf = if self.subpage != 0 { 0x40 } else { 0 };
        let mut out = vec![spf | (self.page & 0x3f), self.subpage, 0, 0];
        for p in &self.params {
            let n = p.value.len().min(0xff);
            out.extend_from_slice(&p.code.to_be_bytes());
            out.push(p.control);
            out.push(n as u8);
            out.extend_from_slice(&p.value[..n]);
        }
        let len = u16::try_from(out.len() - 4).unwrap_or(u16::MAX);
        out[2..4].copy_from_slice(&len.to_be_bytes());
        out
    }
}

/// Supported log pages (page 00h): the page codes the device lists.
pub fn parse_supported_pages(b: &[u8]) -> Result<Vec<u8>, DecodeError> {
    const W: &str = "supported log pages";
    let (page, _, body) = header(W, b)?;
    if page != 0 {
        return Err(DecodeError::new(
            W,
            format!("page code {page:02X}h, expected 00h"),
        ));
    }
    Ok(body.iter().map(|&p| p & 0x3f).collect())
}

/// Supported log pages and subpages (page 00h, subpage FFh): (page, subpage)
/// pairs.
pub fn parse_supported_subpages(b: &[u8]) -> Result<Vec<(u8, u8)>, DecodeError> {
    const W: &str = "supported log pages and subpages";
    let (page, _, body) = header(W, b)?;
    if page != 0 {
        return Err(DecodeError::new(
            W,
            format!("page code {page:02X}h, expected 00h"),
        ));
    }
    if body.len() % 2 != 0 {
        return Err(DecodeError::new(
            W,
            format!("odd page length {}", body.len()),
        ));
    }
    Ok(body.chunks_exact(2).map(|c| (c[0] & 0x3f, c[1])).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn log_sense_cdb_bytes() {
        assert_eq!(
            log_sense_cdb(0x2e, 0, pc::CUMULATIVE, 0, 0x4000),
            [0x4d, 0x00, 0x6e, 0x00, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00]
        );
        assert_eq!(
            log_sense_cdb(0x17, 0x01, 3, 0x0102, 0xffff),
            [0x4d, 0x00, 0xd7, 0x01, 0x00, 0x01, 0x02, 0xff, 0xff, 0x00]
        );
        // Out-of-range arguments are masked, not spilled into other fields.
        assert_eq!(log_sense_cdb(0xff, 0, 0xff, 0, 0)[2], 0xff);
        assert_eq!(log_sense_cdb(0x40, 0, 0x04, 0, 0)[2], 0x00);
    }

    #[test]
    fn log_select_cdb_bytes() {
        assert_eq!(
            log_select_cdb(true, false, 1, 0, 0, 0),
            [0x4c, 0x02, 0x40, 0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(
            log_select_cdb(false, true, 3, 0x0c, 0x00, 0x0010),
            [0x4c, 0x01, 0xcc, 0, 0, 0, 0, 0x00, 0x10, 0]
        );
    }

    /// Sequential-access device page 0Ch: two parameters.
    const PAGE_0C: [u8; 24] = [
        0x0c, 0x00, 0x00, 0x14, // page 0Ch, 20 bytes
        0x00, 0x00, 0x40, 0x08, 0, 0, 0, 0, 0, 0x01, 0x02, 0x03, // 0000h: 8 bytes
        0x01, 0x00, 0x03, 0x04, 0xde, 0xad, 0xbe, 0xef, // 0100h: 4 bytes, binary
    ];

    #[test]
    fn parse_page() {
        let p = LogPage::parse(&PAGE_0C).unwrap();
        assert_eq!((p.page, p.subpage), (0x0c, 0));
        assert_eq!(p.params.len(), 2);
        assert_eq!(p.param(0).unwrap().as_u64(), Some(0x010203));
        assert_eq!(p.param(0).unwrap().control, 0x40);
        let q = p.param(0x100).unwrap();
        assert_eq!(q.as_u64(), Some(0xdead_beef));
        assert_eq!(q.format_and_linking(), 3);
        assert!(p.param(0x200).is_none());
    }

    #[test]
    fn parse_subpage_and_ds() {
        // DS + SPF set, page 17h subpage 01h, one empty parameter.
        let b = [0xd7, 0x01, 0x00, 0x04, 0x00, 0x05, 0x00, 0x00];
        let p = LogPage::parse(&b).unwrap();
        assert_eq!((p.page, p.subpage), (0x17, 0x01));
        assert_eq!(p.params[0].code, 5);
        assert_eq!(p.params[0].as_u64(), None);
        // SPF clear: byte 1 is not a subpage.
        let b = [0x17, 0x09, 0x00, 0x00];
        assert_eq!(LogPage::parse(&b).unwrap().subpage, 0);
    }

    #[test]
    fn honours_page_length() {
        let mut b = PAGE_0C.to_vec();
        b.extend_from_slice(&[0x02, 0x00, 0x00, 0x01, 0x07]);
        assert_eq!(
            LogPage::parse(&b).unwrap(),
            LogPage::parse(&PAGE_0C).unwrap()
        );
    }

    #[test]
    fn short_and_lying_lengths_fail() {
        let e = LogPage::parse(&PAGE_0C[..20]).unwrap_err();
        assert!(e.detail.contains("truncated"), "{e}");
        assert!(LogPage::parse(&[0x0c, 0, 0]).is_err());
        // Parameter length 8 but only 4 bytes left in a 8-byte page.
        let b = [0x0c, 0, 0, 8, 0, 1, 0, 8, 1, 2, 3, 4];
        let e = LogPage::parse(&b).unwrap_err();
        assert!(e.detail.contains("0001h"), "{e}");
        // Page length leaves a partial parameter header.
        let b = [0x0c, 0, 0, 2, 0, 1];
        assert!(LogPage::parse(&b).is_err());
    }

    #[test]
    fn encode_bytes() {
        let p = LogPage {
            page: 0x0c,
            subpage: 0,
            params: vec![
                LogParameter {
                    code: 0,
                    control: 0x40,
                    value: vec![0, 0, 0, 0, 0, 1, 2, 3],
                },
                LogParameter {
                    code: 0x100,
                    control: 0x03,
                    value: vec![0xde, 0xad, 0xbe, 0xef],
                },
            ],
        };
        assert_eq!(p.encode(), PAGE_0C.to_vec());
        let s = LogPage {
            page: 0x17,
            subpage: 2,
            params: vec![],
        };
        assert_eq!(s.encode(), vec![0x57, 0x02, 0, 0]);
    }

    #[test]
    fn supported_pages() {
        let b = [0x00, 0x00, 0x00, 0x05, 0x00, 0x02, 0x0c, 0x2e, 0x17, 0xff];
        assert_eq!(
            parse_supported_pages(&b).unwrap(),
            vec![0x00, 0x02, 0x0c, 0x2e, 0x17]
        );
        assert!(parse_supported_pages(&b[..8]).is_err());
        assert!(parse_supported_pages(&[0x0c, 0, 0, 0]).is_err());
        let b = [0x40, 0xff, 0x00, 0x04, 0x00, 0x00, 0x17, 0x01];
        assert_eq!(
            parse_supported_subpages(&b).unwrap(),
            vec![(0x00, 0x00), (0x17, 0x01)]
        );
        assert!(parse_supported_subpages(&[0x40, 0xff, 0, 1, 0]).is_err());
    }

    #[test]
    fn as_u64_lengths() {
        let p = |v: Vec<u8>| LogParameter {
            code: 0,
            control: 0,
            value: v,
        };
        assert_eq!(p(vec![0x7f]).as_u64(), Some(0x7f));
        assert_eq!(p(vec![0xff; 8]).as_u64(), Some(u64::MAX));
        assert_eq!(p(vec![0; 9]).as_u64(), None);
    }

    proptest! {
        #[test]
        fn parse_never_panics(b in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = LogPage::parse(&b);
            let _ = parse_supported_pages(&b);
            let _ = parse_supported_subpages(&b);
        }

        #[test]
        fn round_trip(
            page in 0u8..0x40,
            subpage in any::<u8>(),
            params in proptest::collection::vec(
                (any::<u16>(), any::<u8>(), proptest::collection::vec(any::<u8>(), 0..32)), 0..8),
        ) {
            let p = LogPage {
                page,
                subpage,
                params: params
                    .into_iter()
                    .map(|(code, control, value)| LogParameter { code, control, value })
                    .collect(),
            };
            prop_assert_eq!(LogPage::parse(&p.encode()).unwrap(), p);
        }
    }
}

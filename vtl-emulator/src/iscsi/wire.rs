//! The protocol pieces the target takes from the shared sans-I/O layer
//! (PDU, text keys). Kept behind this module so the rest of the target
//! does not care where they live.

/// One PDU: the 48-byte header, additional header segments, data segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pdu {
    pub bhs: [u8; 48],
    pub ahs: Vec<u8>,
    pub data: Vec<u8>,
}

/// Splits `key=value\0...` text (RFC 7143 section 6). Pairs without `=`
/// are a protocol error.
pub fn parse_text(data: &[u8]) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for item in data.split(|&b| b == 0) {
        if item.is_empty() {
            continue;
        }
        let s = std::str::from_utf8(item).map_err(|_| "text key is not UTF-8".to_string())?;
        let (k, v) = s
            .split_once('=')
            .ok_or_else(|| format!("text item without '=': {s:?}"))?;
        out.push((k.to_string(), v.to_string()));
    }
    Ok(out)
}

pub fn encode_text(pairs: &[(String, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in pairs {
        out.extend_from_slice(k.as_bytes());
        out.push(b'=');
        out.extend_from_slice(v.as_bytes());
        out.push(0);
    }
    out
}

/// Why a PDU could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("header digest mismatch")]
    HeaderDigest,
    #[error("data digest mismatch")]
    DataDigest,
    #[error("data segment of {len} bytes exceeds the limit of {max}")]
    TooLong { len: usize, max: usize },
}

fn pad4(n: usize) -> usize {
    n.div_ceil(4) * 4
}

/// CRC32C as iSCSI sends it (little-endian on the wire, RFC 7143 11.1).
fn digest(parts: &[&[u8]]) -> [u8; 4] {
    let mut c = 0;
    for p in parts {
        c = crc32c::crc32c_append(c, p);
    }
    c.to_le_bytes()
}

/// Reads one PDU (blocking). `Ok(None)`: the peer closed between PDUs.
pub fn read_pdu(
    r: &mut impl std::io::Read,
    header_digest: bool,
    data_digest: bool,
    max_data: usize,
) -> Result<Option<Pdu>, FrameError> {
    let mut bhs = [0u8; 48];
    let mut got = 0;
    while got < bhs.len() {
        match r.read(&mut bhs[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    let ahs_len = usize::from(bhs[4]) * 4;
    let data_len = (usize::from(bhs[5]) << 16) | (usize::from(bhs[6]) << 8) | usize::from(bhs[7]);
    if data_len > max_data {
        return Err(FrameError::TooLong {
            len: data_len,
            max: max_data,
        });
    }
    let mut ahs = vec![0u8; ahs_len];
    r.read_exact(&mut ahs)?;
    if header_digest {
        let mut d = [0u8; 4];
        r.read_exact(&mut d)?;
        if d != digest(&[&bhs, &ahs]) {
            return Err(FrameError::HeaderDigest);
        }
    }
    let mut data = vec![0u8; pad4(data_len)];
    r.read_exact(&mut data)?;
    if data_digest && data_len > 0 {
        let mut d = [0u8; 4];
        r.read_exact(&mut d)?;
        if d != digest(&[&data]) {
            return Err(FrameError::DataDigest);
        }
    }
    data.truncate(data_len);
    Ok(Some(Pdu { bhs, ahs, data }))
}

/// The bytes of `p` on the wire (lengths in the header are set from the
/// segments).
pub fn encode_pdu(p: &Pdu, header_digest: bool, data_digest: bool) -> Vec<u8> {
    let mut bhs = p.bhs;
    bhs[4] = (pad4(p.ahs.len()) / 4) as u8;
    let len = p.data.len() as u32;
    bhs[5..8].copy_from_slice(&len.to_be_bytes()[1..4]);
    let mut out = Vec::with_capacity(48 + p.ahs.len() + p.data.len() + 12);
    out.extend_from_slice(&bhs);
    out.extend_from_slice(&p.ahs);
    out.resize(48 + pad4(p.ahs.len()), 0);
    if header_digest {
        let d = digest(&[&out]);
        out.extend_from_slice(&d);
    }
    if !p.data.is_empty() {
        let start = out.len();
        out.extend_from_slice(&p.data);
        out.resize(start + pad4(p.data.len()), 0);
        if data_digest {
            let d = digest(&[&out[start..]]);
            out.extend_from_slice(&d);
        }
    }
    out
}

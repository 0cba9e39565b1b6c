//! CHAP for iSCSI login (RFC 7143 12.1.3, RFC 1994): CHAP_A algorithm
//! selection, the response H(id || secret || challenge), and the binary
//! value encodings of CHAP_C/CHAP_R ("0x" hex, "0b" base64).
//!
//! Algorithm numbers are the IANA PPP authentication algorithm codes: 5 MD5
//! (RFC 7143), 6 SHA-1, 7 SHA-256 (as the Linux target and EDK2 use them).

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// CHAP hash algorithms (CHAP_A values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ChapAlgorithm {
    Md5 = 5,
    Sha1 = 6,
    Sha256 = 7,
}

impl ChapAlgorithm {
    pub fn from_code(code: u64) -> Option<ChapAlgorithm> {
        match code {
            5 => Some(ChapAlgorithm::Md5),
            6 => Some(ChapAlgorithm::Sha1),
            7 => Some(ChapAlgorithm::Sha256),
            _ => None,
        }
    }

    pub fn code(self) -> u8 {
        self as u8
    }

    /// Digest (and CHAP_R) length in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            ChapAlgorithm::Md5 => 16,
            ChapAlgorithm::Sha1 => 20,
            ChapAlgorithm::Sha256 => 32,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ChapAlgorithm::Md5 => "MD5",
            ChapAlgorithm::Sha1 => "SHA-1",
            ChapAlgorithm::Sha256 => "SHA-256",
        }
    }
}

/// Errors in CHAP values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChapError {
    #[error("binary value without a 0x or 0b prefix")]
    NoPrefix,
    #[error("bad hex in binary value")]
    BadHex,
    #[error("bad base64 in binary value")]
    BadBase64,
    #[error("empty binary value")]
    Empty,
}

/// The CHAP response: H(identifier || secret || challenge) (RFC 1994 4.1).
pub fn response(alg: ChapAlgorithm, id: u8, secret: &[u8], challenge: &[u8]) -> Vec<u8> {
    fn h<D: Digest>(id: u8, secret: &[u8], challenge: &[u8]) -> Vec<u8> {
        let mut d = D::new();
        d.update([id]);
        d.update(secret);
        d.update(challenge);
        d.finalize().to_vec()
    }
    match alg {
        ChapAlgorithm::Md5 => h::<Md5>(id, secret, challenge),
        ChapAlgorithm::Sha1 => h::<Sha1>(id, secret, challenge),
        ChapAlgorithm::Sha256 => h::<Sha256>(id, secret, challenge),
    }
}

/// Check a received CHAP_R in time independent of where it differs.
pub fn verify(
    alg: ChapAlgorithm,
    id: u8,
    secret: &[u8],
    challenge: &[u8],
    received: &[u8],
) -> bool {
    let expected = response(alg, id, secret, challenge);
    if expected.len() != received.len() {
        return false;
    }
    expected
        .iter()
        .zip(received)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

/// The first algorithm of the offered CHAP_A list (e.g. "7,6,5") that is in
/// `supported`. Unparsable entries are skipped (RFC 7143 12.1.3 lets an
/// initiator offer algorithms the target does not know).
pub fn choose_algorithm(offered: &str, supported: &[ChapAlgorithm]) -> Option<ChapAlgorithm> {
    offered
        .split(',')
        .filter_map(|v| super::keys::parse_number(v.trim()))
        .filter_map(ChapAlgorithm::from_code)
        .find(|a| supported.contains(a))
}

/// A CHAP_A offer listing `algs` in preference order.
pub fn offer_algorithms(algs: &[ChapAlgorithm]) -> String {
    algs.iter()
        .map(|a| a.code().to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Encode binary as "0x" + lowercase hex (what libiscsi and Linux send).
pub fn encode_hex(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

/// Encode binary as "0b" + base64 (RFC 7143 6.1 "base64-constant").
pub fn encode_base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::from("0b");
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                s.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 0x3f) as usize]));
            } else {
                s.push('=');
            }
        }
    }
    s
}

/// Decode a CHAP binary value: "0x"/"0X" hex (an odd digit count has an
/// implied leading zero) or "0b"/"0B" base64 (padding optional).
pub fn decode_binary(s: &str) -> Result<Vec<u8>, ChapError> {
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        if h.is_empty() {
            return Err(ChapError::Empty);
        }
        let padded;
        let h = if h.len() % 2 == 1 {
            padded = format!("0{h}");
            padded.as_str()
        } else {
            h
        };
        hex::decode(h).map_err(|_| ChapError::BadHex)
    } else if let Some(b) = s.strip_prefix("0b").or_else(|| s.strip_prefix("0B")) {
        let v = decode_base64(b)?;
        if v.is_empty() {
            return Err(ChapError::Empty);
        }
        Ok(v)
    } else {
        Err(ChapError::NoPrefix)
    }
}

fn decode_base64(s: &str) -> Result<Vec<u8>, ChapError> {
    let body = s.trim_end_matches('=');
    if s.len() - body.len() > 2 {
        return Err(ChapError::BadBase64);
    }
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in body.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return Err(ChapError::BadBase64),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // A single leftover symbol carries fewer than 8 bits: not valid base64.
    if body.len() % 4 == 1 {
        return Err(ChapError::BadBase64);
    }
    Ok(out)
}

/// `n` random bytes for a CHAP challenge or identifier, from the kernel.
pub fn random_bytes(n: usize) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut v = vec![0u8; n];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut v)?;
    Ok(v)
}

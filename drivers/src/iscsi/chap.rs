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
    #[error("bad CHAP_I {0:?} (a number 0-255)")]
    BadIdentifier(String),
    #[error("unsupported CHAP_A {0:?}")]
    UnknownAlgorithm(String),
}

/// Parse CHAP_I: a numerical value 0-255.
pub fn parse_identifier(s: &str) -> Result<u8, ChapError> {
    super::keys::parse_number(s)
        .and_then(|v| u8::try_from(v).ok())
        .ok_or_else(|| ChapError::BadIdentifier(s.chars().take(16).collect()))
}

/// Parse the single CHAP_A value a target chose.
pub fn parse_algorithm(s: &str) -> Result<ChapAlgorithm, ChapError> {
    super::keys::parse_number(s)
        .and_then(ChapAlgorithm::from_code)
        .ok_or_else(|| ChapError::UnknownAlgorithm(s.chars().take(16).collect()))
}

/// The responder's side of one CHAP round: from the peer's CHAP_A (as
/// chosen), CHAP_I and CHAP_C values, the CHAP_N and CHAP_R pairs to send.
pub fn answer_challenge(
    alg: &str,
    id: &str,
    challenge: &str,
    name: &str,
    secret: &[u8],
) -> Result<Vec<(String, String)>, ChapError> {
    let alg = parse_algorithm(alg)?;
    let id = parse_identifier(id)?;
    let challenge = decode_binary(challenge)?;
    Ok(vec![
        ("CHAP_N".to_string(), name.to_string()),
        (
            "CHAP_R".to_string(),
            encode_hex(&response(alg, id, secret, &challenge)),
        ),
    ])
}

/// The challenger's side of one CHAP round (the target, or an initiator
/// asking for mutual CHAP): a fresh identifier and challenge, and the check
/// of the CHAP_R that comes back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub alg: ChapAlgorithm,
    pub id: u8,
    pub challenge: Vec<u8>,
}

impl Challenge {
    /// A random identifier and a random challenge as long as the digest
    /// (at least 16 bytes, as the Linux target sends for MD5).
    pub fn new(alg: ChapAlgorithm) -> std::io::Result<Challenge> {
        let mut r = random_bytes(1 + alg.digest_len().max(16))?;
        let id = r.remove(0);
        Ok(Challenge {
            alg,
            id,
            challenge: r,
        })
    }

    /// The keys carrying this challenge: CHAP_A (a target's choice), CHAP_I
    /// and CHAP_C.
    pub fn keys(&self) -> Vec<(String, String)> {
        vec![
            ("CHAP_A".to_string(), self.alg.code().to_string()),
            ("CHAP_I".to_string(), self.id.to_string()),
            ("CHAP_C".to_string(), encode_hex(&self.challenge)),
        ]
    }

    /// Check the peer's CHAP_R value against `secret`.
    pub fn check(&self, chap_r: &str, secret: &[u8]) -> Result<bool, ChapError> {
        let r = decode_binary(chap_r)?;
        Ok(verify(self.alg, self.id, secret, &self.challenge, &r))
    }

    /// RFC 7143 9.2.1: a peer that sends back our own challenge is
    /// reflecting it to make us compute its answer; refuse it.
    pub fn is_reflection(&self, peer_challenge: &[u8]) -> bool {
        peer_challenge == self.challenge.as_slice()
    }
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

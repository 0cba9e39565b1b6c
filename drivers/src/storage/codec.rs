//! Record payloads: the per-record compression decision on the way in,
//! CRC checks and decompression on the way out. CPU only, no I/O.

use super::format::{FormatError, RECORD_FLAG_ZSTD, RecordHeader, RecordKind};

/// Per-record zstd settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Compression {
    pub enabled: bool,
    /// zstd level (1 fastest .. 19; negative levels are faster still).
    pub level: i32,
}

impl Default for Compression {
    fn default() -> Self {
        Compression {
            enabled: true,
            level: 3,
        }
    }
}

impl Compression {
    pub fn off() -> Compression {
        Compression {
            enabled: false,
            level: 0,
        }
    }
}

/// Counters of the compression decisions, for reports and the benchmark.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CodecStats {
    pub compressed: u64,
    /// Stored plain because the sample looked incompressible.
    pub skipped_estimate: u64,
    /// Compressed, but the result did not pay, so stored plain.
    pub skipped_result: u64,
}

/// Bytes per sample and samples per record for the estimate.
const SAMPLE: usize = 4096;
const SAMPLES: usize = 4;
/// Shannon entropy (bits per byte) above which the sample is taken as
/// incompressible: text is about 4.5-5.5, executables 6, compressed or
/// encrypted data 7.95 and more.
const ENTROPY_LIMIT: f64 = 7.5;

/// Cheap guess whether zstd would gain nothing: byte entropy of a few
/// samples spread over the record. Costs a few microseconds per MiB, so
/// incompressible data does not pay for a full compression attempt.
pub fn looks_incompressible(data: &[u8]) -> bool {
    if data.len() < SAMPLES * SAMPLE * 2 {
        return false;
    }
    let mut hist = [0u32; 256];
    let step = data.len() / SAMPLES;
    for i in 0..SAMPLES {
        for &b in &data[i * step..i * step + SAMPLE] {
            hist[usize::from(b)] += 1;
        }
    }
    let total = (SAMPLES * SAMPLE) as f64;
    let entropy: f64 = hist
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / total;
            -p * p.log2()
        })
        .sum();
    entropy > ENTROPY_LIMIT
}

/// Turns plain record data into a record header and the bytes to store.
pub struct RecordEncoder {
    compression: Compression,
    compressor: Option<zstd::bulk::Compressor<'static>>,
    out: Vec<u8>,
    pub stats: CodecStats,
}

impl RecordEncoder {
    pub fn new(compression: Compression) -> RecordEncoder {
        // A compressor that cannot be created (out of memory) means plain
        // records: always correct, only larger.
        let compressor = if compression.enabled {
            match zstd::bulk::Compressor::new(compression.level) {
                Ok(c) => Some(c),
                Err(e) => {
                    tracing::warn!("zstd unavailable ({e}); storing records plain");
                    None
                }
            }
        } else {
            None
        };
        RecordEncoder {
            compression,
            compressor,
            out: Vec::new(),
            stats: CodecStats::default(),
        }
    }

    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// Encodes one data record (`plain` non-empty, at most
    /// [`super::format::MAX_RECORD_LEN`] bytes). Returns the header and the
    /// payload to write after it (`plain` itself or the compressed bytes).
    pub fn encode<'a>(&'a mut self, plain: &'a [u8], seq: u32) -> (RecordHeader, &'a [u8]) {
        let plain_crc = crc32c::crc32c(plain);
        // Callers keep records within MAX_RECORD_LEN (16 MiB), so this fits.
        let plain_len = plain.len() as u32;
        let plain_header = RecordHeader {
            kind: RecordKind::Data,
            flags: 0,
            stored_len: plain_len,
            plain_len,
            stored_crc: plain_crc,
            plain_crc,
            seq,
        };
        let Some(c) = self.compressor.as_mut() else {
            return (plain_header, plain);
        };
        if looks_incompressible(plain) {
            self.stats.skipped_estimate += 1;
            return (plain_header, plain);
        }
        // Compression must save at least 1/32 to be worth a decompression
        // on every read; a destination that small makes zstd give up early.
        let limit = plain.len() - plain.len() / 32;
        self.out.clear();
        self.out.reserve(limit);
        let out = &mut self.out;
        match c.compress_to_buffer(plain, out) {
            Ok(n) if n < limit => {
                self.stats.compressed += 1;
                let stored = &self.out[..n];
                let header = RecordHeader {
                    flags: RECORD_FLAG_ZSTD,
                    stored_len: n as u32,
                    stored_crc: crc32c::crc32c(stored),
                    ..plain_header
                };
                (header, stored)
            }
            _ => {
                self.stats.skipped_result += 1;
                (plain_header, plain)
            }
        }
    }
}

/// Checks a record's stored payload and yields its plain bytes.
pub struct RecordDecoder {
    decompressor: Option<zstd::bulk::Decompressor<'static>>,
    out: Vec<u8>,
}

impl Default for RecordDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl RecordDecoder {
    pub fn new() -> RecordDecoder {
        RecordDecoder {
            decompressor: None,
            out: Vec::new(),
        }
    }

    /// Checks only the CRC of the stored bytes (no decompression).
    pub fn check_stored(h: &RecordHeader, stored: &[u8]) -> Result<(), FormatError> {
        if stored.len() != h.stored_len as usize {
            return Err(FormatError::Short {
                what: "record payload",
                need: h.stored_len as usize,
                have: stored.len(),
            });
        }
        let computed = crc32c::crc32c(stored);
        if computed != h.stored_crc {
            return Err(FormatError::Crc {
                what: "record payload",
                stored: h.stored_crc,
                computed,
            });
        }
        Ok(())
    }

    /// Checks the stored CRC, decompresses when needed and checks the plain
    /// length and CRC. Returns the plain bytes.
    pub fn decode<'a>(
        &'a mut self,
        h: &RecordHeader,
        stored: &'a [u8],
    ) -> Result<&'a [u8], FormatError> {
        Self::check_stored(h, stored)?;
        if !h.is_zstd() {
            return Ok(stored);
        }
        let d = match self.decompressor.as_mut() {
            Some(d) => d,
            None => {
                let d = zstd::bulk::Decompressor::new().map_err(|e| FormatError::Invalid {
                    what: "zstd",
                    detail: e.to_string(),
                })?;
                self.decompressor.insert(d)
            }
        };
        self.out.clear();
        self.out.reserve(h.plain_len as usize);
        let out = &mut self.out;
        let n = d
            .decompress_to_buffer(stored, out)
            .map_err(|e| FormatError::Invalid {
                what: "compressed record",
                detail: format!("does not decompress to {} bytes: {e}", h.plain_len),
            })?;
        if n != h.plain_len as usize {
            return Err(FormatError::Invalid {
                what: "compressed record",
                detail: format!("decompressed to {n} bytes, header says {}", h.plain_len),
            });
        }
        let computed = crc32c::crc32c(&self.out);
        if computed != h.plain_crc {
            return Err(FormatError::Crc {
                what: "decompressed record",
                stored: h.plain_crc,
                computed,
            });
        }
        Ok(&self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(n: usize) -> Vec<u8> {
        let line = b"2024-05-01 12:00:00 backup job 42 wrote file /home/user/doc.txt ok\n";
        line.iter().copied().cycle().take(n).collect()
    }

    fn random(n: usize) -> Vec<u8> {
        // xorshift: incompressible enough for zstd, reproducible.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    }

    #[test]
    fn text_is_compressed_and_round_trips() {
        let data = text(256 * 1024);
        let mut enc = RecordEncoder::new(Compression::default());
        let (h, stored) = enc.encode(&data, 7);
        assert!(h.is_zstd());
        assert!(stored.len() < data.len() / 10);
        assert_eq!(h.plain_len as usize, data.len());
        assert_eq!(h.seq, 7);
        let stored = stored.to_vec();
        let mut dec = RecordDecoder::new();
        assert_eq!(dec.decode(&h, &stored).unwrap(), &data[..]);
        assert_eq!(enc.stats.compressed, 1);
    }

    #[test]
    fn random_data_is_stored_plain_without_trying() {
        let data = random(256 * 1024);
        assert!(looks_incompressible(&data));
        assert!(!looks_incompressible(&text(256 * 1024)));
        let mut enc = RecordEncoder::new(Compression::default());
        let (h, stored) = enc.encode(&data, 0);
        assert!(!h.is_zstd());
        assert_eq!(stored, &data[..]);
        assert_eq!(h.stored_crc, h.plain_crc);
        assert_eq!(enc.stats.skipped_estimate, 1);
    }

    #[test]
    fn small_incompressible_record_is_tried_and_stored_plain() {
        let data = random(1000);
        let mut enc = RecordEncoder::new(Compression::default());
        let (h, stored) = enc.encode(&data, 0);
        assert!(!h.is_zstd());
        assert_eq!(stored, &data[..]);
        assert_eq!(enc.stats.skipped_result, 1);
    }

    #[test]
    fn compression_off_stores_plain() {
        let data = text(100_000);
        let mut enc = RecordEncoder::new(Compression::off());
        let (h, stored) = enc.encode(&data, 0);
        assert!(!h.is_zstd());
        assert_eq!(stored.len(), data.len());
    }

    #[test]
    fn damaged_payloads_are_caught() {
        let data = text(100_000);
        let mut enc = RecordEncoder::new(Compression::default());
        let (h, stored) = enc.encode(&data, 0);
        let mut bad = stored.to_vec();
        bad[3] ^= 0x10;
        let mut dec = RecordDecoder::new();
        assert!(dec.decode(&h, &bad).unwrap_err().is_crc());
        // A header that lies about the plain CRC: the stored CRC passes,
        // the check after decompression does not.
        let good = stored.to_vec();
        let lying = RecordHeader {
            plain_crc: h.plain_crc ^ 1,
            ..h
        };
        let e = dec.decode(&lying, &good).unwrap_err();
        assert!(
            e.to_string().contains("decompressed record: CRC mismatch"),
            "{e}"
        );
        // And one that lies about the plain length.
        let lying = RecordHeader {
            plain_len: h.plain_len - 1,
            ..h
        };
        assert!(dec.decode(&lying, &good).is_err());
        // Truncated payload.
        assert!(matches!(
            dec.decode(&h, &good[..good.len() - 1]),
            Err(FormatError::Short { .. })
        ));
    }
}

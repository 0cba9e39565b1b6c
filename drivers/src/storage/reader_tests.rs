//! The reader over a literal container: one file holding "abc".

use super::*;

/// Header, record "abc", mark, trailer, footer (the vectors of
/// format_tests.rs, concatenated by hand).
fn literal() -> Vec<u8> {
    let parts: [&[u8]; 5] = [
        &super::super::format::tests::HEADER,
        &super::super::format::tests::RECORD_ABC,
        &super::super::format::tests::MARK1,
        &super::super::format::tests::TRAILER,
        &super::super::format::tests::FOOTER,
    ];
    parts.concat()
}

fn read_all(bytes: &[u8], file: u64) -> Result<Vec<u8>, DiskStorageError> {
    let mut r = ContainerReader::open(Path::new("t.reel"), MemSource(bytes))?;
    let mut out = Vec::new();
    r.read_file(file, &mut |d| {
        out.extend_from_slice(d);
        Ok(())
    })?;
    Ok(out)
}

#[test]
fn literal_container_reads_and_verifies() {
    let b = literal();
    assert_eq!(b.len(), 231);
    assert_eq!(read_all(&b, 0).unwrap(), b"abc");
    let mut r = ContainerReader::open(Path::new("t.reel"), MemSource(&b)).unwrap();
    assert_eq!(r.files().len(), 1);
    assert_eq!(
        r.verify().unwrap(),
        VerifyReport {
            files: 1,
            records: 1,
            plain_bytes: 3,
            stored_bytes: 3,
            compressed_records: 0
        }
    );
    let e = read_all(&b, 1).unwrap_err();
    assert_eq!(
        e.to_string(),
        "t.reel: no file 1 (the container holds 1 files)"
    );
}

#[test]
fn every_flipped_bit_is_caught() {
    let b = literal();
    for byte in 0..b.len() {
        for bit in 0..8 {
            let mut d = b.clone();
            d[byte] ^= 1 << bit;
            let ok = ContainerReader::open(Path::new("t.reel"), MemSource(&d))
                .and_then(|mut r| r.verify());
            assert!(ok.is_err(), "flip at byte {byte} bit {bit} went unnoticed");
        }
    }
}

#[test]
fn bit_flip_in_payload_is_a_medium_error_naming_the_offset() {
    let mut b = literal();
    b[96] ^= 0x01; // 'a' of the payload at offset 64 + 32
    let e = read_all(&b, 0).unwrap_err();
    assert_eq!(e.class(), crate::ErrorClass::MediumError);
    let msg = e.to_string();
    assert!(
        msg.starts_with("medium error: t.reel: record payload: CRC mismatch"),
        "{msg}"
    );
    assert!(msg.ends_with("at offset 96"), "{msg}");
}

#[test]
fn truncation_and_garbage_give_clear_errors() {
    let b = literal();
    for cut in [0usize, 5, 63, 64, 100, 131, 200, 230] {
        let e = ContainerReader::open(Path::new("t.reel"), MemSource(&b[..cut]))
            .err()
            .unwrap_or_else(|| panic!("cut at {cut} accepted"));
        let msg = e.to_string();
        match cut {
            0 => assert_eq!(msg, "t.reel: not a reel container (empty file)"),
            5 | 63 | 64 => assert!(msg.contains("truncated or incomplete (only"), "{msg}"),
            _ => assert!(
                msg.contains("truncated or incomplete (no footer at the end of its"),
                "{cut}: {msg}"
            ),
        }
    }
    let e = ContainerReader::open(Path::new("t.reel"), MemSource(b"#!/bin/sh\necho hi\n"))
        .err()
        .unwrap();
    assert_eq!(
        e.to_string(),
        "t.reel: not a reel container (no container header; the file starts with \
         23 21 2f 62 69 6e 2f 73)"
    );
}

#[test]
fn recovery_scan_stops_at_the_last_valid_record() {
    let b = literal();
    // Everything up to the mark (131 bytes), then half a record.
    let mut partial = b[..131].to_vec();
    partial.extend_from_slice(&b[64..80]);
    let mut src = MemSource(&partial);
    let rb = scan_all(
        Path::new("p"),
        &mut src,
        partial.len() as u64,
        &mut RecordDecoder::new(),
        &mut Vec::new(),
        false,
    )
    .unwrap();
    assert_eq!(rb.end, 131);
    assert_eq!(rb.trailer.files.len(), 1);
    assert!(rb.open_file.is_none());
    // Strict scanning refuses the same bytes.
    let mut src = MemSource(&partial);
    assert!(
        scan_all(
            Path::new("p"),
            &mut src,
            partial.len() as u64,
            &mut RecordDecoder::new(),
            &mut Vec::new(),
            true
        )
        .is_err()
    );
}

#![no_main]
//! Pack files and pack indexes: headers, records, a whole-pack scan, .idx.
use libfuzzer_sys::fuzz_target;
use reeld::dedup::format::{
    RECORD_HEADER, decode_idx, decode_pack_header, decode_record_header, record_crc_ok, scan_pack,
};

fuzz_target!(|data: &[u8]| {
    let _ = decode_pack_header(data);
    if let Ok((_, entries, valid)) = scan_pack(data) {
        assert!(valid as usize <= data.len());
        for e in entries {
            assert!(e.offset as usize + RECORD_HEADER + e.stored_len as usize <= valid as usize);
        }
    }
    if data.len() >= RECORD_HEADER
        && let Ok(h) = decode_record_header(&data[..RECORD_HEADER])
    {
        let _ = record_crc_ok(&data[..RECORD_HEADER], &h, &data[RECORD_HEADER..]);
    }
    let _ = decode_idx(data);
});

#![no_main]
//! The container reader on arbitrary bytes: opening (header, footer,
//! trailer), verifying every record, reading every file, and the recovery
//! scan of a partial container.
use libfuzzer_sys::fuzz_target;
use reel_drivers::storage::format::{Footer, Header, RecordHeader, Trailer};
use reel_drivers::storage::{ContainerReader, MemSource};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let _ = Header::decode(data);
    let _ = RecordHeader::decode(data);
    let _ = Trailer::decode(data);
    let _ = Footer::decode(data, data.len() as u64);
    let _ = reel_drivers::storage::reader::scan_partial(Path::new("fuzz"), MemSource(data));
    if let Ok(mut r) = ContainerReader::open(Path::new("fuzz"), MemSource(data)) {
        let _ = r.verify();
        let files = r.files().len() as u64;
        for n in 0..files.min(16) + 1 {
            let _ = r.read_file(n, &mut |_| Ok(()));
        }
    }
});

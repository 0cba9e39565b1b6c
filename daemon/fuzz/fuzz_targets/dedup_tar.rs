#![no_main]
//! Tar headers, pax records, and the whole tar-aware ingest: whatever the
//! bytes, the chunks concatenate back to the input and respect the max size.
use libfuzzer_sys::fuzz_target;
use reeld::dedup::chunker::Cdc;
use reeld::dedup::ingest::{ChunkSink, Params, ingest};
use reeld::dedup::tar::{BLOCK, parse_header, pax_size};
use reeld::dedup::{DedupError, IngestKind};

struct Collect(Vec<u8>, usize);
impl ChunkSink for Collect {
    fn chunk(&mut self, data: &[u8]) -> Result<(), DedupError> {
        assert!(!data.is_empty() && data.len() <= self.1);
        self.0.extend_from_slice(data);
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(block) = <&[u8; BLOCK]>::try_from(data.get(..BLOCK).unwrap_or(&[])) {
        let _ = parse_header(block);
    }
    let _ = pax_size(data);
    let Ok(cdc) = Cdc::new(64, 256, 1024) else {
        return;
    };
    for kind in [IngestKind::Tar, IngestKind::Auto] {
        let mut c = Collect(Vec::new(), cdc.max);
        ingest(&mut &data[..], kind, Params::new(cdc), &mut c).ok();
        assert_eq!(c.0, data);
    }
});

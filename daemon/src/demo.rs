//! `reelctl demo`: the whole stack in one run. Creates a VTL with an LTO-8
//! drive, inserts a blank LTO-8 cartridge, writes several files separated
//! by filemarks through [`TapeWriter`] and the SSC driver, rewinds, reads
//! them back through [`TapeReader`] and compares every byte.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reel_drivers::ScsiError;
use reel_drivers::tape::{ReadOutcome, ReaderStop, TapeDrive, TapeReader, TapeWriter};
use reel_vtl::cartridge::{CartridgeSpec, Generation};
use reel_vtl::library::{LibraryError, VirtualLibrary, VtlTransport};

use crate::bench::Prng;
use crate::vtlcmd::library_config;

pub const BARCODE: &str = "DEMO01L8";
/// Record size the demo writes (a common backup application block size).
pub const RECORD: usize = 256 * 1024;
/// Sizes of the demo files: a short one, one that ends in a partial record,
/// an empty one (two adjacent filemarks) and a larger one.
pub const FILE_SIZES: &[usize] = &[4096, 3 * RECORD + 12_345, 0, 8 << 20];

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Library(#[from] LibraryError),
    #[error(transparent)]
    Scsi(#[from] ScsiError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("file {file}: {detail}")]
    Mismatch { file: usize, detail: String },
}

/// Where the tape was, as READ POSITION and the driver report it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DemoPosition {
    pub file: Option<u64>,
    pub block_in_file: Option<u64>,
    pub logical_block: Option<u64>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct DemoFile {
    pub index: usize,
    pub bytes: u64,
    pub records: u64,
    /// Position after its filemark was written.
    pub after_write: DemoPosition,
    pub verified: bool,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct DemoSummary {
    pub vtl: PathBuf,
    pub device: String,
    pub barcode: String,
    pub record_size: usize,
    pub files: Vec<DemoFile>,
    pub bytes_written: u64,
    pub bytes_verified: u64,
    pub end_of_data_after_last_file: bool,
    pub seconds: f64,
}

fn file_data(index: usize, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    Prng::new(0x5eed_0000 + index as u64).fill(&mut v);
    v
}

fn position(d: &mut TapeDrive<VtlTransport>) -> Result<DemoPosition, ScsiError> {
    let s = d.status()?;
    Ok(DemoPosition {
        file: s.file,
        block_in_file: s.block,
        logical_block: s.logical_block,
    })
}

fn show(p: &DemoPosition) -> String {
    let f = |v: Option<u64>| v.map_or("?".to_string(), |v| v.to_string());
    format!(
        "file {}, block {} (logical object {})",
        f(p.file),
        f(p.block_in_file),
        f(p.logical_block)
    )
}

/// Runs the demo in `dir` (which must not hold a VTL yet) or in a
/// temporary directory that is removed afterwards. `say` gets one line of
/// narration at a time.
pub fn run(dir: Option<&Path>, say: &mut dyn FnMut(&str)) -> Result<DemoSummary, DemoError> {
    let tmp;
    let dir = match dir {
        Some(d) => d.to_path_buf(),
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().join("vtl")
        }
    };
    let start = Instant::now();
    let lib = VirtualLibrary::create(&dir, library_config(1, Generation::Lto8))?;
    lib.create_cartridge(&CartridgeSpec::new(BARCODE, Generation::Lto8))?;
    lib.insert(0, BARCODE)?;
    let device = format!("vtl:{}#drive0", dir.display());
    say(&format!(
        "VTL {}: LTO-8 drive, cartridge {BARCODE} inserted; device {device}",
        dir.display()
    ));
    let mut drive = TapeDrive::new(lib.drive_transport(0)?);
    drive.wait_ready(Duration::from_secs(60))?;
    let id = drive.identify()?;
    say(&format!(
        "drive: {} {} {} serial {}",
        id.vendor,
        id.product,
        id.revision,
        id.serial.as_deref().unwrap_or("?")
    ));
    drive.set_block_size(0)?;
    drive.rewind(false)?;

    let mut files = Vec::new();
    let mut written = 0u64;
    for (i, &len) in FILE_SIZES.iter().enumerate() {
        let data = file_data(i, len);
        let mut w = TapeWriter::new(&mut drive, RECORD)?;
        w.write_all(&data)?;
        let records = {
            // finish() writes the partial record, then a synchronous filemark.
            let before = w.records();
            let partial = u64::from(!len.is_multiple_of(RECORD));
            w.finish(true)?;
            before + partial
        };
        let after = position(&mut drive)?;
        say(&format!(
            "wrote file {i}: {len} bytes in {records} records + filemark; now at {}",
            show(&after)
        ));
        written += len as u64;
        files.push(DemoFile {
            index: i,
            bytes: len as u64,
            records,
            after_write: after,
            verified: false,
        });
    }

    drive.rewind(false)?;
    say(&format!("rewound: {}", show(&position(&mut drive)?)));
    let mut verified = 0u64;
    for f in files.iter_mut() {
        let want = file_data(f.index, f.bytes as usize);
        let mut got = Vec::with_capacity(want.len());
        let mut r = TapeReader::new(&mut drive, RECORD)?;
        r.read_to_end(&mut got)?;
        if r.stop() != Some(ReaderStop::Filemark) {
            return Err(DemoError::Mismatch {
                file: f.index,
                detail: format!("ended with {:?} instead of a filemark", r.stop()),
            });
        }
        if got != want {
            let at = got.iter().zip(&want).position(|(a, b)| a != b);
            return Err(DemoError::Mismatch {
                file: f.index,
                detail: match at {
                    Some(off) => format!("first differing byte at offset {off}"),
                    None => format!("read {} bytes, wrote {}", got.len(), want.len()),
                },
            });
        }
        f.verified = true;
        verified += f.bytes;
        say(&format!(
            "read file {}: {} bytes, identical; now at {}",
            f.index,
            f.bytes,
            show(&position(&mut drive)?)
        ));
    }
    let mut probe = vec![0u8; RECORD];
    let eod = drive.read(&mut probe)? == ReadOutcome::EndOfData;
    say(if eod {
        "next read: end of data"
    } else {
        "next read: NOT end of data"
    });
    let summary = DemoSummary {
        vtl: dir.clone(),
        device,
        barcode: BARCODE.into(),
        record_size: RECORD,
        bytes_written: written,
        bytes_verified: verified,
        end_of_data_after_last_file: eod,
        files,
        seconds: start.elapsed().as_secs_f64(),
    };
    if !eod {
        return Err(DemoError::Mismatch {
            file: FILE_SIZES.len(),
            detail: "data found after the last file".into(),
        });
    }
    say(&format!(
        "OK: {} files, {} bytes written and verified in {:.2} s",
        summary.files.len(),
        summary.bytes_verified,
        summary.seconds
    ));
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_runs_and_verifies() {
        let d = tempfile::tempdir().unwrap();
        let mut lines = Vec::new();
        let s = run(Some(&d.path().join("v")), &mut |l| {
            lines.push(l.to_string())
        })
        .unwrap();
        assert_eq!(s.files.len(), FILE_SIZES.len());
        assert!(s.files.iter().all(|f| f.verified));
        assert_eq!(
            s.bytes_verified,
            FILE_SIZES.iter().map(|&n| n as u64).sum::<u64>()
        );
        assert!(s.end_of_data_after_last_file);
        // Each file ends after its filemark: file i+1, block 0.
        for (i, f) in s.files.iter().enumerate() {
            assert_eq!(f.after_write.file, Some(i as u64 + 1));
            assert_eq!(f.after_write.block_in_file, Some(0));
        }
        // 4096 B = 1 record; 3 records + partial; empty; 8 MiB = 32 records.
        let records: Vec<u64> = s.files.iter().map(|f| f.records).collect();
        assert_eq!(records, vec![1, 4, 0, 32]);
        assert_eq!(
            s.files[3].after_write.logical_block,
            Some(1 + 1 + 4 + 1 + 1 + 32 + 1)
        );
        assert!(lines.last().unwrap().starts_with("OK: 4 files"));
        // The directory holds a VTL: a second demo there is refused.
        assert!(run(Some(&d.path().join("v")), &mut |_| {}).is_err());
    }
}

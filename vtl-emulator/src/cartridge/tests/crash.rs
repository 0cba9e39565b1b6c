//! Crash safety: torn tails at every byte offset, torn index files, and a
//! writer process killed with SIGKILL.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::super::*;
use super::basic::spec;

/// Big records for the kill test, small ones where every byte offset is tried.
const BIG: u64 = 3000;
const SMALL: u64 = 40;

/// Deterministic object `j` of the test tapes (records up to `max`
/// bytes): `None` = filemark.
fn expected(j: u64, max: u64) -> Option<Vec<u8>> {
    if j % 11 == 10 {
        return None;
    }
    let len = ((j * 7919) % max + 1) as usize;
    Some(
        (0..len)
            .map(|i| (j as usize * 31 + i * 7 + i / 64) as u8)
            .collect(),
    )
}

fn write_object(c: &mut Cartridge, j: u64, max: u64) {
    match expected(j, max) {
        None => {
            c.write_filemarks(1).unwrap();
        }
        Some(d) => {
            c.write(&d, j.is_multiple_of(3)).unwrap();
        }
    }
}

/// Reads the whole partition and checks every object against `expected`.
fn verify_all(c: &mut Cartridge, max: u64) -> u64 {
    c.rewind();
    let mut buf = vec![0u8; 4096];
    let mut j = 0;
    loop {
        match c.read(&mut buf).unwrap() {
            ReadRecord::EndOfData => return j,
            ReadRecord::Filemark => assert_eq!(expected(j, max), None, "object {j}"),
            ReadRecord::Data { len, copied } => {
                assert_eq!(len, copied);
                assert_eq!(Some(buf[..len].to_vec()), expected(j, max), "object {j}");
            }
        }
        j += 1;
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

fn truncate(path: &Path, len: u64) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len)
        .unwrap();
}

/// Two synced batches, then an unsynced third; abandoned like a crash.
/// Returns the data-file end offset after each object.
fn crashed_cartridge(path: &Path) -> Vec<u64> {
    let mut c = Cartridge::create(path, &spec(1 << 24)).unwrap();
    let mut ends = Vec::new();
    for j in 0..40 {
        write_object(&mut c, j, SMALL);
        ends.push(c.parts[0].end);
        if j == 19 || j == 29 {
            c.sync().unwrap();
        }
    }
    c.abandon();
    ends
}

#[test]
fn torn_data_tail_at_every_byte_offset() {
    let dir = tempfile::tempdir().unwrap();
    let orig = dir.path().join("orig");
    let ends = crashed_cartridge(&orig);
    let full = *ends.last().unwrap();
    assert_eq!(std::fs::metadata(orig.join("p0.data")).unwrap().len(), full);
    // Every offset, including ones inside the synced part (a damaged
    // medium): the cartridge must come back as the longest valid prefix.
    let start = ends[25] - 10;
    for len in start..=full {
        let work = dir.path().join(format!("w{len}"));
        copy_dir(&orig, &work);
        truncate(&work.join("p0.data"), len);
        let mut c = Cartridge::open(&work).unwrap();
        let complete = ends.iter().filter(|&&e| e <= len).count() as u64;
        assert_eq!(c.eod_block(0), Some(complete), "data cut at {len}");
        assert_eq!(verify_all(&mut c, SMALL), complete);
        if len % 10 != 0 {
            c.abandon();
            std::fs::remove_dir_all(&work).unwrap();
            continue;
        }
        // The recovered cartridge takes new writes and reopens the same.
        c.space_to_eod().unwrap();
        write_object(&mut c, complete, SMALL);
        c.close().unwrap();
        let mut c = Cartridge::open(&work).unwrap();
        assert_eq!(
            verify_all(&mut c, SMALL),
            complete + 1,
            "data cut at {len}, after append"
        );
        drop(c);
        std::fs::remove_dir_all(&work).unwrap();
    }
}

#[test]
fn garbage_tail_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let orig = dir.path().join("orig");
    let ends = crashed_cartridge(&orig);
    let full = *ends.last().unwrap();
    // Flip one byte in each unsynced record in turn: that record and all
    // after it go; everything before it stays.
    for (j, &end) in ends.iter().enumerate().skip(30) {
        let work = dir.path().join(format!("g{j}"));
        copy_dir(&orig, &work);
        let mut data = std::fs::read(work.join("p0.data")).unwrap();
        data[(end - 1) as usize] ^= 0x40;
        std::fs::write(work.join("p0.data"), &data).unwrap();
        let mut c = Cartridge::open(&work).unwrap();
        assert_eq!(c.eod_block(0), Some(j as u64), "corrupted object {j}");
        assert_eq!(verify_all(&mut c, SMALL), j as u64);
        drop(c);
        std::fs::remove_dir_all(&work).unwrap();
    }
    // Zeroes appended after a crash (extended file, lost data).
    let work = dir.path().join("zeros");
    copy_dir(&orig, &work);
    truncate(&work.join("p0.data"), full + 4096);
    let mut c = Cartridge::open(&work).unwrap();
    assert_eq!(verify_all(&mut c, SMALL), 40);
}

#[test]
fn torn_index_at_every_byte_offset() {
    let dir = tempfile::tempdir().unwrap();
    let orig = dir.path().join("orig");
    let mut c = Cartridge::create(&orig, &spec(1 << 24)).unwrap();
    for j in 0..150 {
        write_object(&mut c, j, SMALL);
        if j % 40 == 39 {
            c.sync().unwrap();
        }
    }
    c.sync().unwrap();
    c.abandon();
    let index_len = std::fs::metadata(orig.join("p0.index")).unwrap().len();
    for len in 0..=index_len {
        let work = dir.path().join(format!("i{len}"));
        copy_dir(&orig, &work);
        truncate(&work.join("p0.index"), len);
        if len < 32 {
            // No file header: not a cartridge index.
            let err = Cartridge::open(&work).unwrap_err();
            assert!(err.to_string().contains("p0.index"), "{err}");
        } else {
            // The data is intact, so whatever the index lost is rescanned.
            let mut c = Cartridge::open(&work).unwrap();
            assert_eq!(c.eod_block(0), Some(150), "index cut at {len}");
            c.locate(0, 149).unwrap();
            c.locate(0, 3).unwrap();
            assert_eq!(c.position().file, 0);
            assert_eq!(verify_all(&mut c, SMALL), 150);
        }
        std::fs::remove_dir_all(&work).unwrap();
    }
}

#[test]
fn synced_data_is_trusted_on_open_not_rescanned() {
    // A bit flip inside a synced record is not a torn tail: open keeps
    // it (no rescan of synced data) and reading it reports the CRC error.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c");
    let mut c = Cartridge::create(&path, &spec(1 << 20)).unwrap();
    c.write(&[1u8; 100], false).unwrap();
    c.write(&[2u8; 100], false).unwrap();
    c.write(&[3u8; 100], false).unwrap();
    c.close().unwrap();
    let mut data = std::fs::read(path.join("p0.data")).unwrap();
    let second_record_data = 32 + (32 + 100) + 32 + 50;
    data[second_record_data] ^= 1;
    std::fs::write(path.join("p0.data"), &data).unwrap();
    let mut c = Cartridge::open(&path).unwrap();
    assert_eq!(c.eod_block(0), Some(3));
    let mut buf = [0u8; 200];
    assert_eq!(
        c.read(&mut buf).unwrap(),
        ReadRecord::Data {
            len: 100,
            copied: 100
        }
    );
    assert!(matches!(
        c.read(&mut buf),
        Err(CartridgeError::CrcMismatch { block: 1 })
    ));
    // Reading goes on after the bad record.
    assert_eq!(
        c.read(&mut buf).unwrap(),
        ReadRecord::Data {
            len: 100,
            copied: 100
        }
    );
    assert_eq!(buf[0], 3);
}

const CHILD_ENV: &str = "REEL_CARTRIDGE_CRASH_CHILD_DIR";

/// Not a test of its own: the body of the writer process that
/// `sigkill_mid_write_keeps_synced_data` starts (it re-executes this test
/// binary with only this test selected). Without the variable it returns.
#[test]
fn crash_child_writer() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let path = Path::new(&dir);
    let mut c = if path.join("cartridge.json").exists() {
        Cartridge::open(path).unwrap()
    } else {
        Cartridge::create(path, &spec(1 << 30)).unwrap()
    };
    c.space_to_eod().unwrap();
    let mut j = c.position().block;
    loop {
        write_object(&mut c, j, BIG);
        j += 1;
        if expected(j - 1, BIG).is_none() {
            // A synchronous WRITE FILEMARKS: acknowledged only after sync.
            c.sync().unwrap();
            println!("synced {j}");
        }
        assert!(j < 1_000_000, "parent did not kill the writer");
    }
}

#[test]
fn sigkill_mid_write_keeps_synced_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c");
    let exe = std::env::current_exe().unwrap();
    let mut acknowledged = 0;
    // Several rounds: each child recovers what the previous one left.
    for round in 0..3u64 {
        let mut child = Command::new(&exe)
            .args([
                "cartridge::tests::crash::crash_child_writer",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let started = Instant::now();
        let mut syncs = 0;
        // Let it get a few syncs (plus some unsynced writes) done, then kill.
        while syncs < 5 + round * 3 {
            let line = lines.next().expect("writer exited early").unwrap();
            if let Some(n) = line.strip_prefix("synced ") {
                let n: u64 = n.parse().unwrap();
                assert!(n >= acknowledged);
                acknowledged = n;
                syncs += 1;
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "writer too slow"
            );
        }
        std::thread::sleep(Duration::from_millis(3 + round * 7));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // Drain what it printed before dying: those syncs were acknowledged too.
        for line in lines.map_while(Result::ok) {
            if let Some(n) = line.strip_prefix("synced ") {
                acknowledged = n.parse().unwrap();
            }
        }
        let mut c = Cartridge::open(&path).unwrap();
        let eod = c.eod_block(0).unwrap();
        assert!(
            eod >= acknowledged,
            "round {round}: eod {eod} < acknowledged {acknowledged}"
        );
        assert_eq!(verify_all(&mut c, BIG), eod);
    }
}

//! Fuzzes the drive's CDB dispatcher: the input is a series of commands
//! (CDB, data-out, data-in length) run against one drive holding a small
//! cartridge. Any panic is a bug; every response must be GOOD or CHECK
//! CONDITION with 18 bytes of fixed-format sense.

#![no_main]

use std::sync::{Mutex, OnceLock};

use libfuzzer_sys::fuzz_target;
use reel_drivers::scsi::transport::ScsiStatus;
use reel_vtl::cartridge::{Cartridge, CartridgeSpec, Generation};
use reel_vtl::drive::{Drive, DriveConfig};

struct Fixture {
    _dir: tempfile::TempDir,
    drive: Mutex<Drive>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let spec = CartridgeSpec {
            capacity: 4 << 20,
            ..CartridgeSpec::new("FUZZ02L8", Generation::Lto8)
        };
        let cart = Cartridge::create(&dir.path().join("c"), &spec).expect("create");
        let mut d = Drive::new(DriveConfig::ibm(Generation::Lto8, "FUZZ0001"));
        d.insert(cart).expect("insert");
        Fixture {
            _dir: dir,
            drive: Mutex::new(d),
        }
    })
}

/// Takes `n` bytes from the front of `input`.
fn take<'a>(input: &mut &'a [u8], n: usize) -> &'a [u8] {
    let n = n.min(input.len());
    let (head, tail) = input.split_at(n);
    *input = tail;
    head
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let mut d = f.drive.lock().unwrap_or_else(|p| p.into_inner());
    let mut input = data;
    while !input.is_empty() {
        let cdb_len = usize::from(take(&mut input, 1).first().copied().unwrap_or(0) % 17);
        let cdb = take(&mut input, cdb_len).to_vec();
        let lens = take(&mut input, 4);
        let out_len = usize::from(u16::from_be_bytes([
            lens.first().copied().unwrap_or(0),
            lens.get(1).copied().unwrap_or(0),
        ])) % 4096;
        let in_len = usize::from(u16::from_be_bytes([
            lens.get(2).copied().unwrap_or(0),
            lens.get(3).copied().unwrap_or(0),
        ])) % 4096;
        let out = take(&mut input, out_len).to_vec();
        let mut buf = vec![0u8; in_len];
        let r = d.execute(1, &cdb, &out, &mut buf);
        assert!(r.data_in_len <= in_len);
        match r.status {
            ScsiStatus::GOOD => assert!(r.sense.is_empty()),
            ScsiStatus::CHECK_CONDITION => {
                assert_eq!(r.sense.len(), 18);
                assert_eq!(r.sense[0] & 0x7f, 0x70);
            }
            s => panic!("unexpected status {s:?}"),
        }
    }
});

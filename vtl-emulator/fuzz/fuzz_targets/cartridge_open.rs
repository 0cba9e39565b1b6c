//! Fuzzes the cartridge reader: the input replaces one file of a valid
//! cartridge (data, index or metadata), then the cartridge is opened and
//! read, positioned and appended to. Any panic is a bug; errors are fine.

#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use reel_vtl::cartridge::{Cartridge, CartridgeSpec, Generation, ReadRecord};

struct Fixture {
    _dir: tempfile::TempDir,
    template: PathBuf,
    work: PathBuf,
}

const FILES: [&str; 3] = ["p0.data", "p0.index", "cartridge.json"];

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let template = dir.path().join("template");
        let spec = CartridgeSpec {
            capacity: 1 << 20,
            ..CartridgeSpec::new("FUZZ01L8", Generation::Lto8)
        };
        let mut c = Cartridge::create(&template, &spec).expect("create");
        for i in 0u8..40 {
            if i % 7 == 6 {
                c.write_filemarks(1).expect("filemark");
            } else {
                c.write(&vec![i; usize::from(i) * 5 + 1], i % 2 == 0).expect("write");
            }
            if i == 20 {
                c.sync().expect("sync");
            }
        }
        c.close().expect("close");
        let work = dir.path().join("work");
        Fixture { _dir: dir, template, work }
    })
}

fn reset(f: &Fixture) {
    let _ = std::fs::remove_dir_all(&f.work);
    std::fs::create_dir_all(&f.work).expect("mkdir");
    for name in FILES {
        std::fs::copy(f.template.join(name), f.work.join(name)).expect("copy");
    }
}

fn exercise(path: &Path) {
    let Ok(mut c) = Cartridge::open(path) else { return };
    let mut buf = vec![0u8; 128];
    for _ in 0..100 {
        match c.read(&mut buf) {
            Ok(ReadRecord::EndOfData) => break,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    let _ = c.locate(0, 17);
    let _ = c.space_filemarks(-2);
    let _ = c.space_blocks(3);
    let _ = c.space_blocks(-40);
    let _ = c.space_to_eod();
    let _ = c.write(b"appended after recovery", true);
    let _ = c.close();
    // What recovery and the append left behind must open again.
    if let Ok(mut c) = Cartridge::open(path) {
        let _ = c.read(&mut buf);
        c.abandon();
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&selector, body)) = input.split_first() else { return };
    let f = fixture();
    reset(f);
    let file = f.work.join(FILES[usize::from(selector % 3)]);
    let bytes = if selector & 0x40 != 0 {
        // Patches to the valid file, so short inputs reach deep: each
        // 3-byte group is (offset u16 LE, xor), an offset past the end
        // truncates the file there.
        let mut b = std::fs::read(&file).expect("read");
        for p in body.chunks_exact(3) {
            let at = usize::from(u16::from_le_bytes([p[0], p[1]]));
            match b.get_mut(at) {
                Some(x) => *x ^= p[2],
                None => b.truncate(at % (b.len() + 1)),
            }
        }
        b
    } else if selector & 0x80 != 0 || selector % 3 == 2 {
        // The whole file.
        body.to_vec()
    } else {
        // Keep the valid 32-byte file header; the input is what follows.
        let mut b = std::fs::read(&file).expect("read");
        b.truncate(32);
        b.extend_from_slice(body);
        b
    };
    std::fs::write(&file, &bytes).expect("write");
    exercise(&f.work);
});

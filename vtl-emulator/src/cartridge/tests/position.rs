//! Position semantics (SSC SPACE/LOCATE/READ), overwrite, WORM,
//! write-protect, capacity zones, compression, partitions, MAM.

use super::super::*;
use super::basic::{new_cart, spec};

/// Objects: R0 R1 FM2 R3 R4 FM5 FM6 R7, EOD at 8. Record `n` holds `[n; n+1]`.
fn fixture() -> (tempfile::TempDir, Cartridge) {
    let (dir, mut c) = new_cart(spec(1 << 20));
    for obj in 0u8..8 {
        if [2, 5, 6].contains(&obj) {
            c.write_filemarks(1).unwrap();
        } else {
            c.write(&vec![obj; usize::from(obj) + 1], false).unwrap();
        }
    }
    (dir, c)
}

fn at(c: &mut Cartridge, block: u64) {
    assert_eq!(c.locate(0, block).unwrap(), SpaceResult::Done);
    assert_eq!(c.position().block, block);
}

#[test]
fn space_blocks_forward() {
    let (_d, mut c) = fixture();
    c.rewind();
    assert_eq!(c.space_blocks(1).unwrap(), SpaceResult::Done);
    assert_eq!(
        c.position(),
        TapePosition {
            partition: 0,
            block: 1,
            file: 0
        }
    );
    // From BOP, 5 blocks: 2 spaced, then the filemark stops it; after it.
    at(&mut c, 0);
    assert_eq!(
        c.space_blocks(5).unwrap(),
        SpaceResult::Filemark { remaining: 3 }
    );
    assert_eq!(
        c.position(),
        TapePosition {
            partition: 0,
            block: 3,
            file: 1
        }
    );
    at(&mut c, 3);
    assert_eq!(c.space_blocks(2).unwrap(), SpaceResult::Done);
    assert_eq!(c.position().block, 5);
    at(&mut c, 3);
    assert_eq!(
        c.space_blocks(3).unwrap(),
        SpaceResult::Filemark { remaining: 1 }
    );
    assert_eq!(
        c.position(),
        TapePosition {
            partition: 0,
            block: 6,
            file: 2
        }
    );
    // A filemark right at the position: nothing spaced.
    assert_eq!(
        c.space_blocks(4).unwrap(),
        SpaceResult::Filemark { remaining: 4 }
    );
    assert_eq!(c.position().block, 7);
    assert_eq!(
        c.space_blocks(2).unwrap(),
        SpaceResult::EndOfData { remaining: 1 }
    );
    assert_eq!(c.position().block, 8);
    assert!(c.at_eod());
    assert_eq!(
        c.space_blocks(1).unwrap(),
        SpaceResult::EndOfData { remaining: 1 }
    );
    assert_eq!(c.space_blocks(0).unwrap(), SpaceResult::Done);
    assert_eq!(c.position().block, 8);
}

#[test]
fn space_blocks_backward() {
    let (_d, mut c) = fixture();
    at(&mut c, 5);
    assert_eq!(c.space_blocks(-2).unwrap(), SpaceResult::Done);
    assert_eq!(c.position().block, 3);
    at(&mut c, 5);
    // R4, R3, then FM2 stops it on its BOP side.
    assert_eq!(
        c.space_blocks(-3).unwrap(),
        SpaceResult::Filemark { remaining: 1 }
    );
    assert_eq!(
        c.position(),
        TapePosition {
            partition: 0,
            block: 2,
            file: 0
        }
    );
    at(&mut c, 3);
    assert_eq!(
        c.space_blocks(-1).unwrap(),
        SpaceResult::Filemark { remaining: 1 }
    );
    assert_eq!(c.position().block, 2);
    assert_eq!(
        c.space_blocks(-5).unwrap(),
        SpaceResult::BeginningOfPartition { remaining: 3 }
    );
    assert!(c.at_bop());
    assert_eq!(
        c.space_blocks(-1).unwrap(),
        SpaceResult::BeginningOfPartition { remaining: 1 }
    );
    assert!(c.at_bop());
    at(&mut c, 8);
    assert_eq!(c.space_blocks(-1).unwrap(), SpaceResult::Done);
    assert_eq!(c.position().block, 7);
}

#[test]
fn space_filemarks_both_ways() {
    let (_d, mut c) = fixture();
    for (n, block, file) in [(1, 3, 1), (2, 6, 2), (3, 7, 3)] {
        c.rewind();
        assert_eq!(c.space_filemarks(n).unwrap(), SpaceResult::Done);
        assert_eq!(
            c.position(),
            TapePosition {
                partition: 0,
                block,
                file
            }
        );
    }
    c.rewind();
    assert_eq!(
        c.space_filemarks(4).unwrap(),
        SpaceResult::EndOfData { remaining: 1 }
    );
    assert_eq!(c.position().block, 8);
    for (n, block) in [(-1, 6), (-2, 5), (-3, 2)] {
        c.space_to_eod().unwrap();
        assert_eq!(c.space_filemarks(n).unwrap(), SpaceResult::Done);
        assert_eq!(c.position().block, block, "space_filemarks({n}) from EOD");
    }
    c.space_to_eod().unwrap();
    assert_eq!(
        c.space_filemarks(-4).unwrap(),
        SpaceResult::BeginningOfPartition { remaining: 1 }
    );
    assert!(c.at_bop());
    // From between the two adjacent filemarks.
    at(&mut c, 6);
    assert_eq!(c.space_filemarks(-1).unwrap(), SpaceResult::Done);
    assert_eq!(c.position().block, 5);
    at(&mut c, 6);
    assert_eq!(c.space_filemarks(1).unwrap(), SpaceResult::Done);
    assert_eq!(c.position().block, 7);
    assert_eq!(c.space_filemarks(0).unwrap(), SpaceResult::Done);
    assert_eq!(c.position().block, 7);
}

#[test]
fn locate_and_read_after_positioning() {
    let (_d, mut c) = fixture();
    let mut buf = [0u8; 16];
    for b in [4u64, 0, 7, 3, 1] {
        at(&mut c, b);
        assert_eq!(
            c.read(&mut buf).unwrap(),
            ReadRecord::Data {
                len: b as usize + 1,
                copied: b as usize + 1
            }
        );
        assert!(buf[..=b as usize].iter().all(|&x| x == b as u8));
    }
    at(&mut c, 5);
    assert_eq!(c.read(&mut buf).unwrap(), ReadRecord::Filemark);
    assert_eq!(c.read(&mut buf).unwrap(), ReadRecord::Filemark);
    assert_eq!(
        c.position(),
        TapePosition {
            partition: 0,
            block: 7,
            file: 3
        }
    );
    assert_eq!(c.locate(0, 8).unwrap(), SpaceResult::Done);
    assert_eq!(c.read(&mut buf).unwrap(), ReadRecord::EndOfData);
    assert_eq!(c.position().block, 8, "EOD does not advance");
    assert_eq!(
        c.locate(0, 20).unwrap(),
        SpaceResult::EndOfData { remaining: 12 }
    );
    assert_eq!(c.position().block, 8);
    assert!(matches!(
        c.locate(1, 0),
        Err(CartridgeError::NoSuchPartition { partition: 1 })
    ));
}

#[test]
fn short_and_long_reads_report_true_length() {
    let (_d, mut c) = new_cart(spec(1 << 20));
    c.write(&[1u8; 100], false).unwrap();
    c.write(&[2u8; 100], true).unwrap();
    c.rewind();
    let mut small = [0u8; 10];
    assert_eq!(
        c.read(&mut small).unwrap(),
        ReadRecord::Data {
            len: 100,
            copied: 10
        }
    );
    assert_eq!(small, [1u8; 10]);
    assert_eq!(
        c.read(&mut small).unwrap(),
        ReadRecord::Data {
            len: 100,
            copied: 10
        }
    );
    assert_eq!(small, [2u8; 10]);
    c.rewind();
    let mut big = [0u8; 1000];
    assert_eq!(
        c.read(&mut big).unwrap(),
        ReadRecord::Data {
            len: 100,
            copied: 100
        }
    );
}

#[test]
fn many_records_locate_with_index_and_after_reopen() {
    let (dir, mut c) = new_cart(spec(64 << 20));
    let mut kinds = Vec::new();
    for i in 0u32..1000 {
        if i % 13 == 12 {
            c.write_filemarks(1).unwrap();
            kinds.push(None);
        } else {
            let len = (i as usize * 37) % 300 + 4;
            let mut v = vec![(i % 251) as u8; len];
            v[..4].copy_from_slice(&i.to_le_bytes());
            c.write(&v, i % 3 == 0).unwrap();
            kinds.push(Some(len));
        }
    }
    c.sync().unwrap();
    let check = |c: &mut Cartridge| {
        let mut buf = vec![0u8; 400];
        for b in [0u64, 999, 500, 31, 32, 33, 64, 777, 12, 13, 1] {
            c.locate(0, b).unwrap();
            let fm_before = kinds[..b as usize].iter().filter(|k| k.is_none()).count() as u64;
            assert_eq!(c.position().file, fm_before);
            match (c.read(&mut buf).unwrap(), kinds[b as usize]) {
                (ReadRecord::Data { len, .. }, Some(l)) => {
                    assert_eq!(len, l);
                    assert_eq!(u32::from_le_bytes(buf[..4].try_into().unwrap()), b as u32);
                }
                (ReadRecord::Filemark, None) => {}
                other => panic!("block {b}: {other:?}"),
            }
        }
        c.rewind();
        assert_eq!(c.space_filemarks(40).unwrap(), SpaceResult::Done);
        assert_eq!(c.position().block, 40 * 13);
    };
    check(&mut c);
    c.close().unwrap();
    let mut c = Cartridge::open(&dir.path().join("c")).unwrap();
    assert_eq!(c.eod_block(0), Some(1000));
    check(&mut c);
}

#[test]
fn overwrite_in_the_middle_truncates() {
    let (dir, mut c) = new_cart(spec(1 << 20));
    for i in 0u8..10 {
        c.write(&[i; 50], false).unwrap();
    }
    c.write_filemarks(2).unwrap();
    c.sync().unwrap();
    c.locate(0, 4).unwrap();
    c.write(b"new", false).unwrap();
    assert_eq!(c.eod_block(0), Some(5));
    assert!(c.at_eod());
    assert_eq!(c.usage().written_bytes_native, 4 * (32 + 50) + 32 + 3);
    c.close().unwrap();
    let mut c = Cartridge::open(&dir.path().join("c")).unwrap();
    assert_eq!(c.eod_block(0), Some(5));
    let mut buf = [0u8; 64];
    for i in 0u8..4 {
        assert_eq!(
            c.read(&mut buf).unwrap(),
            ReadRecord::Data {
                len: 50,
                copied: 50
            }
        );
        assert_eq!(buf[0], i);
    }
    assert_eq!(
        c.read(&mut buf).unwrap(),
        ReadRecord::Data { len: 3, copied: 3 }
    );
    assert_eq!(&buf[..3], b"new");
    assert_eq!(c.read(&mut buf).unwrap(), ReadRecord::EndOfData);
    // Filemarks and erase truncate too.
    c.locate(0, 2).unwrap();
    c.write_filemarks(1).unwrap();
    assert_eq!(c.eod_block(0), Some(3));
    c.locate(0, 1).unwrap();
    c.erase_from_here().unwrap();
    assert_eq!(c.eod_block(0), Some(1));
    assert_eq!(c.position().file, 0);
    c.close().unwrap();
    let c = Cartridge::open(&dir.path().join("c")).unwrap();
    assert_eq!(c.eod_block(0), Some(1));
}

#[test]
fn worm_is_append_only() {
    let mut s = spec(1 << 20);
    s.worm = true;
    let (dir, mut c) = new_cart(s);
    for i in 0u8..3 {
        c.write(&[i; 10], false).unwrap();
    }
    c.write_filemarks(2).unwrap();
    c.locate(0, 1).unwrap();
    assert!(matches!(
        c.write(b"x", false),
        Err(CartridgeError::WormOverwrite)
    ));
    assert!(matches!(
        c.write_filemarks(1),
        Err(CartridgeError::WormOverwrite)
    ));
    assert!(matches!(
        c.erase_from_here(),
        Err(CartridgeError::WormOverwrite)
    ));
    assert_eq!(c.eod_block(0), Some(5), "refusals change nothing");
    c.rewind();
    assert!(matches!(
        c.write(b"x", false),
        Err(CartridgeError::WormOverwrite)
    ));
    // Only filemarks between here and EOD: appending over them is allowed.
    c.locate(0, 4).unwrap();
    c.write(b"appended", false).unwrap();
    assert_eq!(c.eod_block(0), Some(5));
    c.write(b"more", false).unwrap();
    c.erase_from_here().unwrap(); // at EOD: nothing to erase
    c.close().unwrap();
    let mut c = Cartridge::open(&dir.path().join("c")).unwrap();
    assert!(c.spec().worm);
    c.locate(0, 0).unwrap();
    assert!(matches!(
        c.write(b"x", false),
        Err(CartridgeError::WormOverwrite)
    ));
}

#[test]
fn write_protect_refuses_writes_and_persists() {
    let (dir, mut c) = new_cart(spec(1 << 20));
    c.write(b"data", false).unwrap();
    c.set_write_protected(true).unwrap();
    c.rewind();
    assert!(matches!(
        c.write(b"x", false),
        Err(CartridgeError::WriteProtected)
    ));
    assert!(matches!(
        c.write_filemarks(1),
        Err(CartridgeError::WriteProtected)
    ));
    assert!(matches!(
        c.erase_from_here(),
        Err(CartridgeError::WriteProtected)
    ));
    assert!(matches!(
        c.set_attribute(0x0803, b"label".to_vec()),
        Err(CartridgeError::WriteProtected)
    ));
    let mut buf = [0u8; 8];
    assert_eq!(
        c.read(&mut buf).unwrap(),
        ReadRecord::Data { len: 4, copied: 4 }
    );
    c.note_load().unwrap();
    drop(c);
    let mut c = Cartridge::open(&dir.path().join("c")).unwrap();
    assert!(c.write_protected());
    assert_eq!(c.load_count(), 1);
    c.set_write_protected(false).unwrap();
    c.space_to_eod().unwrap();
    c.write(b"ok", false).unwrap();
}

#[test]
fn early_warning_pew_and_volume_overflow() {
    // Capacity 100000: EW at 98000 used bytes, PEW 10000 before that.
    let (dir, mut c) = new_cart(spec(100_000));
    c.set_pew_size(10_000);
    let rec = [0x55u8; 1000]; // 1032 bytes on the medium
    for k in 1..=96u64 {
        let st = c.write(&rec, false).unwrap();
        let used = k * 1032;
        assert_eq!(c.usage().written_bytes_native, used);
        assert_eq!(st.programmable_early_warning, used >= 88_000, "record {k}");
        assert_eq!(st.early_warning, used >= 98_000, "record {k}");
    }
    // 96 * 1032 = 99072; one more record would end at 100104.
    assert!(matches!(
        c.write(&rec, false),
        Err(CartridgeError::VolumeOverflow)
    ));
    assert_eq!(c.eod_block(0), Some(96));
    let st = c.write_filemarks(1).unwrap();
    assert!(st.early_warning && st.programmable_early_warning);
    assert_eq!(c.usage().remaining, 100_000 - 99_104);
    // Room for exactly 896 = 32 + 864 more bytes.
    assert!(matches!(
        c.write(&[1u8; 865], false),
        Err(CartridgeError::VolumeOverflow)
    ));
    c.write(&[1u8; 864], false).unwrap();
    assert_eq!(c.usage().remaining, 0);
    assert!(matches!(
        c.write_filemarks(1),
        Err(CartridgeError::VolumeOverflow)
    ));
    // Rewriting from BOP clears the warnings.
    c.rewind();
    assert_eq!(c.write(&rec, false).unwrap(), WriteState::default());
    c.close().unwrap();
    let c = Cartridge::open(&dir.path().join("c")).unwrap();
    assert_eq!(c.usage().written_bytes_native, 1032);
}

#[test]
fn zone_follows_the_position_not_the_last_write() {
    // Capacity 100000: EW at 98000 bytes, PEW 10000 before it (88000).
    // Each record takes 1032 bytes, so block k starts at byte k * 1032:
    // block 86 (88752) is the first in PEW, block 95 (98040) the first in EW.
    let (dir, mut c) = new_cart(spec(100_000));
    c.set_pew_size(10_000);
    let rec = [0x55u8; 1000];
    for _ in 0..96 {
        let st = c.write(&rec, false).unwrap();
        // After a write the position is end of data: the two views agree.
        assert_eq!(c.zone(), st);
    }
    let both = WriteState {
        early_warning: true,
        programmable_early_warning: true,
    };
    let pew_only = WriteState {
        early_warning: false,
        programmable_early_warning: true,
    };
    assert_eq!(c.zone(), both);
    c.rewind();
    assert_eq!(c.zone(), WriteState::default());
    for (block, want) in [
        (85, WriteState::default()),
        (86, pew_only),
        (94, pew_only),
        (95, both),
        (96, both),
    ] {
        at(&mut c, block);
        assert_eq!(c.zone(), want, "block {block}");
    }
    // SPACE forward and READ into the zone, SPACE backward out of it.
    at(&mut c, 90);
    assert_eq!(c.space_blocks(5).unwrap(), SpaceResult::Done);
    assert_eq!(c.zone(), both);
    assert_eq!(c.space_blocks(-1).unwrap(), SpaceResult::Done);
    assert_eq!(c.zone(), pew_only);
    let mut buf = [0u8; 1000];
    c.read(&mut buf).unwrap();
    assert_eq!(c.position().block, 95);
    assert_eq!(c.zone(), both);
    // Reopened (as after a library restart): BOP, then back into the zone.
    c.close().unwrap();
    let mut c = Cartridge::open(&dir.path().join("c")).unwrap();
    assert_eq!(c.zone(), WriteState::default());
    at(&mut c, 95);
    // PEW is a drive setting and was not persisted; EW is the medium's.
    assert_eq!(
        c.zone(),
        WriteState {
            early_warning: true,
            programmable_early_warning: false
        }
    );
    c.set_pew_size(10_000);
    assert_eq!(c.zone(), both);
    at(&mut c, 94);
    assert_eq!(c.zone(), pew_only);
}

#[test]
fn compression_counts_stored_bytes() {
    let (_d, mut c) = new_cart(spec(1 << 20));
    let zeros = vec![0u8; 65536];
    c.write(&zeros, true).unwrap();
    let u = c.usage();
    assert!(
        u.written_bytes_native < 1024,
        "compressed to {}",
        u.written_bytes_native
    );
    assert_eq!(u.host_bytes_written, 65536);
    assert_eq!(u.remaining, u.capacity - u.written_bytes_native);
    // Incompressible data is stored as is even when compression is on.
    let mut noise = vec![0u8; 4096];
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for b in &mut noise {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    let before = c.usage().written_bytes_native;
    c.write(&noise, true).unwrap();
    assert_eq!(c.usage().written_bytes_native - before, 32 + 4096);
    // Uncompressed zeros cost their full size.
    let before = c.usage().written_bytes_native;
    c.write(&zeros, false).unwrap();
    assert_eq!(c.usage().written_bytes_native - before, 32 + 65536);
    c.rewind();
    let mut buf = vec![0xFFu8; 70000];
    assert_eq!(
        c.read(&mut buf).unwrap(),
        ReadRecord::Data {
            len: 65536,
            copied: 65536
        }
    );
    assert!(buf[..65536].iter().all(|&b| b == 0));
    assert_eq!(
        c.read(&mut buf).unwrap(),
        ReadRecord::Data {
            len: 4096,
            copied: 4096
        }
    );
    assert_eq!(&buf[..4096], &noise[..]);
    assert_eq!(c.usage().host_bytes_read, 65536 + 4096);
}

#[test]
fn partitions_are_independent() {
    let mut s = spec(400_000);
    s.partitions = 2;
    let (dir, mut c) = new_cart(s);
    assert_eq!(c.partition_capacity(0), Some(200_000));
    assert_eq!(c.partition_capacity(1), Some(200_000));
    c.write(b"p0-a", false).unwrap();
    c.write(b"p0-b", false).unwrap();
    assert_eq!(c.locate(1, 0).unwrap(), SpaceResult::Done);
    c.write(b"p1-a", false).unwrap();
    c.write_filemarks(1).unwrap();
    assert_eq!(
        c.position(),
        TapePosition {
            partition: 1,
            block: 2,
            file: 1
        }
    );
    assert_eq!(c.usage().capacity, 200_000);
    c.close().unwrap();
    let mut c = Cartridge::open(&dir.path().join("c")).unwrap();
    assert_eq!((c.eod_block(0), c.eod_block(1)), (Some(2), Some(2)));
    let mut buf = [0u8; 8];
    c.locate(1, 0).unwrap();
    assert_eq!(
        c.read(&mut buf).unwrap(),
        ReadRecord::Data { len: 4, copied: 4 }
    );
    assert_eq!(&buf[..4], b"p1-a");
    c.rewind();
    assert_eq!(c.position().partition, 0);
    assert_eq!(
        c.read(&mut buf).unwrap(),
        ReadRecord::Data { len: 4, copied: 4 }
    );
    assert_eq!(&buf[..4], b"p0-a");
}

#[test]
fn mam_attributes_and_load_count_persist() {
    let (dir, mut c) = new_cart(spec(1 << 20));
    c.set_attribute(0x0803, b"my label".to_vec()).unwrap();
    c.set_attribute(0x0806, b"TST001L8".to_vec()).unwrap();
    c.note_load().unwrap();
    c.note_load().unwrap();
    drop(c);
    let mut c = Cartridge::open(&dir.path().join("c")).unwrap();
    assert_eq!(
        c.attributes().get(&0x0803).map(Vec::as_slice),
        Some(&b"my label"[..])
    );
    assert_eq!(c.load_count(), 2);
    c.set_attribute(0x0803, Vec::new()).unwrap();
    drop(c);
    let c = Cartridge::open(&dir.path().join("c")).unwrap();
    assert!(!c.attributes().contains_key(&0x0803));
    assert!(c.attributes().contains_key(&0x0806));
}

#[test]
fn invalid_specs_and_double_create() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c");
    for bad in [
        CartridgeSpec {
            partitions: 0,
            ..spec(1 << 20)
        },
        CartridgeSpec {
            partitions: 5,
            ..spec(1 << 20)
        },
        CartridgeSpec {
            barcode: String::new(),
            ..spec(1 << 20)
        },
        CartridgeSpec {
            barcode: "A B".into(),
            ..spec(1 << 20)
        },
        CartridgeSpec {
            capacity: 100,
            ..spec(1 << 20)
        },
    ] {
        assert!(
            matches!(
                Cartridge::create(&p, &bad),
                Err(CartridgeError::InvalidSpec(_))
            ),
            "{bad:?}"
        );
    }
    Cartridge::create(&p, &spec(1 << 20)).unwrap();
    assert!(matches!(
        Cartridge::create(&p, &spec(1 << 20)),
        Err(CartridgeError::AlreadyExists(_))
    ));
    let s = CartridgeSpec::new("ABC123L9", Generation::Lto9);
    assert_eq!(s.capacity, 18_000_000_000_000);
    assert_eq!(s.partitions, 1);
}

#[test]
fn oversized_record_is_refused() {
    let (_d, mut c) = new_cart(spec(64 << 20));
    let big = vec![0u8; layout::MAX_RECORD_LEN as usize + 1];
    assert!(matches!(
        c.write(&big, false),
        Err(CartridgeError::RecordTooLarge { .. })
    ));
    assert_eq!(c.eod_block(0), Some(0));
}

#[test]
fn many_filemarks_in_one_call() {
    let (dir, mut c) = new_cart(spec(1 << 20));
    c.write(b"x", false).unwrap();
    c.write_filemarks(10_000).unwrap();
    assert_eq!(
        c.position(),
        TapePosition {
            partition: 0,
            block: 10_001,
            file: 10_000
        }
    );
    assert_eq!(c.usage().written_bytes_native, 33 + 10_000 * 32);
    c.close().unwrap();
    let mut c = Cartridge::open(&dir.path().join("c")).unwrap();
    assert_eq!(c.space_filemarks(9_999).unwrap(), SpaceResult::Done);
    assert_eq!(c.position().block, 10_000);
    let mut buf = [0u8; 4];
    assert_eq!(c.read(&mut buf).unwrap(), ReadRecord::Filemark);
    assert_eq!(c.read(&mut buf).unwrap(), ReadRecord::EndOfData);
    // Larger than the capacity: refused before anything is allocated or written.
    assert!(matches!(
        c.write_filemarks(u32::MAX),
        Err(CartridgeError::VolumeOverflow)
    ));
}

#[test]
fn a_large_incompressible_record_skips_zstd_and_reads_back() {
    let (_d, mut c) = new_cart(spec(4 << 20));
    // 256 KiB of xorshift noise: the entropy sample says incompressible.
    let mut noise = vec![0u8; 256 * 1024];
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    for b in &mut noise {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    c.write(&noise, true).unwrap();
    assert_eq!(c.usage().written_bytes_native, 32 + noise.len() as u64);
    // A compressible record of the same size still compresses.
    let text = b"reel writes tape records. ".repeat(256 * 1024 / 26);
    let before = c.usage().written_bytes_native;
    c.write(&text, true).unwrap();
    assert!(c.usage().written_bytes_native - before < text.len() as u64 / 4);
    c.rewind();
    let mut buf = vec![0u8; 300 * 1024];
    c.read(&mut buf).unwrap();
    assert_eq!(&buf[..noise.len()], &noise[..]);
    c.read(&mut buf).unwrap();
    assert_eq!(&buf[..text.len()], &text[..]);
}

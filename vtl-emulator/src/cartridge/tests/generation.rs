use super::super::{Generation, can_read, can_write};
use Generation::*;

/// (drive, media, read, write): the compatibility matrix from the LTO
/// program's published rules, written out in full.
const TABLE: &[(Generation, Generation, bool, bool)] = &[
    (Lto5, Lto5, true, true),
    (Lto5, Lto6, false, false),
    (Lto6, Lto5, true, true),
    (Lto6, Lto6, true, true),
    (Lto6, Lto7, false, false),
    (Lto7, Lto5, true, false),
    (Lto7, Lto6, true, true),
    (Lto7, Lto7, true, true),
    (Lto7, Lto7M8, false, false),
    (Lto7, Lto8, false, false),
    (Lto8, Lto6, false, false),
    (Lto8, Lto7, true, true),
    (Lto8, Lto7M8, true, true),
    (Lto8, Lto8, true, true),
    (Lto8, Lto9, false, false),
    (Lto9, Lto7, false, false),
    (Lto9, Lto7M8, false, false),
    (Lto9, Lto8, true, true),
    (Lto9, Lto9, true, true),
    (Lto9, Lto10, false, false),
    (Lto10, Lto8, false, false),
    (Lto10, Lto9, false, false),
    (Lto10, Lto10, true, true),
];

#[test]
fn compatibility_table() {
    for &(drive, media, r, w) in TABLE {
        assert_eq!(
            can_read(drive, media),
            r,
            "{} reads {}",
            drive.name(),
            media.name()
        );
        assert_eq!(
            can_write(drive, media),
            w,
            "{} writes {}",
            drive.name(),
            media.name()
        );
    }
}

#[test]
fn writable_implies_readable_and_own_generation_works() {
    for d in Generation::ALL {
        assert!(can_read(d, d) && can_write(d, d), "{}", d.name());
        for m in Generation::ALL {
            if can_write(d, m) {
                assert!(
                    can_read(d, m),
                    "{} writes but cannot read {}",
                    d.name(),
                    m.name()
                );
            }
        }
    }
}

#[test]
fn density_codes_and_capacities() {
    let expect = [
        (Lto5, 0x58, 1_500_000_000_000u64),
        (Lto6, 0x5A, 2_500_000_000_000),
        (Lto7, 0x5C, 6_000_000_000_000),
        (Lto7M8, 0x5D, 9_000_000_000_000),
        (Lto8, 0x5E, 12_000_000_000_000),
        (Lto9, 0x60, 18_000_000_000_000),
        (Lto10, 0x62, 30_000_000_000_000),
    ];
    for (g, code, cap) in expect {
        assert_eq!(g.density_code(), code, "{}", g.name());
        assert_eq!(g.native_capacity(), cap, "{}", g.name());
        assert_eq!(Generation::from_density_code(code), Some(g));
    }
    assert_eq!(Generation::from_density_code(0x46), None);
}

#[test]
fn generation_serde_round_trip() {
    for g in Generation::ALL {
        let s = serde_json::to_string(&g).unwrap();
        assert_eq!(serde_json::from_str::<Generation>(&s).unwrap(), g);
    }
}

//! The catalog database and media management: migrations, barcode rules,
//! import, scratch allocation, protection, re-import from a scanned label,
//! backup-set pieces.

use reeld::db::catalog::{self, PieceLocation, SetState};
use reeld::db::migrate::{MIGRATIONS, latest_version};
use reeld::db::{self, Db, DbError};
use reeld::media::manager::{self, MediaError};
use reeld::media::{
    BarcodeRule, Location, MediaState, classify_barcode, generation_from_barcode, is_protected,
};
use rusqlite::Connection;

fn slot(e: u32) -> Location {
    Location::Slot {
        library: "lib1".into(),
        element: e,
    }
}

fn db() -> Db {
    Db::open_in_memory().unwrap()
}

fn run<T>(db: &mut Db, f: impl FnOnce(&Connection) -> Result<T, MediaError>) -> T {
    db.write(f).unwrap()
}

#[test]
fn fresh_catalog_is_at_the_latest_version() {
    let d = db();
    let v: Vec<(i64, String)> = d
        .conn()
        .prepare("SELECT version, name FROM schema_version ORDER BY version")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(v, vec![(1, "core".to_string()), (2, "exec".to_string())]);
    assert_eq!(latest_version(), 2);
}

#[test]
fn reopening_does_not_migrate_again_and_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reel.db");
    drop(Db::open(&path).unwrap());
    let d = Db::open(&path).unwrap();
    let n: i64 = d
        .conn()
        .query_row("SELECT COUNT(*) FROM schema_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 2);
    d.conn()
        .execute(
            "INSERT INTO schema_version (version, name, applied_at) VALUES (7, 'future', 0)",
            [],
        )
        .unwrap();
    drop(d);
    assert!(matches!(
        Db::open(&path),
        Err(DbError::TooNew { found: 7, known: 2 })
    ));
}

#[test]
fn migrations_stay_in_the_portable_subset() {
    for (_, name, sql) in MIGRATIONS {
        // Comments may name what is avoided; only statements count.
        let upper: String = sql
            .lines()
            .map(|l| l.split("--").next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n")
            .to_uppercase();
        for bad in [
            "AUTOINCREMENT",
            "INSERT OR",
            "WITHOUT ROWID",
            "DATETIME",
            "BOOLEAN",
            "PRAGMA",
            "SERIAL",
        ] {
            assert!(!upper.contains(bad), "migration {name} uses {bad}");
        }
    }
}

#[test]
fn barcode_rules() {
    let rules = vec![
        BarcodeRule {
            prefix: "A".into(),
            media_type: "LTO-7".into(),
            media_set: None,
            cleaning: false,
        },
        BarcodeRule {
            prefix: "AB".into(),
            media_type: "LTO-8".into(),
            media_set: Some("weekly".into()),
            cleaning: false,
        },
        BarcodeRule {
            prefix: "CL".into(),
            media_type: "LTO-8".into(),
            media_set: None,
            cleaning: true,
        },
    ];
    let c = classify_barcode("AB0001L8", &rules);
    assert_eq!(c.media_type, "LTO-8");
    assert_eq!(c.media_set.as_deref(), Some("weekly"));
    assert_eq!(c.state, MediaState::Scratch);
    let c = classify_barcode("AX0001", &rules);
    assert_eq!((c.media_type.as_str(), c.generation), ("LTO-7", Some(7)));
    assert_eq!(
        classify_barcode("CLN001L1", &[]).state,
        MediaState::Cleaning
    );
    assert_eq!(
        classify_barcode("CL0001", &rules).state,
        MediaState::Cleaning
    );
    let c = classify_barcode("ZZ0001L9", &rules);
    assert_eq!((c.media_type.as_str(), c.generation), ("LTO-9", Some(9)));
    assert_eq!(classify_barcode("ZZ0001", &rules).media_type, "unknown");
    assert_eq!(generation_from_barcode("XY0001M8"), Some(7));
    assert_eq!(generation_from_barcode("L8"), None);
}

#[test]
fn import_applies_rules_and_moves_known_cartridges() {
    let mut d = db();
    run(&mut d, |c| {
        manager::create_set(c, "weekly", Some("LTO-8"), 86_400, 604_800)?;
        db::media::insert_rule(
            c,
            &BarcodeRule {
                prefix: "WK".into(),
                media_type: "LTO-8".into(),
                media_set: Some("weekly".into()),
                cleaning: false,
            },
        )?;
        let m = manager::import_barcode(c, "WK0001L8", &slot(1000), 10)?;
        assert_eq!(m.state, MediaState::Scratch);
        assert_eq!(m.media_set.as_deref(), Some("weekly"));
        let m = manager::import_barcode(c, "CLN001L1", &slot(1001), 10)?;
        assert_eq!(m.state, MediaState::Cleaning);
        manager::import_barcode(c, "WK0001L8", &Location::Offline, 20)?;
        let m = db::media::get_media(c, "WK0001L8")?;
        assert_eq!(m.location, Location::Offline);
        assert_eq!(m.imported_at, 10);
        Ok(())
    });
}

/// Three cartridges: never written, expired, protected.
fn three_cartridges(d: &mut Db) {
    run(d, |c| {
        manager::create_set(c, "daily", None, 0, 100)?;
        for (i, bc) in ["C00001L8", "C00002L8", "C00003L8"].iter().enumerate() {
            manager::import_barcode(c, bc, &slot(1000 + i as u32), 0)?;
        }
        // C00002 written at 50, protected to 150; C00003 written at 900.
        for (bc, t) in [("C00002L8", 50), ("C00003L8", 900)] {
            c.execute(
                "UPDATE media SET state = 'full', media_set = 'daily', last_write = ?2, protect_until = ?3 WHERE barcode = ?1",
                (bc, t, t + 100),
            )?;
        }
        Ok(())
    });
}

#[test]
fn scratch_allocation_takes_the_oldest_recyclable_first() {
    let mut d = db();
    three_cartridges(&mut d);
    let now = 500;
    let first = run(&mut d, |c| {
        manager::writable_cartridge(c, "daily", "lib1", now)
    });
    assert_eq!(first, Ok("C00001L8".to_string()));
    // Append period 0: every request starts a new set instance and
    // recycles; C00002 is expired, C00003 still protected.
    let second = run(&mut d, |c| {
        manager::writable_cartridge(c, "daily", "lib1", now)
    });
    assert_eq!(second, Ok("C00002L8".to_string()));
    let third = run(&mut d, |c| {
        manager::writable_cartridge(c, "daily", "lib1", now)
    });
    assert_eq!(
        third,
        Err("waiting: no scratch cartridge in library lib1".to_string())
    );
    let m = db::media::get_media(d.conn(), "C00002L8").unwrap();
    assert_eq!(m.state, MediaState::Allocated);
    assert_eq!(m.set_seq, Some(1));
    assert!(m.last_write.is_none());
    // A library without cartridges.
    let none = run(&mut d, |c| {
        manager::writable_cartridge(c, "daily", "lib2", now)
    });
    assert_eq!(
        none,
        Err("waiting: no scratch cartridge in library lib2".to_string())
    );
}

#[test]
fn append_period_keeps_one_set_instance_then_starts_a_new_one() {
    let mut d = db();
    run(&mut d, |c| {
        manager::create_set(c, "weekly", None, 1000, 5000)?;
        for i in 0..4 {
            manager::import_barcode(c, &format!("W0000{i}L8"), &slot(1000 + i), 0)?;
        }
        Ok(())
    });
    let a = run(&mut d, |c| {
        manager::writable_cartridge(c, "weekly", "lib1", 100)
    })
    .unwrap();
    let again = run(&mut d, |c| {
        manager::writable_cartridge(c, "weekly", "lib1", 200)
    })
    .unwrap();
    assert_eq!(
        a, again,
        "appendable cartridge is reused within the append period"
    );
    run(&mut d, |c| {
        manager::record_write(c, &a, 1 << 20, 300)?;
        db::media::set_state(c, &a, MediaState::Full)?;
        Ok(())
    });
    let b = run(&mut d, |c| {
        manager::writable_cartridge(c, "weekly", "lib1", 400)
    })
    .unwrap();
    assert_ne!(a, b);
    let (ma, mb) = (
        db::media::get_media(d.conn(), &a).unwrap(),
        db::media::get_media(d.conn(), &b).unwrap(),
    );
    assert_eq!(ma.set_uuid, mb.set_uuid);
    assert_eq!((ma.set_seq, mb.set_seq), (Some(1), Some(2)));
    // Protection: end of the append period (100 + 1000) + 5000.
    assert_eq!(ma.protect_until, Some(6100));
    assert_eq!(ma.bytes_written, 1 << 20);
    assert_eq!((ma.first_write, ma.last_write), (Some(300), Some(300)));
    // After the append period a new instance starts at sequence 1.
    let c2 = run(&mut d, |c| {
        manager::writable_cartridge(c, "weekly", "lib1", 1200)
    })
    .unwrap();
    let mc = db::media::get_media(d.conn(), &c2).unwrap();
    assert_ne!(mc.set_uuid, ma.set_uuid);
    assert_eq!(mc.set_seq, Some(1));
}

#[test]
fn protection_rules() {
    let mut d = db();
    three_cartridges(&mut d);
    let m2 = db::media::get_media(d.conn(), "C00002L8").unwrap();
    assert!(is_protected(&m2, 149));
    assert!(!is_protected(&m2, 150));
    let m1 = db::media::get_media(d.conn(), "C00001L8").unwrap();
    assert!(!is_protected(&m1, 0));
    // Back to scratch only once unprotected.
    let err = d.write(|c| manager::set_state(c, "C00003L8", MediaState::Scratch, 999));
    assert!(matches!(
        err,
        Err(MediaError::Protected { until: 1000, .. })
    ));
    run(&mut d, |c| {
        manager::set_state(c, "C00003L8", MediaState::Scratch, 1000)
    });
    let m3 = db::media::get_media(d.conn(), "C00003L8").unwrap();
    assert_eq!((m3.state, m3.media_set), (MediaState::Scratch, None));
    // Cleaning cartridges never become data media.
    run(&mut d, |c| {
        manager::import_barcode(c, "CLN001L1", &slot(9), 0).map(|_| ())
    });
    assert!(matches!(
        d.write(|c| manager::set_state(c, "CLN001L1", MediaState::Scratch, 0)),
        Err(MediaError::Transition { .. })
    ));
}

#[test]
fn rescanned_label_rebuilds_the_catalog_and_keeps_protection() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reel.db");
    let label = {
        let mut d = Db::open(&path).unwrap();
        run(&mut d, |c| {
            manager::create_set(c, "monthly", None, 1000, 10_000)?;
            manager::import_barcode(c, "M00001L8", &slot(1000), 0)?;
            let bc = manager::writable_cartridge(c, "monthly", "lib1", 100)?.unwrap();
            manager::record_write(c, &bc, 4096, 150)?;
            manager::label_for(c, &bc, 150)
        })
    };
    assert_eq!(label.barcode, "M00001L8");
    assert_eq!(label.protect_until, 100 + 1000 + 10_000);
    let block = label.encode().unwrap();

    // The catalog is lost; the cartridge is scanned back in.
    std::fs::remove_file(&path).unwrap();
    let mut d = Db::open(&path).unwrap();
    let on = reeld::media::guard::classify_first_block(Some(&block));
    let m = run(&mut d, |c| {
        manager::import_scan(c, "M00001L8", &on, &slot(1000), 5000)
    });
    assert_eq!(m.state, MediaState::Full);
    assert_eq!(m.media_set.as_deref(), Some("monthly"));
    assert_eq!(m.set_uuid, Some(label.set_uuid));
    assert_eq!(m.label_uuid, Some(label.uuid));
    assert_eq!(m.protect_until, Some(11_100));
    assert!(is_protected(&m, 5000));
    // Not recyclable while protected, even for another set.
    run(&mut d, |c| manager::create_set(c, "other", None, 0, 0));
    let r = run(&mut d, |c| {
        manager::writable_cartridge(c, "other", "lib1", 5000)
    });
    assert_eq!(
        r,
        Err("waiting: no scratch cartridge in library lib1".into())
    );
    // And the device layer refuses the write from the label alone.
    assert!(reeld::media::guard::may_write_at_bot(&on, 5000, true).is_err());
    let r = run(&mut d, |c| {
        manager::writable_cartridge(c, "other", "lib1", 11_100)
    });
    assert_eq!(r, Ok("M00001L8".into()));
}

#[test]
fn scanned_label_with_another_barcode_is_refused() {
    let mut d = db();
    let label = reeld::media::label::Label {
        uuid: uuid::Uuid::new_v4(),
        barcode: "AAA001L8".into(),
        media_set: "s".into(),
        set_uuid: uuid::Uuid::new_v4(),
        sequence: 1,
        written_at: 1,
        protect_until: 2,
    };
    let r = d.write(|c| manager::import_scanned(c, &label, Some("BBB001L8"), &slot(1), 0));
    assert!(matches!(r, Err(MediaError::BarcodeMismatch { .. })));
}

#[test]
fn foreign_and_blank_scans() {
    let mut d = db();
    let m = run(&mut d, |c| {
        manager::import_scan(
            c,
            "F00001L8",
            &reeld::media::guard::OnMedium::Foreign,
            &slot(1),
            0,
        )
    });
    assert_eq!(m.state, MediaState::Foreign);
    let m = run(&mut d, |c| {
        manager::import_scan(
            c,
            "B00001L8",
            &reeld::media::guard::OnMedium::Blank,
            &slot(2),
            0,
        )
    });
    assert_eq!(m.state, MediaState::Scratch);
    // A foreign cartridge is never allocated.
    run(&mut d, |c| manager::create_set(c, "s", None, 10, 10));
    let r = run(&mut d, |c| manager::writable_cartridge(c, "s", "lib1", 1));
    assert_eq!(r, Ok("B00001L8".into()));
}

#[test]
fn backup_set_pieces_round_trip() {
    let mut d = db();
    let set = d
        .write(|c| {
            manager::import_barcode(c, "P00001L8", &slot(1), 0)?;
            let s = catalog::begin_set(c, None, Some("lto8"), Some("weekly"), 10)?;
            let tape = PieceLocation::Tape {
                barcode: "P00001L8".into(),
                file_number: 3,
                first_block: 100,
                last_block: 9999,
            };
            assert_eq!(catalog::add_piece(c, s, &tape, 1000)?, 1);
            let disk = PieceLocation::Disk {
                container: "disk0/c/0001".into(),
            };
            assert_eq!(catalog::add_piece(c, s, &disk, 24)?, 2);
            let dd = PieceLocation::Dedup {
                index: "idx/7".into(),
            };
            assert_eq!(catalog::add_piece(c, s, &dd, 0)?, 3);
            catalog::finish_set(c, s, SetState::Complete, 20)?;
            Ok::<_, MediaError>(s)
        })
        .unwrap();
    let s = catalog::get_set(d.conn(), set).unwrap();
    assert_eq!(s.state, SetState::Complete);
    assert_eq!(s.bytes, 1024);
    assert_eq!(s.pieces.len(), 3);
    assert_eq!(
        s.pieces[0].location,
        PieceLocation::Tape {
            barcode: "P00001L8".into(),
            file_number: 3,
            first_block: 100,
            last_block: 9999
        }
    );
    assert!(matches!(
        catalog::get_set(d.conn(), uuid::Uuid::nil()),
        Err(DbError::NotFound { .. })
    ));
}

//! Dedup store pools through the executors (backup, restore, damage
//! found), duplicates between dedup, disk and tape pools, and catalog
//! migration 0002 upgrading a version-1 catalog in place.

mod jobs_common;

use std::io::Cursor;
use std::path::{Path, PathBuf};

use jobs_common::{DAY, MIB, Rig, data, rig};
use reel_drivers::storage::DiskStorage;
use reeld::db::catalog::{self, PieceLocation, SetState};
use reeld::db::migrate::{MIGRATIONS, latest_version};
use reeld::db::{Db, unix_now};
use reeld::dedup::{Store, StoreConfig};
use reeld::jobs::ExecError;
use reeld::jobs::duplicate::{run_duplicate_job, submit_duplicate};
use reeld::jobs::ops::{OpOutcome, run_assigned, submit_verify};
use reeld::jobs::run::{
    ExecOptions, dispatch_job, finish, run_backup_job, run_restore_job, submit_backup,
    submit_restore,
};
use reeld::jobs::setup::{ensure_media_set, ensure_pool};
use reeld::jobs::store::{self, SetDigest};
use reeld::scheduler::device::DeviceKind;
use rusqlite::Connection;

fn opts() -> ExecOptions {
    let mut o = jobs_common::opts();
    // Small chunks, so a few MiB make enough of them to deduplicate.
    o.dedup.init = StoreConfig {
        min_chunk: 16 << 10,
        avg_chunk: 64 << 10,
        max_chunk: 256 << 10,
        compression: Some(1),
    };
    o
}

/// Adds a storage device `id` of `kind` in a fresh directory and a pool
/// `pool` of it; returns the directory (not created: the executor must
/// initialize a dedup store on first use).
fn add_store(r: &mut Rig, id: &str, kind: DeviceKind, pool: &str) -> PathBuf {
    let dir = r.dir.path().join(id);
    if kind == DeviceKind::DiskStorage {
        DiskStorage::init(&dir, Some(1 << 30), None).unwrap();
    }
    r.devs.add_storage(id, kind, dir.clone());
    let devices = r.devs.sched_devices();
    ensure_pool(&mut r.sched, &devices, pool, &[id.to_string()]).unwrap();
    dir
}

fn backup(
    r: &mut Rig,
    pool: &str,
    media_set: Option<&str>,
    input: &[u8],
) -> reeld::jobs::BackupOutcome {
    let job = submit_backup(&mut r.sched, pool, media_set, 1).unwrap();
    run_backup_job(
        &mut r.sched,
        &r.devs,
        job,
        &mut Cursor::new(input.to_vec()),
        &opts(),
    )
    .unwrap()
}

fn restore(r: &mut Rig, pool: &str, set: uuid::Uuid) -> Result<Vec<u8>, ExecError> {
    let job = submit_restore(&mut r.sched, pool, set).unwrap();
    let mut back = Vec::new();
    run_restore_job(&mut r.sched, &r.devs, job, set, &mut back, &opts()).map(|_| back)
}

fn dedup_index(r: &Rig, set: uuid::Uuid) -> String {
    let s = catalog::get_set(r.sched.db().conn(), set).unwrap();
    assert_eq!(s.state, SetState::Complete);
    assert_eq!(s.pieces.len(), 1);
    match &s.pieces[0].location {
        PieceLocation::Dedup { index } => index.clone(),
        other => panic!("not a dedup piece: {other:?}"),
    }
}

/// Every pack file of a store.
fn packs(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for sub in std::fs::read_dir(dir.join("packs")).unwrap() {
        for f in std::fs::read_dir(sub.unwrap().path()).unwrap() {
            let p = f.unwrap().path();
            if p.extension().is_some_and(|e| e == "pack") {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn dedup_pool_backup_twice_stores_little_new_and_restores() {
    let mut r = rig(1, 2, 6 * MIB, DAY);
    let dir = add_store(&mut r, "dd0", DeviceKind::DedupStore, "dd");
    assert!(!dir.join("store.json").exists());

    let first = data(4 * MIB as usize + 321, 5);
    let a = backup(&mut r, "dd", None, &first);
    assert_eq!(a.device, "dd0");
    assert_eq!(a.bytes, first.len() as u64);
    assert!(a.cartridges.is_empty());
    let ia = dedup_index(&r, a.set);
    let store = Store::open(&dir).unwrap();
    let s1 = store.stats().unwrap();
    // Random data: everything of the first backup is new.
    assert!(s1.plain_bytes >= first.len() as u64, "{s1:?}");
    // Tenant = pool name; the store's set id is the catalog's index.
    let sets = store.list(None).unwrap();
    assert_eq!(sets.len(), 1);
    assert_eq!(sets[0].tenant.as_str(), "dd");
    assert_eq!(sets[0].set.as_str(), ia);

    // The same data with a small change in the middle and a tail added.
    let mut second = first.clone();
    second[2 * MIB as usize..2 * MIB as usize + 100].fill(0xAA);
    second.extend_from_slice(&data(50_000, 6));
    let b = backup(&mut r, "dd", None, &second);
    assert_ne!(b.set, a.set);
    assert_ne!(dedup_index(&r, b.set), ia);
    let s2 = store.stats().unwrap();
    let new = s2.stored_bytes - s1.stored_bytes;
    assert!(
        new < second.len() as u64 / 8,
        "second backup stored {new} new bytes of {}",
        second.len()
    );
    assert_eq!(s2.sets, 2);
    assert_eq!(s2.logical_bytes, (first.len() + second.len()) as u64);

    assert!(restore(&mut r, "dd", a.set).unwrap() == first);
    assert!(restore(&mut r, "dd", b.set).unwrap() == second);
}

#[test]
fn damaged_chunk_fails_the_restore_clearly() {
    let mut r = rig(1, 2, 6 * MIB, DAY);
    let dir = add_store(&mut r, "dd0", DeviceKind::DedupStore, "dd");
    let input = data(3 * MIB as usize, 9);
    let a = backup(&mut r, "dd", None, &input);
    let p = packs(&dir);
    assert_eq!(p.len(), 1);
    let mut bytes = std::fs::read(&p[0]).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x5A;
    std::fs::write(&p[0], &bytes).unwrap();

    let err = restore(&mut r, "dd", a.set).unwrap_err();
    assert!(matches!(err, ExecError::Mismatch { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(&a.set.to_string()), "{msg}");
    assert!(msg.contains("dd0"), "{msg}");
    // The restore job failed; the set itself is untouched in the catalog.
    let jobs = r.sched.jobs().unwrap();
    let last = jobs.iter().max_by_key(|j| j.id).unwrap();
    assert_eq!(last.state.as_str(), "failed");
}

#[test]
fn duplicate_dedup_to_tape_spans_cartridges_and_restores() {
    let mut r = rig(1, 4, 6 * MIB, DAY);
    add_store(&mut r, "dd0", DeviceKind::DedupStore, "dd");
    let input = data(9 * MIB as usize + 11, 21);
    let a = backup(&mut r, "dd", None, &input);

    let dj = submit_duplicate(&mut r.sched, a.set, "tape", Some("weekly"), 2).unwrap();
    let copy = run_duplicate_job(&mut r.sched, &r.devs, dj, &opts()).unwrap();
    assert_ne!(copy.set, a.set);
    assert_eq!(copy.digest, a.digest);
    assert_eq!(copy.bytes, input.len() as u64);
    assert!(copy.cartridges.len() >= 2, "{:?}", copy.cartridges);
    let cs = catalog::get_set(r.sched.db().conn(), copy.set).unwrap();
    assert_eq!(cs.state, SetState::Complete);
    assert_eq!(cs.pool.as_deref(), Some("tape"));
    assert!(cs.pieces.len() >= 2);
    assert!(
        cs.pieces
            .iter()
            .all(|p| matches!(p.location, PieceLocation::Tape { .. }))
    );
    assert_eq!(r.sched.job(dj).unwrap().state.as_str(), "completed");

    assert!(restore(&mut r, "tape", copy.set).unwrap() == input);
}

#[test]
fn duplicate_disk_to_dedup_and_tape_to_disk() {
    let mut r = rig(1, 4, 6 * MIB, DAY);
    add_store(&mut r, "disk0", DeviceKind::DiskStorage, "disk");
    let dd = add_store(&mut r, "dd0", DeviceKind::DedupStore, "dd");
    let input = data(5 * MIB as usize + 3, 33);
    let a = backup(&mut r, "disk", None, &input);

    let dj = submit_duplicate(&mut r.sched, a.set, "dd", None, 1).unwrap();
    let copy = run_duplicate_job(&mut r.sched, &r.devs, dj, &opts()).unwrap();
    assert_eq!(copy.digest, a.digest);
    assert_eq!(copy.device, "dd0");
    let index = dedup_index(&r, copy.set);
    let store = Store::open(&dd).unwrap();
    assert_eq!(store.list(None).unwrap()[0].set.as_str(), index);
    assert!(restore(&mut r, "dd", copy.set).unwrap() == input);

    // A tape set read back into a disk pool.
    let t = backup(&mut r, "tape", Some("weekly"), &input);
    assert!(!t.cartridges.is_empty());
    let dj = submit_duplicate(&mut r.sched, t.set, "disk", None, 1).unwrap();
    let copy = run_duplicate_job(&mut r.sched, &r.devs, dj, &opts()).unwrap();
    assert_eq!(copy.digest, a.digest);
    assert_eq!(copy.device, "disk0");
    assert!(restore(&mut r, "disk", copy.set).unwrap() == input);
}

#[test]
fn duplicate_of_a_damaged_dedup_set_fails_and_leaves_no_good_copy() {
    let mut r = rig(1, 2, 6 * MIB, DAY);
    add_store(&mut r, "disk0", DeviceKind::DiskStorage, "disk");
    let dd = add_store(&mut r, "dd0", DeviceKind::DedupStore, "dd");
    let input = data(3 * MIB as usize, 44);
    let a = backup(&mut r, "dd", None, &input);
    let p = packs(&dd);
    let mut bytes = std::fs::read(&p[0]).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&p[0], &bytes).unwrap();

    let dj = submit_duplicate(&mut r.sched, a.set, "disk", None, 1).unwrap();
    let err = run_duplicate_job(&mut r.sched, &r.devs, dj, &opts()).unwrap_err();
    assert!(matches!(err, ExecError::Mismatch { .. }), "{err:?}");
    assert!(err.to_string().contains(&a.set.to_string()), "{err}");
    assert_eq!(r.sched.job(dj).unwrap().state.as_str(), "failed");
    // Whatever the writer had begun is never presented as a good set.
    let c = r.sched.db().conn();
    let copies = catalog::sets_of_job(c, dj).unwrap();
    assert_eq!(copies.len(), 1);
    assert_eq!(
        catalog::get_set(c, copies[0]).unwrap().state,
        SetState::Incomplete
    );
    assert!(store::get_digest(c, copies[0]).unwrap().is_none());
}

#[test]
fn broken_dedup_member_fails_over_for_backup_and_duplicate() {
    let mut r = rig(1, 2, 6 * MIB, DAY);
    add_store(&mut r, "disk0", DeviceKind::DiskStorage, "disk");
    // dd0's directory is a plain file: no store can live there.
    let bad = r.dir.path().join("dd0");
    std::fs::write(&bad, b"not a directory").unwrap();
    r.devs.add_storage("dd0", DeviceKind::DedupStore, bad);
    let good = r.dir.path().join("dd1");
    r.devs
        .add_storage("dd1", DeviceKind::DedupStore, good.clone());
    let devices = r.devs.sched_devices();
    ensure_pool(
        &mut r.sched,
        &devices,
        "dd",
        &["dd0".to_string(), "dd1".to_string()],
    )
    .unwrap();

    let input = data(2 * MIB as usize + 5, 55);
    let job = submit_backup(&mut r.sched, "dd", None, 3).unwrap();
    let out = run_backup_job(
        &mut r.sched,
        &r.devs,
        job,
        &mut Cursor::new(input.clone()),
        &opts(),
    )
    .unwrap();
    assert_eq!(out.device, "dd1");
    assert_eq!(out.attempts, 2);
    let events = r.sched.events(job).unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.kind == "failed" && e.message.contains("dd0")),
        "{events:?}"
    );
    assert!(good.join("store.json").is_file());

    // A duplicate into the pool fails over the same way (both members
    // have run one job: the dispatcher tries dd0 first again).
    let d = backup(&mut r, "disk", None, &input);
    let dj = submit_duplicate(&mut r.sched, d.set, "dd", None, 3).unwrap();
    let copy = run_duplicate_job(&mut r.sched, &r.devs, dj, &opts()).unwrap();
    assert_eq!(copy.device, "dd1");
    assert_eq!(copy.attempts, 2);
    assert_eq!(copy.digest, d.digest);
    let first = catalog::sets_of_job(r.sched.db().conn(), dj).unwrap();
    assert_eq!(first.len(), 1, "dd0 failed before a set was begun");

    // A restore reads from dd1, which holds the sets, whichever member it
    // was dispatched to.
    assert!(restore(&mut r, "dd", out.set).unwrap() == input);
    assert!(restore(&mut r, "dd", copy.set).unwrap() == input);
}

#[test]
fn tape_source_that_does_not_match_its_digest_leaves_no_good_copy() {
    let mut r = rig(1, 2, 6 * MIB, DAY);
    add_store(&mut r, "disk0", DeviceKind::DiskStorage, "disk");
    let input = data(2 * MIB as usize, 66);
    let t = backup(&mut r, "tape", Some("weekly"), &input);
    // The catalog's digest of the tape set no longer matches its data.
    r.sched
        .db()
        .conn()
        .execute(
            "UPDATE exec_set_digests SET digest = ?1 WHERE set_uuid = ?2",
            ("00".repeat(32), t.set.to_string()),
        )
        .unwrap();

    let dj = submit_duplicate(&mut r.sched, t.set, "disk", None, 1).unwrap();
    let err = run_duplicate_job(&mut r.sched, &r.devs, dj, &opts()).unwrap_err();
    assert!(matches!(err, ExecError::Mismatch { .. }), "{err:?}");
    assert_eq!(r.sched.job(dj).unwrap().state.as_str(), "failed");
    let c = r.sched.db().conn();
    for s in catalog::sets_of_job(c, dj).unwrap() {
        assert_eq!(catalog::get_set(c, s).unwrap().state, SetState::Incomplete);
    }
    // The source drive's lease is gone and its cartridge is home.
    let held: i64 = c
        .query_row("SELECT COUNT(*) FROM leases", [], |r| r.get(0))
        .unwrap();
    assert_eq!(held, 0);
    let in_drive: i64 = c
        .query_row(
            "SELECT COUNT(*) FROM media WHERE location_kind = 'drive'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(in_drive, 0);
}

#[test]
fn duplicate_tape_to_tape_on_one_drive_goes_through_a_spool() {
    let mut r = rig(1, 4, 6 * MIB, DAY);
    ensure_media_set(&mut r.sched, "copies", 7 * DAY, DAY).unwrap();
    let input = data(3 * MIB as usize + 9, 77);
    let t = backup(&mut r, "tape", Some("weekly"), &input);
    let dj = submit_duplicate(&mut r.sched, t.set, "tape", Some("copies"), 1).unwrap();
    let copy = run_duplicate_job(&mut r.sched, &r.devs, dj, &opts()).unwrap();
    assert_eq!(copy.digest, t.digest);
    // A different cartridge: the copy belongs to the other media set.
    assert!(copy.cartridges.iter().all(|c| !t.cartridges.contains(c)));
    let cs = catalog::get_set(r.sched.db().conn(), copy.set).unwrap();
    assert_eq!(cs.media_set.as_deref(), Some("copies"));
    assert!(restore(&mut r, "tape", copy.set).unwrap() == input);
}

/// The executors' tables as they were created on the fly before
/// migration 0002 (the old `ensure_schema`), written out literally.
const OLD_EXEC_TABLES: &str = "
CREATE TABLE IF NOT EXISTS exec_set_digests (
    set_uuid  TEXT NOT NULL PRIMARY KEY REFERENCES backup_sets (uuid) ON DELETE CASCADE,
    algorithm TEXT NOT NULL,
    digest    TEXT NOT NULL,
    bytes     BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS exec_alerts (
    id      BIGINT NOT NULL PRIMARY KEY,
    at      BIGINT NOT NULL,
    job_id  BIGINT,
    device  TEXT,
    message TEXT NOT NULL
);";

const SET_A: &str = "6f1c1a52-3c43-4d7e-9d8e-0a6b1d2c3e4f";
const SET_B: &str = "0b7a3e2d-9f14-4c55-8a66-77d8e9f0a1b2";

/// A catalog file at version 1 only, with a device and two backup sets;
/// `old_exec`: also the executors' tables with rows, as `ensure_schema`
/// left them.
fn version1_catalog(path: &Path, old_exec: bool) {
    let c = Connection::open(path).unwrap();
    let (v, name, sql) = MIGRATIONS[0];
    assert_eq!(v, 1);
    c.execute_batch(
        "CREATE TABLE schema_version (
            version BIGINT NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .unwrap();
    c.execute_batch(sql).unwrap();
    c.execute(
        "INSERT INTO schema_version (version, name, applied_at) VALUES (?1, ?2, 1)",
        (v, name),
    )
    .unwrap();
    c.execute_batch(&format!(
        "INSERT INTO devices (id, kind, health, max_jobs, updated_at)
             VALUES ('dd0', 'dedup_store', 'online', 2, 5);
         INSERT INTO backup_sets (uuid, pool, state, created_at, bytes)
             VALUES ('{SET_A}', 'dd', 'complete', 10, 1234);
         INSERT INTO backup_sets (uuid, pool, state, created_at, bytes)
             VALUES ('{SET_B}', 'dd', 'complete', 11, 99);
         INSERT INTO set_pieces (set_uuid, seq, kind, dedup_index, bytes)
             VALUES ('{SET_A}', 1, 'dedup', '0000000010-abc', 1234);"
    ))
    .unwrap();
    if old_exec {
        c.execute_batch(OLD_EXEC_TABLES).unwrap();
        c.execute_batch(&format!(
            "INSERT INTO exec_set_digests (set_uuid, algorithm, digest, bytes)
                 VALUES ('{SET_A}', 'blake3', 'aabbcc', 1234);
             INSERT INTO exec_alerts (id, at, job_id, device, message)
                 VALUES (1, 20, NULL, 'dd0', 'device dd0 failed');"
        ))
        .unwrap();
    }
}

fn versions(db: &Db) -> Vec<(i64, String)> {
    db.conn()
        .prepare("SELECT version, name FROM schema_version ORDER BY version")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn version1_catalog_upgrades_in_place() {
    assert_eq!(latest_version(), 2);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.db");
    version1_catalog(&path, false);

    let mut db = Db::open(&path).unwrap();
    assert_eq!(
        versions(&db),
        vec![(1, "core".to_string()), (2, "exec".to_string())]
    );
    // Version-1 data is still there.
    let a = uuid::Uuid::parse_str(SET_A).unwrap();
    let s = catalog::get_set(db.conn(), a).unwrap();
    assert_eq!(s.bytes, 1234);
    assert_eq!(
        s.pieces[0].location,
        PieceLocation::Dedup {
            index: "0000000010-abc".into()
        }
    );
    // The new tables work without any on-the-fly schema.
    let d = SetDigest {
        algorithm: "blake3".into(),
        digest: "00ff".into(),
        bytes: 1234,
    };
    db.write(|c| store::put_digest(c, a, &d)).unwrap();
    assert_eq!(store::get_digest(db.conn(), a).unwrap(), Some(d));
    let id = db
        .write(|c| store::add_alert(c, unix_now(), None, Some("dd0"), "x"))
        .unwrap();
    assert_eq!(id, 1);
    // The foreign key holds: no digest for a set that does not exist.
    let ghost = uuid::Uuid::new_v4();
    assert!(
        db.write(|c| store::put_digest(
            c,
            ghost,
            &SetDigest {
                algorithm: "blake3".into(),
                digest: "00".into(),
                bytes: 0,
            }
        ))
        .is_err()
    );
    drop(db);
    // Opening again migrates nothing more.
    assert_eq!(versions(&Db::open(&path).unwrap()).len(), 2);
}

#[test]
fn version1_catalog_with_on_the_fly_tables_keeps_their_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.db");
    version1_catalog(&path, true);

    let mut db = Db::open(&path).unwrap();
    assert_eq!(versions(&db).last().unwrap().0, 2);
    let a = uuid::Uuid::parse_str(SET_A).unwrap();
    assert_eq!(
        store::get_digest(db.conn(), a).unwrap(),
        Some(SetDigest {
            algorithm: "blake3".into(),
            digest: "aabbcc".into(),
            bytes: 1234,
        })
    );
    let alerts = store::alerts(db.conn()).unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].message, "device dd0 failed");
    assert_eq!(alerts[0].device.as_deref(), Some("dd0"));
    // New alerts continue the numbering.
    let id = db
        .write(|c| store::add_alert(c, 30, Some(7), None, "second"))
        .unwrap();
    assert_eq!(id, 2);
    // The index 0002 adds exists.
    let n: i64 = db
        .conn()
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'exec_alerts_by_job'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 1);
}

/// Runs a verify job of `set` to its end.
fn verify(r: &mut Rig, set: uuid::Uuid) -> Result<OpOutcome, ExecError> {
    let job = submit_verify(&mut r.sched, set).unwrap();
    let a = dispatch_job(&mut r.sched, job).unwrap();
    let res = run_assigned(&mut r.sched, &r.devs, &a, &opts());
    finish(&mut r.sched, &r.devs, &a, &res).unwrap();
    res
}

#[test]
fn verify_reads_dedup_sets_and_fails_on_a_damaged_chunk() {
    let mut r = rig(1, 1, 6 * MIB, DAY);
    let dir = add_store(&mut r, "dd0", DeviceKind::DedupStore, "dd");
    let input = data(2 * MIB as usize + 77, 9);
    let set = backup(&mut r, "dd", None, &input).set;
    let out = verify(&mut r, set).unwrap();
    assert_eq!(out.bytes, input.len() as u64);
    assert!(
        out.summary.contains(&format!("set {set} verified")),
        "{}",
        out.summary
    );
    assert!(store::alerts(r.sched.db().conn()).unwrap().is_empty());

    // One byte flipped in the middle of the pack: a chunk no longer
    // matches its id.
    let pack = packs(&dir).remove(0);
    let mut bytes = std::fs::read(&pack).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&pack, bytes).unwrap();
    let err = verify(&mut r, set).unwrap_err();
    assert!(matches!(err, ExecError::Mismatch { .. }), "{err:?}");
    let alerts = store::alerts(r.sched.db().conn()).unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].device.as_deref(), Some("dd0"));
    assert!(
        alerts[0].message.contains("failed verification"),
        "{alerts:?}"
    );
}

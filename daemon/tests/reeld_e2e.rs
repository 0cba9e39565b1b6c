//! The issue's end-to-end checks through a running reeld: each test starts
//! its own daemon on a data directory prepared with `reelctl vtl` (a small
//! library of small cartridges) and drives it through `reelctl` only, as an
//! operator would; fault injection goes through the Lab service.

mod reeld_harness;

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use reeld_harness::Reeld;

/// A VTL of `drives` LTO-8 drives, 12 slots, 1 mail slot and `carts`
/// cartridges E00001L8.. of `capacity` (a `reelctl vtl add` size).
fn make_vtl(dir: &Path, drives: usize, carts: usize, capacity: &str) {
    let mut spec = String::from("[library]\nslots = 12\nmail_slots = 1\n");
    for i in 1..=drives {
        spec += &format!("\n[[drive]]\nserial = \"E2E{i:07}\"\ngeneration = \"LTO-8\"\n");
    }
    let toml = dir.join("library.toml");
    std::fs::write(&toml, spec).unwrap();
    let vtl = dir.join("vtl");
    vtl_cmd(&[
        "create",
        vtl.to_str().unwrap(),
        "--config",
        toml.to_str().unwrap(),
    ]);
    let barcodes: Vec<String> = (1..=carts).map(|i| format!("E{i:05}L8")).collect();
    let mut args = vec!["add", vtl.to_str().unwrap()];
    args.extend(barcodes.iter().map(String::as_str));
    args.extend(["--capacity", capacity]);
    vtl_cmd(&args);
}

fn vtl_cmd(args: &[&str]) {
    let o = Command::new(env!("CARGO_BIN_EXE_reelctl"))
        .arg("vtl")
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "reelctl vtl {args:?}: {o:?}");
}

/// reeld.toml: library lib1 on DATA/vtl, tape pools and the media set.
/// The registry polls every second: a drive put back up by the operator is
/// only usable again after its next poll.
fn tape_config(pools: &[(&str, &[&str])], protect_secs: i64) -> String {
    let mut c = String::from(
        "[devices]\nsysfs = false\npoll_interval_secs = 60\n\n[[library]]\nid = \"lib1\"\naddress = \"vtl:vtl\"\n",
    );
    for (name, members) in pools {
        let m: Vec<String> = members.iter().map(|m| format!("\"{m}\"")).collect();
        c += &format!(
            "\n[[pool]]\nname = \"{name}\"\nmembers = [{}]\n",
            m.join(", ")
        );
    }
    c += &format!(
        "\n[[media_set]]\nname = \"default\"\nmedia_type = \"LTO-8\"\nappend_secs = 86400\nprotect_secs = {protect_secs}\n"
    );
    c
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// Backs up file `input` into `pool` through `reelctl jobs backup`;
/// returns the reply.
fn backup_file(r: &Reeld, pool: &str, input: &Path) -> serde_json::Value {
    let path = input.to_str().unwrap();
    json(&r.admin(&["jobs", "backup", "--pool", pool, "--json", path]))
}

/// A background reelctl, killed if the test ends early.
struct Bg(Option<Child>);

impl Bg {
    fn write(&mut self, data: &[u8]) {
        let c = self.0.as_mut().unwrap();
        c.stdin.as_mut().unwrap().write_all(data).unwrap();
    }

    /// Ends the data stream without waiting for the command.
    fn close_input(&mut self) {
        drop(self.0.as_mut().unwrap().stdin.take());
    }

    /// Closes standard input and waits for the command's end.
    fn finish(mut self) -> Output {
        let mut c = self.0.take().unwrap();
        drop(c.stdin.take());
        c.wait_with_output().unwrap()
    }
}

impl Drop for Bg {
    fn drop(&mut self) {
        if let Some(c) = self.0.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The job list.
fn jobs(r: &Reeld) -> Vec<serde_json::Value> {
    json(&r.admin(&["jobs", "--json"]))["jobs"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Waits until job `id` satisfies `f`; returns it.
fn wait_job(
    r: &Reeld,
    id: i64,
    what: &str,
    f: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let t = Instant::now();
    loop {
        if let Some(j) = jobs(r).into_iter().find(|j| j["id"] == id)
            && f(&j)
        {
            return j;
        }
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "job {id} never became {what}: {:?}\n{}",
            jobs(r),
            r.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Lab faults through `reelctl lab fault`: devices that are not VTL
/// drives and bad JSON are refused with the reason; a hardware error armed
/// on the only drive of a pool fails the backup's attempt (its history and
/// an alert name the drive); cleared and put back up by the operator, the
/// drive takes the next backup, which restores bit for bit.
#[test]
fn lab_fault_fails_a_drive_and_clear_heals_it() {
    let t0 = Instant::now();
    let r = Reeld::start_with(&tape_config(&[("one", &["lib1/drive0"])], 60), |d| {
        make_vtl(d, 2, 3, "64M")
    });
    let data = reeld_harness::random_file(&r.dir.path().join("unused"), 3 << 20, 7);

    for (dev, want) in [
        ("lib1", "not a drive of an embedded VTL"),
        ("lib1/drive9", "has 2 drives"),
        ("nosuch/drive0", "not a drive of an embedded VTL"),
    ] {
        let o = r.admin_raw(&["lab", "fault", dev, "--json", "{}"]);
        assert!(!o.status.success(), "{dev}: {o:?}");
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(e.contains(want), "{dev}: {e}");
    }
    let o = r.admin_raw(&[
        "lab",
        "fault",
        "lib1/drive0",
        "--json",
        "{\"hardware_error\":\"x\"}",
    ]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("drive faults JSON"),
        "{o:?}"
    );

    let out = r.admin(&[
        "lab",
        "fault",
        "lib1/drive0",
        "--json",
        r#"{"hardware_error":[68,0]}"#,
    ]);
    assert!(out.contains("lib1/drive0: faults armed"), "{out}");
    let mut bg =
        Bg(Some(r.admin_spawn(&[
            "jobs", "backup", "--pool", "one", "--json", "-",
        ])));
    bg.write(&data);
    bg.close_input();
    // The attempt on the broken drive fails and is in the job's history.
    let t = Instant::now();
    loop {
        let d = json(&r.admin(&["jobs", "show", "1", "--json"]));
        let failed = d["events"].as_array().unwrap().iter().any(|e| {
            e["kind"] == "failed"
                && e["device"] == "lib1/drive0"
                && e["message"]
                    .as_str()
                    .unwrap_or("")
                    .contains("HARDWARE ERROR")
        });
        if failed {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(60), "{d}\n{}", r.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    let alerts = r.admin(&["alerts"]);
    assert!(alerts.contains("lib1/drive0"), "{alerts}");

    // The job would wait for a usable drive: the operator gives up on it,
    // clears the fault and puts the drive back into service.
    r.admin(&["jobs", "cancel", "1"]);
    let o = bg.finish();
    assert!(!o.status.success(), "{o:?}");
    let out = r.admin(&["lab", "fault", "lib1/drive0", "--clear"]);
    assert!(out.contains("faults cleared"), "{out}");
    r.admin(&["devices", "up", "lib1/drive0"]);
    let input = r.dir.path().join("in.bin");
    std::fs::write(&input, &data).unwrap();
    let reply = backup_file(&r, "one", &input);
    assert_eq!(reply["device"], "lib1/drive0");
    let set = reply["set_uuid"].as_str().unwrap().to_string();
    let back = r.dir.path().join("back.bin");
    r.admin(&["jobs", "restore", &set, "-o", back.to_str().unwrap()]);
    assert!(
        std::fs::read(&back).unwrap() == data,
        "restored bytes differ"
    );
    eprintln!("lab_fault: {:.1} s", t0.elapsed().as_secs_f64());
}

/// Streams the first 8 MiB of `data` as job 1 into pool `tape`, lets the
/// drive take some of it, then breaks that drive (hardware error) through
/// the Lab service; returns the running client and the broken drive.
fn backup_then_break_its_drive(r: &Reeld, data: &[u8]) -> (Bg, String) {
    let mut bg =
        Bg(Some(r.admin_spawn(&[
            "jobs", "backup", "--pool", "tape", "--json", "-",
        ])));
    bg.write(&data[..8 << 20]);
    let j = wait_job(r, 1, "running", |j| j["state"] == "running");
    std::thread::sleep(Duration::from_millis(500));
    let first = j["device"].as_str().unwrap().to_string();
    r.admin(&[
        "lab",
        "fault",
        &first,
        "--json",
        r#"{"hardware_error":[68,0]}"#,
    ]);
    (bg, first)
}

/// A drive fails mid-job: a backup streams into a pool of two drives, the
/// fault is armed through the Lab service on the drive that writes, and
/// the job completes on the other one; the job history has the failed
/// attempt and an alert names the drive.
#[test]
fn drive_failure_mid_backup_fails_over_to_the_other_drive() {
    let t0 = Instant::now();
    let r = Reeld::start_with(
        &tape_config(&[("tape", &["lib1/drive0", "lib1/drive1"])], 60),
        |d| make_vtl(d, 2, 4, "256M"),
    );
    let data = reeld_harness::random_file(&r.dir.path().join("unused"), 24 << 20, 9);
    let (mut bg, first) = backup_then_break_its_drive(&r, &data);
    bg.write(&data[8 << 20..]);
    let o = bg.finish();
    assert!(o.status.success(), "{o:?}\n{}", r.log());
    let reply = json(&String::from_utf8_lossy(&o.stdout));
    let other = reply["device"].as_str().unwrap().to_string();
    assert_ne!(other, first);
    assert_eq!(reply["bytes"], data.len() as u64);

    let detail = json(&r.admin(&["jobs", "show", "1", "--json"]));
    assert_eq!(detail["job"]["state"], "completed", "{detail}");
    let events = detail["events"].as_array().unwrap();
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "failed" && e["device"] == first.as_str()),
        "{detail}"
    );
    let alerts = json(&r.admin(&["alerts", "--json"]));
    assert!(
        alerts["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["device"] == first.as_str()),
        "{alerts}"
    );
    r.admin(&["lab", "fault", &first, "--clear"]);
    let set = reply["set_uuid"].as_str().unwrap().to_string();
    let back = r.dir.path().join("back.bin");
    r.admin(&["jobs", "restore", &set, "-o", back.to_str().unwrap()]);
    assert!(
        std::fs::read(&back).unwrap() == data,
        "restored bytes differ"
    );
    eprintln!("failover: {:.1} s", t0.elapsed().as_secs_f64());
}

/// The same failure with `[server] spool = false`: nothing is spooled,
/// so the stream cannot be replayed on the other drive and the job fails
/// with that reason instead of failing over; the daemon goes on serving.
#[test]
fn without_spool_a_drive_failure_mid_stream_fails_the_job() {
    let config = format!(
        "[server]\nspool = false\n\n{}",
        tape_config(&[("tape", &["lib1/drive0", "lib1/drive1"])], 60)
    );
    let r = Reeld::start_with(&config, |d| make_vtl(d, 2, 4, "256M"));
    let data = reeld_harness::random_file(&r.dir.path().join("unused"), 24 << 20, 11);
    let (mut bg, first) = backup_then_break_its_drive(&r, &data);
    // The daemon may refuse the rest once the job has failed.
    let c = bg.0.as_mut().unwrap();
    let _ = c.stdin.as_mut().unwrap().write_all(&data[8 << 20..]);
    let o = bg.finish();
    assert!(!o.status.success(), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("cannot be replayed"), "{err}\n{}", r.log());
    let detail = json(&r.admin(&["jobs", "show", "1", "--json"]));
    assert_eq!(detail["job"]["state"], "failed", "{detail}");
    // Nothing was ever spooled.
    let spool = r.data().join("spool");
    let spooled = std::fs::read_dir(&spool).map_or(0, |d| d.count());
    assert_eq!(spooled, 0, "{}", spool.display());

    r.admin(&["lab", "fault", &first, "--clear"]);
    r.admin(&["devices", "up", &first]);
    let input = r.dir.path().join("small.bin");
    std::fs::write(&input, &data[..3 << 20]).unwrap();
    let reply = backup_file(&r, "tape", &input);
    assert_eq!(reply["bytes"], 3u64 << 20);
}

/// Directories of this machine for a tar stream of at least `want` bytes.
fn tar_sources(want: u64) -> Vec<String> {
    let mut home_rustup = std::env::var("HOME").unwrap_or_default();
    home_rustup += "/.rustup/toolchains";
    // Last resort on a small machine: this workspace's own build output.
    let build = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/debug/deps");
    let candidates = [
        "/usr/share/doc",
        "/usr/share/locale",
        "/usr/include",
        "/usr/share",
        "/usr/lib",
        home_rustup.as_str(),
        "/usr",
        build,
    ];
    let mut picked: Vec<String> = Vec::new();
    let mut total = 0u64;
    for c in candidates {
        if total >= want || !Path::new(c).is_dir() {
            continue;
        }
        // A directory inside one already picked adds nothing.
        if picked
            .iter()
            .any(|p| c.starts_with(p.as_str()) || p.starts_with(c))
        {
            continue;
        }
        let o = Command::new("du").args(["-sb", c]).output().unwrap();
        let n: u64 = String::from_utf8_lossy(&o.stdout)
            .split_whitespace()
            .next()
            .and_then(|x| x.parse().ok())
            .unwrap_or(0);
        picked.push(c.to_string());
        total += n;
    }
    picked
}

/// Estimates the zstd-compressed size of `path` (`size` bytes) from 64
/// samples of 256 KiB spread over it, compressed one by one as the VTL
/// compresses records.
fn compressed_estimate(path: &Path, size: u64) -> u64 {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path).unwrap();
    let (mut raw, mut packed) = (0u64, 0u64);
    let mut buf = vec![0u8; 256 << 10];
    for i in 0..64u64 {
        f.seek(SeekFrom::Start(size / 64 * i)).unwrap();
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        raw += n as u64;
        packed += zstd::bulk::compress(&buf[..n], 1).unwrap().len() as u64;
    }
    size * packed / raw.max(1)
}

/// BLAKE3 of a file, read as a stream (the big run's files do not fit in
/// memory comfortably).
fn file_digest(path: &Path) -> String {
    let mut h = blake3::Hasher::new();
    std::io::copy(&mut std::fs::File::open(path).unwrap(), &mut h).unwrap();
    h.finalize().to_hex().to_string()
}

fn have_tar() -> bool {
    let ok = Command::new("tar")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "tar is missing (scripts/setup.sh installs it)"
        );
        eprintln!("skipped: tar missing");
    }
    ok
}

/// Real files: a tar stream of directories of this machine (about 300 MiB,
/// 3 GiB with REEL_E2E_BIG=1) backed up through reeld into a tape pool of
/// cartridges a sixth of its compressed size, so the set spans at least 3; restored
/// through reeld; the BLAKE3 of both streams is the same and the catalog
/// has a piece per cartridge.
#[test]
fn real_files_span_cartridges_and_restore_bit_for_bit() {
    if !have_tar() {
        return;
    }
    let t0 = Instant::now();
    let big = std::env::var("REEL_E2E_BIG").as_deref() == Ok("1");
    let want: u64 = if big { 3 << 30 } else { 300 << 20 };
    let work = tempfile::tempdir().unwrap();
    let tar = work.path().join("in.tar");
    // Cut at `want` bytes: directories grow and shrink between machines.
    let sources = tar_sources(want);
    let sh = format!(
        "tar -cf - --ignore-failed-read {} 2>/dev/null | head -c {want} > {}",
        sources.join(" "),
        tar.display()
    );
    Command::new("sh").args(["-c", &sh]).status().unwrap();
    let size = std::fs::metadata(&tar).unwrap().len();
    assert!(
        size >= want / 2,
        "tar of {sources:?} gave only {size} bytes"
    );
    let digest = file_digest(&tar);
    // The VTL compresses what it stores (zstd), so size the cartridges by
    // the stream's compressed size: a sixth of it each.
    let stored = compressed_estimate(&tar, size);
    let cap = (stored / 6).max(1 << 20).to_string();
    let r = Reeld::start_with(
        &tape_config(&[("tape", &["lib1/drive0", "lib1/drive1"])], 60),
        |d| make_vtl(d, 2, 12, &cap),
    );
    let t1 = Instant::now();
    let reply = json(&r.admin(&[
        "jobs",
        "backup",
        "--pool",
        "tape",
        "--json",
        tar.to_str().unwrap(),
    ]));
    let backup_s = t1.elapsed().as_secs_f64();
    assert_eq!(reply["bytes"], size);
    let carts = reply["cartridges"].as_array().unwrap();
    assert!(
        carts.len() >= 3,
        "set of {size} bytes (about {stored} stored) on {carts:?} of {cap} bytes each only: {}",
        r.admin(&["media"])
    );
    let set = reply["set_uuid"].as_str().unwrap().to_string();

    let db = rusqlite::Connection::open_with_flags(
        r.data().join("catalog.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let (pieces, state): (i64, String) = db
        .query_row(
            "SELECT (SELECT count(*) FROM set_pieces WHERE set_uuid = ?1 AND kind = 'tape'), \
             (SELECT state FROM backup_sets WHERE uuid = ?1)",
            [&set],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    assert!(pieces >= 3, "{pieces} pieces");
    assert_eq!(state, "complete");

    let back = work.path().join("back.tar");
    let t2 = Instant::now();
    r.admin(&["jobs", "restore", &set, "-o", back.to_str().unwrap()]);
    let restore_s = t2.elapsed().as_secs_f64();
    let got = file_digest(&back);
    assert_eq!(got, digest, "restored stream differs");
    eprintln!(
        "real files: {size} bytes on {} cartridges; backup {backup_s:.1} s, restore {restore_s:.1} s, total {:.1} s",
        carts.len(),
        t0.elapsed().as_secs_f64()
    );
}

/// kill -9 of reeld mid-backup, then a restart on the same data directory:
/// no lease is left (every device free), the interrupted set is
/// incomplete, every cartridge is back in a slot and not left allocated to
/// a dead job, and a new backup succeeds.
#[test]
fn kill_9_mid_backup_then_restart_recovers() {
    let t0 = Instant::now();
    let mut r = Reeld::start_with(
        &tape_config(&[("tape", &["lib1/drive0", "lib1/drive1"])], 60),
        |d| make_vtl(d, 2, 4, "64M"),
    );
    let data = reeld_harness::random_file(&r.dir.path().join("unused"), 8 << 20, 5);
    let mut bg =
        Bg(Some(r.admin_spawn(&[
            "jobs", "backup", "--pool", "tape", "--json", "-",
        ])));
    bg.write(&data);
    wait_job(&r, 1, "running", |j| j["state"] == "running");
    std::thread::sleep(Duration::from_millis(500));
    r.kill_9();
    let o = bg.finish();
    assert!(!o.status.success(), "the client saw its daemon die: {o:?}");
    r.restart();

    let devices = json(&r.admin(&["devices", "--json"]));
    for d in devices["devices"].as_array().unwrap() {
        assert_eq!(d["busy_job"].as_i64().unwrap_or(0), 0, "{d}");
    }
    let j = jobs(&r);
    let job1 = j.iter().find(|j| j["id"] == 1).unwrap();
    assert!(
        ["failed", "cancelled"].contains(&job1["state"].as_str().unwrap()),
        "{job1}"
    );
    let media = json(&r.admin(&["media", "--json"]));
    for m in media["media"].as_array().unwrap() {
        assert_eq!(m["location_kind"], "slot", "{m}");
    }
    let db = rusqlite::Connection::open_with_flags(
        r.data().join("catalog.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let states: Vec<String> = db
        .prepare("SELECT state FROM backup_sets WHERE job_id = 1")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(
        !states.is_empty() && states.iter().all(|s| s == "incomplete"),
        "{states:?}"
    );
    let leases: i64 = db
        .query_row("SELECT count(*) FROM leases", [], |row| row.get(0))
        .unwrap();
    assert_eq!(leases, 0);

    let input = r.dir.path().join("in2.bin");
    let data2 = reeld_harness::random_file(&input, 2 << 20, 6);
    let reply = backup_file(&r, "tape", &input);
    let set = reply["set_uuid"].as_str().unwrap().to_string();
    let back = r.dir.path().join("back.bin");
    r.admin(&["jobs", "restore", &set, "-o", back.to_str().unwrap()]);
    assert!(
        std::fs::read(&back).unwrap() == data2,
        "restored bytes differ"
    );
    eprintln!("kill -9: {:.1} s", t0.elapsed().as_secs_f64());
}

/// Disk storage and dedup store pools work like tape pools through reeld
/// (backup and restore bit for bit), and a duplicate job stages the disk
/// set to tape: the copy's tape pieces are in the catalog and a restore
/// from the tape pool gives the same bytes.
#[test]
fn disk_and_dedup_pools_and_a_duplicate_to_tape() {
    let t0 = Instant::now();
    let mut config = tape_config(&[("tape", &["lib1/drive0", "lib1/drive1"])], 60);
    config += "\n[[storage]]\nid = \"disk0\"\nkind = \"disk\"\npath = \"disk0\"\n";
    config += "\n[[storage]]\nid = \"dedup0\"\nkind = \"dedup\"\npath = \"dedup0\"\n";
    config += "\n[[pool]]\nname = \"disk\"\nmembers = [\"disk0\"]\n";
    config += "\n[[pool]]\nname = \"dedup\"\nmembers = [\"dedup0\"]\n";
    let r = Reeld::start_with(&config, |d| make_vtl(d, 2, 4, "64M"));
    let input = r.dir.path().join("in.bin");
    let data = reeld_harness::random_file(&input, (5 << 20) + 3, 8);
    let mut sets = Vec::new();
    for (pool, dev) in [("disk", "disk0"), ("dedup", "dedup0")] {
        let reply = json(&r.admin(&[
            "jobs",
            "backup",
            "--pool",
            pool,
            "--json",
            input.to_str().unwrap(),
        ]));
        assert_eq!(reply["device"], dev);
        assert_eq!(reply["bytes"], data.len() as u64);
        let set = reply["set_uuid"].as_str().unwrap().to_string();
        let back = r.dir.path().join(format!("back-{pool}.bin"));
        r.admin(&["jobs", "restore", &set, "-o", back.to_str().unwrap()]);
        assert!(
            std::fs::read(&back).unwrap() == data,
            "{pool}: restored bytes differ"
        );
        sets.push(set);
    }

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ch = rt
        .block_on(reeld::remote::connect(
            &reeld::remote::Profile::load(&r.profile).unwrap(),
        ))
        .unwrap();
    let dup = rt
        .block_on(
            reeld::api::pb::jobs_client::JobsClient::new(ch.clone()).submit_job(
                reeld::api::pb::SubmitJobRequest {
                    kind: "duplicate".into(),
                    pool: "tape".into(),
                    media_set: "default".into(),
                    set_uuid: sets[0].clone(),
                    ..Default::default()
                },
            ),
        )
        .unwrap()
        .into_inner();
    let j = wait_job(&r, dup.id, "ended", |j| {
        ["completed", "failed", "cancelled"].contains(&j["state"].as_str().unwrap_or(""))
    });
    assert_eq!(j["state"], "completed", "{j}\n{}", r.log());
    assert!(
        j["device"].as_str().unwrap().starts_with("lib1/drive"),
        "{j}"
    );
    let db = rusqlite::Connection::open_with_flags(
        r.data().join("catalog.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let tape_pieces: i64 = db
        .query_row(
            "SELECT count(*) FROM set_pieces p JOIN backup_sets s ON s.uuid = p.set_uuid \
             WHERE s.job_id = ?1 AND p.kind = 'tape' AND s.state = 'complete'",
            [dup.id],
            |row| row.get(0),
        )
        .unwrap();
    assert!(tape_pieces >= 1, "the copy has no tape piece");
    eprintln!("disk/dedup/duplicate: {:.1} s", t0.elapsed().as_secs_f64());
}

/// A cartridge written inside its overwrite-protection period: after the
/// catalog database is deleted and the library re-imported by an
/// inventory, a label job on it is refused by what the medium's own reel
/// label says, and the refusal says why.
#[test]
fn protected_cartridge_is_refused_after_the_catalog_is_lost() {
    let t0 = Instant::now();
    let mut r = Reeld::start_with(
        &tape_config(&[("tape", &["lib1/drive0", "lib1/drive1"])], 7 * 86_400),
        |d| make_vtl(d, 2, 3, "64M"),
    );
    let input = r.dir.path().join("in.bin");
    reeld_harness::random_file(&input, 1 << 20, 4);
    let reply = backup_file(&r, "tape", &input);
    let barcode = reply["cartridges"][0].as_str().unwrap().to_string();

    r.stop();
    for f in ["catalog.db", "catalog.db-wal", "catalog.db-shm"] {
        let _ = std::fs::remove_file(r.data().join(f));
    }
    r.restart();
    let inv = json(&r.admin(&["jobs", "inventory", "lib1", "--json"]));
    let inv_id = inv["id"].as_i64().unwrap();
    // Job ids start again: the catalog is a new one.
    assert_eq!(inv_id, 1);
    let j = wait_job(&r, inv_id, "ended", |j| {
        ["completed", "failed"].contains(&j["state"].as_str().unwrap_or(""))
    });
    assert_eq!(j["state"], "completed", "{j}");

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ch = rt
        .block_on(reeld::remote::connect(
            &reeld::remote::Profile::load(&r.profile).unwrap(),
        ))
        .unwrap();
    let label = rt
        .block_on(reeld::api::pb::jobs_client::JobsClient::new(ch).submit_job(
            reeld::api::pb::SubmitJobRequest {
                kind: "label".into(),
                pool: "tape".into(),
                barcode: barcode.clone(),
                media_set: "default".into(),
                max_attempts: 1,
                ..Default::default()
            },
        ))
        .unwrap()
        .into_inner();
    let j = wait_job(&r, label.id, "ended", |j| {
        ["completed", "failed", "cancelled"].contains(&j["state"].as_str().unwrap_or(""))
    });
    assert_eq!(j["state"], "failed", "{j}");
    let why = r.admin(&["jobs", "show", &label.id.to_string()]);
    assert!(why.contains("protected until"), "{why}");
    assert!(why.contains("refusing to overwrite"), "{why}");
    eprintln!("overwrite protection: {:.1} s", t0.elapsed().as_secs_f64());
}

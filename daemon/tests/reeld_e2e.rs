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
fn tape_config(pools: &[(&str, &[&str])], protect_secs: i64) -> String {
    let mut c = String::from(
        "[devices]\nsysfs = false\n\n[[library]]\nid = \"lib1\"\naddress = \"vtl:vtl\"\n",
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

/// A background reelctl, killed if the test ends early.
struct Bg(Option<Child>);

impl Bg {
    fn write(&mut self, data: &[u8]) {
        let c = self.0.as_mut().unwrap();
        c.stdin.as_mut().unwrap().write_all(data).unwrap();
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
    let mut bg =
        Bg(Some(r.admin_spawn(&[
            "jobs", "backup", "--pool", "tape", "--json", "-",
        ])));
    bg.write(&data[..8 << 20]);
    let j = wait_job(&r, 1, "running", |j| j["state"] == "running");
    // Let the first drive take some of the stream before it breaks.
    std::thread::sleep(Duration::from_millis(500));
    let first = j["device"].as_str().unwrap().to_string();
    r.admin(&[
        "lab",
        "fault",
        &first,
        "--json",
        r#"{"hardware_error":[68,0]}"#,
    ]);
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
    let reply = json(&r.admin(&[
        "jobs",
        "backup",
        "--pool",
        "tape",
        "--json",
        input.to_str().unwrap(),
    ]));
    let set = reply["set_uuid"].as_str().unwrap().to_string();
    let back = r.dir.path().join("back.bin");
    r.admin(&["jobs", "restore", &set, "-o", back.to_str().unwrap()]);
    assert!(
        std::fs::read(&back).unwrap() == data2,
        "restored bytes differ"
    );
    eprintln!("kill -9: {:.1} s", t0.elapsed().as_secs_f64());
}

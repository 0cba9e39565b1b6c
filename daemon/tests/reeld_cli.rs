//! reeld end to end through the reelctl binary: enrollment with the
//! printed token and fingerprint, device and media listing, a backup and
//! restore that round-trip bit for bit, /metrics and /healthz.

mod reeld_harness;

use reeld_harness::{Reeld, random_file};

#[test]
fn enroll_then_list_devices_and_media() {
    let r = Reeld::start();
    let p = r.dir.path().join("c1");
    let p = p.to_str().unwrap();
    // A wrong fingerprint: nothing is sent, nothing written.
    let bad = format!("SHA256:{}", "00".repeat(32));
    let o = r.reelctl(&[
        "enroll",
        "--server",
        &r.grpc,
        "--token",
        &r.token,
        "--fingerprint",
        &bad,
        "--profile",
        p,
    ]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("fingerprint"),
        "{o:?}"
    );
    assert!(!std::path::Path::new(p).join("profile.toml").exists());

    let out = r.ok(&[
        "enroll",
        "--server",
        &r.grpc,
        "--token",
        &r.token,
        "--fingerprint",
        &r.fingerprint,
        "--profile",
        p,
        "--name",
        "tester",
    ]);
    assert!(
        out.contains("enrolled as tester with roles audit,operate,write,read,configure"),
        "{out}"
    );
    // The token was one-time.
    let o = r.reelctl(&[
        "enroll",
        "--server",
        &r.grpc,
        "--token",
        &r.token,
        "--fingerprint",
        &r.fingerprint,
        "--profile",
        r.dir.path().join("c2").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("token"),
        "{o:?}"
    );

    let devices = r.ok(&["devices", "--profile", p]);
    for want in [
        "lib1/drive0",
        "lib1/drive3",
        "ULT3580-TD8",
        "3573-TL",
        "disk0",
        "dedup0",
    ] {
        assert!(devices.contains(want), "{want} missing in\n{devices}");
    }
    let v: serde_json::Value =
        serde_json::from_str(&r.ok(&["devices", "--json", "--profile", p])).unwrap();
    let drives = v["devices"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["kind"] == "tape_drive" && d["health"] == "online")
        .count();
    assert_eq!(drives, 4);

    let v: serde_json::Value =
        serde_json::from_str(&r.ok(&["media", "--json", "--profile", p])).unwrap();
    let media = v["media"].as_array().unwrap();
    assert_eq!(media.len(), 21, "{v}");
    let rl1 = media.iter().find(|m| m["barcode"] == "RL0001L8").unwrap();
    assert_eq!(rl1["state"], "scratch");
    assert_eq!(rl1["location_kind"], "slot");
    let cln = media.iter().find(|m| m["barcode"] == "CLN001L1").unwrap();
    assert_eq!(cln["state"], "cleaning");

    let status = r.ok(&["libraries", "status", "lib1", "--profile", p]);
    assert!(
        status
            .lines()
            .any(|l| l.starts_with("Slot 1 ") && l.contains("Full RL0001L8")),
        "{status}"
    );
    assert!(
        status
            .lines()
            .any(|l| l.starts_with("Drive 0 ") && l.contains("Empty")),
        "{status}"
    );
    // The demo's own profile works too (every role).
    let pools = r.ok(&["pools", "--profile", r.profile.to_str().unwrap()]);
    assert!(
        pools.contains("lto8 (tape_drive): lib1/drive0, lib1/drive1"),
        "{pools}"
    );
}

#[test]
fn backup_and_restore_round_trip_bit_for_bit() {
    let r = Reeld::start();
    let p = r.profile.to_str().unwrap();
    let input = r.dir.path().join("in.bin");
    let data = random_file(&input, 4 * 1024 * 1024 + 12_345, 7);
    let v: serde_json::Value = serde_json::from_str(&r.ok(&[
        "jobs",
        "backup",
        "--pool",
        "lto8",
        "--json",
        "--profile",
        p,
        input.to_str().unwrap(),
    ]))
    .unwrap();
    assert_eq!(v["bytes"], data.len() as u64);
    assert_eq!(v["cartridges"][0], "RL0001L8");
    let set = v["set_uuid"].as_str().unwrap().to_string();
    let job = v["job"].as_i64().unwrap();

    // A second, small backup appends to the same cartridge.
    let small = r.dir.path().join("small.bin");
    let small_data = random_file(&small, 1000, 9);
    let v2: serde_json::Value = serde_json::from_str(&r.ok(&[
        "jobs",
        "backup",
        "--json",
        "--profile",
        p,
        small.to_str().unwrap(),
    ]))
    .unwrap();
    assert_eq!(v2["cartridges"][0], "RL0001L8");

    let out = r.dir.path().join("out.bin");
    r.ok(&[
        "jobs",
        "restore",
        &set,
        "-o",
        out.to_str().unwrap(),
        "--profile",
        p,
    ]);
    assert!(
        std::fs::read(&out).unwrap() == data,
        "restored data differs"
    );
    let out2 = r.dir.path().join("out2.bin");
    r.ok(&[
        "jobs",
        "restore",
        v2["set_uuid"].as_str().unwrap(),
        "-o",
        out2.to_str().unwrap(),
        "--profile",
        p,
    ]);
    assert_eq!(std::fs::read(&out2).unwrap(), small_data);

    // The job's history and final state, as watch reports it.
    let show = r.ok(&["jobs", "show", &job.to_string(), "--profile", p]);
    assert!(
        show.contains("started on lib1/drive0 with cartridge RL0001L8"),
        "{show}"
    );
    let watched = r.ok(&["jobs", "watch", &job.to_string(), "--json", "--profile", p]);
    let last: serde_json::Value = serde_json::from_str(watched.lines().last().unwrap()).unwrap();
    assert_eq!(last["state"], "completed");
    assert_eq!(last["bytes_done"], data.len() as u64);

    // The cartridge is back in its slot, allocated to the media set.
    let v: serde_json::Value =
        serde_json::from_str(&r.ok(&["media", "--json", "--profile", p])).unwrap();
    let rl1 = v["media"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["barcode"] == "RL0001L8")
        .unwrap()
        .clone();
    assert_eq!(rl1["state"], "allocated");
    assert_eq!(rl1["location_kind"], "slot");
    assert_eq!(rl1["media_set"], "default");
    assert_eq!(rl1["bytes_written"], (data.len() + small_data.len()) as u64);

    // The same through the disk storage pool.
    let v3: serde_json::Value = serde_json::from_str(&r.ok(&[
        "jobs",
        "backup",
        "--pool",
        "disk",
        "--json",
        "--profile",
        p,
        input.to_str().unwrap(),
    ]))
    .unwrap();
    assert_eq!(v3["device"], "disk0");
    let out3 = r.dir.path().join("out3.bin");
    r.ok(&[
        "jobs",
        "restore",
        v3["set_uuid"].as_str().unwrap(),
        "-o",
        out3.to_str().unwrap(),
        "--profile",
        p,
    ]);
    assert!(
        std::fs::read(&out3).unwrap() == data,
        "disk restore differs"
    );

    let (status, body) = r.get("/metrics");
    assert!(status.contains("200"), "{status}");
    assert!(
        body.lines()
            .any(|l| l == "reel_jobs{state=\"completed\"} 6"),
        "{body}"
    );
    assert!(body.lines().any(|l| l == "reel_devices 7"), "{body}");
    let written = format!(
        "reel_bytes_written_total {}",
        2 * data.len() + small_data.len()
    );
    assert!(body.lines().any(|l| l == written), "{body}");
    let (status, body) = r.get("/healthz");
    assert!(
        status.contains("200") && body == "ok\n",
        "{status} {body:?}"
    );
    assert!(r.get("/nope").0.contains("404"));
}

#[test]
fn dedup_pool_round_trip() {
    let r = Reeld::start();
    let p = r.profile.to_str().unwrap();
    let input = r.dir.path().join("in.bin");
    let data = random_file(&input, 3 * 1024 * 1024 + 7, 5);
    let v: serde_json::Value = serde_json::from_str(&r.ok(&[
        "jobs",
        "backup",
        "--pool",
        "dedup",
        "--json",
        "--profile",
        p,
        input.to_str().unwrap(),
    ]))
    .unwrap();
    assert_eq!(v["device"], "dedup0");
    assert_eq!(v["bytes"], data.len() as u64);
    let out = r.dir.path().join("out.bin");
    r.ok(&[
        "jobs",
        "restore",
        v["set_uuid"].as_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--profile",
        p,
    ]);
    assert!(
        std::fs::read(&out).unwrap() == data,
        "dedup restore differs"
    );
    // No spool file outlives its job.
    let spool = r.data().join("spool");
    assert_eq!(std::fs::read_dir(&spool).unwrap().count(), 0);
}

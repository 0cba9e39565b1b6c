//! The issue's end-to-end checks through a running reeld: each test starts
//! its own daemon on a data directory prepared with `reelctl vtl` (a small
//! library of small cartridges) and drives it through `reelctl` only, as an
//! operator would; fault injection goes through the Lab service.

mod reeld_harness;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

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
    let mut c = String::from("[[library]]\nid = \"lib1\"\nvtl = \"vtl\"\n");
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

/// Lab faults through `reelctl lab fault`: a hardware error armed on the
/// only drive of a pool makes a backup fail and names the fault; cleared,
/// the next backup succeeds; devices that are not VTL drives and bad JSON
/// are refused with the reason.
#[test]
fn lab_fault_fails_a_drive_and_clear_heals_it() {
    let t0 = Instant::now();
    let r = Reeld::start_with(&tape_config(&[("one", &["lib1/drive0"])], 60), |d| {
        make_vtl(d, 2, 3, "64M")
    });
    let input = r.dir.path().join("in.bin");
    let data = reeld_harness::random_file(&input, 3 << 20, 7);
    let input = input.to_str().unwrap();

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
    let o = r.admin_raw(&["jobs", "backup", "--pool", "one", input]);
    assert!(!o.status.success(), "backup on a failed drive: {o:?}");
    let alerts = r.admin(&["alerts"]);
    assert!(alerts.contains("lib1/drive0"), "{alerts}");

    let out = r.admin(&["lab", "fault", "lib1/drive0", "--clear"]);
    assert!(out.contains("faults cleared"), "{out}");
    // The daemon marked the drive failed; the operator puts it back.
    let devices = r.admin(&["devices"]);
    assert!(
        devices
            .lines()
            .any(|l| l.starts_with("lib1/drive0") && l.contains("failed")),
        "{devices}"
    );
    r.admin(&["devices", "up", "lib1/drive0"]);
    let reply = json(&r.admin(&["jobs", "backup", "--pool", "one", "--json", input]));
    let set = reply["set_uuid"].as_str().unwrap().to_string();
    let back = r.dir.path().join("back.bin");
    r.admin(&["jobs", "restore", &set, "-o", back.to_str().unwrap()]);
    assert!(
        std::fs::read(&back).unwrap() == data,
        "restored bytes differ"
    );
    eprintln!("lab_fault: {:.1} s", t0.elapsed().as_secs_f64());
}

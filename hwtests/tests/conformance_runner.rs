//! The `reel-hwtest` binary end to end against a VTL directory: the case
//! list, a destructive run with JUnit and JSON reports, a
//! non-destructive run that leaves every cartridge as it was, and the
//! exit code of a failing run.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use reel_hwtests::conformance;
use reel_vtl::library::VirtualLibrary;

fn hwtest(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_reel-hwtest"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run reel-hwtest")
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A default VTL (20 cartridges RL0001L8.. in slots), closed again.
fn library(dir: &Path) -> String {
    let p = dir.join("lib");
    let lib = VirtualLibrary::create_default(&p).expect("library");
    lib.save(true).expect("save");
    drop(lib);
    p.display().to_string()
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(dir).unwrap().display().to_string(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

#[test]
fn list_names_every_case() {
    let o = hwtest(&["--list"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let names: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let all: Vec<&str> = conformance::all_cases().iter().map(|c| c.name).collect();
    assert_eq!(names, all);
    let o = hwtest(&["--list", "--cases", "ssc.space.*"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.lines().count() >= 8, "{out}");
    assert!(out.lines().all(|l| l.starts_with("ssc.space.")), "{out}");
}

#[test]
fn destructive_run_writes_junit_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let lib = library(dir.path());
    let junit = dir.path().join("r.xml");
    let json = dir.path().join("r.json");
    let o = hwtest(&[
        "--tape",
        &format!("vtl:{lib}#drive0"),
        "--changer",
        &format!("vtl:{lib}#changer"),
        "--destructive",
        "--allow-barcodes",
        "RL00*",
        "--junit",
        junit.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let all = conformance::all_cases();
    let names_all: Vec<&str> = all.iter().map(|c| c.name).collect();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains(&format!(
            "{} cases: {} passed, 0 failed",
            names_all.len(),
            names_all.len()
        )),
        "{stdout}"
    );

    let xml = std::fs::read_to_string(&junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).expect("JUnit XML parses");
    let cases: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .filter_map(|n| n.attribute("name"))
        .collect();
    assert_eq!(cases, names_all);
    let suite = doc
        .descendants()
        .find(|n| n.has_tag_name("testsuite"))
        .expect("testsuite");
    assert_eq!(suite.attribute("failures"), Some("0"));
    assert!(!doc.descendants().any(|n| n.has_tag_name("failure")));

    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).expect("JSON parses");
    let names: Vec<&str> = v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, names_all);
    assert_eq!(v["totals"]["failed"], 0);
    assert_eq!(v["destructive"], true);
    assert!(
        v["cases"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["status"] == "pass")
    );
}

#[test]
fn non_destructive_run_changes_no_media() {
    let dir = tempfile::tempdir().unwrap();
    let lib = library(dir.path());
    // A cartridge in the drive, so the read-only cases that need one run.
    {
        let l = VirtualLibrary::open(Path::new(&lib)).unwrap();
        l.insert(0, "RL0001L8").unwrap();
        l.save(true).unwrap();
    }
    let cartridges = Path::new(&lib).join("cartridges");
    let before = snapshot(&cartridges);
    assert!(
        !before.is_empty(),
        "cartridge files expected under {cartridges:?}"
    );
    let json = dir.path().join("r.json");
    let o = hwtest(&[
        "--tape",
        &format!("vtl:{lib}#drive0"),
        "--changer",
        &format!("vtl:{lib}#changer"),
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let ran: Vec<&serde_json::Value> = v["cases"].as_array().unwrap().iter().collect();
    let read_only = conformance::all_cases()
        .iter()
        .filter(|c| !c.destructive)
        .count();
    assert_eq!(ran.len(), read_only, "only non-destructive cases run");
    assert!(ran.iter().all(|c| c["destructive"] == false));
    assert_eq!(snapshot(&cartridges), before, "cartridge files changed");
    let l = VirtualLibrary::open(Path::new(&lib)).unwrap();
    assert_eq!(
        l.location("RL0001L8"),
        Some(reel_vtl::changer::Location::Drive(0)),
        "the cartridge did not move"
    );
}

#[test]
fn a_failing_case_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let lib = library(dir.path());
    // tgt's gap list names a case the VTL passes: an unexpected pass is a
    // failure (the gap list is out of date).
    let o = hwtest(&[
        "--tape",
        &format!("vtl:{lib}#drive0"),
        "--changer",
        &format!("vtl:{lib}#changer"),
        "--destructive",
        "--allow-barcodes",
        "RL*",
        "--cases",
        "ssc.position.bop_at_bot",
        "--target",
        "tgtd",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("XPASS ssc.position.bop_at_bot"));
    // Usage errors are not case failures.
    let o = hwtest(&["--destructive", "--tape", "vtl:/nonexistent#drive0"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = hwtest(&["--tape", "vtl:/nonexistent/reel-hwtest#drive0"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

//! The mtx shim end to end: the real `reelctl` binary (as `reelctl mtx` and
//! through an `mtx` symlink) against VTL libraries in a tempdir, one
//! process per invocation as scripts run mtx. Expected texts are mtx
//! 1.3.12's formats written out literally.

use std::path::Path;
use std::process::Command;

use reel_vtl::cartridge::Generation;
use reel_vtl::library::VirtualLibrary;
use reel_vtl::library::config::{CartridgeSection, LibrarySpec};

const BIN: &str = env!("CARGO_BIN_EXE_reelctl");

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run_in(program: &Path, args: &[&str], env: &[(&str, &str)]) -> Out {
    let mut c = Command::new(program);
    c.args(args)
        .env_remove("TAPE")
        .env_remove("CHANGER")
        .env_remove("REEL_LOG");
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().expect("run reelctl");
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// A VTL library directory in a tempdir.
struct Lib {
    tmp: tempfile::TempDir,
    dev: String,
}

impl Lib {
    fn with_spec(spec: &LibrarySpec) -> Lib {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("lib");
        drop(VirtualLibrary::create_with(&dir, spec).expect("create library"));
        let dev = format!("vtl:{}#changer", dir.display());
        Lib { tmp, dev }
    }

    fn default() -> Lib {
        Lib::with_spec(&LibrarySpec::default_library())
    }

    /// `reelctl mtx -f DEV args...`
    fn mtx(&self, args: &[&str]) -> Out {
        let mut a = vec!["mtx", "-f", &self.dev];
        a.extend_from_slice(args);
        run_in(Path::new(BIN), &a, &[])
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.mtx(args);
        assert_eq!(o.code, 0, "mtx {args:?}: {}", o.stderr);
        assert_eq!(o.stderr, "", "mtx {args:?}");
        o.stdout
    }

    fn status(&self) -> String {
        self.ok(&["status"])
    }
}

/// `      Storage Element N:Full :VolumeTag=TAG` with the tag padded to 32.
fn full(n: usize, tag: &str) -> String {
    format!("      Storage Element {n}:Full :VolumeTag={tag:<32}\n")
}

fn empty(n: usize) -> String {
    format!("      Storage Element {n}:Empty\n")
}

fn default_status(dev: &str, drives: &[&str], slot: impl Fn(usize) -> String) -> String {
    let mut s = format!("  Storage Changer {dev}:4 Drives, 54 Slots ( 4 Import/Export )\n");
    for (i, d) in drives.iter().enumerate() {
        s.push_str(&format!("Data Transfer Element {i}:{d}\n"));
    }
    for n in 1..=54 {
        s.push_str(&slot(n));
    }
    s
}

fn default_slots(n: usize) -> String {
    match n {
        1..=20 => full(n, &format!("RL{n:04}L8")),
        50 => full(50, "CLN001L1"),
        51..=54 => format!("      Storage Element {n} IMPORT/EXPORT:Empty\n"),
        _ => empty(n),
    }
}

#[test]
fn status_of_the_default_library() {
    let lib = Lib::default();
    let want = default_status(&lib.dev, &["Empty"; 4], default_slots);
    assert_eq!(lib.status(), want);
}

const PAD: &str = "                        "; // 24 spaces: 8-character tags in 32

#[test]
fn loads_unloads_and_drive_sources() {
    let lib = Lib::default();
    assert_eq!(
        lib.ok(&["load", "3", "1"]),
        "Loading media from Storage Element 3 into drive 1...done\n"
    );
    let drives = [
        "Empty".to_string(),
        format!("Full (Storage Element 3 Loaded):VolumeTag = RL0003L8{PAD}"),
        "Empty".into(),
        "Empty".into(),
    ];
    let d: Vec<&str> = drives.iter().map(String::as_str).collect();
    let slots = |n| if n == 3 { empty(3) } else { default_slots(n) };
    assert_eq!(lib.status(), default_status(&lib.dev, &d, slots));
    // The source slot filled by another cartridge: mtx names the first
    // empty storage slot instead (slot 4, emptied by the transfer).
    assert_eq!(lib.ok(&["transfer", "4", "3"]), "");
    let st = lib.status();
    assert!(
        st.contains(&format!(
            "Data Transfer Element 1:Full (Storage Element 4 Loaded):VolumeTag = RL0003L8{PAD}\n"
        )),
        "{st}"
    );
    // unload without a slot goes to the slot mtx named; unload by drive
    // number only (`unload` reads the first number as the slot).
    let o = lib.mtx(&["unload"]);
    assert_eq!((o.code, o.stdout.as_str()), (1, ""));
    assert_eq!(o.stderr, "mtx: Data Transfer Element 0 is Empty\n");
    assert_eq!(
        lib.ok(&["unload", "4", "1"]),
        "Unloading drive 1 into Storage Element 4...done\n"
    );
    // mtx reads the element status once per invocation and a load only
    // flips the full flags: a following bare `unload` uses the drive's
    // source from before the load (here slot 1, which is full).
    let (out, stderr) = err(&lib, &["load", "4", "unload"]);
    assert_eq!(
        out,
        "Loading media from Storage Element 4 into drive 0...done\n"
    );
    assert_eq!(stderr, "mtx: Storage Element 1 is Already Full\n");
    assert_eq!(
        lib.ok(&["unload", "4", "0", "load", "4", "2", "unload", "4", "2"]),
        "Unloading drive 0 into Storage Element 4...done\n\
         Loading media from Storage Element 4 into drive 2...done\n\
         Unloading drive 2 into Storage Element 4...done\n"
    );
}

/// A drive holding a cartridge while every storage slot is full: mtx
/// cannot name a source.
#[test]
fn unknown_source_when_no_storage_slot_is_empty() {
    let mut spec = LibrarySpec::empty(4, 1, 2, Generation::Lto8);
    for n in 1..=4u16 {
        spec.cartridge
            .push(CartridgeSection::in_slot(&format!("S{n:05}L8"), n));
    }
    let mut m = CartridgeSection::in_slot("M00001L8", 1);
    m.slot = None;
    m.mail_slot = Some(1);
    spec.cartridge.push(m);
    let lib = Lib::with_spec(&spec);
    lib.ok(&["load", "1", "0"]);
    // Slot 5 is the mail slot.
    assert_eq!(lib.ok(&["transfer", "5", "1"]), "");
    assert_eq!(
        lib.status(),
        format!(
            "  Storage Changer {}:2 Drives, 5 Slots ( 1 Import/Export )\n\
             Data Transfer Element 0:Full (Unknown Storage Element Loaded):VolumeTag = S00001L8{PAD}\n\
             Data Transfer Element 1:Empty\n\
             {}{}{}{}      Storage Element 5 IMPORT/EXPORT:Empty\n",
            lib.dev,
            full(1, "M00001L8"),
            full(2, "S00002L8"),
            full(3, "S00003L8"),
            full(4, "S00004L8"),
        )
    );
    let o = lib.mtx(&["unload"]);
    assert_eq!(o.code, 1);
    assert_eq!(o.stderr, "mtx: No Source for tape in drive 0!\n");
    let o = lib.mtx(&["unload", "2"]);
    assert_eq!(o.stderr, "mtx: Storage Element 2 is Already Full\n");
    assert_eq!(
        lib.ok(&["unload", "5"]),
        "Unloading drive 0 into Storage Element 5...done\n"
    );
}

/// 1 000 slots, 16 drives, 10 mail slots; labelled and unlabelled
/// cartridges, one in a mail slot.
#[test]
fn status_of_a_1000_slot_library() {
    let mut spec = LibrarySpec::empty(1000, 10, 16, Generation::Lto8);
    for n in [1u16, 2, 500, 999, 1000] {
        spec.cartridge
            .push(CartridgeSection::in_slot(&format!("B{n:05}L8"), n));
    }
    let mut nolabel = CartridgeSection::in_slot("X00001L8", 7);
    nolabel.label = false;
    spec.cartridge.push(nolabel);
    let mut m = CartridgeSection::in_slot("MAIL01L8", 1);
    m.slot = None;
    m.mail_slot = Some(3);
    spec.cartridge.push(m);
    let lib = Lib::with_spec(&spec);
    let mut want = format!(
        "  Storage Changer {}:16 Drives, 1010 Slots ( 10 Import/Export )\n",
        lib.dev
    );
    for d in 0..16 {
        want.push_str(&format!("Data Transfer Element {d}:Empty\n"));
    }
    for n in 1..=1010usize {
        want.push_str(&match n {
            1 | 2 | 500 | 999 | 1000 => full(n, &format!("B{n:05}L8")),
            // A full slot without a barcode: "Full " and nothing after.
            7 => "      Storage Element 7:Full \n".to_string(),
            1003 => {
                format!("      Storage Element 1003 IMPORT/EXPORT:Full :VolumeTag=MAIL01L8{PAD}\n")
            }
            1001..=1010 => format!("      Storage Element {n} IMPORT/EXPORT:Empty\n"),
            _ => empty(n),
        });
    }
    assert_eq!(lib.status(), want);
    // Load from the far end into the last drive, from the mail slot too.
    assert_eq!(
        lib.ok(&["load", "1000", "15", "load", "1003", "14"]),
        "Loading media from Storage Element 1000 into drive 15...done\n\
         Loading media from Storage Element 1003 into drive 14...done\n"
    );
    let st = lib.status();
    assert!(st.contains(&format!(
        "Data Transfer Element 14:Full (Storage Element 1003 Loaded):VolumeTag = MAIL01L8{PAD}\n\
         Data Transfer Element 15:Full (Storage Element 1000 Loaded):VolumeTag = B01000L8{PAD}\n"
    )), "{st}");
    assert!(st.contains("      Storage Element 1003 IMPORT/EXPORT:Empty\n"));
    // The unlabelled cartridge in a drive: no VolumeTag at all.
    lib.ok(&["load", "7", "0"]);
    assert!(
        lib.status()
            .contains("Data Transfer Element 0:Full (Storage Element 7 Loaded)\n")
    );
}

#[test]
fn nobarcode_and_alternate_tags() {
    let lib = Lib::default();
    let want = default_status(&lib.dev, &["Empty"; 4], |n| match default_slots(n) {
        l if l.contains("Full") => format!("      Storage Element {n}:Full \n"),
        l => l,
    });
    assert_eq!(lib.ok(&["nobarcode", "status"]), want);
    // A modifier after the status has been read changes nothing.
    assert_eq!(
        lib.ok(&["status", "nobarcode", "status"]),
        format!("{}{}", lib.status(), lib.status())
    );

    let mut spec = LibrarySpec::empty(3, 0, 1, Generation::Lto8);
    spec.options.alternate_tags = true;
    let mut c = CartridgeSection::in_slot("A00001L8", 2);
    c.alternate_tag = Some("ALT-1".into());
    spec.cartridge.push(c);
    let lib = Lib::with_spec(&spec);
    let alt = format!("{:<32}", "ALT-1");
    assert_eq!(
        lib.status(),
        format!(
            "  Storage Changer {}:1 Drives, 3 Slots ( 0 Import/Export )\n\
             Data Transfer Element 0:Empty\n\
             {}      Storage Element 2:Full :VolumeTag=A00001L8{PAD}:AlternateVolumeTag={alt}\n{}",
            lib.dev,
            empty(1),
            empty(3)
        )
    );
    lib.ok(&["load", "2"]);
    assert!(lib.status().contains(&format!(
        "Data Transfer Element 0:Full (Storage Element 2 Loaded):VolumeTag = A00001L8{PAD}:AlternateVolumeTag = {alt}\n"
    )));
}

#[test]
fn transfer_exchange_position_and_inquiry() {
    let lib = Lib::default();
    assert_eq!(lib.ok(&["transfer", "1", "30"]), "");
    assert_eq!(lib.ok(&["exchange", "2", "30"]), "");
    let st = lib.status();
    assert!(st.contains(&full(2, "RL0001L8")), "{st}");
    assert!(st.contains(&full(30, "RL0002L8")), "{st}");
    assert!(st.contains(&empty(1)));
    // Exchange with a third slot: 3 to 4, 4's cartridge to 31.
    assert_eq!(lib.ok(&["exchange", "3", "4", "31"]), "");
    let st = lib.status();
    assert!(st.contains(&full(4, "RL0003L8")) && st.contains(&full(31, "RL0004L8")));
    assert!(st.contains(&empty(3)));
    assert_eq!(lib.ok(&["position", "5"]), "");
    assert_eq!(
        lib.ok(&["inquiry"]),
        "Product Type: Medium Changer\nVendor ID: 'IBM     '\nProduct ID: '3573-TL         '\n\
         Revision: 'R001'\nAttached Changer API: No\n"
    );
    assert_eq!(lib.ok(&["inventory"]), "");
}

#[test]
fn first_last_next_previous() {
    let lib = Lib::default();
    assert_eq!(
        lib.ok(&["first", "2"]),
        "Loading media from Storage Element 1 into drive 2...done\n"
    );
    assert_eq!(lib.ok(&["first", "2"]), "loading...done.\n");
    assert_eq!(
        lib.ok(&["next", "2"]),
        "Unloading drive 2 into Storage Element 1...done\n\
         Loading media from Storage Element 2 into drive 2...done\n"
    );
    assert_eq!(
        lib.ok(&["previous", "2"]),
        "Unloading drive 2 into Storage Element 2...done\n\
         Loading media from Storage Element 1 into drive 2...done\n"
    );
    let o = lib.mtx(&["previous", "2"]);
    assert_eq!((o.code, o.stderr.as_str()), (1, "mtx: No More Media\n"));
    // last: the last storage slot (50, the cleaning cartridge), not a
    // mail slot.
    assert_eq!(
        lib.ok(&["last", "2"]),
        "Unloading drive 2 into Storage Element 1...done\n\
         Loading media from Storage Element 50 into drive 2...done\n"
    );
    assert_eq!(lib.ok(&["last", "2"]), "loading...done.\n");
    let o = lib.mtx(&["next", "2"]);
    assert_eq!(
        o.stdout,
        "Unloading drive 2 into Storage Element 50...done\n"
    );
    assert_eq!((o.code, o.stderr.as_str()), (1, "mtx: No More Media\n"));
    // Empty drive, previous: the highest full storage slot.
    assert_eq!(
        lib.ok(&["previous", "3"]),
        "Loading media from Storage Element 50 into drive 3...done\n"
    );
}

fn err(lib: &Lib, args: &[&str]) -> (String, String) {
    let o = lib.mtx(args);
    assert_eq!(o.code, 1, "mtx {args:?} should fail: {}", o.stdout);
    (o.stdout, o.stderr)
}

#[test]
fn errors_exit_1_with_mtx_texts() {
    let lib = Lib::default();
    let e = |args: &[&str]| err(&lib, args).1;
    assert_eq!(e(&["load"]), "mtx: No source specified\n");
    assert_eq!(
        e(&["load", "55"]),
        "mtx: Invalid <storage-element-number> argument '55' to 'load' command\n"
    );
    assert_eq!(
        e(&["load", "1", "4"]),
        "mtx: illegal <drive-number> argument '4' to 'load' command\n"
    );
    assert_eq!(
        e(&["unload", "1", "9"]),
        "mtx: illegal <drive-number> argument '9' to 'unload' command\n"
    );
    assert_eq!(
        e(&["unload", "60", "0"]),
        "mtx: illegal <storage-element-number> argument '60' to 'unload' command\n"
    );
    assert_eq!(
        e(&["unload", "30", "0"]),
        "mtx: Data Transfer Element 0 is Empty\n"
    );
    assert_eq!(e(&["transfer", "1"]), "mtx: No destination specified\n");
    assert_eq!(e(&["transfer", "70", "1"]), "mtx: Invalid source\n");
    assert_eq!(e(&["transfer", "1", "70"]), "mtx: Invalid destination\n");
    // The robot's refusals, with the element addresses in decimal.
    assert_eq!(
        e(&["transfer", "1", "2"]),
        format!(
            "mtx: Destination Element Address {} is Already Full\n",
            0x401
        )
    );
    assert_eq!(
        err(&lib, &["load", "30", "1"]),
        (
            "Loading media from Storage Element 30 into drive 1...".to_string(),
            format!("mtx: Source Element Address {} is Empty\n", 0x400 + 29)
        )
    );
    assert_eq!(
        e(&["eepos", "4"]),
        "mtx: eepos equires argument between 0 and 3.\n"
    );
    // Drive full.
    lib.ok(&["load", "1", "0"]);
    assert_eq!(
        e(&["load", "2", "0"]),
        "mtx: Drive 0 Full (Storage Element 1 loaded)\n"
    );
    // Usage for unknown words (after the commands before them ran).
    let (out, stderr) = err(&lib, &["status", "frobnicate"]);
    assert!(out.starts_with("  Storage Changer "));
    assert!(stderr.starts_with(
        "Usage:\n\tmtx --version\n\tmtx [ -f <loader-dev> ] noattach <more commands>\n"
    ));
    assert!(stderr.ends_with("\tmtx [ -f <loader-dev> ] eject\n"));
    let v = run_in(Path::new(BIN), &["mtx", "--version"], &[]);
    assert_eq!(v.code, 1);
    assert!(v.stderr.starts_with("mtx version 1.3.12\n\nUsage:\n"));
}

#[test]
fn eject_failure_is_reported_but_exits_0() {
    // The VTL changer has no magazine to eject: mtx prints the sense and
    // "eject failed", and carries on.
    let lib = Lib::default();
    let o = lib.mtx(&["eject", "inquiry"]);
    assert_eq!(o.code, 0);
    assert!(
        o.stderr
            .starts_with("mtx: Request Sense: Long Report=yes\n"),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr
            .contains("mtx: Request Sense: Error Code=70 (Current)\n")
    );
    assert!(
        o.stderr
            .ends_with("Eject (0x1B) failed\nmtx:eject failed\n")
    );
    assert!(o.stdout.starts_with("Product Type: Medium Changer\n"));
}

#[test]
fn devices_from_the_environment_and_missing_devices() {
    let lib = Lib::default();
    let st = lib.status();
    let by_env = |k: &str| run_in(Path::new(BIN), &["mtx", "status"], &[(k, &lib.dev)]);
    assert_eq!(by_env("CHANGER").stdout, st);
    assert_eq!(by_env("TAPE").stdout, st);
    // $CHANGER wins over $TAPE.
    let o = run_in(
        Path::new(BIN),
        &["mtx", "status"],
        &[("CHANGER", &lib.dev), ("TAPE", "/nonexistent/sg9")],
    );
    assert_eq!(o.stdout, st);
    // Default /dev/changer.
    let o = run_in(Path::new(BIN), &["mtx", "status"], &[]);
    if !Path::new("/dev/changer").exists() {
        assert_eq!(o.code, 1);
        assert_eq!(
            o.stderr,
            "mtx: cannot open SCSI device '/dev/changer' - No such file or directory\n"
        );
    }
    let missing = format!("vtl:{}/none#changer", lib.tmp.path().display());
    let o = run_in(Path::new(BIN), &["mtx", "-f", &missing, "status"], &[]);
    assert_eq!(
        (o.code, o.stderr),
        (
            1,
            format!("mtx: cannot open SCSI device '{missing}' - No such file or directory\n")
        )
    );
    // -f opens at once: the error comes before any command runs.
    let o = run_in(Path::new(BIN), &["mtx", "-f", "/nonexistent/sg3"], &[]);
    assert_eq!(o.code, 1);
    assert_eq!(
        o.stderr,
        "mtx: cannot open SCSI device '/nonexistent/sg3' - No such file or directory\n"
    );
}

#[test]
fn invoked_through_an_mtx_symlink() {
    let lib = Lib::default();
    let link = lib.tmp.path().join("mtx");
    std::os::unix::fs::symlink(BIN, &link).expect("symlink");
    let o = run_in(&link, &["-f", &lib.dev, "status"], &[]);
    assert_eq!((o.code, o.stdout.as_str()), (0, lib.status().as_str()));
    // Errors carry argv[0] as it was typed.
    let o = run_in(&link, &["-f", &lib.dev, "load", "40"], &[]);
    assert_eq!(o.code, 1);
    assert_eq!(
        o.stderr,
        format!(
            "{}: Source Element Address {} is Empty\n",
            link.display(),
            0x400 + 39
        )
    );
}

/// `reelctl changer`, the human mode, on the same library.
#[test]
fn reelctl_changer_human_mode() {
    let lib = Lib::default();
    let rc = |args: &[&str]| {
        let mut a = vec!["changer", "-f", &lib.dev];
        a.extend_from_slice(args);
        run_in(Path::new(BIN), &a, &[])
    };
    let o = rc(&["load", "4", "2"]);
    assert_eq!(
        (o.code, o.stdout.as_str()),
        (0, "loaded slot 4 (RL0004L8) into drive 2\n"),
        "{}",
        o.stderr
    );
    let o = rc(&["status", "--json"]);
    assert_eq!(o.code, 0);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).expect("json");
    assert_eq!(v["drives"][2]["barcode"], "RL0004L8");
    assert_eq!(v["drives"][2]["source_slot"], 4);
    assert_eq!(v["slots"].as_array().map(Vec::len), Some(50));
    assert_eq!(v["mail_slots"].as_array().map(Vec::len), Some(4));
    // mtx sees the same library.
    assert!(lib.status().contains(&format!(
        "Data Transfer Element 2:Full (Storage Element 4 Loaded):VolumeTag = RL0004L8{PAD}\n"
    )));
    let o = rc(&["export", "4"]);
    assert_eq!(o.code, 1);
    assert_eq!(
        o.stderr,
        format!(
            "reelctl changer: {}: slot 4 (element 1027) is empty\n",
            lib.dev
        )
    );
    let o = rc(&["unload", "2"]);
    assert_eq!(o.stdout, "unloaded drive 2 into slot 4 (RL0004L8)\n");
    let o = rc(&["export", "4"]);
    assert_eq!(o.stdout, "exported slot 4 (RL0004L8) to mail slot 51\n");
    let o = rc(&["import", "51", "--slot", "40"]);
    assert_eq!(o.stdout, "imported mail slot 51 (RL0004L8) into slot 40\n");
    let o = rc(&["clean", "0"]);
    assert_eq!(
        (o.code, o.stdout.as_str()),
        (0, "cleaned drive 0 with the cartridge of slot 50\n"),
        "{}",
        o.stderr
    );
    let o = rc(&["status"]);
    assert!(
        o.stdout.contains("\n40     0x0427   full      RL0004L8\n"),
        "{}",
        o.stdout
    );
}

//! `reelctl mt` / `mt` / `reelctl tape` end to end: the real binary against
//! a VTL directory, one process per command as mt is used.

mod common;

use common::*;

/// file 0: 10 records of 1000 bytes, FM (object 10); file 1: 5 records
/// (11..=15), FM (16); end of data at 17.
fn two_files(v: &Vtl) {
    v.write_file(&data(1, 10_000), 1000);
    v.write_file(&data(2, 5_000), 1000);
    ok(v.mt(&["rewind"]));
}

#[test]
fn status_at_bot_is_byte_exact() {
    let v = Vtl::new();
    let o = ok(v.mt(&["status"]));
    assert_eq!(
        o.stdout,
        status_text(0, 0, "41010000", " BOT ONLINE IM_REP_EN")
    );
    assert_eq!(o.stderr, "");
    two_files(&v);
    assert_eq!(
        ok(v.mt(&["status"])).stdout,
        status_text(0, 0, "41010000", " BOT ONLINE IM_REP_EN")
    );
}

#[test]
fn status_after_weof_and_fsf() {
    let v = Vtl::new();
    // weof at BOT: one empty file; the tape is after the filemark.
    ok(v.mt(&["weof"]));
    assert_eq!(v.tell(), 1);
    // A fresh process knows the file number (READ POSITION long form) and,
    // from the position cache the weof left, where the file starts, as st
    // does across opens.
    let after_fm = |file| status_text(file, 0, "81010000", " EOF ONLINE IM_REP_EN");
    assert_eq!(ok(v.mt(&["status"])).stdout, after_fm(1));
    ok(v.mt(&["weof", "2"]));
    ok(v.mt(&["rewind"]));
    ok(v.mt(&["fsf", "2"]));
    assert_eq!(v.tell(), 2);
    assert_eq!(ok(v.mt(&["status"])).stdout, after_fm(2));
    // A jump loses track of the file start: block -1, as st prints then.
    ok(v.mt(&["seek", "1"]));
    assert_eq!(
        ok(v.mt(&["status"])).stdout,
        status_text(1, -1, "1010000", " ONLINE IM_REP_EN")
    );
}

/// `reelctl mt -f DEV args...` with the position cache under `rt`.
fn mt_rt(v: &Vtl, rt: &std::path::Path, args: &[&str]) -> Out {
    let o = std::process::Command::new(BIN)
        .args(["mt", "-f", &v.dev])
        .args(args)
        .env("XDG_RUNTIME_DIR", rt)
        .env_remove("TAPE")
        .env_remove("REEL_LOG")
        .output()
        .expect("run reelctl");
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        raw: o.stdout,
    }
}

/// File and block number from `mt status` output.
fn file_block(status: &str) -> (i64, i64) {
    let line = status
        .lines()
        .find(|l| l.starts_with("File number="))
        .unwrap_or_else(|| panic!("no position line in {status:?}"));
    let num = |key: &str| -> i64 {
        let rest = &line[line.find(key).expect(key) + key.len()..];
        let end = rest.find(',').unwrap_or(rest.len());
        rest[..end].parse().expect("number")
    };
    (num("File number="), num("block number="))
}

/// The cache files under `rt`.
fn cache_files(rt: &std::path::Path) -> Vec<std::path::PathBuf> {
    match std::fs::read_dir(rt.join("reel")) {
        Ok(d) => d.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    }
}

#[test]
fn block_number_survives_between_processes() {
    let v = Vtl::new();
    let rt = tempfile::tempdir().unwrap();
    let rt = rt.path();
    // file 0: 4 records, FM (4); then three empty files: FM 5, 6, 7.
    v.write_file(&data(3, 4000), 1000);
    ok(mt_rt(&v, rt, &["weof", "3"]));
    assert_eq!(v.tell(), 8);
    ok(mt_rt(&v, rt, &["rewind"]));
    assert!(cache_files(rt).is_empty(), "nothing to keep in file 0");
    ok(mt_rt(&v, rt, &["fsf", "1"]));
    assert_eq!(cache_files(rt).len(), 1);
    let s = ok(mt_rt(&v, rt, &["status"])).stdout;
    assert_eq!(s, status_text(1, 0, "81010000", " EOF ONLINE IM_REP_EN"));
    // status does not move the tape, and can be repeated.
    assert_eq!(v.tell(), 5);
    assert_eq!(file_block(&ok(mt_rt(&v, rt, &["status"])).stdout), (1, 0));

    // Records within a later file: rewrite the tape as file 0 (2 records),
    // file 1 (5 records).
    ok(mt_rt(&v, rt, &["rewind"]));
    v.write_file(&data(4, 2000), 1000);
    v.write_file(&data(5, 5000), 1000);
    ok(mt_rt(&v, rt, &["rewind"]));
    ok(mt_rt(&v, rt, &["fsf", "1"]));
    assert_eq!(v.tell(), 3);
    ok(mt_rt(&v, rt, &["fsr", "2"]));
    assert_eq!(file_block(&ok(mt_rt(&v, rt, &["status"])).stdout), (1, 2));
    ok(mt_rt(&v, rt, &["bsr", "1"]));
    assert_eq!(file_block(&ok(mt_rt(&v, rt, &["status"])).stdout), (1, 1));
    ok(mt_rt(&v, rt, &["seek", "3"]));
    assert_eq!(
        file_block(&ok(mt_rt(&v, rt, &["status"])).stdout),
        (1, 0),
        "a LOCATE within the remembered file keeps the file start"
    );
    // bsr stops at the filemark before file 1: file 0, which starts at 0.
    assert_eq!(mt_rt(&v, rt, &["bsr", "2"]).code, 2);
    assert_eq!(file_block(&ok(mt_rt(&v, rt, &["status"])).stdout), (0, 2));
    // Unloading forgets.
    ok(mt_rt(&v, rt, &["fsf", "1"]));
    assert_eq!(cache_files(rt).len(), 1);
    ok(mt_rt(&v, rt, &["offline"]));
    assert!(cache_files(rt).is_empty());
}

#[test]
fn another_cartridge_never_gets_a_stale_block_number() {
    let v = Vtl::new();
    let d = v.dir_str().to_string();
    let rt = tempfile::tempdir().unwrap();
    let rt = rt.path();
    // Cartridge A: file 1 starts at object 11.
    two_files(&v);
    ok(mt_rt(&v, rt, &["fsf", "1"]));
    let cache = cache_files(rt);
    assert_eq!(cache.len(), 1);
    let saved = std::fs::read(&cache[0]).unwrap();
    // Cartridge B: file 1 starts at object 4 (objects 4..=13).
    ok(reelctl(&["vtl", "eject", &d]));
    ok(reelctl(&[
        "vtl",
        "add",
        &d,
        "B00002L8",
        "--capacity",
        "64M",
    ]));
    ok(reelctl(&["vtl", "insert", &d, "B00002L8"]));
    v.write_file(&data(6, 3000), 1000);
    v.write_file(&data(7, 10_000), 1000);
    // In file 1 of B at object 13: block 9 (or -1 if unknown), never the
    // 2 that A's file start would give.
    ok(mt_rt(&v, rt, &["seek", "13"]));
    assert_eq!(file_block(&ok(mt_rt(&v, rt, &["status"])).stdout), (1, -1));
    // Even with A's entry put back by hand, it is not used for B.
    std::fs::write(&cache[0], &saved).unwrap();
    assert_eq!(file_block(&ok(mt_rt(&v, rt, &["status"])).stdout), (1, -1));
    // ... and B's own is.
    ok(mt_rt(&v, rt, &["rewind"]));
    ok(mt_rt(&v, rt, &["fsf", "1"]));
    ok(mt_rt(&v, rt, &["fsr", "1"]));
    assert_eq!(file_block(&ok(mt_rt(&v, rt, &["status"])).stdout), (1, 1));
    // Cartridge A again, at BOT after the load: file 0 is known anyway;
    // moved to file 1 by a jump, A's old entry (load count changed) is not
    // used either.
    ok(reelctl(&["vtl", "eject", &d]));
    ok(reelctl(&["vtl", "insert", &d, BARCODE]));
    std::fs::write(&cache[0], &saved).unwrap();
    ok(mt_rt(&v, rt, &["seek", "13"]));
    std::fs::write(&cache[0], &saved).unwrap();
    assert_eq!(file_block(&ok(mt_rt(&v, rt, &["status"])).stdout), (1, -1));
}

#[test]
fn writes_keep_the_cache_consistent() {
    let v = Vtl::new();
    let rt = tempfile::tempdir().unwrap();
    let rt = rt.path();
    // file 0: 0..=9, FM 10; file 1: 11..=15, FM 16.
    two_files(&v);
    ok(mt_rt(&v, rt, &["fsf", "2"]));
    assert_eq!(file_block(&ok(mt_rt(&v, rt, &["status"])).stdout), (2, 0));
    // Appending a file in file 2 (records, FM): the next process is at the
    // start of file 3.
    let o = std::process::Command::new(BIN)
        .args(["tape", "-f", &v.dev, "write", "--block-size", "1000"])
        .env("XDG_RUNTIME_DIR", rt)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(file_block(&ok(mt_rt(&v, rt, &["status"])).stdout), (3, 0));
    // Rewriting from inside file 0 moves where file 1 starts: 3 records,
    // then filemarks. The remembered start of file 3 must not survive.
    ok(mt_rt(&v, rt, &["seek", "3"]));
    ok(mt_rt(&v, rt, &["weof", "3"]));
    assert_eq!(v.tell(), 6);
    assert_eq!(file_block(&ok(mt_rt(&v, rt, &["status"])).stdout), (3, 0));
    ok(mt_rt(&v, rt, &["bsf", "1"]));
    assert_eq!(v.tell(), 5);
    ok(mt_rt(&v, rt, &["seek", "5"]));
    assert_eq!(file_block(&ok(mt_rt(&v, rt, &["status"])).stdout), (2, -1));
}

#[test]
fn a_corrupt_cache_is_ignored() {
    let v = Vtl::new();
    let rt = tempfile::tempdir().unwrap();
    let rt = rt.path();
    two_files(&v);
    ok(mt_rt(&v, rt, &["fsf", "1"]));
    let cache = cache_files(rt);
    assert_eq!(cache.len(), 1);
    for junk in [&b"\x00\xffnot json"[..], b"", b"{\"version\":1,\"file\":1}"] {
        std::fs::write(&cache[0], junk).unwrap();
        let o = ok(mt_rt(&v, rt, &["status"]));
        assert_eq!(file_block(&o.stdout), (1, -1));
        assert_eq!(o.stderr, "");
    }
    // Well-formed but inconsistent with READ POSITION (file 1 cannot start
    // after the position, file 0 starts at 0): refused by the driver.
    ok(mt_rt(&v, rt, &["rewind"]));
    ok(mt_rt(&v, rt, &["fsf", "1"]));
    let good = std::fs::read_to_string(&cache[0]).unwrap();
    assert!(good.contains("\"file\":1,\"origin\":11"), "{good}");
    for (from, to) in [
        ("\"origin\":11", "\"origin\":12"),
        ("\"file\":1,", "\"file\":2,"),
        ("\"file\":1,\"origin\":11", "\"file\":0,\"origin\":5"),
    ] {
        std::fs::write(&cache[0], good.replace(from, to)).unwrap();
        assert_eq!(
            file_block(&ok(mt_rt(&v, rt, &["status"])).stdout),
            (1, -1),
            "{from} -> {to}"
        );
    }
    // A cache directory that cannot be created does not fail commands.
    let blocked = rt.join("file-not-dir");
    std::fs::write(&blocked, b"").unwrap();
    ok(mt_rt(&v, &blocked, &["rewind"]));
    ok(mt_rt(&v, &blocked, &["fsf", "1"]));
    assert_eq!(
        file_block(&ok(mt_rt(&v, &blocked, &["status"])).stdout),
        (1, -1)
    );
    // The next command that knows the position writes a good entry again.
    ok(mt_rt(&v, rt, &["rewind"]));
    ok(mt_rt(&v, rt, &["fsf", "1"]));
    assert_eq!(file_block(&ok(mt_rt(&v, rt, &["status"])).stdout), (1, 0));
}

#[test]
fn status_write_protected_and_weof_refused() {
    let v = Vtl::new();
    let d = v.dir_str().to_string();
    ok(reelctl(&["vtl", "eject", &d]));
    ok(reelctl(&["vtl", "protect", &d, BARCODE, "on"]));
    ok(reelctl(&["vtl", "insert", &d, BARCODE]));
    assert_eq!(
        ok(v.mt(&["status"])).stdout,
        status_text(0, 0, "45010000", " BOT WR_PROT ONLINE IM_REP_EN")
    );
    // st opens read-write for weof and fails with EROFS: exit 1.
    let o = v.mt(&["weof"]);
    assert_eq!(o.code, 1);
    assert_eq!(o.stderr, format!("{}: Read-only file system\n", v.dev));
    // `reelctl tape write` reaches the drive, which refuses: exit 2.
    let o = v.tape(&["write"], b"data");
    assert_eq!(o.code, 2, "{}", o.stderr);
}

#[test]
fn status_without_a_tape() {
    let v = Vtl::new();
    ok(reelctl(&["vtl", "eject", v.dir_str()]));
    let o = ok(v.mt(&["status"]));
    assert_eq!(
        o.stdout,
        "SCSI 2 tape drive:\n\
         File number=-1, block number=-1, partition=0.\n\
         Tape block size 0 bytes. Density code 0x0 (default).\n\
         Soft error count since last status=0\n\
         General status bits on (50000):\n \
         DR_OPEN IM_REP_EN\n"
    );
    // Commands that need a tape fail at open: ENOMEDIUM, exit 1.
    let o = v.mt(&["rewind"]);
    assert_eq!(o.code, 1);
    assert_eq!(o.stderr, format!("{}: No medium found\n", v.dev));
}

#[test]
fn spacing_positions() {
    let v = Vtl::new();
    two_files(&v);
    ok(v.mt(&["fsf", "1"]));
    assert_eq!(v.tell(), 11);
    ok(v.mt(&["fsr", "2"]));
    assert_eq!(v.tell(), 13);
    ok(v.mt(&["bsr", "1"]));
    assert_eq!(v.tell(), 12);
    // bsf ends on the BOT side of the filemark.
    ok(v.mt(&["bsf", "1"]));
    assert_eq!(v.tell(), 10);
    ok(v.mt(&["eod"]));
    assert_eq!(v.tell(), 17);
    ok(v.mt(&["seek", "4"]));
    assert_eq!(v.tell(), 4);
    assert_eq!(ok(v.mt(&["tell"])).stdout, "At block 4.\n");
    // asf: rewind, then forward N files.
    ok(v.mt(&["asf", "1"]));
    assert_eq!(v.tell(), 11);
    // fsfm: forward, then back before the last filemark.
    ok(v.mt(&["rewind"]));
    ok(v.mt(&["fsfm", "1"]));
    assert_eq!(v.tell(), 10);
    // Counts with suffixes and in hex, as strtol reads them.
    ok(v.mt(&["seek", "0x0c"]));
    assert_eq!(v.tell(), 12);
}

#[test]
fn failed_operations_exit_2() {
    let v = Vtl::new();
    two_files(&v);
    // Past end of data: st's EIO; the tape stays at EOD.
    let o = v.mt(&["fsf", "3"]);
    assert_eq!(o.code, 2);
    assert_eq!(o.stderr, format!("{}: Input/output error\n", v.dev));
    assert_eq!(v.tell(), 17);
    // Backward over BOT.
    ok(v.mt(&["rewind"]));
    let o = v.mt(&["bsf", "1"]);
    assert_eq!(o.code, 2);
    assert_eq!(v.tell(), 0);
    // fsr stops after a filemark it meets.
    let o = v.mt(&["fsr", "12"]);
    assert_eq!(o.code, 2);
    assert_eq!(v.tell(), 11);
    // Unsupported (setmarks are obsolete).
    let o = v.mt(&["wset"]);
    assert_eq!(o.code, 2);
    assert_eq!(o.stderr, format!("{}: Operation not supported\n", v.dev));
    // The same through `reelctl tape`.
    let o = v.tape(&["fsf", "9"], b"");
    assert_eq!(o.code, 2);
}

#[test]
fn usage_and_open_errors_exit_1() {
    let v = Vtl::new();
    // No command.
    let o = reelctl(&["mt", "-f", &v.dev]);
    assert_eq!(o.code, 1);
    assert!(
        o.stderr
            .starts_with("usage: mt [-v] [--version] [-h] [ -f device ] command [ count ]\n")
    );
    // Unknown command.
    let o = v.mt(&["frobnicate"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.starts_with("mt: unknown command \"frobnicate\"\n"));
    // Too many arguments.
    let o = v.mt(&["fsf", "1", "2"]);
    assert_eq!(o.code, 1);
    assert_eq!(o.stderr, "mt: too many arguments for the command 'fsf'.\n");
    // Open errors.
    let o = reelctl(&["mt", "-f", "/nonexistent/nst0", "status"]);
    assert_eq!(o.code, 1);
    assert_eq!(o.stderr, "/nonexistent/nst0: No such file or directory\n");
    let missing = format!("vtl:{}/nothing#drive0", v.dir_str());
    let o = reelctl(&["mt", "-f", &missing, "status"]);
    assert_eq!(o.code, 1);
    assert_eq!(o.stderr, format!("{missing}: No such file or directory\n"));
    let o = reelctl(&["tape", "-f", &missing, "status"]);
    assert_eq!(o.code, 1);
    // -h: usage with the command list, exit 0.
    let o = reelctl(&["mt", "-h"]);
    assert_eq!(o.code, 0);
    assert!(o.stderr.contains("commands: weof, wset, eof, fsf,"));
}

#[test]
fn prefix_matching() {
    let v = Vtl::new();
    two_files(&v);
    ok(v.mt(&["fsf"]));
    // "rewi" is rewind; "rew" is ambiguous (rewind, rewoffl).
    ok(v.mt(&["rewi"]));
    let o = v.mt(&["rew"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.starts_with("mt: ambiguous command \"rew\"\n"));
    assert_eq!(v.tell(), 0);
    let o = v.mt(&["re"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.starts_with("mt: ambiguous command \"re\"\n"));
    // "stat" is status; "te" is tell; "st" is ambiguous.
    assert!(
        ok(v.mt(&["stat"]))
            .stdout
            .starts_with("SCSI 2 tape drive:\n")
    );
    assert_eq!(ok(v.mt(&["te"])).stdout, "At block 0.\n");
    assert_eq!(v.mt(&["st"]).code, 1);
}

#[test]
fn invoked_as_mt_through_a_symlink() {
    let v = Vtl::new();
    let link = v.dir.parent().unwrap().join("mt");
    std::os::unix::fs::symlink(BIN, &link).unwrap();
    let o = run_program(&link, &["-f", &v.dev, "status"], &[]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(
        o.stdout,
        status_text(0, 0, "41010000", " BOT ONLINE IM_REP_EN")
    );
    // $TAPE names the device when -f is absent.
    let o = std::process::Command::new(&link)
        .arg("tell")
        .env("TAPE", &v.dev)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout), "At block 0.\n");
    // mt's own options: -v prints the version.
    let o = run_program(&link, &["-v"], &[]);
    assert_eq!(o.code, 0);
    assert!(o.stdout.starts_with("mt-st v. 1.7"));
}

#[test]
fn json_output_parses() {
    let v = Vtl::new();
    two_files(&v);
    let o = ok(v.tape(&["--json", "status"], b""));
    let s: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(s["file"], 0);
    assert_eq!(s["block"], 0);
    assert_eq!(s["density"], "LTO-8");
    assert_eq!(
        s["flags"],
        serde_json::json!(["BOT", "ONLINE", "IM_REP_EN"])
    );
    let o = ok(v.tape(&["--json", "fsf", "1"], b""));
    let s: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(s["position"]["block"], 11);
    assert_eq!(s["position"]["file"], 1);
    for cmd in [
        &["--json", "tell"][..],
        &["--json", "identify"],
        &["--json", "mam"],
        &["--json", "tapealert"],
        &["--json", "density"],
        &["--json", "volume-stats"],
        &["--json", "compression"],
    ] {
        let o = ok(v.tape(cmd, b""));
        let _: serde_json::Value = serde_json::from_str(&o.stdout)
            .unwrap_or_else(|e| panic!("{cmd:?}: {e}: {}", o.stdout));
    }
    let id: serde_json::Value =
        serde_json::from_str(&ok(v.tape(&["--json", "identify"], b"")).stdout).unwrap();
    assert_eq!(id["lto_generation"], 8);
    // Errors are JSON too, with the exit code of the failure.
    let o = v.tape(&["--json", "fsf", "5"], b"");
    assert_eq!(o.code, 2);
    let e: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert!(e["error"].as_str().unwrap().contains("end of data"));
    let l = ok(reelctl(&["vtl", "--json", "list", v.dir_str()]));
    let l: serde_json::Value = serde_json::from_str(&l.stdout).unwrap();
    assert_eq!(l["drives"][0]["cartridge"], BARCODE);
    // The failed fsf left the tape at end of data, and the VTL kept it.
    assert_eq!(l["drives"][0]["block"], 17);
}

#[test]
fn mam_set_and_read_back() {
    let v = Vtl::new();
    ok(v.tape(&["mam", "set", "label", "weekly-07"], b""));
    ok(v.tape(&["mam", "set", "0x0808", "pool-a"], b""));
    let m: serde_json::Value =
        serde_json::from_str(&ok(v.tape(&["--json", "mam"], b"")).stdout).unwrap();
    assert_eq!(m["summary"]["user_label"], "weekly-07");
    assert_eq!(m["summary"]["media_pool"], "pool-a");
    assert_eq!(m["summary"]["medium_serial"], BARCODE);
    // Read-only and unknown attributes are refused as usage errors.
    assert_eq!(v.tape(&["mam", "set", "0x0001", "x"], b"").code, 1);
    assert_eq!(v.tape(&["mam", "set", "colour", "x"], b"").code, 1);
}

#[test]
fn setblk_compression_lock() {
    let v = Vtl::new();
    ok(v.mt(&["setblk", "65536"]));
    assert!(
        ok(v.mt(&["status"]))
            .stdout
            .contains("Tape block size 65536 bytes.")
    );
    ok(v.mt(&["setblk", "0"]));
    ok(v.mt(&["compression", "0"]));
    assert_eq!(
        ok(v.tape(&["compression"], b"")).stdout,
        "compression off\n"
    );
    ok(v.mt(&["compression", "1"]));
    assert_eq!(ok(v.tape(&["compression"], b"")).stdout, "compression on\n");
    // lock prevents the operator's eject until unlock.
    ok(v.mt(&["lock"]));
    assert_ne!(reelctl(&["vtl", "eject", v.dir_str()]).code, 0);
    ok(v.mt(&["unlock"]));
    ok(reelctl(&["vtl", "eject", v.dir_str()]));
}

#[test]
fn erase_and_unload_load() {
    let v = Vtl::new();
    two_files(&v);
    ok(v.mt(&["fsf", "1"]));
    ok(v.mt(&["erase"]));
    ok(v.mt(&["rewind"]));
    assert_eq!(v.mt(&["fsf", "2"]).code, 2);
    assert_eq!(v.tell(), 11);
    ok(v.mt(&["offline"]));
    // Unloaded: not ready until loaded again.
    assert_eq!(v.mt(&["rewind"]).code, 1);
    ok(v.mt(&["load"]));
    assert_eq!(v.tell(), 0);
}

#[test]
fn demo_command() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let o = ok(reelctl(&["demo", "--dir", dir.to_str().unwrap()]));
    assert!(o.stdout.contains("wrote file 3"), "{}", o.stdout);
    assert!(o.stdout.lines().last().unwrap().starts_with("OK: 4 files"));
    // The VTL it made is usable afterwards.
    let dev = format!("vtl:{}#drive0", dir.display());
    let o = ok(reelctl(&["mt", "-f", &dev, "eod"]));
    assert_eq!(o.stdout, "");
    assert_eq!(
        ok(reelctl(&["mt", "-f", &dev, "tell"])).stdout,
        "At block 41.\n"
    );
    // A second demo into the same directory fails.
    assert_ne!(reelctl(&["demo", "--dir", dir.to_str().unwrap()]).code, 0);
}

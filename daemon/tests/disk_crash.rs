//! Crash safety of the disk storage device: `reelctl disk write` is killed
//! with SIGKILL at random moments, many times. After each kill every
//! container must be absent or verify, the committed ones must read back
//! bit for bit, and `recover` must turn any leftover partial into a valid
//! container whose files are prefixes of what was being written.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_reelctl");
const KILLS: usize = 60;

fn reelctl(args: &[&str]) -> (i32, Vec<u8>, String) {
    let o = Command::new(BIN)
        .args(args)
        .env_remove("REEL_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("run reelctl");
    (
        o.status.code().unwrap_or(-1),
        o.stdout,
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn ok(args: &[&str]) -> Vec<u8> {
    let (code, out, err) = reelctl(args);
    assert_eq!(code, 0, "reelctl {args:?}: {err}");
    out
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn data(n: usize, rng: &mut Rng) -> Vec<u8> {
    (0..n)
        .map(|i| {
            let x = rng.next();
            // Compressible and incompressible stretches alternate.
            if (i / 20_000) % 2 == 0 {
                b"backup tape disk \n"[(x % 18) as usize]
            } else {
                (x >> 17) as u8
            }
        })
        .collect()
}

fn read(dir: &str, name: &str, file: usize) -> Vec<u8> {
    ok(&["disk", "read", dir, name, "--file", &file.to_string()])
}

#[test]
fn sigkilled_writers_never_damage_committed_containers() {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64)
        | 1;
    eprintln!("disk_crash seed {seed:#x}");
    let mut rng = Rng(seed);
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("dev").display().to_string();
    ok(&["disk", "init", &dir, "--capacity", "1G"]);
    let inputs: Vec<Vec<u8>> = (0..3).map(|_| data(400_000, &mut rng)).collect();
    let paths: Vec<String> = inputs
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let p = tmp.path().join(format!("in{i}"));
            std::fs::write(&p, d).expect("write input");
            p.display().to_string()
        })
        .collect();
    // The committed containers, and what each must read back.
    let mut committed: Vec<String> = Vec::new();
    let t = Instant::now();
    ok(&["disk", "write", &dir, "base", &paths[0], &paths[1]]);
    committed.push("base".into());
    // Kill points spread over a whole write (of three inputs) and a bit
    // beyond, so some writers finish and most are caught in the middle.
    let window = (t.elapsed().as_micros() as u64 * 3 / 2).max(10_000);

    let started = Instant::now();
    let (mut finished, mut recovered, mut nothing) = (0, 0, 0);
    for i in 0..KILLS {
        let name = format!("c{i}");
        let mut child = Command::new(BIN)
            .args(["disk", "write", &dir, &name, "--record-size", "32K"])
            .args(&paths)
            .env_remove("REEL_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn writer");
        std::thread::sleep(Duration::from_micros(rng.next() % window));
        let _ = child.kill(); // SIGKILL; it may have finished already
        let _ = child.wait();

        let container = Path::new(&dir).join(format!("{name}.reel"));
        let partial = Path::new(&dir).join(format!(".{name}.reel.partial"));
        assert!(
            !(container.exists() && partial.exists()),
            "{name}: both a container and a partial"
        );
        if container.exists() {
            // Visible means complete: it verifies and holds all inputs.
            finished += 1;
            ok(&["disk", "verify", &dir, &name]);
            for (f, want) in inputs.iter().enumerate() {
                assert!(read(&dir, &name, f) == *want, "{name} file {f} differs");
            }
            committed.push(name);
        } else if partial.exists() {
            recovered += 1;
            let (code, out, err) = reelctl(&["disk", "recover", &dir, &name]);
            assert_eq!(code, 0, "recover {name}: {err}");
            assert!(String::from_utf8_lossy(&out).starts_with("recovered "));
            ok(&["disk", "verify", &dir, &name]);
            let list: serde_json::Value =
                serde_json::from_slice(&ok(&["disk", "list", &dir, "--json"])).expect("json");
            let files = list["containers"]
                .as_array()
                .and_then(|a| a.iter().find(|c| c["name"] == name.as_str()))
                .and_then(|c| c["files"].as_u64())
                .expect("recovered container listed");
            assert!(files <= inputs.len() as u64, "{name}: {files} files");
            // Every recovered file is a prefix of its input, and every file
            // but the last one is whole (its mark was synced).
            for (f, input) in inputs.iter().enumerate().take(files as usize) {
                let got = read(&dir, &name, f);
                assert!(
                    input.starts_with(&got),
                    "{name} file {f}: {} bytes are not a prefix",
                    got.len()
                );
                if f + 1 < files as usize {
                    assert_eq!(got.len(), input.len(), "{name} file {f} cut short");
                }
            }
            committed.push(name);
        } else {
            nothing += 1;
        }
        // The earlier committed containers are untouched.
        if i % 10 == 9 {
            assert_eq!(read(&dir, "base", 0), inputs[0]);
            assert_eq!(read(&dir, "base", 1), inputs[1]);
        }
    }
    eprintln!(
        "{KILLS} kills in {:?}: {finished} finished, {recovered} recovered, {nothing} left nothing",
        started.elapsed()
    );
    // Everything on the device verifies in one go.
    let v = String::from_utf8(ok(&["disk", "verify", &dir])).expect("utf8");
    assert_eq!(v.lines().count(), committed.len(), "{v}");
    assert!(v.lines().all(|l| l.contains(": ok (")), "{v}");
    assert_eq!(read(&dir, "base", 0), inputs[0]);
    assert_eq!(read(&dir, "base", 1), inputs[1]);
    // The kill points must actually have hit writes in progress.
    assert!(
        recovered >= 5,
        "only {recovered} of {KILLS} kills hit a write"
    );
    assert!(finished + nothing >= 1, "no kill fell outside a write");
}

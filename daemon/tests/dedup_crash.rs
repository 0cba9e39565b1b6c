//! Crash safety: `reelctl dedup put` killed with SIGKILL at pseudo-random
//! moments, 24 times; after every kill no set references a missing or
//! damaged chunk and every listed set restores exactly; GC then sweeps the
//! leftovers.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reeld::dedup::{Store, StoreConfig, TenantId};

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn put(dir: &Path, file: &Path) -> Killed {
    Killed(
        Command::new(env!("CARGO_BIN_EXE_reelctl"))
            .args(["dedup", "put"])
            .arg(dir)
            .args(["--tenant", "t", "--name", "crash"])
            .arg(file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

fn check(store_dir: &Path, inputs: &[Vec<u8>]) -> usize {
    let store = Store::open(store_dir).unwrap();
    let s = store.verify().unwrap();
    assert!(s.is_clean(), "after a kill: {s:?}");
    let t = TenantId::new("t").unwrap();
    let sets = store.list(Some(&t)).unwrap();
    for info in &sets {
        let mut out = Vec::new();
        store.get(&t, &info.set, &mut out).unwrap();
        assert!(inputs.contains(&out), "set {} restored wrong", info.set);
    }
    sets.len()
}

#[test]
fn sigkill_during_put_never_leaves_a_broken_set() {
    let d = tempfile::tempdir().unwrap();
    let store_dir = d.path().join("store");
    Store::init(
        &store_dir,
        StoreConfig {
            min_chunk: 4096,
            avg_chunk: 16384,
            max_chunk: 65536,
            compression: Some(1),
        },
    )
    .unwrap();
    let shared = noise(1 << 20, 1);
    let mut inputs = Vec::new();
    let mut files = Vec::new();
    for i in 0..24u64 {
        let mut data = shared.clone();
        data.extend(noise(2 << 20, 100 + i));
        let f = d.path().join(format!("in{i}"));
        std::fs::write(&f, &data).unwrap();
        inputs.push(data);
        files.push(f);
    }
    // How long one uninterrupted put takes (of an input not used below).
    let mut probe = noise(3 << 20, 7);
    probe.truncate(3 << 20);
    let pf = d.path().join("probe");
    std::fs::write(&pf, &probe).unwrap();
    let t0 = Instant::now();
    let mut c = put(&store_dir, &pf);
    assert!(c.0.wait().unwrap().success());
    let full = t0.elapsed();
    inputs.push(probe);

    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut killed = 0;
    for (i, f) in files.iter().enumerate() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        // Anywhere from start-up to a little past the end of a put.
        let delay = full.mul_f64((x % 1000) as f64 / 800.0);
        let mut child = put(&store_dir, f);
        std::thread::sleep(delay);
        if child.0.try_wait().unwrap().is_none() {
            killed += 1;
        }
        drop(child); // SIGKILL (no-op if it already exited) and reap
        check(&store_dir, &inputs);
        if i % 6 == 5 {
            let store = Store::open(&store_dir).unwrap();
            store.gc(Duration::ZERO).unwrap();
            check(&store_dir, &inputs);
        }
    }
    assert!(killed >= 10, "only {killed} puts were interrupted");
    let store = Store::open(&store_dir).unwrap();
    let g = store.gc(Duration::ZERO).unwrap();
    let n = check(&store_dir, &inputs);
    assert!((1..26).contains(&n), "{n} sets");
    // Nothing is left that no set references: each chunk is live.
    let s = store.stats().unwrap();
    assert_eq!(s.chunks, g.live_chunks, "{g:?} {s:?}");
    eprintln!("{killed} of 24 puts killed; {n} sets survive; final gc {g:?}");
}

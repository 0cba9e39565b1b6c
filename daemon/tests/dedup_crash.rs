//! Crash safety: `reelctl dedup put` killed with SIGKILL at pseudo-random
//! moments, at least 20 times; after every kill no set references a missing or
//! damaged chunk and every listed set restores exactly; GC then sweeps the
//! leftovers.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

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

/// `reelctl dedup put` reading the stream from stdin.
fn put(dir: &Path) -> Killed {
    Killed(
        Command::new(env!("CARGO_BIN_EXE_reelctl"))
            .args(["dedup", "put"])
            .arg(dir)
            .args(["--tenant", "t", "--name", "crash"])
            .stdin(Stdio::piped())
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
    let shared = noise(512 << 10, 1);
    let mut inputs = Vec::new();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut killed = 0;
    let mut i = 0u64;
    // At least 20 puts killed in flight: most while the stream is still
    // arriving (the kill lands between chunk writes, pack writes, seals),
    // some after the input ended (during the final seal and set commit).
    while killed < 20 {
        assert!(i < 60, "only {killed} of {i} puts could be interrupted");
        let mut data = shared.clone();
        data.extend(noise(1 << 20, 100 + i));
        inputs.push(data.clone());
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let cut = (x % (data.len() as u64 * 5 / 4)) as usize;
        let mut child = put(&store_dir);
        let mut stdin = child.0.stdin.take().unwrap();
        if cut < data.len() {
            stdin.write_all(&data[..cut]).unwrap();
            std::thread::sleep(Duration::from_millis(x % 20));
        } else {
            let _ = stdin.write_all(&data);
            drop(stdin);
            std::thread::sleep(Duration::from_millis(x % 40));
        }
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
        i += 1;
    }
    let store = Store::open(&store_dir).unwrap();
    let g = store.gc(Duration::ZERO).unwrap();
    let n = check(&store_dir, &inputs);
    assert!(n as u64 <= i - 20, "{n} sets after {i} puts");
    // Nothing is left that no set references: each chunk is live.
    let s = store.stats().unwrap();
    assert_eq!(s.chunks, g.live_chunks, "{g:?} {s:?}");
    eprintln!("{killed} of {i} puts killed; {n} sets survive; final gc {g:?}");
}

//! Benchmark dataset: generations of a tree of real files from this
//! machine (by default /usr/lib and /usr/share), not random bytes.
//!
//! Generation 0 is a seeded random sample of the source files up to the
//! requested size, copied under `gen0/` with their paths. Each later
//! generation starts from the previous one and touches `change_pct` % of
//! its files: 60 % of that share is modified in place (a window of bytes
//! rewritten and a small tail appended, as a package update or a log does),
//! 20 % deleted, and as many new files as the other 20 % added from the
//! unused sources. Unchanged files are hard links to the previous
//! generation, so four generations cost little more disk than one.
//! The same seed gives the same dataset.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::bench::Prng;

/// Files larger than this are left out, so one huge file cannot dominate
/// a small sample.
const MAX_FILE: u64 = 64 << 20;

/// One generation on disk.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Generation {
    pub dir: PathBuf,
    pub files: usize,
    pub bytes: u64,
    pub modified: usize,
    pub added: usize,
    pub deleted: usize,
}

fn walk(dir: &Path, out: &mut Vec<(PathBuf, u64)>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let Ok(ft) = e.file_type() else { continue };
        let path = e.path();
        if ft.is_dir() {
            walk(&path, out);
        } else if ft.is_file()
            && let Ok(md) = e.metadata()
            && md.len() > 0
            && md.len() <= MAX_FILE
            && std::fs::File::open(&path).is_ok()
        {
            out.push((path, md.len()));
        }
    }
}

fn shuffle<T>(v: &mut [T], rng: &mut Prng) {
    for i in (1..v.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
}

/// Path of a source file inside a generation (the absolute path made
/// relative, so /usr/lib/x lands at gen0/usr/lib/x).
fn rel(src: &Path) -> PathBuf {
    src.strip_prefix("/").unwrap_or(src).to_path_buf()
}

fn copy_into(src: &Path, dst: &Path) -> std::io::Result<()> {
    if let Some(p) = dst.parent() {
        std::fs::create_dir_all(p)?;
    }
    std::fs::copy(src, dst).map(|_| ())
}

/// Rewrites a window of the file with its own bytes shifted, then
/// appends a tail of 1 % (at least 16 bytes).
fn modify(path: &Path, rng: &mut Prng) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)?;
    let len = f.metadata()?.len();
    if len > 0 {
        let win = (len / 50).clamp(1, 64 * 1024);
        let off = rng.next_u64() % len.saturating_sub(win).max(1);
        let mut buf = vec![0u8; win as usize];
        f.seek(SeekFrom::Start(off))?;
        let n = f.read(&mut buf)?;
        buf.truncate(n);
        buf.rotate_left(n / 3);
        for b in buf.iter_mut().step_by(7) {
            *b = b.wrapping_add(1);
        }
        f.seek(SeekFrom::Start(off))?;
        f.write_all(&buf)?;
    }
    let tail = (len / 100).max(16) as usize;
    let mut t = vec![0u8; tail];
    for (i, b) in t.iter_mut().enumerate() {
        *b = b"reel dataset update\n"[i % 20];
    }
    f.seek(SeekFrom::End(0))?;
    f.write_all(&t)
}

fn tree_bytes(files: &[PathBuf], dir: &Path) -> u64 {
    files
        .iter()
        .filter_map(|r| std::fs::metadata(dir.join(r)).ok())
        .map(|m| m.len())
        .sum()
}

/// Builds `generations` generations of about `size` bytes under `root`.
pub fn build(
    root: &Path,
    sources: &[PathBuf],
    size: u64,
    generations: usize,
    change_pct: f64,
    seed: u64,
    log: &mut dyn FnMut(&str),
) -> std::io::Result<Vec<Generation>> {
    let mut pool = Vec::new();
    for s in sources {
        walk(s, &mut pool);
    }
    if pool.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no readable files in the dataset sources",
        ));
    }
    let mut rng = Prng::new(seed);
    shuffle(&mut pool, &mut rng);
    let mut taken = 0u64;
    let mut split = 0;
    while split < pool.len() && taken < size {
        taken += pool[split].1;
        split += 1;
    }
    let (first, rest) = pool.split_at(split);
    let mut spare = rest.iter();
    // Relative paths of the current generation; sorted for determinism.
    let mut files: Vec<PathBuf> = first.iter().map(|(p, _)| rel(p)).collect();
    files.sort();
    let gen0 = root.join("gen0");
    for (src, _) in first {
        copy_into(src, &gen0.join(rel(src)))?;
    }
    let mut out = vec![Generation {
        dir: gen0.clone(),
        files: files.len(),
        bytes: tree_bytes(&files, &gen0),
        modified: 0,
        added: 0,
        deleted: 0,
    }];
    log(&format!(
        "dataset: gen0 {} files, {:.1} MB",
        files.len(),
        out[0].bytes as f64 / 1e6
    ));
    for g in 1..generations {
        let prev = root.join(format!("gen{}", g - 1));
        let dir = root.join(format!("gen{g}"));
        let touched = ((files.len() as f64) * change_pct / 100.0).round() as usize;
        let n_mod = touched * 3 / 5;
        let n_del = touched / 5;
        let n_add = touched - n_mod - n_del;
        let mut order: Vec<usize> = (0..files.len()).collect();
        shuffle(&mut order, &mut rng);
        let modified: std::collections::HashSet<usize> =
            order[..n_mod.min(order.len())].iter().copied().collect();
        let deleted: std::collections::HashSet<usize> = order
            [n_mod.min(order.len())..(n_mod + n_del).min(order.len())]
            .iter()
            .copied()
            .collect();
        let mut next = Vec::with_capacity(files.len() + n_add);
        for (i, f) in files.iter().enumerate() {
            if deleted.contains(&i) {
                continue;
            }
            let (from, to) = (prev.join(f), dir.join(f));
            if modified.contains(&i) {
                copy_into(&from, &to)?;
                modify(&to, &mut rng)?;
            } else {
                if let Some(p) = to.parent() {
                    std::fs::create_dir_all(p)?;
                }
                if std::fs::hard_link(&from, &to).is_err() {
                    std::fs::copy(&from, &to)?;
                }
            }
            next.push(f.clone());
        }
        let mut added = 0;
        for (src, _) in spare.by_ref().take(n_add) {
            copy_into(src, &dir.join(rel(src)))?;
            next.push(rel(src));
            added += 1;
        }
        next.sort();
        files = next;
        let generation = Generation {
            dir: dir.clone(),
            files: files.len(),
            bytes: tree_bytes(&files, &dir),
            modified: n_mod,
            added,
            deleted: n_del,
        };
        log(&format!(
            "dataset: gen{g} {} files, {:.1} MB ({} modified, {} added, {} deleted)",
            generation.files,
            generation.bytes as f64 / 1e6,
            n_mod,
            added,
            n_del
        ));
        out.push(generation);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        let mut v = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    v.push((
                        p.strip_prefix(dir).unwrap().to_path_buf(),
                        std::fs::read(&p).unwrap(),
                    ));
                }
            }
        }
        v.sort();
        v
    }

    #[test]
    fn generations_are_deterministic_and_change_a_share() {
        let src = tempfile::tempdir().unwrap();
        for i in 0..100u32 {
            let body: Vec<u8> = (0..1000 + i * 10).map(|j| (j * 31 + i) as u8).collect();
            std::fs::write(src.path().join(format!("f{i:03}")), body).unwrap();
        }
        let build_in = |root: &Path| {
            build(
                root,
                &[src.path().to_path_buf()],
                60_000,
                3,
                20.0,
                7,
                &mut |_| {},
            )
            .unwrap()
        };
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let ga = build_in(a.path());
        let gb = build_in(b.path());
        for g in 0..3 {
            assert_eq!(tree(&ga[g].dir), tree(&gb[g].dir), "generation {g}");
        }
        assert!(ga[0].bytes >= 60_000);
        // 20 % of ~40 files touched: 4 modified, 1 deleted, 3 added.
        let (t0, t1) = (tree(&ga[0].dir), tree(&ga[1].dir));
        let same = t1.iter().filter(|f| t0.contains(f)).count();
        assert_eq!(ga[1].files, ga[0].files - ga[1].deleted + ga[1].added);
        assert_eq!(same, t1.len() - ga[1].modified - ga[1].added);
        assert!(ga[1].modified >= 3 && ga[1].added >= 1 && ga[1].deleted >= 1);
    }
}

//! `reelctl dedup keys`, `serve` and `copy` end to end: the real binary,
//! one process per command, the server as a child process.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_reelctl");

fn reelctl(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut c = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(data) = stdin {
        c.stdin.take().unwrap().write_all(data).unwrap();
    }
    drop(c.stdin.take());
    c.wait_with_output().unwrap()
}

fn ok(args: &[&str], stdin: Option<&[u8]>) -> serde_json::Value {
    let o = reelctl(args, stdin);
    assert!(
        o.status.success(),
        "reelctl {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    if args.contains(&"get") {
        return serde_json::Value::Null;
    }
    serde_json::from_slice(&o.stdout).unwrap()
}

/// The server child, killed on drop.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn keys_serve_and_copy_through_the_cli() {
    let t = tempfile::tempdir().unwrap();
    let (keys, src, dst) = (
        t.path().join("keys"),
        t.path().join("src"),
        t.path().join("dst"),
    );
    let v = ok(&["dedup", "--json", "keys", "init", p(&keys)], None);
    assert!(v["ca"].as_str().unwrap().ends_with("ca.pem"));
    let v = ok(
        &[
            "dedup",
            "--json",
            "keys",
            "client",
            p(&keys),
            "--name",
            "site-a",
            "--tenant",
            "acme",
        ],
        None,
    );
    assert_eq!(v["tenants"], serde_json::json!(["acme"]));
    ok(
        &[
            "dedup",
            "--json",
            "init",
            p(&src),
            "--min-chunk",
            "4096",
            "--avg-chunk",
            "16384",
            "--max-chunk",
            "65536",
        ],
        None,
    );
    // An independently created destination: the copy hands it the key.
    ok(&["dedup", "--json", "init", p(&dst)], None);

    let data: Vec<u8> = (0..400_000u32)
        .map(|i| (i * 7919 % 251) as u8 ^ (i >> 9) as u8)
        .collect();
    let put = ok(
        &[
            "dedup",
            "--json",
            "put",
            p(&src),
            "--tenant",
            "acme",
            "--name",
            "n",
            "--kind",
            "bytes",
        ],
        Some(&data),
    );
    let set = put["set"].as_str().unwrap().to_string();

    let k = |f: &str| keys.join(f).to_str().unwrap().to_string();
    let mut child = Command::new(BIN)
        .args(["dedup", "serve", p(&dst), "--listen", "127.0.0.1:0"])
        .args([
            "--cert",
            &k("server.pem"),
            "--key",
            &k("server.key"),
            "--ca",
            &k("ca.pem"),
        ])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let server = Server(child);
    let mut line = String::new();
    BufReader::new(stderr).read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .rsplit(' ')
        .next()
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    assert!(line.contains("listening on"), "{line}");

    let copy = ok(
        &[
            "dedup",
            "--json",
            "copy",
            p(&src),
            &set,
            "--to",
            &addr,
            "--tenant",
            "acme",
            "--cert",
            &k("client-site-a.pem"),
            "--key",
            &k("client-site-a.key"),
            "--ca",
            &k("ca.pem"),
        ],
        None,
    );
    assert_eq!(copy["dest_set"].as_str(), Some(set.as_str()));
    assert_eq!(copy["naive_bytes"].as_u64(), Some(data.len() as u64));
    assert!(copy["unique_chunks"].as_u64().unwrap() > 0);
    assert!(copy["sent_vs_unique"].as_f64().unwrap() <= 1.02, "{copy}");

    // The copy restores byte-identical at the destination.
    let o = reelctl(&["dedup", "get", p(&dst), &set, "--tenant", "acme"], None);
    assert!(o.status.success());
    assert_eq!(o.stdout, data);

    let fp = |dir: &Path| {
        ok(
            &["dedup", "--json", "tenant", "fingerprint", p(dir), "acme"],
            None,
        )["fingerprint"]
            .clone()
    };
    assert!(fp(&dst).is_string());
    assert_eq!(fp(&dst), fp(&src));

    // A second copy of the same set is refused (it exists there).
    let again = reelctl(
        &[
            "dedup",
            "copy",
            p(&src),
            &set,
            "--to",
            &addr,
            "--tenant",
            "acme",
            "--cert",
            &k("client-site-a.pem"),
            "--key",
            &k("client-site-a.key"),
            "--ca",
            &k("ca.pem"),
        ],
        None,
    );
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already exists"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    drop(server);
}

#[test]
fn tenant_key_export_and_import_through_the_cli() {
    let t = tempfile::tempdir().unwrap();
    let (a, b, c) = (t.path().join("a"), t.path().join("b"), t.path().join("c"));
    for d in [&a, &b, &c] {
        ok(&["dedup", "--json", "init", p(d)], None);
    }
    for d in [&a, &c] {
        ok(
            &[
                "dedup",
                "--json",
                "put",
                p(d),
                "--tenant",
                "acme",
                "--name",
                "n",
            ],
            Some(b"some bytes"),
        );
    }
    // Without --json, export prints exactly the key file.
    let o = reelctl(&["dedup", "tenant", "export", p(&a), "acme"], None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.starts_with("reel-dedup-tenant-key-v1 acme "), "{text}");
    assert_eq!(text.len(), "reel-dedup-tenant-key-v1 acme ".len() + 65);
    let file = t.path().join("acme.key");
    std::fs::write(&file, &text).unwrap();

    let v = ok(
        &[
            "dedup",
            "--json",
            "tenant",
            "import",
            p(&b),
            "acme",
            p(&file),
        ],
        None,
    );
    assert_eq!(v["result"], "adopted");
    let fp = |dir: &Path| {
        ok(
            &["dedup", "--json", "tenant", "fingerprint", p(dir), "acme"],
            None,
        )["fingerprint"]
            .clone()
    };
    assert_eq!(fp(&a), fp(&b));
    let v = ok(
        &[
            "dedup",
            "--json",
            "tenant",
            "import",
            p(&b),
            "acme",
            p(&file),
        ],
        None,
    );
    assert_eq!(v["result"], "already_present");

    // A store whose acme has its own key refuses, and keeps its key.
    let before = fp(&c);
    let o = reelctl(
        &["dedup", "tenant", "import", p(&c), "acme", p(&file)],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("different chunk-id key"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(fp(&c), before);
    // The replica command is gone.
    assert!(
        !reelctl(&["dedup", "keys", "replica", p(&a), p(&b)], None)
            .status
            .success()
    );
}

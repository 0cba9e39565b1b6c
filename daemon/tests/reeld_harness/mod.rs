//! Starts `reeld` on ephemeral ports in a temporary data directory and
//! reads what its banner says (addresses, fingerprint, token, profile).
//! The daemon is killed when the harness drops.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

pub struct Reeld {
    child: Child,
    pub dir: tempfile::TempDir,
    /// What the daemon printed on start.
    pub banner: String,
    pub grpc: String,
    pub http: String,
    pub fingerprint: String,
    pub token: String,
    pub profile: PathBuf,
}

fn after<'a>(line: &'a str, prefix: &str) -> Option<&'a str> {
    line.find(prefix).map(|i| line[i + prefix.len()..].trim())
}

impl Reeld {
    pub fn start() -> Reeld {
        Reeld::start_in(tempfile::tempdir().unwrap())
    }

    /// Kills the daemon (SIGKILL: no clean shutdown) and starts a new one
    /// on the same data directory.
    pub fn kill_and_restart(mut self) -> Reeld {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let dir = tempfile::TempDir::new().unwrap();
        let old = std::mem::replace(&mut self.dir, dir);
        Reeld::start_in(old)
    }

    fn start_in(dir: tempfile::TempDir) -> Reeld {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.path().join("reeld.log"))
            .unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_reeld"))
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args([
                "--listen",
                "127.0.0.1:0",
                "--http",
                "127.0.0.1:0",
                "--log",
                "warn",
            ])
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let out = BufReader::new(child.stdout.take().unwrap());
        let (mut grpc, mut http, mut fp, mut token, mut profile) = (None, None, None, None, None);
        let mut banner = String::new();
        for line in out.lines() {
            let line = line.unwrap();
            banner += &line;
            banner += "\n";
            if let Some(a) = after(&line, "gRPC (mutual TLS) on ") {
                grpc = Some(a.to_string());
            }
            if let Some(a) = after(&line, "HTTP on http://") {
                http = a.split('/').next().map(str::to_string);
            }
            if let Some(a) = after(&line, "server certificate fingerprint: ") {
                fp = Some(a.to_string());
            }
            if let Some(a) = after(&line, "local admin profile: ") {
                profile = Some(PathBuf::from(a));
            }
            if let Some(a) = after(&line, "--token ") {
                token = a.split_whitespace().next().map(str::to_string);
                break;
            }
        }
        let mut r = Reeld {
            child,
            dir,
            banner: banner.clone(),
            grpc: grpc.unwrap_or_default(),
            http: http.unwrap_or_default(),
            fingerprint: fp.unwrap_or_default(),
            token: token.unwrap_or_default(),
            profile: profile.unwrap_or_default(),
        };
        if r.token.is_empty() || r.grpc.is_empty() {
            let _ = r.child.kill();
            panic!("reeld did not start:\n{banner}\n{}", r.log());
        }
        r
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("reeld.log")).unwrap_or_default()
    }

    /// Runs reelctl with `args`.
    pub fn reelctl(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_reelctl"))
            .args(args)
            .env_remove("REEL_PROFILE")
            .env("HOME", self.dir.path())
            .output()
            .unwrap()
    }

    /// Runs reelctl and expects success; returns standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.reelctl(args);
        assert!(
            o.status.success(),
            "reelctl {args:?} failed: {}\n{}\ndaemon log:\n{}",
            String::from_utf8_lossy(&o.stderr),
            String::from_utf8_lossy(&o.stdout),
            self.log()
        );
        String::from_utf8(o.stdout).unwrap()
    }

    /// A GET on the HTTP endpoint: (status line, body).
    pub fn get(&self, path: &str) -> (String, String) {
        let mut s = std::net::TcpStream::connect(&self.http).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        let status = text.lines().next().unwrap_or("").to_string();
        let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
        (status, body)
    }
}

impl Drop for Reeld {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn random_file(path: &Path, len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let data: Vec<u8> = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(path, &data).unwrap();
    data
}

//! Starts `reeld` on ephemeral ports in a temporary data directory and
//! reads what its banner says (addresses, fingerprint, token, profile).
//! The daemon is killed when the harness drops.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// How long one reelctl command may take before the test gives up.
pub const REELCTL_LIMIT: std::time::Duration = std::time::Duration::from_secs(240);

pub struct Reeld {
    child: Child,
    pub dir: tempfile::TempDir,
    pub grpc: String,
    pub http: String,
    pub fingerprint: String,
    pub token: String,
    pub profile: PathBuf,
    /// The banner of the last start.
    pub banner: String,
}

fn after<'a>(line: &'a str, prefix: &str) -> Option<&'a str> {
    line.find(prefix).map(|i| line[i + prefix.len()..].trim())
}

/// What a start printed.
#[derive(Default)]
struct Banner {
    text: String,
    grpc: String,
    http: String,
    fingerprint: String,
    token: String,
    profile: Option<PathBuf>,
}

/// Starts reeld on `dir/data` (log appended to `dir/reeld.log`) and reads
/// its banner up to the enrollment line.
fn spawn(dir: &Path) -> (Child, Banner) {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("reeld.log"))
        .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_reeld"))
        .arg("--data-dir")
        .arg(dir.join("data"))
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
    let mut b = Banner::default();
    for line in out.lines() {
        let Ok(line) = line else { break };
        b.text += &line;
        b.text += "\n";
        if let Some(a) = after(&line, "gRPC (mutual TLS) on ") {
            b.grpc = a.to_string();
        }
        if let Some(a) = after(&line, "HTTP on http://") {
            b.http = a.split('/').next().unwrap_or_default().to_string();
        }
        if let Some(a) = after(&line, "server certificate fingerprint: ") {
            b.fingerprint = a.to_string();
        }
        if let Some(a) = after(&line, "local admin profile: ") {
            b.profile = Some(PathBuf::from(a));
        }
        if let Some(a) = after(&line, "--token ") {
            b.token = a.split_whitespace().next().unwrap_or_default().to_string();
            break;
        }
        // A configured (non-demo) host prints how to make a token instead.
        if line.contains("enroll a client: reeld token") {
            break;
        }
    }
    (child, b)
}

impl Reeld {
    /// The demo host in a fresh data directory.
    pub fn start() -> Reeld {
        let dir = tempfile::tempdir().unwrap();
        let (child, b) = spawn(dir.path());
        let mut r = Reeld {
            child,
            dir,
            grpc: b.grpc,
            http: b.http,
            fingerprint: b.fingerprint,
            token: b.token,
            profile: b.profile.unwrap_or_default(),
            banner: b.text,
        };
        if r.token.is_empty() || r.grpc.is_empty() {
            let _ = r.child.kill();
            panic!("reeld did not start:\n{}\n{}", r.banner, r.log());
        }
        r
    }

    /// A configured host: `prepare(data_dir)` runs first (create VTL
    /// directories there), then `config_toml` becomes `reeld.toml`, an
    /// admin token is made with `reeld token`, the daemon starts and an
    /// admin client enrolls into `dir/admin` ([`Reeld::profile`]).
    pub fn start_with(config_toml: &str, prepare: impl FnOnce(&Path)) -> Reeld {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        prepare(&data);
        std::fs::write(data.join("reeld.toml"), config_toml).unwrap();
        let o = Command::new(env!("CARGO_BIN_EXE_reeld"))
            .arg("--data-dir")
            .arg(&data)
            .args(["token", "--roles", "admin"])
            .output()
            .unwrap();
        assert!(o.status.success(), "reeld token: {o:?}");
        let text = String::from_utf8_lossy(&o.stdout).to_string();
        let token = text
            .lines()
            .find_map(|l| after(l, "token: "))
            .unwrap_or_default()
            .to_string();
        let (child, b) = spawn(dir.path());
        let mut r = Reeld {
            child,
            dir,
            grpc: b.grpc,
            http: b.http,
            fingerprint: b.fingerprint,
            token,
            profile: PathBuf::new(),
            banner: b.text,
        };
        if r.token.is_empty() || r.grpc.is_empty() {
            let _ = r.child.kill();
            panic!("reeld did not start:\n{text}\n{}\n{}", r.banner, r.log());
        }
        let admin = r.dir.path().join("admin");
        let (grpc, token, fp) = (r.grpc.clone(), r.token.clone(), r.fingerprint.clone());
        r.ok(&[
            "enroll",
            "--server",
            &grpc,
            "--token",
            &token,
            "--fingerprint",
            &fp,
            "--profile",
            admin.to_str().unwrap(),
            "--name",
            "e2e-admin",
        ]);
        r.profile = admin.join("profile.toml");
        r
    }

    /// Kills the daemon (SIGKILL: no clean shutdown) and starts a new one
    /// on the same data directory.
    pub fn kill_and_restart(mut self) -> Reeld {
        self.kill_9();
        self.restart();
        self
    }

    /// Kills the daemon with SIGKILL (no clean-up of any kind) and reaps it.
    pub fn kill_9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stops the daemon with SIGTERM and waits for it to end.
    pub fn stop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            for _ in 0..200 {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            self.kill_9();
        }
    }

    /// Starts the daemon again on the same data directory (stopping it
    /// first when it still runs); the admin profile follows the new
    /// address.
    pub fn restart(&mut self) {
        self.stop();
        let (child, b) = spawn(self.dir.path());
        self.child = child;
        self.banner = b.text;
        if b.grpc.is_empty() {
            panic!("reeld did not restart:\n{}\n{}", self.banner, self.log());
        }
        self.grpc = b.grpc;
        self.http = b.http;
        self.fingerprint = b.fingerprint;
        if let Some(p) = b.profile {
            self.profile = p;
        } else {
            let mut p = reeld::remote::Profile::load(&self.profile).unwrap();
            p.server = self.grpc.clone();
            p.save(&self.profile).unwrap();
        }
    }

    /// Runs a remote reelctl command with the admin profile; expects
    /// success and returns standard output.
    pub fn admin(&self, args: &[&str]) -> String {
        let mut v = args.to_vec();
        let p = self.profile.to_str().unwrap().to_string();
        v.extend(["--profile", &p]);
        self.ok(&v)
    }

    /// Starts a remote reelctl command with the admin profile in the
    /// background, standard input, output and error piped.
    pub fn admin_spawn(&self, args: &[&str]) -> Child {
        Command::new(env!("CARGO_BIN_EXE_reelctl"))
            .args(args)
            .args(["--profile", self.profile.to_str().unwrap()])
            .env_remove("REEL_PROFILE")
            .env("HOME", self.dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Runs a remote reelctl command with the admin profile.
    pub fn admin_raw(&self, args: &[&str]) -> Output {
        let mut v = args.to_vec();
        let p = self.profile.to_str().unwrap().to_string();
        v.extend(["--profile", &p]);
        self.reelctl(&v)
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("reeld.log")).unwrap_or_default()
    }

    /// Runs reelctl with `args`; a command that hangs for more than
    /// [`REELCTL_LIMIT`] is killed and fails the test with the daemon log.
    pub fn reelctl(&self, args: &[&str]) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_reelctl"))
            .args(args)
            .env_remove("REEL_PROFILE")
            .env("HOME", self.dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = child.stdout.take().unwrap();
        let mut err = child.stderr.take().unwrap();
        let t_out = std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = out.read_to_end(&mut v);
            v
        });
        let t_err = std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = err.read_to_end(&mut v);
            v
        });
        let start = std::time::Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if start.elapsed() > REELCTL_LIMIT {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "reelctl {args:?} still running after {REELCTL_LIMIT:?}\ndaemon log:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        Output {
            status,
            stdout: t_out.join().unwrap(),
            stderr: t_err.join().unwrap(),
        }
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
        self.kill_9();
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

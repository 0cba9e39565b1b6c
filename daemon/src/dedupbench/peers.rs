//! restic and borgbackup driven as the benchmark's peers, each with its
//! own repository. Both get a fixed test password (restic) or no
//! encryption (borg), and their file caches are bypassed (`--force`,
//! `--files-cache=disabled`) so, like reel reading a stream, they read
//! every byte of every generation.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use super::DedupBenchError;

pub const RESTIC_PASSWORD: &str = "reel-bench-only";

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tool {
    Restic,
    Borg,
}

impl Tool {
    pub fn name(self) -> &'static str {
        match self {
            Tool::Restic => "restic",
            Tool::Borg => "borg",
        }
    }
}

/// One repository of one tool.
pub struct PeerRepo {
    pub tool: Tool,
    pub repo: PathBuf,
    /// Cache and configuration of the tool, kept inside the bench dir.
    home: PathBuf,
}

fn run(mut cmd: Command, what: &str, stdin: Option<&Path>) -> Result<f64, DedupBenchError> {
    if let Some(p) = stdin {
        let f = std::fs::File::open(p).map_err(|e| DedupBenchError::io(p.display(), e))?;
        cmd.stdin(Stdio::from(f));
    } else {
        cmd.stdin(Stdio::null());
    }
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    let t = Instant::now();
    let out = cmd.output().map_err(|e| DedupBenchError::io(what, e))?;
    let secs = t.elapsed().as_secs_f64();
    if !out.status.success() {
        return Err(DedupBenchError::Peer(format!(
            "{what} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(secs)
}

impl PeerRepo {
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(self.tool.name());
        match self.tool {
            Tool::Restic => {
                c.env("RESTIC_PASSWORD", RESTIC_PASSWORD)
                    .env("RESTIC_REPOSITORY", &self.repo)
                    .env("RESTIC_CACHE_DIR", self.home.join("cache"));
            }
            Tool::Borg => {
                c.env("BORG_BASE_DIR", &self.home)
                    .env("BORG_PASSPHRASE", "")
                    .env("BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK", "yes")
                    .env("BORG_RELOCATED_REPO_ACCESS_IS_OK", "yes");
            }
        }
        c.args(args);
        c
    }

    /// Creates the repository: restic with repository format 2
    /// (compression on, restic's default "auto"), borg unencrypted with
    /// its default lz4 compression.
    pub fn init(tool: Tool, repo: PathBuf, home: PathBuf) -> Result<PeerRepo, DedupBenchError> {
        std::fs::create_dir_all(&home).map_err(|e| DedupBenchError::io(home.display(), e))?;
        let r = PeerRepo { tool, repo, home };
        let repo_s = r.repo.display().to_string();
        let cmd = match tool {
            Tool::Restic => r.command(&["init", "--repository-version", "2"]),
            Tool::Borg => r.command(&["init", "--encryption", "none", &repo_s]),
        };
        run(cmd, &format!("{} init", tool.name()), None)?;
        Ok(r)
    }

    /// Backs up directory `dir` (from inside it); returns seconds.
    pub fn backup_dir(&self, dir: &Path, label: &str) -> Result<f64, DedupBenchError> {
        let archive = format!("{}::{label}", self.repo.display());
        let mut cmd = match self.tool {
            Tool::Restic => self.command(&["backup", "--quiet", "--force", "--host", "bench", "."]),
            Tool::Borg => self.command(&["create", "--files-cache=disabled", &archive, "."]),
        };
        cmd.current_dir(dir);
        run(
            cmd,
            &format!("{} backup of {}", self.tool.name(), dir.display()),
            None,
        )
    }

    /// Backs up the stream in file `tar` given on stdin; returns seconds.
    pub fn backup_stdin(&self, tar: &Path, label: &str) -> Result<f64, DedupBenchError> {
        let archive = format!("{}::{label}", self.repo.display());
        let name = format!("{label}.tar");
        let cmd = match self.tool {
            Tool::Restic => self.command(&[
                "backup",
                "--quiet",
                "--host",
                "bench",
                "--stdin",
                "--stdin-filename",
                &name,
            ]),
            Tool::Borg => self.command(&["create", "--stdin-name", &name, &archive, "-"]),
        };
        run(
            cmd,
            &format!("{} backup of stdin", self.tool.name()),
            Some(tar),
        )
    }
}

/// Sum of the sizes of all files under `dir`: what a repository occupies,
/// measured the same way for every tool.
pub fn dir_size(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.filter_map(Result::ok) {
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(e.path()),
                Ok(t) if t.is_file() => total += e.metadata().map(|m| m.len()).unwrap_or(0),
                _ => {}
            }
        }
    }
    total
}

//! CHAP credentials for the initiator.
//!
//! Secrets never come from the command line (they would show in `ps` and in
//! shell history): they come from the environment
//! (`REEL_ISCSI_CHAP_USER` / `REEL_ISCSI_CHAP_SECRET`, and
//! `REEL_ISCSI_CHAP_MUTUAL_USER` / `REEL_ISCSI_CHAP_MUTUAL_SECRET` for mutual
//! CHAP) or from a file named by `REEL_ISCSI_CHAP_FILE` with `key=value`
//! lines using the same names (or the short forms `user`, `secret`,
//! `mutual_user`, `mutual_secret`). A file other users can read is refused.

use std::fmt;
use std::path::Path;

pub const ENV_USER: &str = "REEL_ISCSI_CHAP_USER";
pub const ENV_SECRET: &str = "REEL_ISCSI_CHAP_SECRET";
pub const ENV_MUTUAL_USER: &str = "REEL_ISCSI_CHAP_MUTUAL_USER";
pub const ENV_MUTUAL_SECRET: &str = "REEL_ISCSI_CHAP_MUTUAL_SECRET";
pub const ENV_FILE: &str = "REEL_ISCSI_CHAP_FILE";

/// One CHAP name and secret.
#[derive(Clone, PartialEq, Eq)]
pub struct ChapSecret {
    pub user: String,
    pub secret: Vec<u8>,
}

impl fmt::Debug for ChapSecret {
    // Secrets must not end up in logs through `{:?}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChapSecret")
            .field("user", &self.user)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// Credentials for one-way CHAP (the target authenticates us) and,
/// optionally, mutual CHAP (we authenticate the target).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChapCredentials {
    pub initiator: ChapSecret,
    pub mutual: Option<ChapSecret>,
}

/// Credentials that could not be loaded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CredentialsError {
    #[error("{0} is set but {1} is not")]
    Incomplete(&'static str, &'static str),
    #[error("CHAP file {path} is readable by other users (mode {mode:o}); run `chmod 600 {path}`")]
    WorldReadable { path: String, mode: u32 },
    #[error("cannot read CHAP file {path}: {detail}")]
    Unreadable { path: String, detail: String },
    #[error("CHAP file {path} line {line}: {detail}")]
    Syntax {
        path: String,
        line: usize,
        detail: String,
    },
    #[error("mutual CHAP is configured without one-way CHAP credentials")]
    MutualWithoutInitiator,
}

impl ChapCredentials {
    /// Loads credentials from the process environment (and the file it
    /// names). `Ok(None)`: no CHAP configured.
    pub fn from_env() -> Result<Option<ChapCredentials>, CredentialsError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// As [`Self::from_env`], with the variables read through `get`
    /// (tests use a map instead of the real environment).
    pub fn from_lookup(
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<ChapCredentials>, CredentialsError> {
        if let Some(path) = get(ENV_FILE).filter(|p| !p.is_empty()) {
            return Self::from_file(Path::new(&path));
        }
        Self::from_pairs(|k| get(k).filter(|v| !v.is_empty()))
    }

    /// Reads a `key=value` file; refuses one other users can read.
    pub fn from_file(path: &Path) -> Result<Option<ChapCredentials>, CredentialsError> {
        use std::os::unix::fs::PermissionsExt;
        let shown = path.display().to_string();
        let unreadable = |e: std::io::Error| CredentialsError::Unreadable {
            path: shown.clone(),
            detail: e.to_string(),
        };
        let meta = std::fs::metadata(path).map_err(unreadable)?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o004 != 0 {
            return Err(CredentialsError::WorldReadable { path: shown, mode });
        }
        let text = std::fs::read_to_string(path).map_err(unreadable)?;
        Self::parse_file(&shown, &text)
    }

    /// Parses the contents of a credentials file (`#` comments, blank
    /// lines and surrounding spaces ignored).
    pub fn parse_file(path: &str, text: &str) -> Result<Option<ChapCredentials>, CredentialsError> {
        let mut pairs: Vec<(&'static str, String)> = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let syntax = |detail: String| CredentialsError::Syntax {
                path: path.to_string(),
                line: n + 1,
                detail,
            };
            let (k, v) = line
                .split_once('=')
                .ok_or_else(|| syntax("expected key=value".into()))?;
            let key = match k.trim() {
                "user" | ENV_USER => ENV_USER,
                "secret" | ENV_SECRET => ENV_SECRET,
                "mutual_user" | ENV_MUTUAL_USER => ENV_MUTUAL_USER,
                "mutual_secret" | ENV_MUTUAL_SECRET => ENV_MUTUAL_SECRET,
                other => return Err(syntax(format!("unknown key {other:?}"))),
            };
            pairs.push((key, v.trim().to_string()));
        }
        Self::from_pairs(|k| {
            pairs
                .iter()
                .rev()
                .find(|(key, v)| *key == k && !v.is_empty())
                .map(|(_, v)| v.clone())
        })
    }

    fn from_pairs(
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<ChapCredentials>, CredentialsError> {
        let pair = |u: &'static str, s: &'static str| match (get(u), get(s)) {
            (Some(user), Some(secret)) => Ok(Some(ChapSecret {
                user,
                secret: secret.into_bytes(),
            })),
            (None, None) => Ok(None),
            (Some(_), None) => Err(CredentialsError::Incomplete(u, s)),
            (None, Some(_)) => Err(CredentialsError::Incomplete(s, u)),
        };
        let initiator = pair(ENV_USER, ENV_SECRET)?;
        let mutual = pair(ENV_MUTUAL_USER, ENV_MUTUAL_SECRET)?;
        match (initiator, mutual) {
            (Some(initiator), mutual) => Ok(Some(ChapCredentials { initiator, mutual })),
            (None, None) => Ok(None),
            (None, Some(_)) => Err(CredentialsError::MutualWithoutInitiator),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn nothing_configured() {
        assert_eq!(ChapCredentials::from_lookup(lookup(&[])).unwrap(), None);
    }

    #[test]
    fn one_way_and_mutual_from_env() {
        let c = ChapCredentials::from_lookup(lookup(&[
            (ENV_USER, "alice"),
            (ENV_SECRET, "s3cret-12chars"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(c.initiator.user, "alice");
        assert_eq!(c.initiator.secret, b"s3cret-12chars");
        assert!(c.mutual.is_none());
        let c = ChapCredentials::from_lookup(lookup(&[
            (ENV_USER, "alice"),
            (ENV_SECRET, "a"),
            (ENV_MUTUAL_USER, "tgt"),
            (ENV_MUTUAL_SECRET, "b"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(c.mutual.unwrap().secret, b"b");
    }

    #[test]
    fn incomplete_env_is_an_error() {
        assert_eq!(
            ChapCredentials::from_lookup(lookup(&[(ENV_USER, "alice")])),
            Err(CredentialsError::Incomplete(ENV_USER, ENV_SECRET))
        );
        assert_eq!(
            ChapCredentials::from_lookup(lookup(&[
                (ENV_MUTUAL_USER, "t"),
                (ENV_MUTUAL_SECRET, "s")
            ])),
            Err(CredentialsError::MutualWithoutInitiator)
        );
    }

    #[test]
    fn debug_hides_the_secret() {
        let s = ChapSecret {
            user: "u".into(),
            secret: b"topsecret".to_vec(),
        };
        assert!(!format!("{s:?}").contains("topsecret"));
    }

    #[test]
    fn file_syntax() {
        let c = ChapCredentials::parse_file(
            "f",
            "# comment\n user = alice \nsecret=xyz\n\nREEL_ISCSI_CHAP_MUTUAL_USER=t\nmutual_secret=q\n",
        )
        .unwrap()
        .unwrap();
        assert_eq!(c.initiator.user, "alice");
        assert_eq!(c.initiator.secret, b"xyz");
        assert_eq!(c.mutual.unwrap().user, "t");
        assert!(matches!(
            ChapCredentials::parse_file("f", "user alice\n"),
            Err(CredentialsError::Syntax { line: 1, .. })
        ));
        assert!(matches!(
            ChapCredentials::parse_file("f", "user=a\nsecret=b\npassword=c\n"),
            Err(CredentialsError::Syntax { line: 3, .. })
        ));
    }

    #[test]
    fn world_readable_file_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chap");
        std::fs::write(&path, "user=a\nsecret=b\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = ChapCredentials::from_file(&path).unwrap_err();
        assert!(matches!(
            e,
            CredentialsError::WorldReadable { mode: 0o644, .. }
        ));
        assert!(e.to_string().contains("chmod 600"), "{e}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let c = ChapCredentials::from_file(&path).unwrap().unwrap();
        assert_eq!(c.initiator.user, "a");
        // The environment variable naming the file wins over inline values.
        let p = path.display().to_string();
        let c = ChapCredentials::from_lookup(lookup(&[(ENV_FILE, &p), (ENV_USER, "other")]))
            .unwrap()
            .unwrap();
        assert_eq!(c.initiator.user, "a");
    }
}

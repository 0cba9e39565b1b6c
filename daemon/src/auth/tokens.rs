//! One-time enrollment tokens. The daemon prints a token; a client
//! presents it once with its certificate request and gets the roles bound
//! to it. Only a SHA-256 of each token is stored (`tokens.json`), so the
//! file does not give tokens away.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use super::roles::Role;
use super::{AuthError, io_err};

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Entry {
    sha256: String,
    roles: Vec<String>,
    expires_at: i64,
}

/// The token file of a data directory.
pub struct TokenStore {
    path: PathBuf,
    entries: Mutex<Vec<Entry>>,
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

impl TokenStore {
    pub fn open(path: &Path) -> Result<TokenStore, AuthError> {
        let entries = Self::load(path)?;
        Ok(TokenStore {
            path: path.to_path_buf(),
            entries: Mutex::new(entries),
        })
    }

    fn save(&self, entries: &[Entry]) -> Result<(), AuthError> {
        let text = serde_json::to_string_pretty(entries).map_err(|e| AuthError::BadFile {
            path: self.path.clone(),
            detail: e.to_string(),
        })?;
        super::ca::write_file(&self.path, &text, 0o600)
    }

    /// Locks the store and re-reads the file: `reeld token` adds tokens
    /// from another process while the daemon runs.
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Vec<Entry>>, AuthError> {
        // A panic while holding the lock leaves a consistent Vec behind.
        let mut g = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        *g = Self::load(&self.path)?;
        Ok(g)
    }

    fn load(path: &Path) -> Result<Vec<Entry>, AuthError> {
        match std::fs::read(path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| AuthError::BadFile {
                path: path.to_path_buf(),
                detail: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(io_err(path)(e)),
        }
    }

    /// Creates a token for `roles` valid until `expires_at` (unix seconds).
    pub fn create(&self, roles: &[Role], expires_at: i64) -> Result<String, AuthError> {
        // 244 random bits from the OS generator behind UUID v4.
        let token = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let mut e = self.lock()?;
        e.push(Entry {
            sha256: hash(&token),
            roles: roles.iter().map(|r| r.as_str().to_string()).collect(),
            expires_at,
        });
        self.save(&e)?;
        Ok(token)
    }

    /// Uses up `token`: its roles, or BadToken when unknown, used or
    /// expired. Expired entries are dropped on the way.
    pub fn redeem(&self, token: &str, now: i64) -> Result<Vec<Role>, AuthError> {
        let h = hash(token);
        let mut e = self.lock()?;
        let before = e.len();
        let found = e.iter().position(|x| x.sha256 == h && x.expires_at > now);
        let roles = found.map(|i| e.remove(i));
        e.retain(|x| x.expires_at > now);
        if e.len() != before {
            self.save(&e)?;
        }
        let entry = roles.ok_or(AuthError::BadToken)?;
        Ok(entry.roles.iter().filter_map(|r| Role::parse(r)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_one_time_and_expire() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("tokens.json");
        let s = TokenStore::open(&p).unwrap();
        let t = s.create(&[Role::Read], 100).unwrap();
        let old = s.create(&[Role::Write], 10).unwrap();
        assert_eq!(t.len(), 64);
        // Persisted, hashed.
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(!text.contains(&t));
        let s = TokenStore::open(&p).unwrap();
        assert!(matches!(s.redeem(&old, 50), Err(AuthError::BadToken)));
        assert_eq!(s.redeem(&t, 50).unwrap(), vec![Role::Read]);
        assert!(matches!(s.redeem(&t, 50), Err(AuthError::BadToken)));
        assert!(matches!(s.redeem("nonsense", 50), Err(AuthError::BadToken)));
    }
}

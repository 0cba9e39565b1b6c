//! Optimized duplication: copies a backup set from one dedup store to
//! another over TCP with mutual TLS, sending only the chunks the
//! destination lacks.
//!
//! Flow: the source sends Hello (tenant, set header), the index in
//! batches, several batches ahead of the answers; the destination answers
//! each batch with a Need bitmap (chunks neither its store nor the open
//! import holds, each id asked for once), the source sends those chunks as
//! stored (compressed), the destination verifies each id on arrival and
//! commits when the index is complete. The import keeps what arrived, so
//! a copy run again after an interruption sends only the rest.
//!
//! - [`proto`]: the wire protocol (sans I/O).
//! - [`session`]: the destination's protocol logic (no sockets).
//! - [`conn`]: framing over a TLS stream, connecting, [`CopyError`].
//! - [`client`] / [`server`]: the two ends.
//! - [`tls`]: certificates (private CA, tenants in client certificates).
//! - [`lossy_proxy`]: a delaying/lossy loopback proxy for tests and the
//!   benchmark.

pub mod client;
pub mod conn;
pub mod lossy_proxy;
pub mod proto;
pub mod server;
pub mod session;
pub mod tls;

pub use client::{CopyOptions, CopyReport, copy_set};
pub use conn::CopyError;
pub use server::CopyServer;

use std::path::Path;

use crate::dedup::{Store, StoreConfig};

/// Creates a store at `dest_dir` that can receive copies from the store at
/// `source_dir`: chunk ids are keyed hashes with per-tenant keys derived
/// from the store secret, so both ends must derive the same tenant keys or
/// no id would verify at the destination. Until the store can provision
/// per-tenant keys, a destination shares its source's secret (DIR/secret).
pub fn init_replica(
    source_dir: &Path,
    dest_dir: &Path,
    cfg: StoreConfig,
) -> Result<Store, CopyError> {
    drop(Store::init(dest_dir, cfg)?);
    let (from, to) = (source_dir.join("secret"), dest_dir.join("secret"));
    let secret = std::fs::read(&from).map_err(CopyError::io(from.display().to_string()))?;
    // Replace through a temporary file and rename, so a crash never
    // leaves a truncated secret.
    let tmp = dest_dir.join("secret.replica");
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(CopyError::io(tmp.display().to_string()))?;
        f.write_all(&secret)
            .and_then(|()| f.sync_all())
            .map_err(CopyError::io(tmp.display().to_string()))?;
    }
    std::fs::rename(&tmp, &to).map_err(CopyError::io(to.display().to_string()))?;
    Ok(Store::open(dest_dir)?)
}

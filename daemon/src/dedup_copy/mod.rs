//! Optimized duplication: copies a backup set from one dedup store to
//! another over TCP with mutual TLS, sending only the chunks the
//! destination lacks.
//!
//! Flow: the source sends Hello (tenant, set header, the tenant's chunk-id
//! key: a destination without a key for the tenant adopts it, one with a
//! different key refuses the copy before writing anything), the index in
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

//! Optimized duplication: copies a backup set from one dedup store to
//! another over TCP with mutual TLS, sending only the chunks the
//! destination lacks.
//!
//! - [`proto`]: the wire protocol (sans I/O).
//! - [`tls`]: certificates (private CA, tenants in client certificates) and
//!   rustls configurations.
//! - [`lossy_proxy`]: a delaying/lossy loopback proxy for tests and the
//!   benchmark.

pub mod lossy_proxy;
pub mod proto;
pub mod tls;

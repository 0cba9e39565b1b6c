//! The iSCSI target (RFC 7143) that serves a [`crate::library::VirtualLibrary`]:
//! configuration, the per-connection session state machine (sans-I/O:
//! PDUs in, PDUs out), the LUN map, CHAP, and the TCP server.

pub mod config;
pub mod connection;
pub mod login;
pub mod luns;
pub mod params;
pub mod portal;
pub mod server;

pub use config::{LunDevice, ServeConfig, TargetConfig};
pub use connection::{Connection, Phase};
pub use portal::Portal;
pub use server::{RunningServer, Server, ServerError};

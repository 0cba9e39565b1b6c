//! The destination: accepts mutual-TLS connections, maps the client
//! certificate to its tenants and runs one [`Session`] per connection on
//! its own thread.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rustls::{ServerConnection, StreamOwned};

use super::conn::{Conn, CopyError};
use super::session::Session;
use super::tls::{self, TlsError};
use crate::dedup::Store;

/// Counters over all sessions of a server.
#[derive(Debug, Default)]
pub struct ServerStats {
    pub sessions: AtomicU64,
    pub refused: AtomicU64,
    pub committed: AtomicU64,
    pub chunks_received: AtomicU64,
    pub chunk_bytes_received: AtomicU64,
}

/// A running copy server; stops accepting on drop (sessions in progress
/// end with their connections).
pub struct CopyServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
    stats: Arc<ServerStats>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
}

impl CopyServer {
    /// Binds `listen` and serves `store` in the background.
    pub fn start(
        store: Arc<Store>,
        listen: SocketAddr,
        tls: Arc<rustls::ServerConfig>,
    ) -> Result<CopyServer, CopyError> {
        let listener =
            TcpListener::bind(listen).map_err(CopyError::io(format!("bind {listen}")))?;
        let addr = listener.local_addr().map_err(CopyError::io("bind"))?;
        // Non-blocking accept so drop can stop the loop.
        listener
            .set_nonblocking(true)
            .map_err(CopyError::io("bind"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(ServerStats::default());
        let conns = Arc::new(Mutex::new(Vec::new()));
        let accept = {
            let (stop, stats, conns) = (stop.clone(), stats.clone(), conns.clone());
            std::thread::Builder::new()
                .name("dedup-copy-accept".into())
                .spawn(move || accept_loop(listener, store, tls, stop, stats, conns))
                .map_err(CopyError::io("spawn"))?
        };
        Ok(CopyServer {
            addr,
            stop,
            accept: Some(accept),
            stats,
            conns,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn stats(&self) -> &ServerStats {
        &self.stats
    }

    /// Blocks until the accept loop ends (it does not by itself).
    pub fn wait(mut self) {
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

impl Drop for CopyServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
        if let Ok(conns) = self.conns.lock() {
            for c in conns.iter() {
                let _ = c.shutdown(std::net::Shutdown::Both);
            }
        }
    }
}

fn accept_loop(
    listener: TcpListener,
    store: Arc<Store>,
    tls: Arc<rustls::ServerConfig>,
    stop: Arc<AtomicBool>,
    stats: Arc<ServerStats>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
) {
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((tcp, peer)) => {
                let handle = tcp.try_clone().ok();
                if let (Ok(mut list), Some(c)) = (conns.lock(), handle.as_ref()) {
                    // Keep only live connections' handles around.
                    list.retain(|s| s.peer_addr().is_ok());
                    if let Ok(c) = c.try_clone() {
                        list.push(c);
                    }
                }
                let (store, tls, stats) = (store.clone(), tls.clone(), stats.clone());
                let spawned = std::thread::Builder::new()
                    .name("dedup-copy-session".into())
                    .spawn(move || {
                        stats.sessions.fetch_add(1, Ordering::Relaxed);
                        let result = serve_conn(tcp, &store, tls, &stats);
                        // Other handles of this socket (kept for shutdown on
                        // drop) would keep it open: end it explicitly so a
                        // client still sending sees the refusal.
                        if let Some(h) = handle {
                            let _ = h.shutdown(std::net::Shutdown::Both);
                        }
                        if let Err(e) = result {
                            stats.refused.fetch_add(1, Ordering::Relaxed);
                            tracing::warn!("copy session from {peer}: {e}");
                        }
                    });
                if let Err(e) = spawned {
                    tracing::warn!("copy session from {peer}: cannot spawn: {e}");
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => {
                tracing::warn!("copy server accept: {e}");
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

fn serve_conn(
    tcp: TcpStream,
    store: &Store,
    tls: Arc<rustls::ServerConfig>,
    stats: &ServerStats,
) -> Result<(), CopyError> {
    tcp.set_nonblocking(false)
        .map_err(CopyError::io("socket"))?;
    tcp.set_nodelay(true).map_err(CopyError::io("socket"))?;
    tcp.set_read_timeout(Some(Duration::from_secs(300)))
        .map_err(CopyError::io("socket"))?;
    let conn = ServerConnection::new(tls).map_err(TlsError::from)?;
    let mut stream = StreamOwned::new(conn, tcp);
    while stream.conn.is_handshaking() {
        stream
            .conn
            .complete_io(&mut stream.sock)
            .map_err(CopyError::io("TLS handshake"))?;
    }
    // The verifier accepted the chain; the tenants come from its leaf.
    let allowed = stream
        .conn
        .peer_certificates()
        .and_then(|c| c.first())
        .map(tls::tenants_of)
        .unwrap_or_default();
    let mut conn = Conn::new(stream);
    let mut session = Session::new(store, allowed);
    let result = run_session(&mut conn, &mut session);
    if result.is_ok() {
        // Close the TLS session cleanly so the client reads our last message.
        conn.get_mut().conn.send_close_notify();
        let _ = conn.flush();
    }
    stats
        .chunks_received
        .fetch_add(session.stats.chunks_received, Ordering::Relaxed);
    stats
        .chunk_bytes_received
        .fetch_add(session.stats.chunk_bytes_received, Ordering::Relaxed);
    if session.stats.committed {
        stats.committed.fetch_add(1, Ordering::Relaxed);
    }
    result
}

fn run_session<S: std::io::Read + std::io::Write>(
    conn: &mut Conn<S>,
    session: &mut Session<'_>,
) -> Result<(), CopyError> {
    while !session.finished() {
        let msg = match conn.recv_opt() {
            Err(CopyError::Proto(e)) => {
                let answer = super::proto::Message::Error {
                    code: super::proto::ErrorCode::Protocol,
                    message: e.to_string(),
                };
                let _ = conn.send(&answer).and_then(|()| conn.flush());
                return Err(CopyError::Proto(e));
            }
            other => other?,
        };
        let Some(msg) = msg else {
            return Err(CopyError::Violation(
                "client closed the connection before commit".into(),
            ));
        };
        match session.handle(msg) {
            Ok(Some(answer)) => {
                conn.send(&answer)?;
                conn.flush()?;
            }
            Ok(None) => {}
            Err(refusal) => {
                let (answer, err) = *refusal;
                // Best effort: the peer may be gone already.
                let _ = conn.send(&answer).and_then(|()| conn.flush());
                return Err(err);
            }
        }
    }
    Ok(())
}

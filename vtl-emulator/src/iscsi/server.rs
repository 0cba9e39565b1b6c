//! The TCP side: a listener, one thread per connection running a
//! [`Connection`], and a clean stop (stop accepting, close every
//! connection, save the library).

use std::collections::HashMap;
use std::io::{BufWriter, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::BytesMut;
use reel_drivers::iscsi::Decoder;

use super::config::ServeConfig;
use super::connection::{Connection, Phase};
use super::portal::Portal;
use crate::library::{LibraryError, VirtualLibrary};

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("listening on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("accepting connections: {0}")]
    Accept(std::io::Error),
    #[error("library: {0}")]
    Library(#[from] LibraryError),
    #[error("the server thread panicked")]
    Panicked,
}

pub struct Server {
    listener: TcpListener,
    portal: Arc<Portal>,
    stop: Arc<AtomicBool>,
}

type Registry = Arc<Mutex<HashMap<u64, TcpStream>>>;

impl Server {
    /// Opens (or creates) the library and binds the listener; `listen`
    /// overrides the configured address.
    pub fn bind(config: ServeConfig, listen: Option<&str>) -> Result<Server, ServerError> {
        let library = VirtualLibrary::open_or_create_default(&config.library)?;
        Server::with_library(config, library, listen)
    }

    pub fn with_library(
        config: ServeConfig,
        library: VirtualLibrary,
        listen: Option<&str>,
    ) -> Result<Server, ServerError> {
        let addr = listen.unwrap_or(&config.listen).to_string();
        let listener = TcpListener::bind(&addr).map_err(|source| ServerError::Bind {
            addr: addr.clone(),
            source,
        })?;
        // Polled so that a stop request is seen without a connection.
        listener
            .set_nonblocking(true)
            .map_err(|source| ServerError::Bind { addr, source })?;
        Ok(Server {
            listener,
            portal: Arc::new(Portal::new(config, library)),
            stop: Arc::new(AtomicBool::new(false)),
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Set it to stop [`Server::run`] (a signal handler can).
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        self.stop.clone()
    }

    pub fn library(&self) -> &VirtualLibrary {
        &self.portal.library
    }

    /// Serves on a thread of its own (for tests and embedding hosts); the
    /// returned guard stops and joins the server when dropped.
    pub fn spawn(self) -> std::io::Result<RunningServer> {
        let addr = self.local_addr()?;
        let stop = self.stop_flag();
        let thread = std::thread::Builder::new()
            .name("reel-vtl iscsi".into())
            .spawn(move || self.run())?;
        Ok(RunningServer {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// Serves until the stop flag is set, then closes every connection
    /// and saves the library.
    pub fn run(self) -> Result<(), ServerError> {
        let registry: Registry = Arc::default();
        let mut threads: Vec<JoinHandle<()>> = Vec::new();
        let mut next_id = 0u64;
        while !self.stop.load(Ordering::SeqCst) {
            match self.listener.accept() {
                Ok((stream, peer)) => {
                    next_id += 1;
                    let id = next_id;
                    if let Ok(c) = stream.try_clone() {
                        lock(&registry).insert(id, c);
                    }
                    let portal = self.portal.clone();
                    let reg = registry.clone();
                    let t = std::thread::Builder::new()
                        .name(format!("iscsi-{peer}"))
                        .spawn(move || {
                            serve_connection(portal, stream, peer);
                            lock(&reg).remove(&id);
                        });
                    match t {
                        Ok(t) => threads.push(t),
                        Err(e) => tracing::error!("cannot start a connection thread: {e}"),
                    }
                    threads.retain(|t| !t.is_finished());
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // Out of descriptors and the like: wait, do not die.
                    tracing::warn!("accept: {e}");
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        }
        tracing::info!("stopping: closing {} connection(s)", lock(&registry).len());
        for s in lock(&registry).values() {
            let _ = s.shutdown(Shutdown::Both);
        }
        for t in threads {
            let _ = t.join();
        }
        self.portal.library.save(true)?;
        tracing::info!("library saved");
        Ok(())
    }
}

fn lock(r: &Registry) -> std::sync::MutexGuard<'_, HashMap<u64, TcpStream>> {
    r.lock().unwrap_or_else(|e| e.into_inner())
}

fn serve_connection(portal: Arc<Portal>, stream: TcpStream, peer: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let local = match stream.local_addr() {
        Ok(SocketAddr::V6(a)) => format!("[{}]:{}", a.ip(), a.port()),
        Ok(a) => a.to_string(),
        Err(_) => String::new(),
    };
    let Ok(wstream) = stream.try_clone() else {
        return;
    };
    let mut reader = stream;
    let mut writer = BufWriter::with_capacity(256 * 1024, wstream);
    let interval = portal.config.nop_interval;
    let mut conn = Connection::new(portal, local);
    let mut decoder = Decoder::default();
    let mut buf = BytesMut::with_capacity(256 * 1024);
    let mut encoded = Vec::with_capacity(256 * 1024);
    // Idle initiators are pinged; a dead one is noticed and let go.
    if !interval.is_zero() {
        let _ = reader.set_read_timeout(Some(interval));
    }
    let mut pinged = false;
    tracing::debug!(%peer, "connection");
    'conn: loop {
        // Digests and the data limit change at the end of login.
        let (hd, dd) = conn.digests();
        decoder.set_digests(hd, dd);
        decoder.max_data = conn.max_recv_data();
        let pdu = match decoder.decode(&mut buf) {
            Ok(Some(p)) => p,
            Ok(None) => {
                // Answers go out before waiting for more requests.
                if writer.flush().is_err() {
                    break;
                }
                match fill(&mut reader, &mut buf, peer) {
                    Fill::Data => pinged = false,
                    Fill::Closed => break,
                    Fill::Idle if conn.phase() != Phase::FullFeature => {}
                    Fill::Idle if pinged => {
                        tracing::info!(%peer, "no answer to a NOP-In ping: closing");
                        break;
                    }
                    Fill::Idle => {
                        encoded.clear();
                        conn.ping().encode_into(hd, dd, &mut encoded);
                        if writer.write_all(&encoded).is_err() {
                            break;
                        }
                        pinged = true;
                    }
                }
                continue;
            }
            Err(e) => {
                // Framing is lost: nothing after this can be trusted.
                tracing::warn!(%peer, "closing connection: {e}");
                break;
            }
        };
        for out in conn.handle(pdu) {
            encoded.clear();
            out.encode_into(hd, dd, &mut encoded);
            if let Err(e) = writer.write_all(&encoded) {
                tracing::debug!(%peer, "write: {e}");
                break 'conn;
            }
        }
        if conn.is_closed() {
            break;
        }
    }
    let _ = writer.flush();
    let _ = writer.get_ref().shutdown(Shutdown::Both);
}

/// What one read from the socket gave.
enum Fill {
    Data,
    /// The read timeout passed with nothing to read.
    Idle,
    Closed,
}

/// Reads more bytes from the socket into `buf`.
fn fill(r: &mut TcpStream, buf: &mut BytesMut, peer: SocketAddr) -> Fill {
    let start = buf.len();
    // At least 64 KiB free so large Data-Out PDUs come in few reads.
    buf.resize(start + (buf.capacity() - start).max(64 * 1024), 0);
    loop {
        match r.read(&mut buf[start..]) {
            Ok(0) => {
                buf.truncate(start);
                return Fill::Closed;
            }
            Ok(n) => {
                buf.truncate(start + n);
                return Fill::Data;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                buf.truncate(start);
                return Fill::Idle;
            }
            Err(e) => {
                tracing::debug!(%peer, "connection ended: {e}");
                buf.truncate(start);
                return Fill::Closed;
            }
        }
    }
}

/// A [`Server`] running on its own thread.
pub struct RunningServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<(), ServerError>>>,
}

impl RunningServer {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops the server (connections closed, library saved) and reports
    /// how it ended.
    pub fn stop(mut self) -> Result<(), ServerError> {
        self.stop_and_join()
    }

    fn stop_and_join(&mut self) -> Result<(), ServerError> {
        self.stop.store(true, Ordering::SeqCst);
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(ServerError::Panicked),
            None => Ok(()),
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Err(e) = self.stop_and_join() {
            tracing::warn!("iSCSI target stopped with an error: {e}");
        }
    }
}

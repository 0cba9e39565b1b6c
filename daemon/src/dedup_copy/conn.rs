//! Messages over a byte stream (a TLS stream in production): buffered
//! sends so many small frames share one TLS record, byte counters for the
//! reports, and the error type of the copy.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::{ClientConnection, StreamOwned};
use thiserror::Error;

use super::proto::{self, ErrorCode, Message, ProtoError};
use super::tls::TlsError;
use crate::dedup::DedupError;

/// Why a copy (either side) failed.
#[derive(Debug, Error)]
pub enum CopyError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("protocol: {0}")]
    Proto(#[from] ProtoError),
    #[error("peer refused ({code:?}): {message}")]
    Refused { code: ErrorCode, message: String },
    #[error("unexpected {got} (expected {want})")]
    Unexpected {
        got: &'static str,
        want: &'static str,
    },
    #[error("{0}")]
    Violation(String),
    #[error("store: {0}")]
    Store(#[from] DedupError),
    #[error("address {0:?}: {1}")]
    Address(String, String),
}

impl CopyError {
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> CopyError {
        let what = what.into();
        move |source| CopyError::Io { what, source }
    }
}

/// Flush the send buffer when it grows past this, so a stream of small
/// frames still goes out in large TLS records.
const SEND_BUFFER: usize = 256 * 1024;

/// A framed message connection.
pub struct Conn<S> {
    stream: S,
    wbuf: Vec<u8>,
    bytes_sent: u64,
    bytes_received: u64,
}

impl<S: Read + Write> Conn<S> {
    pub fn new(stream: S) -> Conn<S> {
        Conn {
            stream,
            wbuf: Vec::with_capacity(SEND_BUFFER),
            bytes_sent: 0,
            bytes_received: 0,
        }
    }

    /// Queues `msg`; it is written once the buffer is large or on flush.
    pub fn send(&mut self, msg: &Message) -> Result<(), CopyError> {
        let before = self.wbuf.len();
        proto::encode(msg, &mut self.wbuf)?;
        self.bytes_sent += (self.wbuf.len() - before) as u64;
        if self.wbuf.len() >= SEND_BUFFER {
            self.write_out()?;
        }
        Ok(())
    }

    fn write_out(&mut self) -> Result<(), CopyError> {
        if !self.wbuf.is_empty() {
            self.stream
                .write_all(&self.wbuf)
                .map_err(CopyError::io("send"))?;
            self.wbuf.clear();
        }
        Ok(())
    }

    pub fn flush(&mut self) -> Result<(), CopyError> {
        self.write_out()?;
        self.stream.flush().map_err(CopyError::io("send"))
    }

    /// Reads the next message. A peer's Error message becomes
    /// [`CopyError::Refused`].
    pub fn recv(&mut self) -> Result<Message, CopyError> {
        let msg = self.recv_raw()?;
        if let Message::Error { code, message } = msg {
            return Err(CopyError::Refused { code, message });
        }
        Ok(msg)
    }

    /// Reads the next message as is (Error included); None at a clean end
    /// of stream between frames.
    pub fn recv_opt(&mut self) -> Result<Option<Message>, CopyError> {
        let mut prefix = [0u8; 4];
        match self.stream.read(&mut prefix[..1]) {
            Ok(0) => return Ok(None),
            Ok(_) => {}
            Err(e) => return Err(CopyError::io("receive")(e)),
        }
        self.stream
            .read_exact(&mut prefix[1..])
            .map_err(CopyError::io("receive"))?;
        let len = proto::frame_len(prefix)?;
        let mut body = vec![0u8; len];
        self.stream
            .read_exact(&mut body)
            .map_err(CopyError::io("receive"))?;
        self.bytes_received += 4 + len as u64;
        Ok(Some(proto::decode_body(&body)?))
    }

    fn recv_raw(&mut self) -> Result<Message, CopyError> {
        self.recv_opt()?.ok_or_else(|| CopyError::Io {
            what: "receive".into(),
            source: std::io::ErrorKind::UnexpectedEof.into(),
        })
    }

    /// Frame bytes queued or written so far (without TLS overhead).
    pub fn bytes_sent(&self) -> u64 {
        self.bytes_sent
    }

    pub fn bytes_received(&self) -> u64 {
        self.bytes_received
    }

    pub fn get_mut(&mut self) -> &mut S {
        &mut self.stream
    }
}

/// A client TLS stream.
pub type ClientStream = StreamOwned<ClientConnection, TcpStream>;

/// Resolves `addr` (HOST:PORT) to its first socket address.
pub fn resolve(addr: &str) -> Result<SocketAddr, CopyError> {
    addr.to_socket_addrs()
        .map_err(|e| CopyError::Address(addr.into(), e.to_string()))?
        .next()
        .ok_or_else(|| CopyError::Address(addr.into(), "no address".into()))
}

/// Opens a mutual-TLS connection to a copy server and completes the
/// handshake. `server_name` is checked against the server certificate
/// (a DNS name or an IP address).
pub fn connect(
    addr: SocketAddr,
    server_name: &str,
    tls: Arc<rustls::ClientConfig>,
) -> Result<Conn<ClientStream>, CopyError> {
    let name = ServerName::try_from(server_name.to_string())
        .map_err(|e| CopyError::Address(server_name.into(), e.to_string()))?;
    let tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(30))
        .map_err(CopyError::io(format!("connect {addr}")))?;
    tcp.set_nodelay(true).map_err(CopyError::io("socket"))?;
    // A dead peer must not hang a copy forever.
    tcp.set_read_timeout(Some(Duration::from_secs(300)))
        .map_err(CopyError::io("socket"))?;
    tcp.set_write_timeout(Some(Duration::from_secs(300)))
        .map_err(CopyError::io("socket"))?;
    let conn = ClientConnection::new(tls, name).map_err(TlsError::from)?;
    let mut stream = StreamOwned::new(conn, tcp);
    while stream.conn.is_handshaking() {
        stream
            .conn
            .complete_io(&mut stream.sock)
            .map_err(CopyError::io(format!("TLS handshake with {addr}")))?;
    }
    Ok(Conn::new(stream))
}

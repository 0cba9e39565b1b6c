//! The iSCSI initiator transport: one LUN behind an iSCSI target, driven
//! over a blocking TCP connection, one command at a time.
//!
//! The protocol logic is sans-I/O: [`login`] (login and negotiation) and
//! [`command`] (sequence numbers, data phases, status), both built on the
//! shared PDU, text-key and CHAP layer of [`crate::iscsi`]. This file only
//! moves their PDUs over the socket, applies timeouts and reconnects.
//!
//! A dropped connection fails the command in flight with
//! [`TransportError::Disconnected`]; that command is never re-issued (a
//! WRITE must not reach the tape twice). The next command logs in again.

pub mod command;
pub mod creds;
pub mod login;

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use bytes::BytesMut;

use crate::address::DeviceAddress;
use crate::scsi::transport::{Completion, DataDirection, ScsiTransport, TransportError};

use super::chap;
use super::framing::Decoder;
use super::keys::{TextAssembler, encode_text};
use super::pdu::{
    LogoutReason, LogoutRequest, Lun, Opcode, Pdu, RESERVED_TAG, TaskMgmtResponse, TextRequest,
    TextResponse, TmfResponse,
};
use command::{Event, Progress, Session};
pub use creds::{ChapCredentials, ChapSecret, CredentialsError};
pub use login::{InitiatorConfig, Limits, LoginError};
use login::{LoggedIn, Login, LoginStep, SessionKind};

/// Largest transfer per command. iSCSI itself only bounds a command by its
/// 32-bit Expected Data Transfer Length (data moves in PDUs of at most
/// MaxRecvDataSegmentLength, R2T bursts of at most MaxBurstLength); the
/// cap keeps one command's buffer at the size of the largest tape block
/// reel uses and of the MaxBurstLength we offer.
pub const MAX_TRANSFER: usize = 16 * 1024 * 1024;

/// How long a login or logout may take.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(15);
/// How long we wait for the answer to ABORT TASK before dropping the
/// connection instead.
const ABORT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the LUN is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IscsiAddress {
    pub host: String,
    pub port: u16,
    pub target_iqn: String,
    pub lun: u64,
}

impl IscsiAddress {
    /// The iSCSI form of a parsed device address.
    pub fn from_device_address(a: &DeviceAddress) -> Option<IscsiAddress> {
        match a {
            DeviceAddress::Iscsi {
                host,
                port,
                target,
                lun,
            } => Some(IscsiAddress {
                host: host.clone(),
                port: *port,
                target_iqn: target.clone(),
                lun: *lun,
            }),
            _ => None,
        }
    }
}

impl std::fmt::Display for IscsiAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let a = DeviceAddress::Iscsi {
            host: self.host.clone(),
            port: self.port,
            target: self.target_iqn.clone(),
            lun: self.lun,
        };
        write!(f, "{a}")
    }
}

/// Why a session could not be established.
#[derive(Debug, thiserror::Error)]
pub enum IscsiError {
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Login(#[from] LoginError),
    #[error("{0}")]
    Credentials(#[from] CredentialsError),
    #[error("connection lost during login: {0}")]
    Disconnected(String),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("LUN {0} cannot be addressed (single-level LUNs are 0..=16383)")]
    Lun(u64),
}

/// The 8-byte LUN of a LUN number: peripheral addressing below 256, flat
/// space up to 16383 (what tgt and Linux report in REPORT LUNS).
pub fn lun_of(lun: u64) -> Option<Lun> {
    u16::try_from(lun)
        .ok()
        .filter(|l| *l <= 0x3fff)
        .map(Lun::from_number)
}

/// Logout Request (RFC 7143 11.14), reason: close the session.
fn logout_request(itt: u32, s: &Session) -> Pdu {
    LogoutRequest {
        immediate: true,
        reason: LogoutReason::CloseSession,
        itt,
        cid: 0,
        cmd_sn: s.cmd_sn,
        exp_stat_sn: s.exp_stat_sn,
    }
    .into_pdu()
}

/// Why one receive failed.
enum RecvError {
    Timeout,
    Closed(String),
}

impl RecvError {
    fn message(self) -> String {
        match self {
            RecvError::Timeout => "timed out".into(),
            RecvError::Closed(m) => m,
        }
    }
}

/// One TCP connection and its PDU framing.
struct Connection {
    stream: TcpStream,
    decoder: Decoder,
    buf: BytesMut,
    header_digest: bool,
    data_digest: bool,
}

impl Connection {
    fn open(host: &str, port: u16, max_recv: u32) -> Result<Connection, IscsiError> {
        let shown = format!("{host}:{port}");
        let err = |source| IscsiError::Connect {
            addr: shown.clone(),
            source,
        };
        let addrs: Vec<_> = (host, port).to_socket_addrs().map_err(err)?.collect();
        let mut last = std::io::Error::new(ErrorKind::NotFound, "no address");
        for a in addrs {
            match TcpStream::connect_timeout(&a, LOGIN_TIMEOUT) {
                Ok(stream) => {
                    // Commands are request/response: do not let Nagle hold
                    // back a CDB or the last Data-Out.
                    stream.set_nodelay(true).map_err(err)?;
                    return Ok(Connection {
                        stream,
                        decoder: Decoder::new(max_recv as usize),
                        buf: BytesMut::with_capacity(64 * 1024),
                        header_digest: false,
                        data_digest: false,
                    });
                }
                Err(e) => last = e,
            }
        }
        Err(err(last))
    }

    /// Digests apply from the first PDU after the login (RFC 7143 13.1).
    fn set_digests(&mut self, header: bool, data: bool, max_recv: u32) {
        self.header_digest = header;
        self.data_digest = data;
        self.decoder.set_digests(header, data);
        self.decoder.max_data = max_recv as usize;
    }

    fn send(&mut self, pdus: &[Pdu]) -> Result<(), RecvError> {
        // One write per batch: a command and its unsolicited data leave
        // together.
        let mut bytes = Vec::new();
        for p in pdus {
            p.encode_into(self.header_digest, self.data_digest, &mut bytes);
        }
        self.stream
            .write_all(&bytes)
            .map_err(|e| RecvError::Closed(format!("send failed: {e}")))
    }

    /// A PDU already sent by the target, without waiting for one.
    fn poll(&mut self) -> Result<Option<Pdu>, RecvError> {
        loop {
            match self.decoder.decode(&mut self.buf) {
                Ok(Some(p)) => return Ok(Some(p)),
                Ok(None) => {}
                Err(e) => return Err(RecvError::Closed(format!("bad PDU from target: {e}"))),
            }
            let closed = |e: std::io::Error| RecvError::Closed(e.to_string());
            self.stream.set_nonblocking(true).map_err(closed)?;
            let mut chunk = [0u8; 64 * 1024];
            let r = self.stream.read(&mut chunk);
            self.stream.set_nonblocking(false).map_err(closed)?;
            match r {
                Ok(0) => return Err(RecvError::Closed("target closed the connection".into())),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(None),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(RecvError::Closed(e.to_string())),
            }
        }
    }

    fn recv(&mut self, deadline: Instant) -> Result<Pdu, RecvError> {
        loop {
            match self.decoder.decode(&mut self.buf) {
                Ok(Some(p)) => return Ok(p),
                Ok(None) => {}
                Err(e) => return Err(RecvError::Closed(format!("bad PDU from target: {e}"))),
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(RecvError::Timeout);
            }
            self.stream
                .set_read_timeout(Some(left))
                .map_err(|e| RecvError::Closed(e.to_string()))?;
            let mut chunk = [0u8; 64 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(RecvError::Closed("target closed the connection".into())),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Err(RecvError::Timeout);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(RecvError::Closed(e.to_string())),
            }
        }
    }
}

/// Runs a login on a fresh connection.
fn login(
    conn: &mut Connection,
    kind: SessionKind,
    config: &InitiatorConfig,
    creds: Option<ChapCredentials>,
    isid: [u8; 6],
) -> Result<LoggedIn, IscsiError> {
    let (mut l, first) = Login::start(kind, config.clone(), creds, isid, 0, 0, random16());
    let deadline = Instant::now() + LOGIN_TIMEOUT;
    let lost = |e: RecvError| match e {
        RecvError::Timeout => IscsiError::Timeout(LOGIN_TIMEOUT),
        RecvError::Closed(m) => IscsiError::Disconnected(m),
    };
    conn.send(&[first]).map_err(lost)?;
    loop {
        let p = conn.recv(deadline).map_err(lost)?;
        match l.on_response(&p)? {
            LoginStep::Send(next) => conn.send(&[next]).map_err(lost)?,
            LoginStep::Done(done) => {
                conn.set_digests(
                    done.limits.header_digest,
                    done.limits.data_digest,
                    done.limits.max_recv_segment,
                );
                return Ok(done);
            }
        }
    }
}

/// Random bytes for the ISID and CHAP challenges.
fn random16() -> [u8; 16] {
    let mut out = [0u8; 16];
    if let Ok(r) = chap::random_bytes(16) {
        out.copy_from_slice(&r);
        return out;
    }
    // Fallback: not secret, but unique enough for an ISID.
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    out.copy_from_slice(&(t ^ u128::from(std::process::id()) << 64).to_le_bytes());
    out
}

/// A random-type ISID (RFC 7143 10.12.5: T = 10b).
fn new_isid() -> [u8; 6] {
    let r = random16();
    [0x80, r[0], r[1], r[2], r[3], r[4]]
}

/// An iSCSI LUN as a [`ScsiTransport`].
pub struct IscsiTransport {
    addr: IscsiAddress,
    config: InitiatorConfig,
    creds: Option<ChapCredentials>,
    isid: [u8; 6],
    conn: Option<Connection>,
    session: Session,
}

impl IscsiTransport {
    /// Connects and logs in. `creds: None` logs in without CHAP (use
    /// [`ChapCredentials::from_env`] for the configured ones).
    pub fn connect(
        addr: &IscsiAddress,
        creds: Option<ChapCredentials>,
    ) -> Result<IscsiTransport, IscsiError> {
        Self::connect_with(addr, creds, InitiatorConfig::default())
    }

    /// As [`Self::connect`], with explicit offers (digests, burst sizes).
    pub fn connect_with(
        addr: &IscsiAddress,
        creds: Option<ChapCredentials>,
        config: InitiatorConfig,
    ) -> Result<IscsiTransport, IscsiError> {
        let isid = new_isid();
        let (conn, session) = Self::establish(addr, &config, creds.clone(), isid)?;
        Ok(IscsiTransport {
            addr: addr.clone(),
            config,
            creds,
            isid,
            conn: Some(conn),
            session,
        })
    }

    /// Opens a `iscsi://` device address with the credentials of the
    /// environment (`REEL_ISCSI_CHAP_*`).
    pub fn open(addr: &DeviceAddress) -> Result<IscsiTransport, IscsiError> {
        let a = IscsiAddress::from_device_address(addr)
            .ok_or_else(|| IscsiError::Disconnected(format!("{addr} is not an iSCSI address")))?;
        Self::connect(&a, ChapCredentials::from_env()?)
    }

    fn establish(
        addr: &IscsiAddress,
        config: &InitiatorConfig,
        creds: Option<ChapCredentials>,
        isid: [u8; 6],
    ) -> Result<(Connection, Session), IscsiError> {
        let mut conn =
            Connection::open(&addr.host, addr.port, config.max_recv_data_segment_length)?;
        let kind = SessionKind::Normal {
            target: addr.target_iqn.clone(),
        };
        let done = login(&mut conn, kind, config, creds, isid)?;
        tracing::debug!(target: "reel::iscsi", address = %addr, limits = ?done.limits, "logged in");
        let lun = lun_of(addr.lun).ok_or(IscsiError::Lun(addr.lun))?;
        let session = Session::new(
            done.limits,
            lun,
            done.exp_cmd_sn,
            done.exp_stat_sn,
            done.exp_cmd_sn,
            done.max_cmd_sn,
        );
        Ok((conn, session))
    }

    /// The negotiated session parameters.
    pub fn limits(&self) -> Limits {
        self.session.limits
    }

    /// Whether a connection is up (it is re-established by the next
    /// command otherwise).
    pub fn is_connected(&self) -> bool {
        self.conn.is_some()
    }

    fn reconnect(&mut self) -> Result<(), TransportError> {
        let (conn, session) =
            Self::establish(&self.addr, &self.config, self.creds.clone(), self.isid).map_err(
                |e| TransportError::Disconnected(format!("reconnecting to {}: {e}", self.addr)),
            )?;
        tracing::info!(target: "reel::iscsi", address = %self.addr, "reconnected");
        self.conn = Some(conn);
        self.session = session;
        Ok(())
    }

    /// Handles what the target sent while no command ran (NOP-In pings
    /// are answered). False when the connection is gone.
    fn catch_up(&mut self) -> bool {
        let Some(conn) = self.conn.as_mut() else {
            return true;
        };
        loop {
            match conn.poll() {
                Ok(None) => return true,
                Ok(Some(p)) => match self.session.on_session_pdu(&p) {
                    Some(Event::Reply(r)) => {
                        if conn.send(&[r]).is_err() {
                            return false;
                        }
                    }
                    Some(Event::Goodbye(m)) => {
                        tracing::info!(target: "reel::iscsi", address = %self.addr, "target ended the session while idle: {m}");
                        return false;
                    }
                    // Stray PDUs of no command: nothing to do.
                    Some(Event::Nothing) | None => {}
                },
                Err(_) => return false,
            }
        }
    }

    /// After a timeout: ABORT TASK, swallowing what the target still sends
    /// for the task. Any failure drops the connection.
    fn abort(&mut self, ex: &command::Exchange<'_>) {
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        let (tmf_itt, pdu) = self.session.abort(ex);
        let deadline = Instant::now() + ABORT_TIMEOUT;
        let ok = conn.send(&[pdu]).is_ok()
            && loop {
                let Ok(p) = conn.recv(deadline) else {
                    break false;
                };
                match self.session.on_session_pdu(&p) {
                    Some(Event::Reply(r)) => {
                        if conn.send(&[r]).is_err() {
                            break false;
                        }
                        continue;
                    }
                    Some(Event::Goodbye(_)) => break false,
                    Some(Event::Nothing) => continue,
                    None => {}
                }
                if let Ok(r) = TaskMgmtResponse::from_pdu(&p)
                    && r.itt == tmf_itt
                {
                    // The task may have finished meanwhile.
                    break matches!(
                        r.response,
                        TmfResponse::Complete | TmfResponse::TaskDoesNotExist
                    );
                }
                // Data-In, R2T or the response of the aborted task: drop.
            };
        if !ok {
            tracing::warn!(target: "reel::iscsi", address = %self.addr, "abort failed; dropping the connection");
            self.conn = None;
        }
    }

    fn logout(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        let itt = self.session.new_itt();
        let pdu = logout_request(itt, &self.session);
        if conn.send(&[pdu]).is_err() {
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        while let Ok(p) = conn.recv(deadline) {
            if p.opcode_byte() == Opcode::LogoutResponse as u8 {
                break;
            }
        }
    }
}

impl Drop for IscsiTransport {
    fn drop(&mut self) {
        self.logout();
    }
}

impl ScsiTransport for IscsiTransport {
    fn execute(
        &mut self,
        cdb: &[u8],
        data: DataDirection<'_>,
        timeout: Duration,
    ) -> Result<Completion, TransportError> {
        let requested = data.len();
        if requested > MAX_TRANSFER {
            return Err(TransportError::TooLarge {
                requested,
                max: MAX_TRANSFER,
            });
        }
        // Nothing of this command is sent yet: a connection the target
        // dropped while we were idle can be replaced safely.
        if !self.catch_up() {
            self.conn = None;
        }
        if self.conn.is_none() {
            self.reconnect()?;
        }
        let deadline = Instant::now() + timeout;
        let lost = |this: &mut Self, m: String| {
            this.conn = None;
            tracing::warn!(target: "reel::iscsi", address = %this.addr, "connection lost: {m}");
            TransportError::Disconnected(m)
        };
        // A closed CmdSN window: wait for the target to open it.
        while !self.session.window_open() {
            let Some(conn) = self.conn.as_mut() else {
                return Err(TransportError::Disconnected("no connection".into()));
            };
            match conn.recv(deadline) {
                Ok(p) => match self.session.on_session_pdu(&p) {
                    Some(Event::Reply(r)) => {
                        if let Err(e) = conn.send(&[r]) {
                            return Err(lost(self, e.message()));
                        }
                    }
                    Some(Event::Goodbye(m)) => return Err(lost(self, m)),
                    _ => {}
                },
                Err(RecvError::Timeout) => return Err(TransportError::Timeout(timeout)),
                Err(RecvError::Closed(m)) => return Err(lost(self, m)),
            }
        }
        let (mut ex, first) = self.session.begin(cdb, data)?;
        let Some(conn) = self.conn.as_mut() else {
            return Err(TransportError::Disconnected("no connection".into()));
        };
        if let Err(e) = conn.send(&first) {
            return Err(lost(self, e.message()));
        }
        loop {
            let Some(conn) = self.conn.as_mut() else {
                return Err(TransportError::Disconnected("no connection".into()));
            };
            let p = match conn.recv(deadline) {
                Ok(p) => p,
                Err(RecvError::Timeout) => {
                    self.abort(&ex);
                    return Err(TransportError::Timeout(timeout));
                }
                Err(RecvError::Closed(m)) => return Err(lost(self, m)),
            };
            let out = match self.session.on_session_pdu(&p) {
                Some(Event::Reply(r)) => vec![r],
                Some(Event::Nothing) => continue,
                Some(Event::Goodbye(m)) => return Err(lost(self, m)),
                None => match self.session.on_command_pdu(&mut ex, p) {
                    Ok(Progress::Done(c)) => return Ok(c),
                    Ok(Progress::Pending(out)) => out,
                    Err(e) => {
                        // The session state is unknown now: start afresh
                        // with the next command.
                        self.conn = None;
                        return Err(e);
                    }
                },
            };
            if !out.is_empty()
                && let Err(e) = conn.send(&out)
            {
                return Err(lost(self, e.message()));
            }
        }
    }

    fn max_transfer(&self) -> usize {
        MAX_TRANSFER
    }

    fn describe(&self) -> String {
        self.addr.to_string()
    }
}

/// SendTargets discovery (RFC 7143 12.3): the targets a portal offers,
/// each with its addresses (`host:port,tpgt`).
pub fn send_targets(host: &str, port: u16) -> Result<Vec<(String, Vec<String>)>, IscsiError> {
    let config = InitiatorConfig::default();
    let mut conn = Connection::open(host, port, config.max_recv_data_segment_length)?;
    let creds = ChapCredentials::from_env()?;
    let done = login(
        &mut conn,
        SessionKind::Discovery,
        &config,
        creds,
        new_isid(),
    )?;
    let mut session = Session::new(
        done.limits,
        Lun::default(),
        done.exp_cmd_sn,
        done.exp_stat_sn,
        done.exp_cmd_sn,
        done.max_cmd_sn,
    );
    let lost = |e: RecvError| match e {
        RecvError::Timeout => IscsiError::Timeout(LOGIN_TIMEOUT),
        RecvError::Closed(m) => IscsiError::Disconnected(m),
    };
    let deadline = Instant::now() + LOGIN_TIMEOUT;
    let itt = session.new_itt();
    // SendTargets answers are small; the bound only stops a target that
    // never clears C.
    let mut text = TextAssembler::new(1 << 20);
    let mut ttt = RESERVED_TAG;
    let mut body = encode_text(&[("SendTargets", "All")]);
    let keys = loop {
        let req = TextRequest {
            immediate: true,
            final_bit: true,
            itt,
            ttt,
            cmd_sn: session.cmd_sn,
            exp_stat_sn: session.exp_stat_sn,
            data: body,
            ..TextRequest::default()
        };
        conn.send(&[req.into_pdu()]).map_err(lost)?;
        let p = loop {
            let p = conn.recv(deadline).map_err(lost)?;
            match session.on_session_pdu(&p) {
                Some(Event::Reply(r)) => conn.send(&[r]).map_err(lost)?,
                Some(_) => {}
                None => break p,
            }
        };
        let op = p.opcode_byte();
        let r = match TextResponse::from_owned(p) {
            Ok(r) if r.itt == itt => r,
            _ => {
                return Err(LoginError::Protocol(format!(
                    "expected a Text Response, got opcode 0x{op:02x}"
                ))
                .into());
            }
        };
        session.exp_stat_sn = r.stat_sn.wrapping_add(1);
        let pairs = text
            .push(&r.data, r.continue_bit)
            .map_err(|e| LoginError::Protocol(format!("bad SendTargets text: {e}")))?;
        if let Some(pairs) = pairs {
            break pairs;
        }
        // C bit: more text follows, ask for it with the target's tag.
        ttt = r.ttt;
        body = Vec::new();
    };
    let _ = conn.send(&[logout_request(session.new_itt(), &session)]);
    Ok(parse_send_targets(&keys))
}

/// Groups `TargetName` / `TargetAddress` keys.
pub fn parse_send_targets(keys: &[(String, String)]) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for (k, v) in keys {
        match (k.as_str(), out.last_mut()) {
            ("TargetName", _) => out.push((v.clone(), Vec::new())),
            ("TargetAddress", Some((_, addrs))) => addrs.push(v.clone()),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luns_are_peripheral_then_flat() {
        assert_eq!(lun_of(2).unwrap().0, [0, 2, 0, 0, 0, 0, 0, 0]);
        assert_eq!(lun_of(0x123).unwrap().0, [0x41, 0x23, 0, 0, 0, 0, 0, 0]);
        assert_eq!(lun_of(0x3fff).unwrap().0, [0x7f, 0xff, 0, 0, 0, 0, 0, 0]);
        assert_eq!(lun_of(0x4000), None);
    }

    #[test]
    fn logout_closes_the_session() {
        let s = Session::new(
            login::Limits {
                header_digest: false,
                data_digest: false,
                immediate_data: true,
                initial_r2t: true,
                first_burst_length: 512,
                max_burst_length: 512,
                max_send_segment: 512,
                max_recv_segment: 512,
            },
            Lun::default(),
            5,
            8,
            5,
            5,
        );
        let p = logout_request(0x21, &s);
        let mut want = [0u8; 48];
        want[..2].copy_from_slice(&[0x46, 0x80]);
        want[19] = 0x21;
        want[27] = 5;
        want[31] = 8;
        assert_eq!(p.bhs, want);
    }

    #[test]
    fn send_targets_groups_addresses_by_target() {
        let kv = |k: &str, v: &str| (k.to_string(), v.to_string());
        let keys = [
            kv("TargetName", "iqn.a"),
            kv("TargetAddress", "10.0.0.1:3260,1"),
            kv("TargetAddress", "10.0.0.2:3260,1"),
            kv("TargetName", "iqn.b"),
        ];
        assert_eq!(
            parse_send_targets(&keys),
            vec![
                (
                    "iqn.a".to_string(),
                    vec!["10.0.0.1:3260,1".to_string(), "10.0.0.2:3260,1".to_string()]
                ),
                ("iqn.b".to_string(), vec![]),
            ]
        );
    }
}

//! A delaying, "lossy" TCP proxy on loopback, standing in for a WAN link
//! where no kernel qdisc (netem) is available.
//!
//! Model, per direction of each proxied connection:
//! - Bytes are read in segments of at most `segment` bytes and each is
//!   released to the other side `one_way_delay` after it was read, in order.
//!   Two directions with delay d give a round trip of 2·d.
//! - At most `window` bytes are held in flight per direction; the proxy stops
//!   reading while the window is full, so a sender gets at most
//!   window / RTT, as a TCP connection with that window would.
//! - Loss: TCP never shows loss to the application, it shows its cost: the
//!   lost segment is retransmitted after a timeout, and because delivery is
//!   in order everything behind it waits too. So each segment is "lost" with
//!   probability `loss`, which holds it (and all later segments) for an
//!   extra `rto`. This leaves out congestion-window collapse after a loss,
//!   so it is an optimistic model of a lossy link; it does show head-of-line
//!   stalls, which is what the copy protocol's pipelining must absorb.
//! - `cut_after`: after that many client-to-server bytes the connection is
//!   cut (both sockets shut down), for interruption tests.
//! - `flip_at`: the client-to-server byte at that offset has its low bit
//!   flipped, for corruption tests.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Link parameters; [`ProxyConfig::default`] is a transparent proxy.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    pub one_way_delay: Duration,
    /// Probability that a segment is lost (0.01 = 1 %).
    pub loss: f64,
    /// Extra hold of a lost segment (retransmission timeout).
    pub rto: Duration,
    /// Segment size in bytes (the unit loss applies to).
    pub segment: usize,
    /// Bytes in flight per direction.
    pub window: usize,
    pub cut_after: Option<u64>,
    pub flip_at: Option<u64>,
    /// Seed of the loss draws, so a run is repeatable.
    pub seed: u64,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        ProxyConfig {
            one_way_delay: Duration::ZERO,
            loss: 0.0,
            rto: Duration::from_millis(200),
            segment: 16 * 1024,
            window: 4 << 20,
            cut_after: None,
            flip_at: None,
            seed: 1,
        }
    }
}

impl ProxyConfig {
    /// A link with round trip `rtt`, `loss` per segment and a
    /// retransmission timeout of RTT + 200 ms (Linux's minimum RTO on top of
    /// the round trip).
    pub fn wan(rtt: Duration, loss: f64) -> ProxyConfig {
        ProxyConfig {
            one_way_delay: rtt / 2,
            loss,
            rto: rtt + Duration::from_millis(200),
            ..ProxyConfig::default()
        }
    }
}

/// What the proxy saw, over all connections.
#[derive(Debug, Default)]
pub struct ProxyStats {
    pub connections: AtomicU64,
    pub bytes_up: AtomicU64,
    pub bytes_down: AtomicU64,
    pub stalls: AtomicU64,
    pub cuts: AtomicU64,
}

/// A running proxy; stops accepting and cuts its connections on drop.
pub struct LossyProxy {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
    stats: Arc<ProxyStats>,
}

impl LossyProxy {
    /// Listens on 127.0.0.1 (ephemeral port) and forwards to `upstream`.
    pub fn start(upstream: SocketAddr, cfg: ProxyConfig) -> std::io::Result<LossyProxy> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let conns = Arc::new(Mutex::new(Vec::new()));
        let stats = Arc::new(ProxyStats::default());
        let accept = {
            let (stop, conns, stats) = (stop.clone(), conns.clone(), stats.clone());
            std::thread::Builder::new()
                .name("lossy-proxy".into())
                .spawn(move || accept_loop(listener, upstream, cfg, stop, conns, stats))?
        };
        Ok(LossyProxy {
            addr,
            stop,
            accept: Some(accept),
            conns,
            stats,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn stats(&self) -> &ProxyStats {
        &self.stats
    }
}

impl Drop for LossyProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
        if let Ok(conns) = self.conns.lock() {
            for c in conns.iter() {
                let _ = c.shutdown(Shutdown::Both);
            }
        }
    }
}

fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    cfg: ProxyConfig,
    stop: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
    stats: Arc<ProxyStats>,
) {
    let mut n = 0u64;
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((client, _)) => {
                n += 1;
                stats.connections.fetch_add(1, Ordering::Relaxed);
                if let Err(e) = spawn_conn(client, upstream, &cfg, n, &conns, &stats) {
                    tracing::warn!("lossy proxy: connection to {upstream}: {e}");
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => {
                tracing::warn!("lossy proxy: accept: {e}");
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

fn spawn_conn(
    client: TcpStream,
    upstream: SocketAddr,
    cfg: &ProxyConfig,
    n: u64,
    conns: &Mutex<Vec<TcpStream>>,
    stats: &Arc<ProxyStats>,
) -> std::io::Result<()> {
    client.set_nonblocking(false)?;
    let server = TcpStream::connect(upstream)?;
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    if let Ok(mut c) = conns.lock() {
        c.push(client.try_clone()?);
        c.push(server.try_clone()?);
    }
    let cut = Arc::new(Cut {
        a: client.try_clone()?,
        b: server.try_clone()?,
        stats: stats.clone(),
    });
    let up = Pump {
        cfg: cfg.clone(),
        seed: cfg.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        counter: Arc::new(AtomicU64::new(0)),
        stats: stats.clone(),
        upstream: true,
        cut: cut.clone(),
    };
    let down = Pump {
        cfg: ProxyConfig {
            cut_after: None,
            flip_at: None,
            ..cfg.clone()
        },
        seed: !up.seed,
        counter: Arc::new(AtomicU64::new(0)),
        stats: stats.clone(),
        upstream: false,
        cut,
    };
    up.spawn(client.try_clone()?, server.try_clone()?)?;
    down.spawn(server, client)?;
    Ok(())
}

/// Cuts both sockets of one proxied connection.
struct Cut {
    a: TcpStream,
    b: TcpStream,
    stats: Arc<ProxyStats>,
}

impl Cut {
    fn cut(&self) {
        self.stats.cuts.fetch_add(1, Ordering::Relaxed);
        let _ = self.a.shutdown(Shutdown::Both);
        let _ = self.b.shutdown(Shutdown::Both);
    }
}

/// Segments waiting for their release time, bounded by the window.
struct Queue {
    items: VecDeque<(Instant, Vec<u8>)>,
    bytes: usize,
    eof: bool,
    /// The sending side failed: the reader stops too.
    dead: bool,
}

struct Pump {
    cfg: ProxyConfig,
    seed: u64,
    counter: Arc<AtomicU64>,
    stats: Arc<ProxyStats>,
    upstream: bool,
    cut: Arc<Cut>,
}

/// splitmix64: small, seedable, good enough for loss draws.
fn next_rand(state: &mut u64) -> f64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

impl Pump {
    fn spawn(self, mut from: TcpStream, mut to: TcpStream) -> std::io::Result<()> {
        let q = Arc::new((
            Mutex::new(Queue {
                items: VecDeque::new(),
                bytes: 0,
                eof: false,
                dead: false,
            }),
            Condvar::new(),
        ));
        let q2 = q.clone();
        let cfg = self.cfg.clone();
        let stats = self.stats.clone();
        let upstream = self.upstream;
        let from_handle = from.try_clone()?;
        std::thread::Builder::new()
            .name("lossy-proxy-tx".into())
            .spawn(move || {
                let (lock, cv) = &*q2;
                loop {
                    let item = {
                        let Ok(mut g) = lock.lock() else { return };
                        loop {
                            if let Some(item) = g.items.pop_front() {
                                g.bytes -= item.1.len();
                                cv.notify_all();
                                break Some(item);
                            }
                            if g.eof {
                                break None;
                            }
                            g = match cv.wait(g) {
                                Ok(g) => g,
                                Err(_) => return,
                            };
                        }
                    };
                    let Some((release, data)) = item else {
                        let _ = to.shutdown(Shutdown::Write);
                        return;
                    };
                    let now = Instant::now();
                    if release > now {
                        std::thread::sleep(release - now);
                    }
                    if to.write_all(&data).is_err() {
                        // Unblock the reader (window wait or read).
                        if let Ok(mut g) = lock.lock() {
                            g.dead = true;
                            cv.notify_all();
                        }
                        let _ = from_handle.shutdown(Shutdown::Read);
                        return;
                    }
                    let c = if upstream {
                        &stats.bytes_up
                    } else {
                        &stats.bytes_down
                    };
                    c.fetch_add(data.len() as u64, Ordering::Relaxed);
                }
            })?;
        std::thread::Builder::new()
            .name("lossy-proxy-rx".into())
            .spawn(move || {
                let mut rng = self.seed;
                let mut last_release = Instant::now();
                let mut buf = vec![0u8; cfg.segment.max(1)];
                let (lock, cv) = &*q;
                loop {
                    let n = match from.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    let mut data = buf[..n].to_vec();
                    let offset = self.counter.fetch_add(n as u64, Ordering::Relaxed);
                    if let Some(at) = cfg.flip_at
                        && (offset..offset + n as u64).contains(&at)
                    {
                        data[(at - offset) as usize] ^= 1;
                    }
                    let mut cut_now = false;
                    if let Some(limit) = cfg.cut_after
                        && offset + n as u64 >= limit
                    {
                        data.truncate(limit.saturating_sub(offset) as usize);
                        cut_now = true;
                    }
                    // In-order delivery: never release before the previous
                    // segment, so a stall holds everything behind it.
                    let mut release = (Instant::now() + cfg.one_way_delay).max(last_release);
                    if cfg.loss > 0.0 && next_rand(&mut rng) < cfg.loss {
                        release += cfg.rto;
                        self.stats.stalls.fetch_add(1, Ordering::Relaxed);
                    }
                    last_release = release;
                    {
                        let Ok(mut g) = lock.lock() else { break };
                        while g.bytes >= cfg.window && !g.dead {
                            g = match cv.wait(g) {
                                Ok(g) => g,
                                Err(_) => return,
                            };
                        }
                        if g.dead {
                            break;
                        }
                        g.bytes += data.len();
                        g.items.push_back((release, data));
                        cv.notify_all();
                    }
                    if cut_now {
                        // Let what was queued before the cut drain, then cut.
                        let deadline = release + Duration::from_millis(20);
                        let now = Instant::now();
                        if deadline > now {
                            std::thread::sleep(deadline - now);
                        }
                        self.cut.cut();
                        break;
                    }
                }
                if let Ok(mut g) = lock.lock() {
                    g.eof = true;
                    cv.notify_all();
                }
            })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn echo_server() -> (SocketAddr, JoinHandle<()>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let h = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut buf = [0u8; 4096];
            loop {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if s.write_all(&buf[..n]).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        (addr, h)
    }

    #[test]
    fn delays_by_the_round_trip() {
        let (addr, h) = echo_server();
        let p = LossyProxy::start(addr, ProxyConfig::wan(Duration::from_millis(100), 0.0)).unwrap();
        let mut c = TcpStream::connect(p.addr()).unwrap();
        let t = Instant::now();
        c.write_all(b"ping").unwrap();
        let mut b = [0u8; 4];
        c.read_exact(&mut b).unwrap();
        let rtt = t.elapsed();
        assert_eq!(&b, b"ping");
        assert!(rtt >= Duration::from_millis(100), "{rtt:?}");
        assert!(rtt < Duration::from_millis(600), "{rtt:?}");
        drop(c);
        h.join().unwrap();
    }

    #[test]
    fn flips_one_byte_and_cuts_after_n() {
        // A sink that reports what reached it.
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let h = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut got = Vec::new();
            let _ = s.read_to_end(&mut got);
            got
        });
        let p = LossyProxy::start(
            addr,
            ProxyConfig {
                flip_at: Some(2),
                cut_after: Some(6),
                ..ProxyConfig::default()
            },
        )
        .unwrap();
        let mut c = TcpStream::connect(p.addr()).unwrap();
        c.write_all(b"abcdefghij").unwrap();
        let mut rest = Vec::new();
        // The client sees the connection end (EOF or reset), not a hang.
        let _ = c.read_to_end(&mut rest);
        assert_eq!(h.join().unwrap(), b"abbdef");
        assert_eq!(p.stats().cuts.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn loss_stalls_segments() {
        let (addr, h) = echo_server();
        let cfg = ProxyConfig {
            loss: 1.0,
            rto: Duration::from_millis(150),
            ..ProxyConfig::default()
        };
        let p = LossyProxy::start(addr, cfg).unwrap();
        let mut c = TcpStream::connect(p.addr()).unwrap();
        let t = Instant::now();
        c.write_all(b"x").unwrap();
        let mut b = [0u8; 1];
        c.read_exact(&mut b).unwrap();
        // Lost once each way.
        assert!(
            t.elapsed() >= Duration::from_millis(300),
            "{:?}",
            t.elapsed()
        );
        assert_eq!(p.stats().stalls.load(Ordering::Relaxed), 2);
        drop(c);
        h.join().unwrap();
    }
}

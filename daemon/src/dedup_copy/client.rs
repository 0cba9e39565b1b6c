//! The source: sends a set's index in batches, keeps several batches in
//! flight (a 250 ms round trip must not cost one round trip per chunk),
//! sends the chunks each Need answer asks for, as stored (compressed), and
//! commits.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::conn::{self, Conn, CopyError};
use super::proto::{self, Message, WireRef};
use super::session::header_to_wire;
use crate::dedup::{ChunkRef, SetId, Store, TenantId};

/// Tuning of the copy pipeline.
#[derive(Debug, Clone)]
pub struct CopyOptions {
    /// Index entries per IndexBatch.
    pub batch: usize,
    /// IndexBatches sent ahead of the Need answers. With `batch` 512 and
    /// 16 in flight, 8192 index entries (~8 GiB of data at 1 MiB chunks)
    /// are outstanding, enough to keep a 250 ms link busy.
    pub window: usize,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            batch: 512,
            window: 16,
        }
    }
}

/// What a copy did.
#[derive(Debug, Clone, Serialize)]
pub struct CopyReport {
    pub tenant: String,
    pub set: String,
    /// The set id at the destination (the same id).
    pub dest_set: String,
    pub index_entries: u64,
    /// Logical size of the set: what a naive full copy sends.
    pub naive_bytes: u64,
    /// Chunks (and their stored bytes) the destination lacked: the least
    /// any copy must send.
    pub unique_chunks: u64,
    pub unique_bytes: u64,
    /// Distinct chunks of the set the destination already held (from
    /// other sets, or from an interrupted copy of this one).
    pub present_chunks: u64,
    /// All protocol bytes sent (frames: index, chunks, control; TLS
    /// record overhead excluded, ~0.1 %).
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub seconds: f64,
    /// bytes_sent / unique_bytes (goal <= 1.02).
    pub sent_vs_unique: f64,
    /// bytes_sent / naive_bytes.
    pub sent_vs_naive: f64,
    /// Logical bytes copied per second.
    pub logical_mb_per_s: f64,
    /// Bytes on the wire per second.
    pub wire_mb_per_s: f64,
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Copies `set` of `tenant` from `store` to the server at `to` (HOST:PORT).
/// `server_name` is what the server certificate must name (a DNS name or
/// IP; usually the HOST of `to`).
pub fn copy_set(
    store: &Store,
    tenant: &TenantId,
    set: &SetId,
    to: &str,
    server_name: &str,
    tls: Arc<rustls::ClientConfig>,
    opts: &CopyOptions,
) -> Result<CopyReport, CopyError> {
    let addr = conn::resolve(to)?;
    let start = Instant::now();
    let mut c = conn::connect(addr, server_name, tls)?;
    let mut report = copy_over(&mut c, store, tenant, set, opts)?;
    // Rates over the whole copy, connection and TLS handshake included.
    finish_rates(&mut report, start.elapsed());
    Ok(report)
}

fn finish_rates(r: &mut CopyReport, elapsed: Duration) {
    let secs = elapsed.as_secs_f64().max(1e-9);
    r.seconds = secs;
    r.sent_vs_unique = ratio(r.bytes_sent, r.unique_bytes);
    r.sent_vs_naive = ratio(r.bytes_sent, r.naive_bytes);
    r.logical_mb_per_s = r.naive_bytes as f64 / secs / 1e6;
    r.wire_mb_per_s = r.bytes_sent as f64 / secs / 1e6;
}

/// Runs the copy protocol over an established connection.
pub fn copy_over<S: Read + Write>(
    c: &mut Conn<S>,
    store: &Store,
    tenant: &TenantId,
    set: &SetId,
    opts: &CopyOptions,
) -> Result<CopyReport, CopyError> {
    let start = Instant::now();
    let index = store.set_index(tenant, set)?;
    let entries = index.chunks.len() as u64;
    let distinct = index
        .chunks
        .iter()
        .map(|c| c.id)
        .collect::<std::collections::HashSet<_>>()
        .len() as u64;
    // The set exists, so the tenant has a key here.
    let key = store.tenant_key(tenant)?;
    c.send(&Message::Hello {
        version: proto::VERSION,
        header: header_to_wire(&index.header, entries),
        tenant_key: key.0,
    })?;
    c.flush()?;
    match c.recv()? {
        Message::Accept { version } if version == proto::VERSION => {}
        Message::Accept { version } => {
            return Err(CopyError::Violation(format!(
                "server speaks protocol version {version}"
            )));
        }
        m => {
            return Err(CopyError::Unexpected {
                got: m.kind(),
                want: "Accept",
            });
        }
    }

    let batch = opts.batch.clamp(1, proto::MAX_BATCH);
    let mut batches = index.chunks.chunks(batch);
    let mut in_flight: VecDeque<(u32, &[ChunkRef])> = VecDeque::new();
    let mut seq = 0u32;
    let (mut unique_chunks, mut unique_bytes) = (0u64, 0u64);
    loop {
        while in_flight.len() < opts.window.max(1) {
            let Some(b) = batches.next() else { break };
            c.send(&Message::IndexBatch {
                seq,
                refs: b
                    .iter()
                    .map(|r| WireRef {
                        id: r.id.0,
                        len: r.len,
                    })
                    .collect(),
            })?;
            in_flight.push_back((seq, b));
            seq = seq.wrapping_add(1);
        }
        c.flush()?;
        let Some((want_seq, refs)) = in_flight.pop_front() else {
            break;
        };
        let (got_seq, missing) = match c.recv()? {
            Message::Need { seq, missing } => (seq, missing),
            m => {
                return Err(CopyError::Unexpected {
                    got: m.kind(),
                    want: "Need",
                });
            }
        };
        if got_seq != want_seq || missing.len() != refs.len() {
            return Err(CopyError::Violation(format!(
                "Need {got_seq} with {} entries answers batch {want_seq} of {}",
                missing.len(),
                refs.len()
            )));
        }
        for (r, _) in refs.iter().zip(&missing).filter(|(_, m)| **m) {
            let chunk = store.read_stored_chunk(tenant, &r.id)?;
            unique_chunks += 1;
            unique_bytes += chunk.data.len() as u64;
            c.send(&Message::ChunkData {
                id: r.id.0,
                compressed: chunk.compressed,
                plain_len: chunk.plain_len,
                data: chunk.data,
            })?;
        }
    }
    c.send(&Message::Commit { entries })?;
    c.flush()?;
    let dest_set = match c.recv()? {
        Message::Committed { set } => set,
        m => {
            return Err(CopyError::Unexpected {
                got: m.kind(),
                want: "Committed",
            });
        }
    };
    let mut report = CopyReport {
        tenant: tenant.as_str().to_string(),
        set: set.as_str().to_string(),
        dest_set,
        index_entries: entries,
        naive_bytes: index.header.logical_size,
        unique_chunks,
        unique_bytes,
        present_chunks: distinct.saturating_sub(unique_chunks),
        bytes_sent: c.bytes_sent(),
        bytes_received: c.bytes_received(),
        seconds: 0.0,
        sent_vs_unique: 0.0,
        sent_vs_naive: 0.0,
        logical_mb_per_s: 0.0,
        wire_mb_per_s: 0.0,
    };
    finish_rates(&mut report, start.elapsed());
    Ok(report)
}

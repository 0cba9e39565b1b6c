//! The destination's side of one copy, without sockets: messages in,
//! answers out, against a [`Store`]. The server feeds it from a TLS stream.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use super::conn::CopyError;
use super::proto::{self, ErrorCode, Message, WireHeader, WireRef};
use crate::dedup::{
    ChunkId, ChunkRef, DedupError, Import, SetHeader, SetId, SetIndex, Store, StoredChunk,
    TenantId, TenantKey,
};

/// What the session did, for the server's counters and the tests.
#[derive(Debug, Default, Clone, Copy)]
pub struct SessionStats {
    pub chunks_received: u64,
    pub chunk_bytes_received: u64,
    pub committed: bool,
}

enum State {
    AwaitHello,
    Copying(Box<Copying>),
    Done,
}

struct Copying {
    tenant: TenantId,
    header: SetHeader,
    import: Import,
    index: Vec<ChunkRef>,
    /// Asked for and not yet arrived.
    requested: HashSet<ChunkId>,
    expected_entries: u64,
    next_seq: u32,
}

/// One destination session. `allowed` are the tenants the client
/// certificate grants.
pub struct Session<'s> {
    store: &'s Store,
    allowed: Vec<String>,
    state: State,
    pub stats: SessionStats,
}

/// A session-ending refusal: the Error message for the peer and the
/// error for the log (boxed: it is the rare path).
pub type Refusal = Box<(Message, CopyError)>;

fn refuse(code: ErrorCode, message: impl Into<String>) -> Refusal {
    let message = message.into();
    Box::new((
        Message::Error {
            code,
            message: message.clone(),
        },
        CopyError::Violation(message),
    ))
}

fn store_err(e: DedupError) -> Refusal {
    let code = match e {
        DedupError::ChunkMismatch { .. } => ErrorCode::ChunkMismatch,
        DedupError::TenantKeyConflict { .. } => ErrorCode::KeyMismatch,
        _ => ErrorCode::Store,
    };
    Box::new((
        Message::Error {
            code,
            message: e.to_string(),
        },
        CopyError::Store(e),
    ))
}

/// Converts a wire header to the store's, validating names.
pub fn header_from_wire(h: &WireHeader) -> Result<SetHeader, DedupError> {
    Ok(SetHeader {
        tenant: TenantId::new(&h.tenant)?,
        set: SetId::new(&h.set)?,
        name: h.name.clone(),
        created: SystemTime::UNIX_EPOCH
            + Duration::new(h.created_secs, h.created_nanos.min(999_999_999)),
        logical_size: h.logical_size,
        stream_hash: h.stream_hash,
    })
}

/// The wire form of a set's header.
pub fn header_to_wire(h: &SetHeader, chunks: u64) -> WireHeader {
    let since = h
        .created
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    WireHeader {
        tenant: h.tenant.as_str().to_string(),
        set: h.set.as_str().to_string(),
        name: h.name.clone(),
        created_secs: since.as_secs(),
        created_nanos: since.subsec_nanos(),
        logical_size: h.logical_size,
        stream_hash: h.stream_hash,
        chunks,
    }
}

impl<'s> Session<'s> {
    pub fn new(store: &'s Store, allowed: Vec<String>) -> Session<'s> {
        Session {
            store,
            allowed,
            state: State::AwaitHello,
            stats: SessionStats::default(),
        }
    }

    /// True once the set is committed (or the session failed).
    pub fn finished(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// Handles one message. Ok(Some) is the answer to send; Err carries
    /// the Error message for the peer, after which the session is over.
    pub fn handle(&mut self, msg: Message) -> Result<Option<Message>, Refusal> {
        let r = self.step(msg);
        if r.is_err() {
            self.state = State::Done;
        }
        r
    }

    fn step(&mut self, msg: Message) -> Result<Option<Message>, Refusal> {
        match (&mut self.state, msg) {
            (
                State::AwaitHello,
                Message::Hello {
                    version,
                    header,
                    tenant_key,
                },
            ) => {
                if version != proto::VERSION {
                    return Err(refuse(
                        ErrorCode::Protocol,
                        format!(
                            "protocol version {version} not supported (this side speaks {})",
                            proto::VERSION
                        ),
                    ));
                }
                if !self.allowed.contains(&header.tenant) {
                    return Err(refuse(
                        ErrorCode::Forbidden,
                        format!(
                            "client certificate does not grant tenant {:?}",
                            header.tenant
                        ),
                    ));
                }
                let set_header = header_from_wire(&header).map_err(store_err)?;
                let tenant = set_header.tenant.clone();
                // Adopt the tenant's key, or refuse before anything is
                // written when this store holds another one.
                let adoption = self
                    .store
                    .adopt_tenant_key(&tenant, &TenantKey(tenant_key))
                    .map_err(store_err)?;
                tracing::debug!(%tenant, ?adoption, "tenant key");
                let import = self.store.import(&tenant, &set_header).map_err(store_err)?;
                tracing::info!(
                    tenant = %header.tenant, set = %header.set, chunks = header.chunks,
                    "copy session started"
                );
                self.state = State::Copying(Box::new(Copying {
                    tenant,
                    header: set_header,
                    import,
                    index: Vec::new(),
                    requested: HashSet::new(),
                    expected_entries: header.chunks,
                    next_seq: 0,
                }));
                Ok(Some(Message::Accept {
                    version: proto::VERSION,
                }))
            }
            (State::Copying(c), Message::IndexBatch { seq, refs }) => {
                if seq != c.next_seq {
                    return Err(refuse(
                        ErrorCode::Protocol,
                        format!("index batch {seq} out of order (expected {})", c.next_seq),
                    ));
                }
                c.next_seq = c.next_seq.wrapping_add(1);
                if c.index.len() as u64 + refs.len() as u64 > c.expected_entries {
                    return Err(refuse(
                        ErrorCode::Protocol,
                        "index longer than the header announced",
                    ));
                }
                let ids: Vec<ChunkId> = refs.iter().map(|r| ChunkId(r.id)).collect();
                let in_store = self.store.have_chunks(&c.tenant, &ids).map_err(store_err)?;
                let in_import = c.import.have(&ids).map_err(store_err)?;
                let mut missing = Vec::with_capacity(ids.len());
                for (i, id) in ids.iter().enumerate() {
                    let have_store = in_store.get(i).copied().unwrap_or(false);
                    let have_import = in_import.get(i).copied().unwrap_or(false);
                    // An id already requested (earlier in this set) is
                    // sent once.
                    let need = !have_store && !have_import && c.requested.insert(*id);
                    missing.push(need);
                }
                c.index.extend(refs.iter().map(|r: &WireRef| ChunkRef {
                    id: ChunkId(r.id),
                    len: r.len,
                }));
                Ok(Some(Message::Need { seq, missing }))
            }
            (
                State::Copying(c),
                Message::ChunkData {
                    id,
                    compressed,
                    plain_len,
                    data,
                },
            ) => {
                let id = ChunkId(id);
                if !c.requested.contains(&id) {
                    return Err(refuse(
                        ErrorCode::Protocol,
                        format!("chunk {id} was not requested"),
                    ));
                }
                let len = data.len() as u64;
                c.import
                    .add_chunk(
                        &id,
                        StoredChunk {
                            compressed,
                            plain_len,
                            data,
                        },
                    )
                    .map_err(store_err)?;
                c.requested.remove(&id);
                self.stats.chunks_received += 1;
                self.stats.chunk_bytes_received += len;
                Ok(None)
            }
            (State::Copying(c), Message::Commit { entries }) => {
                if entries != c.index.len() as u64 || entries != c.expected_entries {
                    return Err(refuse(
                        ErrorCode::Incomplete,
                        format!(
                            "commit of {entries} entries, but {} arrived and the header announced {}",
                            c.index.len(),
                            c.expected_entries
                        ),
                    ));
                }
                if !c.requested.is_empty() {
                    return Err(refuse(
                        ErrorCode::Incomplete,
                        format!("{} requested chunks never arrived", c.requested.len()),
                    ));
                }
                let State::Copying(c) = std::mem::replace(&mut self.state, State::Done) else {
                    return Err(refuse(ErrorCode::Protocol, "internal state"));
                };
                let c = *c;
                let index = SetIndex {
                    header: c.header,
                    chunks: c.index,
                };
                let set = c.import.commit(&index).map_err(store_err)?;
                self.stats.committed = true;
                tracing::info!(set = %set.as_str(), "copy committed");
                Ok(Some(Message::Committed {
                    set: set.as_str().to_string(),
                }))
            }
            (_, m) => Err(refuse(
                ErrorCode::Protocol,
                format!("unexpected {} at this point", m.kind()),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup::IngestKind;

    fn code(r: Result<Option<Message>, Refusal>) -> ErrorCode {
        match r {
            Err(b) => match b.0 {
                Message::Error { code, .. } => code,
                m => panic!("refusal carries {m:?}"),
            },
            Ok(m) => panic!("accepted: {m:?}"),
        }
    }

    fn hello(store: &Store, tenant: &TenantId) -> (Message, SetIndex) {
        let set = store
            .put(
                tenant,
                "s",
                &mut &[7u8; 5000][..],
                IngestKind::Bytes,
                &mut |_| {},
            )
            .unwrap()
            .set;
        let index = store.set_index(tenant, &set).unwrap();
        // A different set id, so the import is not refused as existing.
        let mut header = header_to_wire(&index.header, index.chunks.len() as u64);
        header.set = format!("{}0", header.set);
        (
            Message::Hello {
                version: proto::VERSION,
                header,
                tenant_key: store.tenant_key(tenant).unwrap().0,
            },
            index,
        )
    }

    #[test]
    fn protocol_order_and_permissions_are_enforced() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::init(dir.path(), crate::dedup::StoreConfig::default()).unwrap();
        let tenant = TenantId::new("acme").unwrap();
        let (hello, index) = hello(&store, &tenant);

        // Anything before Hello.
        let mut s = Session::new(&store, vec!["acme".into()]);
        assert_eq!(
            code(s.handle(Message::Commit { entries: 0 })),
            ErrorCode::Protocol
        );
        assert!(s.finished());

        // A tenant the certificate does not grant.
        let mut s = Session::new(&store, vec!["other".into()]);
        assert_eq!(code(s.handle(hello.clone())), ErrorCode::Forbidden);

        // Another protocol version.
        let mut s = Session::new(&store, vec!["acme".into()]);
        let Message::Hello {
            header, tenant_key, ..
        } = hello.clone()
        else {
            unreachable!()
        };
        let v1 = Message::Hello {
            version: 1,
            header: header.clone(),
            tenant_key,
        };
        assert_eq!(code(s.handle(v1)), ErrorCode::Protocol);

        // Another key for a tenant this store has a key for.
        let mut s = Session::new(&store, vec!["acme".into()]);
        let other_key = Message::Hello {
            version: proto::VERSION,
            header,
            tenant_key: [0x5A; 32],
        };
        assert_eq!(code(s.handle(other_key)), ErrorCode::KeyMismatch);

        // Batches out of order, and a chunk nobody asked for.
        let mut s = Session::new(&store, vec!["acme".into()]);
        assert_eq!(
            s.handle(hello.clone()).unwrap(),
            Some(Message::Accept {
                version: proto::VERSION
            })
        );
        assert_eq!(
            code(s.handle(Message::IndexBatch {
                seq: 1,
                refs: vec![]
            })),
            ErrorCode::Protocol
        );
        let mut s = Session::new(&store, vec!["acme".into()]);
        s.handle(hello).unwrap();
        let r = index.chunks[0];
        // The chunk is in the store already: not needed, so not accepted.
        assert_eq!(
            s.handle(Message::IndexBatch {
                seq: 0,
                refs: vec![WireRef {
                    id: r.id.0,
                    len: r.len
                }]
            })
            .unwrap(),
            Some(Message::Need {
                seq: 0,
                missing: vec![false]
            })
        );
        assert_eq!(
            code(s.handle(Message::ChunkData {
                id: r.id.0,
                compressed: false,
                plain_len: 1,
                data: bytes::Bytes::from_static(b"x"),
            })),
            ErrorCode::Protocol
        );
    }
}

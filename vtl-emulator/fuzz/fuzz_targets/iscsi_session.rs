//! Fuzzes the iSCSI target's session state machine: arbitrary bytes go
//! through the shared framing Decoder (in input-chosen chunk sizes) into a
//! target Connection serving a small library in a temporary directory.
//! Byte 0 bit 0 prepends a valid login (no CHAP) so the fuzzer reaches the
//! full feature phase. Any panic is a bug; a framing error ends the
//! connection (as the server does); every answer must be a well-formed
//! target PDU within the data limit the initiator declared, and a closed
//! connection answers nothing.

#![no_main]

use std::path::Path;
use std::sync::{Arc, OnceLock};

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use reel_drivers::iscsi::{Decoder, Opcode, Pdu};
use reel_vtl::iscsi::{Connection, Portal, ServeConfig};
use reel_vtl::library::VirtualLibrary;

const IQN: &str = "iqn.2025-01.org.reel:fuzz";

struct Lib {
    _dir: tempfile::TempDir,
    lib: VirtualLibrary,
}

fn library() -> &'static Lib {
    static LIB: OnceLock<Lib> = OnceLock::new();
    LIB.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let lib = VirtualLibrary::create_default(&dir.path().join("lib")).expect("library");
        Lib { _dir: dir, lib }
    })
}

fn config() -> ServeConfig {
    let text = format!(
        "library = \"unused\"\n[[target]]\niqn = \"{IQN}\"\nluns = {{ 1 = \"drive0\", 2 = \"changer\" }}\n"
    );
    ServeConfig::parse(&text, Path::new("/")).expect("config")
}

/// A one-PDU login straight to full feature phase (as libiscsi does
/// without CHAP), declaring a 4 KiB receive limit.
fn login() -> Vec<u8> {
    let mut p = Pdu::new(Opcode::LoginRequest);
    p.bhs[0] |= 0x40;
    p.bhs[1] = 0x87;
    p.bhs[8..14].copy_from_slice(&[0x80, 0, 0, 0, 0, 1]);
    let text = format!(
        "InitiatorName=iqn.2025-01.org.fuzz:i\0TargetName={IQN}\0MaxRecvDataSegmentLength=4096\0"
    );
    p.data = text.into_bytes();
    p.encode(false, false)
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Some((&chunk, rest)) = rest.split_first() else {
        return;
    };
    let chunk = usize::from(chunk).max(1) * 16;
    let portal = Arc::new(Portal::new(config(), library().lib.clone()));
    let mut conn = Connection::new(portal, "127.0.0.1:3260".into());
    let mut input = Vec::new();
    if mode & 1 != 0 {
        input.extend_from_slice(&login());
    }
    input.extend_from_slice(rest);

    let mut decoder = Decoder::default();
    let mut buf = BytesMut::new();
    for piece in input.chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            let (hd, dd) = conn.digests();
            decoder.set_digests(hd, dd);
            decoder.max_data = conn.max_recv_data();
            let pdu = match decoder.decode(&mut buf) {
                Ok(Some(p)) => p,
                Ok(None) => break,
                // The server closes the connection here.
                Err(_) => return,
            };
            let was_closed = conn.is_closed();
            let out = conn.handle(pdu);
            assert!(!was_closed || out.is_empty(), "a closed connection answered");
            for p in out {
                check_answer(&conn, &p, hd, dd);
            }
        }
    }
});

/// An answer is a target opcode and survives encode + decode unchanged.
fn check_answer(conn: &Connection, p: &Pdu, hd: bool, dd: bool) {
    let op = p.opcode().expect("known opcode");
    assert!(!op.is_initiator(), "target sent an initiator opcode {op:?}");
    let limit = (conn.params.peer_max_recv_data_segment_length as usize).max(512);
    if matches!(op, Opcode::DataIn | Opcode::TextResponse | Opcode::NopIn) {
        assert!(p.data.len() <= limit, "{op:?} of {} bytes", p.data.len());
    }
    let mut d = Decoder::default();
    d.set_digests(hd, dd);
    let mut wire = BytesMut::from(&p.encode(hd, dd)[..]);
    let back = d.decode(&mut wire).expect("decodes").expect("whole PDU");
    assert_eq!(&back, p);
    assert!(wire.is_empty());
}

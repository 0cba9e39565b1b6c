//! The target over TCP on an ephemeral port: in-process server, and the
//! `reel-vtl serve` binary (listening line, SIGTERM saves and exits).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;

use bytes::BytesMut;
use reel_drivers::iscsi::{Decoder, Pdu};
use reel_vtl::iscsi::{ServeConfig, Server};
use reel_vtl::library::VirtualLibrary;

const IQN: &str = "iqn.2025-01.org.reel:vtl";

fn text(pairs: &[&str]) -> Vec<u8> {
    pairs.iter().flat_map(|p| p.bytes().chain([0])).collect()
}

/// One PDU from the socket through the shared decoder (byte by byte, so
/// nothing of the next PDU is consumed).
fn read_pdu(s: &mut TcpStream, header_digest: bool, data_digest: bool) -> Pdu {
    let mut d = Decoder::new(1 << 20);
    d.set_digests(header_digest, data_digest);
    let mut buf = BytesMut::new();
    loop {
        if let Some(p) = d.decode(&mut buf).unwrap() {
            return p;
        }
        let mut b = [0u8; 1];
        s.read_exact(&mut b).unwrap();
        buf.extend_from_slice(&b);
    }
}

fn login_and_inquiry(s: &mut TcpStream) {
    let mut bhs = [0u8; 48];
    bhs[0] = 0x43;
    bhs[1] = 0x87;
    bhs[8..14].copy_from_slice(&[0x80, 0, 0, 0, 0, 2]);
    bhs[16..20].copy_from_slice(&1u32.to_be_bytes());
    let data = text(&[
        "InitiatorName=iqn.2025-01.org.test:sock",
        &format!("TargetName={IQN}"),
        "HeaderDigest=CRC32C,None",
        "DataDigest=CRC32C",
    ]);
    let login = Pdu {
        bhs,
        ahs: vec![],
        data,
    };
    s.write_all(&login.encode(false, false)).unwrap();
    let rsp = read_pdu(s, false, false);
    assert_eq!(rsp.bhs[0], 0x23);
    assert_eq!(&rsp.bhs[36..38], &[0, 0]);
    assert_eq!(rsp.bhs[1], 0x87);
    // Digests are on from the first full feature PDU.
    let mut bhs = [0u8; 48];
    bhs[0] = 0x01;
    bhs[1] = 0xc0;
    bhs[9] = 1;
    bhs[16..20].copy_from_slice(&2u32.to_be_bytes());
    bhs[20..24].copy_from_slice(&96u32.to_be_bytes());
    bhs[32..38].copy_from_slice(&[0x12, 0, 0, 0, 96, 0]);
    let cmd = Pdu {
        bhs,
        ahs: vec![],
        data: vec![],
    };
    s.write_all(&cmd.encode(true, true)).unwrap();
    let p = read_pdu(s, true, true);
    assert_eq!(p.bhs[0], 0x25);
    assert_eq!(p.bhs[1] & 0x81, 0x81);
    assert_eq!(p.data[0] & 0x1f, 0x01, "tape drive");
    assert_eq!(p.data[1] & 0x80, 0x80, "removable");
    assert_eq!(p.data[6] & 0x08, 0, "MChngr never set on a drive");
    // Logout.
    let mut bhs = [0u8; 48];
    bhs[0] = 0x46;
    bhs[1] = 0x80;
    bhs[16..20].copy_from_slice(&3u32.to_be_bytes());
    let lo = Pdu {
        bhs,
        ahs: vec![],
        data: vec![],
    };
    s.write_all(&lo.encode(true, true)).unwrap();
    let p = read_pdu(s, true, true);
    assert_eq!(p.bhs[0], 0x26);
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "connection closed after logout");
}

#[test]
fn in_process_server_many_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "library = \"lib\"\n[[target]]\niqn = \"{IQN}\"\nluns = {{ 1 = \"drive0\", 2 = \"changer\" }}\n"
    );
    let cfg = ServeConfig::parse(&text, dir.path()).unwrap();
    let lib = VirtualLibrary::create_default(&cfg.library).unwrap();
    let server = Server::with_library(cfg, lib, Some("127.0.0.1:0")).unwrap();
    let addr = server.local_addr().unwrap();
    let stop = server.stop_flag();
    let t = std::thread::spawn(move || server.run());
    let clients: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(addr).unwrap();
                login_and_inquiry(&mut s);
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    // A connection left open is closed by the stop.
    let mut idle = TcpStream::connect(addr).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(100));
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    t.join().unwrap().unwrap();
    let mut b = Vec::new();
    assert_eq!(idle.read_to_end(&mut b).unwrap_or(0), 0);
    assert!(dir.path().join("lib/state.json").is_file());
}

#[test]
fn binary_serves_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("reel-vtl.toml");
    std::fs::write(
        &cfg,
        format!("library = \"vtl\"\n[[target]]\niqn = \"{IQN}\"\nluns = {{ 1 = \"drive0\", 2 = \"changer\" }}\n"),
    )
    .unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_reel-vtl"))
        .args(["serve", "--config"])
        .arg(&cfg)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("reel-vtl: listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    let mut s = TcpStream::connect(&addr).unwrap();
    login_and_inquiry(&mut s);
    assert!(
        Path::new(&dir.path().join("vtl/library.toml")).is_file(),
        "default library created"
    );
    send_sigterm(child.id());
    let st = child.wait().unwrap();
    assert!(st.success(), "{st:?}");
}

fn send_sigterm(pid: u32) {
    let r = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(r.success());
}

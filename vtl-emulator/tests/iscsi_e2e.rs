//! reel's initiator (reel_drivers::iscsi) running reel's tape driver
//! against this target over loopback.

use std::time::Duration;

use reel_drivers::iscsi::initiator::{IscsiAddress, IscsiTransport};
use reel_drivers::tape::TapeDrive;
use reel_drivers::tape::rw::ReadOutcome;
use reel_vtl::iscsi::{ServeConfig, Server};
use reel_vtl::library::VirtualLibrary;

#[test]
fn tape_drive_over_iscsi() {
    let dir = tempfile::tempdir().unwrap();
    let iqn = "iqn.2025-01.org.reel:vtl";
    let text = format!(
        "library = \"lib\"\n[[target]]\niqn = \"{iqn}\"\nluns = {{ 1 = \"drive0\", 2 = \"changer\" }}\n"
    );
    let cfg = ServeConfig::parse(&text, dir.path()).unwrap();
    let lib = VirtualLibrary::create_default(&cfg.library).unwrap();
    lib.insert(0, "RL0001L8").unwrap();
    let server = Server::with_library(cfg, lib, Some("127.0.0.1:0")).unwrap();
    let port = server.local_addr().unwrap().port();
    let stop = server.stop_flag();
    let t = std::thread::spawn(move || server.run());

    let addr = IscsiAddress {
        host: "127.0.0.1".into(),
        port,
        target_iqn: iqn.into(),
        lun: 1,
    };
    let transport = IscsiTransport::connect(&addr, None).unwrap();
    let mut d = TapeDrive::new(transport);
    d.wait_ready(Duration::from_secs(30)).unwrap();
    d.set_block_size(0).unwrap();
    let block: Vec<u8> = (0..256 * 1024u32).map(|i| (i % 251) as u8).collect();
    for _ in 0..4 {
        d.write(&block).unwrap();
    }
    d.rewind(false).unwrap();
    let mut buf = vec![0u8; 256 * 1024];
    for _ in 0..4 {
        match d.read(&mut buf).unwrap() {
            ReadOutcome::Block { len } => assert_eq!(len, block.len()),
            other => panic!("{other:?}"),
        }
        assert_eq!(buf, block);
    }
    drop(d);
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    t.join().unwrap().unwrap();
}

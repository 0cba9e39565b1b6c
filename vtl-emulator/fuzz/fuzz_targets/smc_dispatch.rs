//! Fuzzes the medium changer's CDB dispatcher: the input is a series of
//! commands (CDB, data-out, data-in length, host unloads) run against a
//! small library (2 drives, 2 mail slots, 6 slots, 4 cartridges). Any panic
//! is a bug; every response must be GOOD or CHECK CONDITION with 18 bytes
//! of fixed sense, and every cartridge must stay in exactly one place.

#![no_main]

use libfuzzer_sys::fuzz_target;
use reel_drivers::scsi::transport::ScsiStatus;
use reel_vtl::changer::{
    Changer, ChangerConfig, ChangerOptions, ChangerState, ElementMap, Identity, Medium, SimpleBay,
};

const BARCODES: [&str; 4] = ["FZ0001L8", "FZ0002L8", "FZ0003L8", "CLN001L1"];

fn identity(serial: &str) -> Identity {
    Identity {
        vendor: "REEL".into(),
        product: "FUZZ".into(),
        revision: "0001".into(),
        serial: serial.into(),
    }
}

fn library(flags: u8) -> Changer {
    let cfg = ChangerConfig {
        identity: identity("LIB"),
        map: ElementMap::standard(6, 2, 2),
        drives: vec![identity("D0"), identity("D1")],
        options: ChangerOptions {
            auto_unload: flags & 1 != 0,
            exchange: flags & 2 != 0,
            alternate_tags: flags & 4 != 0,
            ..ChangerOptions::default()
        },
    };
    let mut st = ChangerState::empty(&cfg.map);
    st.slots[0] = Some(Medium::data(BARCODES[0]));
    st.slots[1] = Some(Medium::data(BARCODES[1]));
    st.mail_slots[0] = Some(Medium::data(BARCODES[2]));
    st.slots[5] = Some(Medium::cleaning(BARCODES[3], 2));
    st.faults.offline = flags & 8 != 0;
    st.mail_open = flags & 16 != 0;
    Changer::new(cfg, st)
}

/// Takes `n` bytes from the front of `input`.
fn take<'a>(input: &mut &'a [u8], n: usize) -> &'a [u8] {
    let n = n.min(input.len());
    let (head, tail) = input.split_at(n);
    *input = tail;
    head
}

fuzz_target!(|data: &[u8]| {
    let mut input = data;
    let flags = take(&mut input, 1).first().copied().unwrap_or(0);
    let mut ch = library(flags);
    let mut bay = SimpleBay::new(2);
    while !input.is_empty() {
        let head = take(&mut input, 1).first().copied().unwrap_or(0);
        if head & 0x80 != 0 {
            bay.unload(usize::from(head & 1));
        }
        let cdb = take(&mut input, usize::from(head & 0x7f) % 17).to_vec();
        let lens = take(&mut input, 4);
        let at = |i: usize| lens.get(i).copied().unwrap_or(0);
        let out_len = usize::from(u16::from_be_bytes([at(0), at(1)])) % 512;
        let in_len = usize::from(u16::from_be_bytes([at(2), at(3)])) % 8192;
        let out = take(&mut input, out_len).to_vec();
        let mut buf = vec![0u8; in_len];
        let r = ch.execute(1, &cdb, &out, &mut buf, &mut bay);
        assert!(r.data_in_len <= in_len);
        assert_eq!(r.residual, in_len - r.data_in_len);
        match r.status {
            ScsiStatus::GOOD => assert!(r.sense.is_empty()),
            ScsiStatus::CHECK_CONDITION => {
                assert_eq!(r.sense.len(), 18);
                assert_eq!(r.sense[0], 0x70);
            }
            s => panic!("unexpected status {s:?}"),
        }
        let st = ch.state();
        for b in BARCODES {
            let n = st
                .slots
                .iter()
                .chain(&st.mail_slots)
                .chain(&st.drives)
                .filter(|m| m.as_ref().is_some_and(|m| m.barcode == b))
                .count();
            assert_eq!(n, 1, "{b} must be in exactly one element");
        }
    }
});

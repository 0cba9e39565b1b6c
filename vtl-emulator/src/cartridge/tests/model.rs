//! Model-based test: random operation sequences against a plain vector of
//! objects that implements SSC positioning by walking one object at a
//! time. Checks that the indexed implementation (and reopening it) agrees.

use proptest::prelude::*;

use super::super::*;
use super::basic::spec;

#[derive(Debug, Clone)]
enum Op {
    Write(u16, bool),
    Filemarks(u8),
    Read,
    SpaceBlocks(i8),
    SpaceFilemarks(i8),
    Locate(u8),
    Rewind,
    Eod,
    Erase,
    SyncReopen,
    CrashReopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1u16..300, any::<bool>()).prop_map(|(l, c)| Op::Write(l, c)),
        2 => (0u8..3).prop_map(Op::Filemarks),
        3 => Just(Op::Read),
        2 => (-6i8..6).prop_map(Op::SpaceBlocks),
        2 => (-3i8..3).prop_map(Op::SpaceFilemarks),
        2 => (0u8..80).prop_map(Op::Locate),
        1 => Just(Op::Rewind),
        1 => Just(Op::Eod),
        1 => Just(Op::Erase),
        1 => Just(Op::SyncReopen),
        1 => Just(Op::CrashReopen),
    ]
}

/// `None` = filemark.
struct Model {
    objs: Vec<Option<Vec<u8>>>,
    pos: usize,
    /// Objects known durable (a crash keeps at least these).
    synced: usize,
}

impl Model {
    fn space_blocks(&mut self, count: i64) -> SpaceResult {
        let n = count.unsigned_abs();
        let mut spaced = 0;
        while spaced < n {
            if count > 0 {
                if self.pos == self.objs.len() {
                    return SpaceResult::EndOfData {
                        remaining: n - spaced,
                    };
                }
                self.pos += 1;
                if self.objs[self.pos - 1].is_none() {
                    return SpaceResult::Filemark {
                        remaining: n - spaced,
                    };
                }
            } else {
                if self.pos == 0 {
                    return SpaceResult::BeginningOfPartition {
                        remaining: n - spaced,
                    };
                }
                if self.objs[self.pos - 1].is_none() {
                    self.pos -= 1;
                    return SpaceResult::Filemark {
                        remaining: n - spaced,
                    };
                }
                self.pos -= 1;
            }
            spaced += 1;
        }
        SpaceResult::Done
    }

    fn space_filemarks(&mut self, count: i64) -> SpaceResult {
        let n = count.unsigned_abs();
        let mut crossed = 0;
        while crossed < n {
            if count > 0 {
                if self.pos == self.objs.len() {
                    return SpaceResult::EndOfData {
                        remaining: n - crossed,
                    };
                }
                self.pos += 1;
                if self.objs[self.pos - 1].is_none() {
                    crossed += 1;
                }
            } else {
                if self.pos == 0 {
                    return SpaceResult::BeginningOfPartition {
                        remaining: n - crossed,
                    };
                }
                self.pos -= 1;
                if self.objs[self.pos].is_none() {
                    crossed += 1;
                }
            }
        }
        SpaceResult::Done
    }
}

fn data(len: u16, seed: usize) -> Vec<u8> {
    (0..len as usize)
        .map(|i| if i % 5 == 0 { (seed + i) as u8 } else { 0 })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn matches_the_model(ops in proptest::collection::vec(op(), 1..120)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c");
        let mut c = Cartridge::create(&path, &spec(1 << 24)).unwrap();
        let mut m = Model { objs: Vec::new(), pos: 0, synced: 0 };
        let mut buf = vec![0u8; 400];
        for (step, op) in ops.into_iter().enumerate() {
            match op {
                Op::Write(len, compress) => {
                    let d = data(len, step);
                    c.write(&d, compress).unwrap();
                    m.objs.truncate(m.pos);
                    m.objs.push(Some(d));
                    m.pos += 1;
                }
                Op::Filemarks(n) => {
                    c.write_filemarks(u32::from(n)).unwrap();
                    if n > 0 {
                        m.objs.truncate(m.pos);
                        for _ in 0..n {
                            m.objs.push(None);
                        }
                        m.pos += usize::from(n);
                    }
                }
                Op::Read => {
                    let got = c.read(&mut buf).unwrap();
                    match m.objs.get(m.pos) {
                        None => prop_assert_eq!(got, ReadRecord::EndOfData),
                        Some(None) => prop_assert_eq!(got, ReadRecord::Filemark),
                        Some(Some(d)) => {
                            prop_assert_eq!(got, ReadRecord::Data { len: d.len(), copied: d.len() });
                            prop_assert_eq!(&buf[..d.len()], &d[..]);
                        }
                    }
                    if m.pos < m.objs.len() {
                        m.pos += 1;
                    }
                }
                Op::SpaceBlocks(n) => {
                    prop_assert_eq!(c.space_blocks(i64::from(n)).unwrap(), m.space_blocks(i64::from(n)));
                }
                Op::SpaceFilemarks(n) => {
                    prop_assert_eq!(c.space_filemarks(i64::from(n)).unwrap(), m.space_filemarks(i64::from(n)));
                }
                Op::Locate(b) => {
                    let b = usize::from(b);
                    let r = c.locate(0, b as u64).unwrap();
                    if b > m.objs.len() {
                        prop_assert_eq!(r, SpaceResult::EndOfData { remaining: (b - m.objs.len()) as u64 });
                        m.pos = m.objs.len();
                    } else {
                        prop_assert_eq!(r, SpaceResult::Done);
                        m.pos = b;
                    }
                }
                Op::Rewind => {
                    c.rewind();
                    m.pos = 0;
                }
                Op::Eod => {
                    c.space_to_eod().unwrap();
                    m.pos = m.objs.len();
                }
                Op::Erase => {
                    c.erase_from_here().unwrap();
                    m.objs.truncate(m.pos);
                }
                Op::SyncReopen => {
                    c.close().unwrap();
                    c = Cartridge::open(&path).unwrap();
                    m.pos = 0;
                    m.synced = m.objs.len();
                }
                Op::CrashReopen => {
                    c.abandon();
                    c = Cartridge::open(&path).unwrap();
                    // Unsynced writes went to the page cache, so a process
                    // crash keeps them all.
                    m.pos = 0;
                }
            }
            m.synced = m.synced.min(m.objs.len());
            let fm = m.objs[..m.pos].iter().filter(|o| o.is_none()).count() as u64;
            prop_assert_eq!(c.position(), TapePosition { partition: 0, block: m.pos as u64, file: fm });
            prop_assert_eq!(c.eod_block(0), Some(m.objs.len() as u64));
        }
    }
}

//! The disk driver end to end on both backends: round trips at odd lengths
//! and offsets, append after sync, alignment, reads past the end, async use.

use std::future::IntoFuture;
use std::io::{Read, Seek, SeekFrom, Write};

use reel_drivers::disk::{
    AlignedBuf, Backend, BackendChoice, DiskDriver, DiskError, DiskOptions, DiskReader, DiskWriter,
    OpenMode,
};

fn backends() -> Vec<BackendChoice> {
    vec![BackendChoice::Sync, BackendChoice::Uring]
}

fn driver(backend: BackendChoice, direct: bool) -> DiskDriver {
    let d = DiskDriver::new(DiskOptions {
        backend,
        direct,
        queue_depth: 4,
        buffer_size: 64 << 10,
        prealloc_extent: 1 << 20,
        ..DiskOptions::default()
    })
    .unwrap();
    let want = match backend {
        BackendChoice::Uring => Backend::Uring,
        _ => Backend::Sync,
    };
    assert_eq!(d.backend(), want);
    d
}

/// Deterministic bytes that differ at every offset of a few MiB.
fn pattern(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

const CHUNKS: [usize; 9] = [1, 4095, 4097, 7, 65_536, 65_537, 200_003, 3, 131_071];

fn write_chunks(w: &mut DiskWriter, data: &[u8]) {
    let mut at = 0;
    for (i, c) in CHUNKS.iter().cycle().enumerate() {
        if at >= data.len() {
            break;
        }
        let n = (*c).min(data.len() - at);
        if i % 2 == 0 {
            w.write_all(&data[at..at + n]).unwrap();
        } else {
            Write::write_all(w, &data[at..at + n]).unwrap();
        }
        at += n;
        assert_eq!(w.position(), at as u64);
    }
}

fn read_chunks(r: &mut DiskReader, len: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 300_000];
    for c in CHUNKS.iter().cycle() {
        let n = r.read(&mut buf[..*c]).unwrap();
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
        assert!(out.len() <= len);
    }
    out
}

#[test]
fn round_trip_odd_lengths_both_backends_direct_and_buffered() {
    let dir = tempfile::tempdir().unwrap();
    for (bi, backend) in backends().into_iter().enumerate() {
        for direct in [true, false] {
            let d = driver(backend, direct);
            let len = 1_000_001 + bi * 4096 + direct as usize;
            let data = pattern(len, len as u32);
            let path = dir.path().join(format!("f-{bi}-{direct}"));
            let mut w = DiskWriter::create(&d, &path).unwrap();
            assert_eq!(w.file().direct(), direct, "ext4 takes O_DIRECT");
            write_chunks(&mut w, &data);
            assert_eq!(w.finish().unwrap(), len as u64);
            assert_eq!(std::fs::read(&path).unwrap(), data);

            let mut r = DiskReader::open(&d, &path).unwrap();
            assert_eq!(r.len(), len as u64);
            assert_eq!(read_chunks(&mut r, len), data);
            assert_eq!(r.read(&mut [0u8; 10]).unwrap(), 0, "end of file");
        }
    }
}

#[test]
fn create_refuses_an_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = driver(BackendChoice::Sync, true);
    let path = dir.path().join("x");
    std::fs::write(&path, b"keep").unwrap();
    let e = DiskWriter::create(&d, &path).unwrap_err();
    assert!(matches!(e, DiskError::Op { op: "open", .. }), "{e}");
    assert!(e.to_string().contains(&*path.to_string_lossy()), "{e}");
    assert_eq!(std::fs::read(&path).unwrap(), b"keep");
}

#[test]
fn sync_mid_block_then_append() {
    let dir = tempfile::tempdir().unwrap();
    for (bi, backend) in backends().into_iter().enumerate() {
        let d = driver(backend, true);
        let data = pattern(300_000, 7);
        let path = dir.path().join(format!("a-{bi}"));
        let mut w = DiskWriter::create(&d, &path).unwrap();
        w.write_all(&data[..5000]).unwrap();
        w.sync().unwrap();
        // The length is exact after sync although the tail block was padded.
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 5000);
        assert_eq!(std::fs::read(&path).unwrap(), &data[..5000]);
        w.write_all(&data[5000..70_001]).unwrap();
        w.sync().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), &data[..70_001]);
        w.write_all(&data[70_001..100_000]).unwrap();
        assert_eq!(w.finish().unwrap(), 100_000);

        let mut w = DiskWriter::append(&d, &path).unwrap();
        assert_eq!(w.position(), 100_000);
        w.write_all(&data[100_000..250_123]).unwrap();
        assert_eq!(w.finish().unwrap(), 250_123);
        let mut w = DiskWriter::append(&d, &path).unwrap();
        w.write_all(&data[250_123..]).unwrap();
        assert_eq!(w.finish().unwrap(), 300_000);
        assert_eq!(std::fs::read(&path).unwrap(), data);
        // Preallocated blocks past the end were given back.
        let blocks = std::os::unix::fs::MetadataExt::blocks(&std::fs::metadata(&path).unwrap());
        assert!(blocks * 512 < 400_000, "{blocks} blocks still allocated");
    }
}

#[test]
fn random_access_and_seek() {
    let dir = tempfile::tempdir().unwrap();
    for (bi, backend) in backends().into_iter().enumerate() {
        let d = driver(backend, true);
        let data = pattern(500_000, 3);
        let path = dir.path().join(format!("r-{bi}"));
        let mut w = DiskWriter::create(&d, &path).unwrap();
        w.write_all(&data).unwrap();
        w.finish().unwrap();

        let mut r = DiskReader::open(&d, &path).unwrap();
        for (off, n) in [
            (0, 1),
            (4095, 2),
            (65_535, 70_000),
            (499_999, 1),
            (123_457, 0),
        ] {
            let mut out = vec![0u8; n];
            r.read_exact_at(off as u64, &mut out).unwrap();
            assert_eq!(out, &data[off..off + n]);
        }
        assert_eq!(r.seek(SeekFrom::Start(300_001)).unwrap(), 300_001);
        let mut out = vec![0u8; 1000];
        r.read_exact(&mut out).unwrap();
        assert_eq!(out, &data[300_001..301_001]);
        r.seek(SeekFrom::Current(-200_000)).unwrap();
        r.read_exact(&mut out).unwrap();
        assert_eq!(out, &data[101_001..102_001]);
        r.seek(SeekFrom::End(-10)).unwrap();
        let mut rest = Vec::new();
        r.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, &data[499_990..]);
        assert!(r.seek(SeekFrom::Current(-600_000)).is_err());
    }
}

#[test]
fn reads_past_the_end() {
    let dir = tempfile::tempdir().unwrap();
    for (bi, backend) in backends().into_iter().enumerate() {
        let d = driver(backend, true);
        let path = dir.path().join(format!("e-{bi}"));
        let data = pattern(10_000, 9);
        let mut w = DiskWriter::create(&d, &path).unwrap();
        w.write_all(&data).unwrap();
        w.finish().unwrap();

        let f = d.open(&path, OpenMode::Read).unwrap();
        let (buf, n) = f
            .read_at(AlignedBuf::new(16384, 4096), 8192, 16384)
            .unwrap();
        assert_eq!(n, 10_000 - 8192, "short only at the end");
        assert_eq!(&buf[..], &data[8192..]);
        let (_, n) = f.read_at(buf, 1 << 20, 4096).unwrap();
        assert_eq!(n, 0);

        let mut r = DiskReader::open(&d, &path).unwrap();
        let mut out = [0u8; 2];
        match r.read_exact_at(9_999, &mut out) {
            Err(DiskError::UnexpectedEof { path: p, offset }) => {
                assert_eq!(p, path);
                assert_eq!(offset, 10_000);
            }
            other => panic!("{other:?}"),
        }
        r.seek(SeekFrom::Start(20_000)).unwrap();
        assert_eq!(r.read(&mut out).unwrap(), 0);
    }
}

#[test]
fn direct_io_alignment_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    for backend in backends() {
        let d = driver(backend, true);
        let path = dir.path().join("al");
        let f = d.open(&path, OpenMode::Create).unwrap();
        assert!(f.direct());
        assert_eq!(f.alignment(), 4096);
        let buf = AlignedBuf::new(8192, 4096);
        let e = f.write_at(buf, 100).unwrap_err();
        assert!(
            matches!(
                e,
                DiskError::Unaligned {
                    offset: 100,
                    len: 8192,
                    align: 4096,
                    ..
                }
            ),
            "{e}"
        );
        let mut buf = AlignedBuf::new(8192, 4096);
        buf.set_len(1000);
        assert!(matches!(
            f.write_at(buf, 0),
            Err(DiskError::Unaligned { .. })
        ));
        let mut buf = AlignedBuf::new(8192, 4096);
        buf.fill(0xa5);
        let buf = f.write_at(buf, 4096).unwrap();
        assert_eq!(buf.len(), 8192, "buffer handed back whole");
        assert_eq!(f.len().unwrap(), 12288);
        f.set_len(5000).unwrap();
        f.sync_data().unwrap();
        let mut want = vec![0u8; 4096];
        want.extend_from_slice(&[0xa5; 904]);
        assert_eq!(std::fs::read(&path).unwrap(), want);

        // Buffered files take any offset and length.
        let b = driver(backend, false);
        let f = b.open(&path, OpenMode::ReadWrite).unwrap();
        assert!(!f.direct());
        let mut buf = AlignedBuf::new(3, 1);
        buf.copy_from_slice(b"abc");
        f.write_at(buf, 1).unwrap();
        assert_eq!(&std::fs::read(&path).unwrap()[..5], b"\0abc\0");
    }
}

#[test]
fn pipelined_requests_and_async_callers() {
    let dir = tempfile::tempdir().unwrap();
    for backend in backends() {
        let d = driver(backend, true);
        let path = dir.path().join("p");
        let f = d.open(&path, OpenMode::Create).unwrap();
        let pend: Vec<_> = (0..16u8)
            .map(|i| {
                let mut b = AlignedBuf::new(65536, 4096);
                b.fill(i);
                f.submit_write(b, i as u64 * 65536)
            })
            .collect();
        for p in pend {
            p.wait().unwrap();
        }
        let (buf, n) =
            block_on(f.read_at_async(AlignedBuf::new(65536, 4096), 5 * 65536, 65536)).unwrap();
        assert_eq!(n, 65536);
        assert!(buf.iter().all(|b| *b == 5));
        let mut b = AlignedBuf::new(4096, 4096);
        b.fill(0xee);
        block_on(f.write_at_async(b, 0)).unwrap();
        let (buf, _) = block_on(
            f.submit_read(AlignedBuf::new(4096, 4096), 0, 4096)
                .into_future(),
        )
        .unwrap();
        assert!(buf.iter().all(|b| *b == 0xee));

        // Requests whose caller went away complete on the I/O thread, which
        // owns their buffers; the driver shuts down cleanly after.
        for i in 0..16u64 {
            drop(f.submit_read(AlignedBuf::new(65536, 4096), i * 65536, 65536));
        }
        let other = f.clone();
        drop(f);
        drop(d);
        let (_, n) = other.read_at(AlignedBuf::new(4096, 4096), 0, 4096).unwrap();
        assert_eq!(n, 4096, "a file keeps its driver alive");
    }
}

/// A minimal executor: enough to drive one future on this thread.
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};
    struct Th(std::thread::Thread);
    impl Wake for Th {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Th(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

#[test]
fn durable_rename() {
    let dir = tempfile::tempdir().unwrap();
    let d = driver(BackendChoice::Sync, true);
    let tmp = dir.path().join("c.tmp");
    let mut w = DiskWriter::create(&d, &tmp).unwrap();
    w.write_all(b"container").unwrap();
    w.finish().unwrap();
    let fin = dir.path().join("c");
    reel_drivers::disk::rename_durable(&tmp, &fin).unwrap();
    assert!(!tmp.exists());
    assert_eq!(std::fs::read(&fin).unwrap(), b"container");
    reel_drivers::disk::sync_dir(dir.path()).unwrap();
    let e = reel_drivers::disk::rename_durable(&tmp, &fin).unwrap_err();
    assert!(e.to_string().contains("rename"), "{e}");
}

#[test]
fn ring_options_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let variants = [
        (false, false, true),
        (false, true, false),
        (true, true, true),
    ];
    for (i, (sqpoll, register_files, register_buffers)) in variants.into_iter().enumerate() {
        let d = DiskDriver::new(DiskOptions {
            backend: BackendChoice::Uring,
            sqpoll,
            register_files,
            register_buffers,
            queue_depth: 2,
            buffer_size: 16 << 10,
            ..DiskOptions::default()
        })
        .unwrap();
        let data = pattern(333_333, i as u32);
        let path = dir.path().join(format!("o-{i}"));
        let mut w = DiskWriter::create(&d, &path).unwrap();
        write_chunks(&mut w, &data);
        w.finish().unwrap();
        let mut r = DiskReader::open(&d, &path).unwrap();
        assert_eq!(read_chunks(&mut r, data.len()), data, "variant {i}");
        // More buffers than registered slots: slots are recycled.
        let f = d.open(&path, OpenMode::Read).unwrap();
        for k in 0..20u64 {
            let (b, n) = f
                .read_at(AlignedBuf::new(4096, 4096), k * 4096, 4096)
                .unwrap();
            assert_eq!(n, 4096);
            assert_eq!(&b[..], &data[k as usize * 4096..][..4096]);
        }
    }
}

/// Many callers on one driver, more than its queue depth, each waiting for
/// every request: a lost wake-up of the I/O thread shows as a timeout.
#[test]
fn concurrent_callers_never_lose_a_wake_up() {
    let dir = tempfile::tempdir().unwrap();
    for backend in backends() {
        let d = driver(backend, true);
        let (tx, rx) = std::sync::mpsc::channel();
        for t in 0..6u8 {
            let d = d.clone();
            let path = dir.path().join(format!("c-{t}"));
            let tx = tx.clone();
            std::thread::spawn(move || {
                let f = d.open(&path, OpenMode::Create).unwrap();
                let mut buf = AlignedBuf::new(4096, 4096);
                for i in 0..300u64 {
                    buf.fill(t ^ i as u8);
                    buf = f.write_at(buf, (i % 16) * 4096).unwrap();
                    let (b, n) = f.read_at(buf, (i % 16) * 4096, 4096).unwrap();
                    assert_eq!(n, 4096);
                    assert!(b.iter().all(|x| *x == t ^ i as u8));
                    buf = b;
                }
                tx.send(()).unwrap();
            });
        }
        for _ in 0..6 {
            rx.recv_timeout(std::time::Duration::from_secs(60))
                .expect("a caller hangs: lost wake-up");
        }
    }
}

#[test]
fn buffered_reading_lends_blocks_without_losing_a_byte() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    for (bi, backend) in backends().into_iter().enumerate() {
        let d = driver(backend, true);
        // Three 1 MiB read-ahead blocks and an odd tail.
        let len = 3 * (1 << 20) + 12_345;
        let data = pattern(len, 9);
        let path = dir.path().join(format!("b-{bi}"));
        let mut w = DiskWriter::create(&d, &path).unwrap();
        w.write_all(&data).unwrap();
        w.finish().unwrap();

        let mut r = DiskReader::open(&d, &path).unwrap();
        let mut got = Vec::new();
        let mut step = 1usize;
        loop {
            let avail = r.fill_buf().unwrap();
            if avail.is_empty() {
                break;
            }
            assert!(avail.len() <= 1 << 20, "one block at most");
            // Consume less than lent, in varying amounts.
            let n = avail.len().min(step);
            got.extend_from_slice(&avail[..n]);
            r.consume(n);
            step = step * 7 % 400_009 + 1;
        }
        assert_eq!(got.len(), len);
        assert!(got == data, "bytes differ");
        // A seek back then fill_buf starts at the new position.
        r.seek(SeekFrom::Start(1_048_570)).unwrap();
        assert_eq!(&r.fill_buf().unwrap()[..6], &data[1_048_570..1_048_576]);
    }
}

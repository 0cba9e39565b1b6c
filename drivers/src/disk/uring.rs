//! The io_uring backend: one ring owned by one thread.
//!
//! Callers queue requests on a channel and write the ring's eventfd; the
//! thread keeps a read of that eventfd armed in the ring, so an idle thread
//! sleeps in `io_uring_enter` and wakes for a new request or a completion
//! alike. At most `queue_depth` requests are in the kernel; the rest wait in
//! the channel. Every request keeps its buffer and file (an `Arc`) until its
//! completion, so nothing the kernel touches is freed early.

use std::collections::VecDeque;
use std::io;
use std::os::fd::AsRawFd;
use std::sync::mpsc;
use std::sync::{Arc, Weak};

use io_uring::{IoUring, opcode, squeue, types};
use nix::sys::eventfd::{EfdFlags, EventFd};

use super::engine::{FileInner, Kind, Request, Waker};
use super::{AlignedBuf, DiskError, DiskOptions};

pub(crate) type StartError = (io::Error, mpsc::Receiver<Request>);

/// user_data of the eventfd read; requests use their slot index.
const WAKE_TOKEN: u64 = u64::MAX;
/// Transient errors (EINTR, EAGAIN) are retried this often per request.
const MAX_RETRIES: u32 = 1000;
/// Linux transfers at most this much in one read or write.
const MAX_RW: usize = 0x7fff_f000;
/// Registered file slots.
const FILE_SLOTS: u32 = 64;

struct EventWaker(Arc<EventFd>);

impl Waker for EventWaker {
    fn wake(&self) {
        // The counter only saturates after 2^64-2 wakes without a read.
        let _ = self.0.write(1);
    }
}

/// Sets up the ring on the calling thread, so that a refusal (ENOSYS,
/// EPERM under seccomp or io_uring_disabled) is known before `new` returns
/// and the receiver can go to the fallback.
pub(crate) fn start(
    opts: &DiskOptions,
    rx: mpsc::Receiver<Request>,
) -> Result<Box<dyn Waker>, StartError> {
    let depth = opts.queue_depth.max(1) as usize;
    let mut b = IoUring::builder();
    if opts.sqpoll {
        b.setup_sqpoll(50);
    }
    let ring = match b.build((depth as u32 + 1).next_power_of_two()) {
        Ok(r) => r,
        Err(e) => return Err((e, rx)),
    };
    let efd = match EventFd::from_flags(EfdFlags::EFD_CLOEXEC) {
        Ok(e) => Arc::new(e),
        Err(e) => return Err((e.into(), rx)),
    };
    let files = if opts.register_files {
        FileTable::new(&ring)
    } else {
        FileTable::disabled()
    };
    let bufs = if opts.register_buffers {
        BufTable::new(&ring, depth as u32 * 2 + 2)
    } else {
        BufTable::disabled()
    };
    let mut th = RingThread {
        ring,
        efd: efd.clone(),
        wake_buf: Box::new([0u8; 8]),
        wake_armed: false,
        slots: (0..depth).map(|_| None).collect(),
        free: (0..depth).rev().collect(),
        retry: Vec::new(),
        queue: VecDeque::new(),
        disconnected: false,
        files,
        bufs,
    };
    let spawned = std::thread::Builder::new()
        .name("reel-disk-uring".into())
        .spawn(move || th.run(&rx));
    match spawned {
        Ok(_) => Ok(Box::new(EventWaker(efd))),
        // The receiver moved into the closure that failed to start.
        Err(e) => Err((e, mpsc::channel().1)),
    }
}

/// A request in the kernel, with its retry count.
struct Slot {
    req: Request,
    retries: u32,
    fixed_buf: Option<u16>,
}

struct RingThread {
    ring: IoUring,
    efd: Arc<EventFd>,
    /// Target of the armed eventfd read; boxed so it never moves.
    wake_buf: Box<[u8; 8]>,
    wake_armed: bool,
    slots: Vec<Option<Slot>>,
    free: Vec<usize>,
    /// Slots whose request needs another SQE (short transfer, EINTR).
    retry: Vec<usize>,
    queue: VecDeque<Request>,
    disconnected: bool,
    files: FileTable,
    bufs: BufTable,
}

impl RingThread {
    fn run(&mut self, rx: &mpsc::Receiver<Request>) {
        loop {
            while !self.disconnected {
                match rx.try_recv() {
                    Ok(r) => self.queue.push_back(r),
                    Err(mpsc::TryRecvError::Empty) => break,
                    Err(mpsc::TryRecvError::Disconnected) => self.disconnected = true,
                }
            }
            self.files.sweep(&self.ring);
            for slot in std::mem::take(&mut self.retry) {
                self.push(slot);
            }
            while !self.queue.is_empty() {
                let Some(slot) = self.free.pop() else { break };
                if let Some(mut req) = self.queue.pop_front() {
                    let fixed_buf = self.bufs.lookup(&self.ring, &mut req.buf);
                    self.slots[slot] = Some(Slot {
                        req,
                        retries: 0,
                        fixed_buf,
                    });
                    self.push(slot);
                }
            }
            let in_flight = self.slots.len() - self.free.len();
            if self.disconnected && in_flight == 0 && self.queue.is_empty() {
                if !self.wake_armed {
                    break;
                }
                // Complete our own eventfd read before the ring goes away.
                let _ = self.efd.write(1);
            }
            if !self.wake_armed && !self.disconnected {
                self.arm_wake();
            }
            match self.ring.submit_and_wait(1) {
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => {}
                // EBUSY: completions must be reaped first, done just below.
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {}
                Err(e) => {
                    tracing::error!(error = %e, "io_uring_enter failed; retrying");
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
            }
            self.reap();
        }
        tracing::debug!("disk ring thread stops");
    }

    fn arm_wake(&mut self) {
        let e = opcode::Read::new(
            types::Fd(self.efd.as_raw_fd()),
            self.wake_buf.as_mut_ptr(),
            8,
        )
        .build()
        .user_data(WAKE_TOKEN);
        // SAFETY: wake_buf is a heap block owned by this thread's state that
        // outlives the ring's use of it: run() only returns once this read
        // has completed (wake_armed false).
        if unsafe { self.push_entry(&e) } {
            self.wake_armed = true;
        }
    }

    /// Pushes an entry, submitting once if the queue is full. The caller
    /// guarantees that what the entry points to stays valid until its CQE.
    unsafe fn push_entry(&mut self, e: &squeue::Entry) -> bool {
        for _ in 0..2 {
            // SAFETY: forwarded from the caller.
            if unsafe { self.ring.submission().push(e) }.is_ok() {
                return true;
            }
            let _ = self.ring.submit();
        }
        false
    }

    /// Queues the SQE for the rest of the request in `slot`.
    fn push(&mut self, slot: usize) {
        let Some(s) = self.slots.get_mut(slot).and_then(|s| s.as_mut()) else {
            return;
        };
        let req = &mut s.req;
        let pos = req.position();
        let n = (req.len - req.done).min(MAX_RW) as u32;
        let file = self.files.lookup(&self.ring, &req.file);
        let (done, len) = (req.done, req.len);
        let entry = match (req.kind, s.fixed_buf) {
            (Kind::Write, None) => {
                let p = req.buf[done..len].as_ptr();
                match file {
                    Some(f) => opcode::Write::new(types::Fixed(f), p, n)
                        .offset(pos)
                        .build(),
                    None => opcode::Write::new(fd(req), p, n).offset(pos).build(),
                }
            }
            (Kind::Read, None) => {
                let p = req.buf.full_mut()[done..len].as_mut_ptr();
                match file {
                    Some(f) => opcode::Read::new(types::Fixed(f), p, n).offset(pos).build(),
                    None => opcode::Read::new(fd(req), p, n).offset(pos).build(),
                }
            }
            (Kind::Write, Some(i)) => {
                let p = req.buf[done..len].as_ptr();
                match file {
                    Some(f) => opcode::WriteFixed::new(types::Fixed(f), p, n, i)
                        .offset(pos)
                        .build(),
                    None => opcode::WriteFixed::new(fd(req), p, n, i)
                        .offset(pos)
                        .build(),
                }
            }
            (Kind::Read, Some(i)) => {
                let p = req.buf.full_mut()[done..len].as_mut_ptr();
                match file {
                    Some(f) => opcode::ReadFixed::new(types::Fixed(f), p, n, i)
                        .offset(pos)
                        .build(),
                    None => opcode::ReadFixed::new(fd(req), p, n, i).offset(pos).build(),
                }
            }
        };
        let entry = entry.user_data(slot as u64);
        // SAFETY: the entry points into the request's buffer (within its
        // capacity) and names its file; both are owned by the request in
        // `self.slots[slot]`, which is only taken out when this entry's CQE
        // arrives. Fixed buffer indexes come from BufTable for this very
        // buffer.
        if !unsafe { self.push_entry(&entry) } {
            self.finish(slot, Err(io::Error::other("submission queue full")));
        }
    }

    fn reap(&mut self) {
        // Collected first: handling may push new entries.
        let done: Vec<(u64, i32)> = self
            .ring
            .completion()
            .map(|c| (c.user_data(), c.result()))
            .collect();
        for (token, res) in done {
            if token == WAKE_TOKEN {
                self.wake_armed = false;
                continue;
            }
            self.complete(token as usize, res);
        }
    }

    /// Any result of the kernel is handled here, none panics: unknown
    /// tokens are ignored, negative results become typed errors.
    fn complete(&mut self, slot: usize, res: i32) {
        let Some(Some(s)) = self.slots.get_mut(slot) else {
            tracing::debug!(slot, res, "completion for no request");
            return;
        };
        if res < 0 {
            let errno = -res;
            if matches!(errno, libc::EINTR | libc::EAGAIN) && s.retries < MAX_RETRIES {
                s.retries += 1;
                self.retry.push(slot);
                return;
            }
            self.finish(slot, Err(io::Error::from_raw_os_error(errno)));
            return;
        }
        let n = res as usize;
        let req = &mut s.req;
        if n == 0 {
            match req.kind {
                // End of file.
                Kind::Read => self.finish(slot, Ok(())),
                Kind::Write => self.finish(slot, Err(io::ErrorKind::WriteZero.into())),
            }
            return;
        }
        req.done = (req.done + n).min(req.len);
        if req.done < req.len {
            s.retries = 0;
            self.retry.push(slot);
        } else {
            self.finish(slot, Ok(()));
        }
    }

    fn finish(&mut self, slot: usize, res: io::Result<()>) {
        let Some(s) = self.slots.get_mut(slot).and_then(Option::take) else {
            return;
        };
        self.free.push(slot);
        if let Some(i) = s.fixed_buf {
            self.bufs.release(i);
        }
        let pos = s.req.position();
        let res = res.map_err(|e| DiskError::at(&s.req.file.path, pos, e));
        s.req.complete(res);
    }
}

fn fd(req: &Request) -> types::Fd {
    types::Fd(req.file.file.as_raw_fd())
}

/// Files registered with the ring, matched by identity. A slot whose file
/// was dropped is unregistered at the next loop so its descriptor (and an
/// unlinked file's blocks) do not stay held by the ring.
struct FileTable {
    slots: Vec<Option<Weak<FileInner>>>,
}

impl FileTable {
    fn new(ring: &IoUring) -> FileTable {
        match ring.submitter().register_files_sparse(FILE_SLOTS) {
            Ok(()) => FileTable {
                slots: (0..FILE_SLOTS).map(|_| None).collect(),
            },
            Err(e) => {
                tracing::debug!(error = %e, "no registered files");
                FileTable::disabled()
            }
        }
    }

    fn disabled() -> FileTable {
        FileTable { slots: Vec::new() }
    }

    fn lookup(&mut self, ring: &IoUring, f: &Arc<FileInner>) -> Option<u32> {
        let mut empty = None;
        for (i, s) in self.slots.iter().enumerate() {
            match s {
                Some(w) if std::ptr::eq(w.as_ptr(), Arc::as_ptr(f)) => return Some(i as u32),
                None if empty.is_none() => empty = Some(i),
                _ => {}
            }
        }
        let i = empty?;
        match ring
            .submitter()
            .register_files_update(i as u32, &[f.file.as_raw_fd()])
        {
            Ok(_) => {
                self.slots[i] = Some(Arc::downgrade(f));
                Some(i as u32)
            }
            Err(_) => None,
        }
    }

    fn sweep(&mut self, ring: &IoUring) {
        for (i, s) in self.slots.iter_mut().enumerate() {
            if s.as_ref().is_some_and(|w| w.strong_count() == 0)
                && ring
                    .submitter()
                    .register_files_update(i as u32, &[-1])
                    .is_ok()
            {
                *s = None;
            }
        }
    }
}

/// Buffers registered with the ring, matched by the buffer's unique id,
/// least recently used evicted. Registration pins the pages in the kernel:
/// a buffer freed while registered leaves its old pages pinned (never
/// touched again, its id is never reused) until its slot is evicted, so at
/// most `slots × buffer size` stays pinned.
struct BufTable {
    /// (buffer id, last use, requests in flight) per slot.
    slots: Vec<Option<(u64, u64, u32)>>,
    clock: u64,
}

impl BufTable {
    fn new(ring: &IoUring, n: u32) -> BufTable {
        match ring.submitter().register_buffers_sparse(n) {
            Ok(()) => BufTable {
                slots: (0..n).map(|_| None).collect(),
                clock: 0,
            },
            Err(e) => {
                tracing::debug!(error = %e, "no registered buffers");
                BufTable::disabled()
            }
        }
    }

    fn disabled() -> BufTable {
        BufTable {
            slots: Vec::new(),
            clock: 0,
        }
    }

    fn lookup(&mut self, ring: &IoUring, buf: &mut AlignedBuf) -> Option<u16> {
        if self.slots.is_empty() {
            return None;
        }
        self.clock += 1;
        let id = buf.id();
        if let Some(i) = self
            .slots
            .iter()
            .position(|s| s.is_some_and(|(b, _, _)| b == id))
        {
            if let Some((_, used, n)) = &mut self.slots[i] {
                *used = self.clock;
                *n += 1;
            }
            return u16::try_from(i).ok();
        }
        // An empty slot, else the least recently used one not in flight.
        let i = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_none_or(|(_, _, n)| n == 0))
            .min_by_key(|(_, s)| s.map_or(0, |(_, used, _)| used))
            .map(|(i, _)| i)?;
        let (base, len) = buf.region();
        let iov = libc::iovec {
            iov_base: base.cast(),
            iov_len: len,
        };
        // SAFETY: the iovec covers exactly the buffer's capacity. The buffer
        // is owned by the in-flight request whenever the kernel uses this
        // slot (it is looked up by the buffer's unique id at each
        // submission); the kernel pins the pages at registration, so a
        // buffer freed later while still registered is never accessed
        // through this slot again (its id never recurs).
        match unsafe {
            ring.submitter()
                .register_buffers_update(i as u32, &[iov], None)
        } {
            Ok(()) => {
                self.slots[i] = Some((id, self.clock, 1));
                u16::try_from(i).ok()
            }
            Err(e) => {
                tracing::debug!(error = %e, "buffer registration failed");
                None
            }
        }
    }

    fn release(&mut self, i: u16) {
        if let Some(Some((_, _, n))) = self.slots.get_mut(i as usize) {
            *n = n.saturating_sub(1);
        }
    }
}

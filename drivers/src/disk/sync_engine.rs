//! The fallback backend: one thread doing pread/pwrite, request by request.

use std::io;
use std::os::unix::fs::FileExt;
use std::sync::mpsc;

use super::DiskError;
use super::engine::{Kind, Request};

/// Transient errors are retried this many times before they are reported.
const MAX_RETRIES: u32 = 1000;

pub(crate) fn start(rx: mpsc::Receiver<Request>) -> io::Result<()> {
    std::thread::Builder::new()
        .name("reel-disk-sync".into())
        .spawn(move || {
            while let Ok(mut req) = rx.recv() {
                let res = perform(&mut req);
                req.complete(res);
            }
        })?;
    Ok(())
}

fn perform(req: &mut Request) -> Result<(), DiskError> {
    let mut retries = 0;
    while req.done < req.len {
        let pos = req.position();
        let r = match req.kind {
            Kind::Write => req.file.file.write_at(&req.buf[req.done..req.len], pos),
            Kind::Read => {
                let (done, len) = (req.done, req.len);
                req.file
                    .file
                    .read_at(&mut req.buf.full_mut()[done..len], pos)
            }
        };
        match r {
            Ok(0) if req.kind == Kind::Read => break,
            Ok(0) => {
                return Err(DiskError::at(
                    &req.file.path,
                    pos,
                    io::Error::from(io::ErrorKind::WriteZero),
                ));
            }
            Ok(n) => {
                req.done += n;
                retries = 0;
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock
                ) && retries < MAX_RETRIES =>
            {
                retries += 1;
            }
            Err(e) => return Err(DiskError::at(&req.file.path, pos, e)),
        }
    }
    Ok(())
}

//! What a completion's result means for a request: pure, so that every i32
//! the kernel may return is covered by a test.

use std::io;

use super::engine::Kind;

/// Transient errors (EINTR, EAGAIN) are retried this often per request.
pub(crate) const MAX_RETRIES: u32 = 1000;

#[derive(Debug)]
pub(crate) enum Outcome {
    /// Submit again for the rest (short transfer or transient error).
    Resubmit {
        done: usize,
        retries: u32,
    },
    /// Finished: `done` bytes transferred (fewer than asked only for a
    /// read that hit the end of the file).
    Done {
        done: usize,
    },
    Failed(io::Error),
}

/// The request had `done` of `len` bytes and `retries` transient errors
/// before this completion with result `res` (bytes, or -errno).
pub(crate) fn interpret(kind: Kind, len: usize, done: usize, retries: u32, res: i32) -> Outcome {
    if res < 0 {
        // -i32::MIN does not exist; no errno is that large anyway.
        let errno = res.checked_neg().unwrap_or(libc::EIO);
        if matches!(errno, libc::EINTR | libc::EAGAIN) && retries < MAX_RETRIES {
            return Outcome::Resubmit {
                done,
                retries: retries + 1,
            };
        }
        return Outcome::Failed(io::Error::from_raw_os_error(errno));
    }
    if res == 0 {
        return match kind {
            Kind::Read => Outcome::Done { done },
            Kind::Write => Outcome::Failed(io::ErrorKind::WriteZero.into()),
        };
    }
    // A result larger than asked for would be a kernel bug; never count
    // past the request.
    let done = done.saturating_add(res as usize).min(len);
    if done < len {
        Outcome::Resubmit { done, retries: 0 }
    } else {
        Outcome::Done { done }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn short_transfers_continue_and_end_of_file_stops() {
        assert!(matches!(
            interpret(Kind::Write, 100, 0, 0, 60),
            Outcome::Resubmit {
                done: 60,
                retries: 0
            }
        ));
        assert!(matches!(
            interpret(Kind::Write, 100, 60, 3, 40),
            Outcome::Done { done: 100 }
        ));
        assert!(matches!(
            interpret(Kind::Read, 100, 60, 0, 0),
            Outcome::Done { done: 60 }
        ));
        match interpret(Kind::Write, 100, 60, 0, 0) {
            Outcome::Failed(e) => assert_eq!(e.kind(), io::ErrorKind::WriteZero),
            o => panic!("{o:?}"),
        }
    }

    #[test]
    fn transient_errors_retry_then_fail() {
        assert!(matches!(
            interpret(Kind::Read, 8, 4, 0, -libc::EINTR),
            Outcome::Resubmit {
                done: 4,
                retries: 1
            }
        ));
        assert!(matches!(
            interpret(Kind::Read, 8, 4, 7, -libc::EAGAIN),
            Outcome::Resubmit {
                done: 4,
                retries: 8
            }
        ));
        match interpret(Kind::Read, 8, 4, MAX_RETRIES, -libc::EAGAIN) {
            Outcome::Failed(e) => assert_eq!(e.raw_os_error(), Some(libc::EAGAIN)),
            o => panic!("{o:?}"),
        }
        for errno in [libc::ENOSPC, libc::EIO, libc::EINVAL, libc::EBADF] {
            match interpret(Kind::Write, 8, 0, 0, -errno) {
                Outcome::Failed(e) => assert_eq!(e.raw_os_error(), Some(errno)),
                o => panic!("{o:?}"),
            }
        }
        match interpret(Kind::Write, 8, 0, 0, i32::MIN) {
            Outcome::Failed(e) => assert_eq!(e.raw_os_error(), Some(libc::EIO)),
            o => panic!("{o:?}"),
        }
    }

    proptest! {
        #[test]
        fn any_result_is_handled(len in 1usize..1 << 30, done_frac in 0.0f64..1.0,
                                 retries in 0u32..2000, res: i32, write: bool) {
            let done = ((len as f64) * done_frac) as usize;
            let kind = if write { Kind::Write } else { Kind::Read };
            match interpret(kind, len, done, retries, res) {
                Outcome::Resubmit { done: d, retries: r } => {
                    prop_assert!(d < len && d >= done);
                    prop_assert!(r <= MAX_RETRIES);
                }
                Outcome::Done { done: d } => prop_assert!(d <= len && d >= done),
                Outcome::Failed(_) => {}
            }
        }
    }
}

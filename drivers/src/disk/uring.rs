//! The io_uring backend (in progress).

use std::io;
use std::sync::mpsc;

use super::DiskOptions;
use super::engine::{Request, Waker};

pub(crate) type StartError = (io::Error, mpsc::Receiver<Request>);

pub(crate) fn start(
    _opts: &DiskOptions,
    rx: mpsc::Receiver<Request>,
) -> Result<Box<dyn Waker>, StartError> {
    Err((io::Error::from_raw_os_error(libc::ENOSYS), rx))
}

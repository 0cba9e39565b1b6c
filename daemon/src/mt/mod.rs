//! mt-st 1.7 compatibility: argument parsing, the command table and the
//! exact output formats, separate from the code that drives a device.

pub mod args;
pub mod density;
pub mod errno;
pub mod run;
pub mod status;

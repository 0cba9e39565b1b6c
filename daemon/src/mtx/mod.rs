//! The mtx shim: `reelctl mtx ...`, or this binary invoked as `mtx`,
//! speaks mtx 1.3.12's command line and prints its output byte for byte,
//! because scripts (Bacula's `mtx-changer`, Amanda's `chg-robot`) parse it.
//!
//! - [`args`]: mtx's argument walk (commands run left to right as they are
//!   read; `-f` opens the device at once).
//! - [`format`]: pure formatting: `status`, `inquiry`, the `Request Sense`
//!   dump, usage, and mtx's model of a library ([`format::MtxStatus`]:
//!   slots numbered from 1 with the import/export slots after the storage
//!   slots, drives from 0, mtx's guess of each drive's source slot).
//! - [`run`]: executes the commands on a [`crate::changer_device`].
//!
//! Facts kept from mtx (checked against mtx.c/mtxl.c of 1.3.12): errors go
//! to stderr as `<argv0>: <message>` and exit 1; the element status is read
//! once per invocation and only the full/empty flags follow later moves;
//! `eject` failures print but exit 0.
//!
//! Unlike mtx, on a VTL (`vtl:DIR#changer`) a drive is unloaded through its
//! tape device (in process) before the robot takes its cartridge out, as a
//! real library whose robot unloads drives does. Bacula's `mtx-changer`
//! then works with its default `offline=0` as well as with `offline=1`
//! (`mt -f DRIVE offline` first: unloading an ejected drive is a no-op).
//! On real libraries (`/dev/sgN`, `/dev/schN`) nothing is ejected, as mtx.

pub mod args;
pub mod format;
pub mod run;

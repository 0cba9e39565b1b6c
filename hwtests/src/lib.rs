//! reel-hwtests: one conformance suite for every transport.
//!
//! Empty on purpose: the hwtests issue (#6) fills it. The end-to-end tests of
//! the tape driver against the VTL live in `drivers/tests/` until then.

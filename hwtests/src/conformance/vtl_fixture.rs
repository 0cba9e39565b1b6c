//! The VTL fixture.

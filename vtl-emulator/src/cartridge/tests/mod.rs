//! Tests of the cartridge store.

mod basic;

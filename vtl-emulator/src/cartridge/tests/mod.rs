//! Tests of the cartridge store.

mod basic;
mod corrupt;
mod crash;
mod generation;
mod layout;
mod model;
mod position;

//! Code generated from `proto/reel.proto`.
#![allow(clippy::all, clippy::pedantic, missing_docs)]

tonic::include_proto!("reel.v1");

//! Compiles `proto/reel.proto` into the gRPC client and server code with
//! `protox` (a pure-Rust protobuf compiler), so that building reeld needs
//! no `protoc` on the machine.

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/reel.proto");
    let fds = protox::compile(["reel.proto"], ["proto"])?;
    // Round trip through bytes: protox and tonic-prost-build may be built
    // against different prost-types releases.
    let fds = prost_types::FileDescriptorSet::decode(fds.encode_to_vec().as_slice())?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // `reelctl --json` prints the replies as they are.
        .type_attribute(".", "#[derive(serde::Serialize)]")
        // Stream data as `Bytes`: a client sends slices of its buffer and
        // the daemon takes what it received without copying it again.
        .bytes(".reel.v1.BackupMessage.data")
        .bytes(".reel.v1.DataChunk.data")
        .compile_fds(fds)?;
    Ok(())
}

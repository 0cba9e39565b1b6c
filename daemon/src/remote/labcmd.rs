//! `reelctl lab`: fault injection into the drives of a running reeld's
//! embedded VTL (the Lab service), e.g.
//! `reelctl lab fault lib1/drive0 --json '{"hardware_error":[68,0]}'`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{RemoteError, connect, find_profile};
use crate::api::pb;

#[derive(Debug, Clone, Args)]
pub struct LabArgs {
    /// Client profile (file or directory); default $REEL_PROFILE,
    /// ~/.config/reel/profile.toml, then the local demo daemon's. (No
    /// `--json` output switch here: `--json` carries the faults.)
    #[arg(long, global = true)]
    pub profile: Option<PathBuf>,
    #[command(subcommand)]
    pub cmd: LabCmd,
}

#[derive(Debug, Clone, Subcommand)]
pub enum LabCmd {
    /// Arms faults on a VTL drive of the daemon, or clears them.
    Fault {
        /// Device id, e.g. lib1/drive0.
        device: String,
        /// A reel_vtl drive `Faults` value as JSON (fields: read_error_at,
        /// write_error_at, hardware_error, not_ready, misreport_residual,
        /// load_delay, rewind_delay, ... in milliseconds).
        #[arg(
            long = "json",
            value_name = "FAULTS",
            required_unless_present = "clear",
            conflicts_with = "clear"
        )]
        faults: Option<String>,
        /// Disarms every fault of the drive.
        #[arg(long)]
        clear: bool,
    },
}

/// Runs a lab command; returns what to print.
pub async fn run(a: LabArgs) -> Result<String, RemoteError> {
    let ch = connect(&find_profile(a.profile.as_deref())?).await?;
    let mut c = pb::lab_client::LabClient::new(ch);
    match a.cmd {
        LabCmd::Fault {
            device,
            faults,
            clear,
        } => match (faults, clear) {
            (Some(json), false) => {
                c.set_drive_faults(pb::DriveFaults {
                    device: device.clone(),
                    faults_json: json.clone(),
                })
                .await?;
                Ok(format!("{device}: faults armed: {json}\n"))
            }
            (None, false) => Err(RemoteError::Usage("give --json FAULTS or --clear".into())),
            (_, true) => {
                c.clear_drive_faults(pb::LabDevice {
                    device: device.clone(),
                })
                .await?;
                Ok(format!("{device}: faults cleared\n"))
            }
        },
    }
}

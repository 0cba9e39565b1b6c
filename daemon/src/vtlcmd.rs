//! `reelctl vtl`: operator actions on a VTL directory (what a person does
//! at a real library's front panel): create the library, make blank
//! cartridges, insert one into a drive, eject it, flip the write-protect
//! tab, list what is where.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use reel_vtl::cartridge::{CartridgeSpec, Generation};
use reel_vtl::drive::DriveConfig;
use reel_vtl::library::{LibraryConfig, LibraryError, LibrarySpec, VirtualLibrary};
use serde_json::{Value, json};

#[derive(Debug, Subcommand)]
pub enum VtlCommand {
    /// Create a new VTL directory: by default drives only (insert
    /// cartridges by hand); with --library the default tape library with a
    /// changer (vtl:DIR#changer), or with --config the library a
    /// library.toml describes.
    Create {
        dir: PathBuf,
        /// Number of drives (vtl:DIR#drive0 .. #drive{N-1}).
        #[arg(long, default_value_t = 1, conflicts_with_all = ["library", "config"])]
        drives: usize,
        /// Drive generation: lto5 .. lto10.
        #[arg(long, default_value = "lto8", value_parser = parse_generation, conflicts_with_all = ["library", "config"])]
        generation: Generation,
        /// The default library: 4 LTO-8 drives, 50 slots, 4 mail slots,
        /// cartridges RL0001L8..RL0020L8 and the cleaning cartridge CLN001L1.
        #[arg(long)]
        library: bool,
        /// A library described by this TOML file (format: the
        /// reel_vtl::library::config documentation).
        #[arg(long, conflicts_with = "library")]
        config: Option<PathBuf>,
    },
    /// Create blank cartridges.
    #[command(name = "add")]
    AddCartridges {
        dir: PathBuf,
        /// Barcodes (volume serials), e.g. A00001L8.
        #[arg(required = true)]
        barcodes: Vec<String>,
        /// Media generation: lto5 .. lto10, lto7m8 (type M).
        #[arg(long, default_value = "lto8", value_parser = parse_generation)]
        generation: Generation,
        /// Native capacity (e.g. 64M, 12T); default: the generation's.
        #[arg(long, value_parser = parse_capacity)]
        capacity: Option<u64>,
        /// Write once, read many.
        #[arg(long)]
        worm: bool,
    },
    /// Insert a cartridge into a drive (the drive loads it).
    Insert {
        dir: PathBuf,
        barcode: String,
        #[arg(long, default_value_t = 0)]
        drive: usize,
    },
    /// Take the cartridge out of a drive (refused while a host prevents
    /// removal).
    Eject {
        dir: PathBuf,
        #[arg(long, default_value_t = 0)]
        drive: usize,
    },
    /// Set or clear a cartridge's write-protect tab (not while in a drive).
    Protect {
        dir: PathBuf,
        barcode: String,
        /// on or off.
        #[arg(value_parser = parse_on_off, action = clap::ArgAction::Set)]
        state: bool,
    },
    /// Drives and cartridges.
    List { dir: PathBuf },
}

#[derive(Debug, thiserror::Error)]
pub enum VtlCmdError {
    #[error(transparent)]
    Library(#[from] LibraryError),
    #[error("reading the library configuration: {0}")]
    Config(#[from] std::io::Error),
}

/// Parses `lto8`, `LTO-8`, `8`, `lto7m8`, `m8`.
pub fn parse_generation(s: &str) -> Result<Generation, String> {
    let norm: String = s
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | ' '))
        .collect::<String>()
        .to_ascii_lowercase();
    let norm = norm.strip_prefix("lto").unwrap_or(&norm);
    Ok(match norm {
        "5" => Generation::Lto5,
        "6" => Generation::Lto6,
        "7" => Generation::Lto7,
        "7m8" | "m8" | "7m" => Generation::Lto7M8,
        "8" => Generation::Lto8,
        "9" => Generation::Lto9,
        "10" => Generation::Lto10,
        _ => {
            return Err(format!(
                "unknown LTO generation {s:?} (lto5 .. lto10, lto7m8)"
            ));
        }
    })
}

/// Sizes with binary units, plus T (TiB) for real cartridge sizes.
pub fn parse_capacity(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    for suffix in ["tib", "tb", "t"] {
        if let Some(n) = lower.strip_suffix(suffix)
            && let Ok(n) = n.trim().parse::<u64>()
        {
            return n
                .checked_mul(1 << 40)
                .ok_or_else(|| format!("capacity {s:?} too large"));
        }
    }
    crate::bench::parse_size(t).ok_or_else(|| format!("bad size {s:?} (e.g. 64M, 2G, 12T)"))
}

fn parse_on_off(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "on" | "1" | "yes" | "true" => Ok(true),
        "off" | "0" | "no" | "false" => Ok(false),
        _ => Err(format!("expected on or off, got {s:?}")),
    }
}

/// A library with `drives` drives of generation `g`, serials VTL0000001...
pub fn library_config(drives: usize, g: Generation) -> LibraryConfig {
    LibraryConfig {
        drives: (0..drives)
            .map(|i| DriveConfig::ibm(g, &format!("VTL{:07}", i + 1)))
            .collect(),
        cartridges_dir: PathBuf::from("cartridges"),
    }
}

fn generation_json(g: Generation) -> Value {
    json!({ "name": g.name(), "density_code": format!("0x{:02x}", g.density_code()) })
}

fn listing(lib: &VirtualLibrary) -> Result<Value, VtlCmdError> {
    let mut drives = Vec::new();
    for (i, cfg) in lib.config().drives.iter().enumerate() {
        let st = lib.drive_state(i)?;
        drives.push(json!({
            "drive": i,
            "address": format!("vtl:{}#drive{i}", lib.dir().display()),
            "generation": cfg.generation.name(),
            "serial": cfg.serial,
            "cartridge": st.cartridge,
            "loaded": st.loaded,
            "partition": st.partition,
            "block": st.block,
        }));
    }
    let carts: Vec<Value> = lib
        .list()?
        .into_iter()
        .map(|c| {
            json!({
                "barcode": c.spec.barcode,
                "generation": c.spec.generation.name(),
                "capacity": c.spec.capacity,
                "worm": c.spec.worm,
                "partitions": c.spec.partitions,
                "write_protected": c.write_protected,
                "drive": c.drive,
            })
        })
        .collect();
    Ok(json!({ "drives": drives, "cartridges": carts }))
}

fn open(dir: &Path) -> Result<VirtualLibrary, VtlCmdError> {
    Ok(VirtualLibrary::open(dir)?)
}

/// Runs one command; the value is printed as JSON or `key: value` lines.
pub fn run(cmd: VtlCommand) -> Result<Value, VtlCmdError> {
    match cmd {
        VtlCommand::Create {
            dir,
            drives,
            generation,
            library,
            config,
        } => {
            let lib = if let Some(path) = config {
                let text = std::fs::read_to_string(&path)?;
                let spec = LibrarySpec::parse(&text)
                    .map_err(|detail| LibraryError::BadConfig { path, detail })?;
                VirtualLibrary::create_with(&dir, &spec)?
            } else if library {
                VirtualLibrary::create_default(&dir)?
            } else {
                VirtualLibrary::create(&dir, library_config(drives.max(1), generation))?
            };
            listing(&lib)
        }
        VtlCommand::AddCartridges {
            dir,
            barcodes,
            generation,
            capacity,
            worm,
        } => {
            let lib = open(&dir)?;
            let mut made = Vec::new();
            for b in barcodes {
                let mut spec = CartridgeSpec::new(b, generation);
                spec.worm = worm;
                if let Some(c) = capacity {
                    spec.capacity = c;
                }
                lib.create_cartridge(&spec)?;
                made.push(json!({
                    "barcode": spec.barcode,
                    "generation": generation_json(generation),
                    "capacity": spec.capacity,
                    "worm": spec.worm,
                }));
            }
            Ok(json!({ "created": made }))
        }
        VtlCommand::Insert {
            dir,
            barcode,
            drive,
        } => {
            let lib = open(&dir)?;
            lib.insert(drive, &barcode)?;
            Ok(json!({ "inserted": barcode, "drive": drive }))
        }
        VtlCommand::Eject { dir, drive } => {
            let lib = open(&dir)?;
            let barcode = lib.eject(drive)?;
            Ok(json!({ "ejected": barcode, "drive": drive }))
        }
        VtlCommand::Protect {
            dir,
            barcode,
            state,
        } => {
            let lib = open(&dir)?;
            lib.set_write_protect(&barcode, state)?;
            Ok(json!({ "barcode": barcode, "write_protected": state }))
        }
        VtlCommand::List { dir } => listing(&open(&dir)?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generations() {
        assert_eq!(parse_generation("lto8"), Ok(Generation::Lto8));
        assert_eq!(parse_generation("LTO-9"), Ok(Generation::Lto9));
        assert_eq!(parse_generation("10"), Ok(Generation::Lto10));
        assert_eq!(parse_generation("lto7m8"), Ok(Generation::Lto7M8));
        assert_eq!(parse_generation("LTO-7 M8"), Ok(Generation::Lto7M8));
        assert!(parse_generation("lto4").is_err());
        assert!(parse_generation("").is_err());
    }

    #[test]
    fn capacities() {
        assert_eq!(parse_capacity("64M"), Ok(64 << 20));
        assert_eq!(parse_capacity("12T"), Ok(12 << 40));
        assert_eq!(parse_capacity("4096"), Ok(4096));
        assert!(parse_capacity("12X").is_err());
        assert!(parse_capacity("99999999999T").is_err());
    }

    #[test]
    fn create_default_library_and_from_toml() {
        let d = tempfile::tempdir().unwrap();
        let create = |dir: &Path, library, config| {
            run(VtlCommand::Create {
                dir: dir.to_path_buf(),
                drives: 1,
                generation: Generation::Lto8,
                library,
                config,
            })
        };
        let lib = d.path().join("default");
        create(&lib, true, None).unwrap();
        let spec = VirtualLibrary::open(&lib).unwrap().spec().clone();
        assert_eq!(
            (
                spec.library.slots,
                spec.library.mail_slots,
                spec.drive.len()
            ),
            (50, 4, 4)
        );

        let toml = d.path().join("small.toml");
        let mut small = LibrarySpec::empty(10, 1, 2, Generation::Lto9);
        small.library.serial = "SMALL01".into();
        std::fs::write(&toml, small.to_toml().unwrap()).unwrap();
        let lib = d.path().join("small");
        create(&lib, false, Some(toml)).unwrap();
        let spec = VirtualLibrary::open(&lib).unwrap().spec().clone();
        assert_eq!((spec.library.slots, spec.drive.len()), (10, 2));
        assert_eq!(spec.library.serial, "SMALL01");

        std::fs::write(d.path().join("bad.toml"), "[library]\nslots = \"many\"\n").unwrap();
        let e = create(
            &d.path().join("bad"),
            false,
            Some(d.path().join("bad.toml")),
        )
        .unwrap_err();
        assert!(e.to_string().contains("bad.toml"), "{e}");
        assert!(
            create(
                &d.path().join("x"),
                false,
                Some(d.path().join("missing.toml"))
            )
            .is_err()
        );
    }

    #[test]
    fn create_add_insert_list_eject() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("lib");
        run(VtlCommand::Create {
            dir: dir.clone(),
            drives: 2,
            generation: Generation::Lto8,
            library: false,
            config: None,
        })
        .unwrap();
        run(VtlCommand::AddCartridges {
            dir: dir.clone(),
            barcodes: vec!["A00001L8".into(), "A00002L8".into()],
            generation: Generation::Lto8,
            capacity: Some(64 << 20),
            worm: false,
        })
        .unwrap();
        run(VtlCommand::Insert {
            dir: dir.clone(),
            barcode: "A00002L8".into(),
            drive: 1,
        })
        .unwrap();
        let l = run(VtlCommand::List { dir: dir.clone() }).unwrap();
        assert_eq!(l["drives"][1]["cartridge"], "A00002L8");
        assert_eq!(l["drives"][0]["cartridge"], Value::Null);
        assert_eq!(l["cartridges"][0]["barcode"], "A00001L8");
        assert_eq!(l["cartridges"][0]["capacity"], 64 << 20);
        assert_eq!(l["cartridges"][1]["drive"], 1);
        // Protecting a cartridge that is in a drive is refused.
        assert!(
            run(VtlCommand::Protect {
                dir: dir.clone(),
                barcode: "A00002L8".into(),
                state: true,
            })
            .is_err()
        );
        let e = run(VtlCommand::Eject {
            dir: dir.clone(),
            drive: 1,
        })
        .unwrap();
        assert_eq!(e["ejected"], "A00002L8");
        assert!(
            run(VtlCommand::Eject {
                dir: dir.clone(),
                drive: 1,
            })
            .is_err()
        );
        // A second library in the same place is refused.
        assert!(
            run(VtlCommand::Create {
                dir,
                drives: 1,
                generation: Generation::Lto8,
                library: false,
                config: None,
            })
            .is_err()
        );
    }
}

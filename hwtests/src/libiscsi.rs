//! libiscsi's command line tools (Debian `libiscsi-bin`) as an independent
//! iSCSI initiator: `iscsi-ls` (SendTargets discovery + REPORT LUNS) and
//! `iscsi-inq` (standard INQUIRY and VPD pages).
//!
//! The parsers are pure (text in, values out); [`ls`] and [`inq`] run the
//! tools.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::tools::{HarnessError, find_tool};

/// The Debian package that ships the tools.
pub const PACKAGE: &str = "libiscsi-bin";

/// One target from `iscsi-ls -s`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LsTarget {
    pub iqn: String,
    /// `host:port,tpgt` as printed.
    pub portal: String,
    pub luns: Vec<LsLun>,
}

/// One LUN line of `iscsi-ls -s`: `Lun:1    Type:SEQUENTIAL_ACCESS`,
/// possibly followed by a note such as `(No media loaded)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LsLun {
    pub lun: u64,
    /// The device type name alone, e.g. `SEQUENTIAL_ACCESS`.
    pub kind: String,
    /// What iscsi-ls printed after the type (trimmed; empty if nothing).
    pub note: String,
}

/// Parses `iscsi-ls -s` output:
/// ```text
/// Target:iqn.x Portal:127.0.0.1:3260,1
/// Lun:0    Type:STORAGE_ARRAY_CONTROLLER
/// ```
pub fn parse_ls(text: &str) -> Result<Vec<LsTarget>, HarnessError> {
    let bad = |detail: String| HarnessError::Parse {
        tool: "iscsi-ls".into(),
        detail,
    };
    let mut out: Vec<LsTarget> = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("Target:") {
            let (iqn, portal) = rest
                .split_once(" Portal:")
                .ok_or_else(|| bad(format!("no Portal in {line:?}")))?;
            out.push(LsTarget {
                iqn: iqn.trim().into(),
                portal: portal.trim().into(),
                luns: Vec::new(),
            });
        } else if let Some(rest) = line.strip_prefix("Lun:") {
            let (num, kind) = rest
                .split_once("Type:")
                .ok_or_else(|| bad(format!("no Type in {line:?}")))?;
            let lun = num
                .trim()
                .parse()
                .map_err(|_| bad(format!("bad LUN in {line:?}")))?;
            let target = out
                .last_mut()
                .ok_or_else(|| bad(format!("LUN before any target: {line:?}")))?;
            let (kind, note) = kind
                .trim()
                .split_once(char::is_whitespace)
                .unwrap_or((kind.trim(), ""));
            target.luns.push(LsLun {
                lun,
                kind: kind.into(),
                note: note.trim().into(),
            });
        }
        // Anything else (login noise) is not ours to judge.
    }
    Ok(out)
}

/// Standard INQUIRY as printed by `iscsi-inq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inquiry {
    /// Name as libiscsi prints it, e.g. `SEQUENTIAL_ACCESS`.
    pub device_type: String,
    pub removable: bool,
    pub vendor: String,
    pub product: String,
    pub revision: String,
    /// Every `Key:Value` line, in order, for checks not modelled here.
    pub fields: Vec<(String, String)>,
}

impl Inquiry {
    /// SPC peripheral device type code of [`Inquiry::device_type`].
    pub fn device_type_code(&self) -> Option<u8> {
        device_type_code(&self.device_type)
    }

    /// Value of the first field named `key`.
    pub fn field(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// libiscsi's names of SPC-4 peripheral device types (table "Peripheral
/// device type") mapped back to their codes.
pub fn device_type_code(name: &str) -> Option<u8> {
    Some(match name {
        "DIRECT_ACCESS" => 0x00,
        "SEQUENTIAL_ACCESS" => 0x01,
        "PRINTER" => 0x02,
        "PROCESSOR" => 0x03,
        "WRITE_ONCE" => 0x04,
        "MMC" => 0x05,
        "SCANNER" => 0x06,
        "OPTICAL_MEMORY" => 0x07,
        "MEDIA_CHANGER" => 0x08,
        "COMMUNICATIONS" => 0x09,
        "STORAGE_ARRAY_CONTROLLER" => 0x0c,
        "ENCLOSURE_SERVICES" => 0x0d,
        "SIMPLIFIED_DIRECT_ACCESS" => 0x0e,
        "OPTICAL_CARD_READER" => 0x0f,
        "BRIDGE_CONTROLLER" => 0x10,
        "OSD" => 0x11,
        "AUTOMATION" => 0x12,
        "SEQURITY_MANAGER" | "SECURITY_MANAGER" => 0x13,
        "WELL_KNOWN_LUN" => 0x1e,
        "UNKNOWN" => 0x1f,
        _ => return None,
    })
}

/// `Key:Value` lines (value may contain ':'; keys are trimmed, values keep
/// their padding because INQUIRY strings are space padded).
pub fn parse_fields(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .collect()
}

/// Parses the standard INQUIRY output of `iscsi-inq URL`.
pub fn parse_inq(text: &str) -> Result<Inquiry, HarnessError> {
    let fields = parse_fields(text);
    let get = |k: &str| {
        fields
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| HarnessError::Parse {
                tool: "iscsi-inq".into(),
                detail: format!("no {k} in {text:?}"),
            })
    };
    Ok(Inquiry {
        device_type: get("Peripheral Device Type")?.trim().into(),
        removable: get("Removable")?.trim() == "1",
        vendor: get("Vendor")?,
        product: get("Product")?,
        revision: get("Revision")?,
        fields: fields.clone(),
    })
}

/// Parses `iscsi-inq -e 1 -c 0` (Supported VPD pages): the page codes.
/// libiscsi prints one `Page:0xNN` style line per page (or `Supported
/// pages` followed by lines with hex codes); any `0x..` token on a line
/// starting with "Page" counts.
pub fn parse_vpd00(text: &str) -> Vec<u8> {
    text.lines()
        .filter(|l| l.trim_start().to_ascii_lowercase().starts_with("page"))
        .flat_map(|l| l.split(|c: char| c.is_whitespace() || c == ':'))
        .filter_map(|tok| tok.strip_prefix("0x").or_else(|| tok.strip_prefix("0X")))
        .filter_map(|h| u8::from_str_radix(h, 16).ok())
        .collect()
}

/// Output of one tool run.
#[derive(Debug, Clone)]
pub struct ToolOutput {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs a libiscsi tool with a timeout (a hung login must fail the test,
/// not hang it). The child is killed by its PID on timeout.
pub fn run_tool(tool: &str, args: &[&str], limit: Duration) -> Result<ToolOutput, HarnessError> {
    let path = find_tool(tool).ok_or_else(|| HarnessError::Missing {
        tool: tool.into(),
        package: PACKAGE.into(),
    })?;
    let dir = tempfile::tempdir().map_err(|e| HarnessError::io("tempdir", e))?;
    let out_path = dir.path().join("out");
    let err_path = dir.path().join("err");
    let create = |p: &std::path::Path| {
        std::fs::File::create(p).map_err(|e| HarnessError::io("create output file", e))
    };
    let mut child = Command::new(&path)
        .args(args)
        .stdin(Stdio::null())
        .stdout(create(&out_path)?)
        .stderr(create(&err_path)?)
        .spawn()
        .map_err(|e| HarnessError::io(format!("spawn {tool}"), e))?;
    let status = match crate::tools::wait_exit(&mut child, limit) {
        Some(st) => st,
        None => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(HarnessError::NotReady(
                format!("{tool} {}", args.join(" ")),
                format!("still running after {limit:?}"),
            ));
        }
    };
    Ok(ToolOutput {
        success: status.success(),
        stdout: std::fs::read_to_string(&out_path).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
    })
}

const LIMIT: Duration = Duration::from_secs(30);

fn checked(tool: &str, args: &[&str]) -> Result<String, HarnessError> {
    let out = run_tool(tool, args, LIMIT)?;
    if out.success {
        Ok(out.stdout)
    } else {
        Err(HarnessError::Command {
            command: format!("{tool} {}", args.join(" ")),
            status: "non-zero exit".into(),
            stderr: out.stderr + &out.stdout,
        })
    }
}

/// `iscsi-ls -s iscsi://host:port`: targets and their LUNs.
pub fn ls(portal_url: &str) -> Result<Vec<LsTarget>, HarnessError> {
    parse_ls(&checked("iscsi-ls", &["-s", portal_url])?)
}

/// `iscsi-inq iscsi://host:port/iqn/lun`: standard INQUIRY.
pub fn inq(url: &str) -> Result<Inquiry, HarnessError> {
    parse_inq(&checked("iscsi-inq", &[url])?)
}

/// `iscsi-inq -e 1 -c PAGE URL`: raw text of one VPD page.
pub fn inq_vpd(url: &str, page: u8) -> Result<String, HarnessError> {
    checked("iscsi-inq", &["-e", "1", "-c", &page.to_string(), url])
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured from iscsi-ls 1.19 against tgtd 1.0.85.
    const LS: &str = "Target:iqn.2024-01.test:tgt Portal:127.0.0.1:23260,1\n\
                      Lun:0    Type:STORAGE_ARRAY_CONTROLLER\n\
                      Lun:1    Type:SEQUENTIAL_ACCESS\n\
                      Lun:2    Type:MEDIA_CHANGER\n";

    #[test]
    fn ls_output_parsed() {
        let t = parse_ls(LS).unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].iqn, "iqn.2024-01.test:tgt");
        assert_eq!(t[0].portal, "127.0.0.1:23260,1");
        assert_eq!(
            t[0].luns,
            vec![
                LsLun {
                    lun: 0,
                    kind: "STORAGE_ARRAY_CONTROLLER".into(),
                    note: String::new(),
                },
                LsLun {
                    lun: 1,
                    kind: "SEQUENTIAL_ACCESS".into(),
                    note: String::new(),
                },
                LsLun {
                    lun: 2,
                    kind: "MEDIA_CHANGER".into(),
                    note: String::new(),
                },
            ]
        );
    }

    #[test]
    fn ls_note_after_type_kept_apart() {
        // iscsi-ls 1.19 against reel-vtl serve with an empty drive.
        let t = parse_ls(
            "Target:iqn.x:y Portal:127.0.0.1:3260,1\n\
             Lun:1    Type:SEQUENTIAL_ACCESS (No media loaded)\n",
        )
        .unwrap();
        assert_eq!(
            t[0].luns,
            vec![LsLun {
                lun: 1,
                kind: "SEQUENTIAL_ACCESS".into(),
                note: "(No media loaded)".into(),
            }]
        );
    }

    #[test]
    fn ls_rejects_lun_without_target_and_bad_numbers() {
        assert!(parse_ls("Lun:0    Type:DIRECT_ACCESS\n").is_err());
        assert!(parse_ls("Target:iqn.x Portal:h:1,1\nLun:x Type:DIRECT_ACCESS\n").is_err());
        assert!(parse_ls("Target:iqn.x\n").is_err());
        assert_eq!(parse_ls("").unwrap(), vec![]);
    }

    const INQ: &str = "Peripheral Qualifier:CONNECTED\n\
                       Peripheral Device Type:SEQUENTIAL_ACCESS\n\
                       Removable:1\n\
                       Version:5 ANSI INCITS 408-2005 (SPC-3)\n\
                       Vendor:IET     \n\
                       Product:VIRTUAL-TAPE    \n\
                       Revision:0001\n\
                       Version Descriptor:0200 SSC\n";

    #[test]
    fn inq_output_parsed() {
        let i = parse_inq(INQ).unwrap();
        assert_eq!(i.device_type, "SEQUENTIAL_ACCESS");
        assert_eq!(i.device_type_code(), Some(1));
        assert!(i.removable);
        assert_eq!(i.vendor, "IET     ");
        assert_eq!(i.product, "VIRTUAL-TAPE    ");
        assert_eq!(i.revision, "0001");
        assert_eq!(i.field("Version"), Some("5 ANSI INCITS 408-2005 (SPC-3)"));
    }

    #[test]
    fn inq_missing_field_is_an_error() {
        assert!(parse_inq("Peripheral Device Type:MEDIA_CHANGER\n").is_err());
        assert!(parse_inq("").is_err());
    }

    #[test]
    fn device_type_names() {
        assert_eq!(device_type_code("MEDIA_CHANGER"), Some(8));
        assert_eq!(device_type_code("DIRECT_ACCESS"), Some(0));
        assert_eq!(device_type_code("nonsense"), None);
    }
}

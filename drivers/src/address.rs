//! Device addresses every reel tool accepts (`-f DEVICE`):
//!
//! | form | meaning |
//! | --- | --- |
//! | `/dev/sgN` | a Linux SCSI generic node, used directly |
//! | `/dev/nstN`, `/dev/stN[lma]`, `/dev/schN`, `/dev/tape/by-id/...`, any other path | a Linux node resolved to its `/dev/sgM` through sysfs |
//! | `vtl:PATH#driveN`, `vtl:PATH#changer` | drive N or the changer of the VTL stored in directory PATH, opened in-process |
//! | `iscsi://HOST[:PORT]/TARGET/LUN` | a LUN behind an iSCSI target (port 3260 by default) |
//!
//! Parsing only; opening is done by the layer that owns each transport.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The IANA port for iSCSI.
pub const ISCSI_DEFAULT_PORT: u16 = 3260;

/// Which device of a VTL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VtlTarget {
    Drive(u32),
    Changer,
}

/// A parsed device address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DeviceAddress {
    /// `/dev/sgN` (any path whose last component is `sgN`).
    Sg(PathBuf),
    /// Any other local path; resolved to an sg device through sysfs.
    Path(PathBuf),
    /// A VTL opened in-process from its directory.
    Vtl { dir: PathBuf, target: VtlTarget },
    /// An iSCSI LUN.
    Iscsi {
        host: String,
        port: u16,
        target: String,
        lun: u64,
    },
}

/// A device address that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid device address {input:?}: {reason} (expected /dev/sgN, /dev/nstN, \
     vtl:PATH#driveN, vtl:PATH#changer or iscsi://HOST[:PORT]/TARGET/LUN)"
)]
pub struct AddressError {
    pub input: String,
    pub reason: String,
}

impl DeviceAddress {
    /// The local device path, for the two Linux forms.
    pub fn linux_path(&self) -> Option<&Path> {
        match self {
            DeviceAddress::Sg(p) | DeviceAddress::Path(p) => Some(p),
            _ => None,
        }
    }
}

fn is_sg_name(name: &str) -> bool {
    name.strip_prefix("sg")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn parse_vtl(rest: &str) -> Result<DeviceAddress, String> {
    let (dir, sel) = rest
        .rsplit_once('#')
        .ok_or("a VTL address needs #driveN or #changer after the directory")?;
    if dir.is_empty() {
        return Err("the VTL directory is empty".into());
    }
    let target = if sel == "changer" {
        VtlTarget::Changer
    } else if let Some(n) = sel.strip_prefix("drive") {
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "{sel:?}: the drive number must be a decimal number (drive0, drive1, ...)"
            ));
        }
        VtlTarget::Drive(
            n.parse()
                .map_err(|_| format!("drive number {n} is too large"))?,
        )
    } else {
        return Err(format!(
            "unknown VTL device {sel:?} (use driveN or changer)"
        ));
    };
    Ok(DeviceAddress::Vtl {
        dir: PathBuf::from(dir),
        target,
    })
}

/// iSCSI names (RFC 3720 section 3.2.6) start with a type prefix and use
/// only letters, digits, '-', '.' and ':'.
fn check_iscsi_name(t: &str) -> Result<(), String> {
    let lower = t.to_ascii_lowercase();
    if !["iqn.", "eui.", "naa."]
        .iter()
        .any(|p| lower.starts_with(p))
    {
        return Err(format!(
            "target name {t:?} must start with iqn., eui. or naa."
        ));
    }
    if let Some(c) = t
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | ':')))
    {
        return Err(format!("target name {t:?} contains {c:?}"));
    }
    Ok(())
}

fn parse_iscsi(rest: &str) -> Result<DeviceAddress, String> {
    let (authority, path) = rest
        .split_once('/')
        .ok_or("missing /TARGET/LUN after the host")?;
    if authority.contains('@') {
        return Err("credentials in the address are not supported".into());
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6
            .split_once(']')
            .ok_or("unterminated '[' in an IPv6 host")?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or("expected :PORT after ']'")?),
        };
        (h, port)
    } else {
        match authority.split_once(':') {
            Some((_, p)) if p.contains(':') => {
                return Err("an IPv6 host must be written in brackets, e.g. [::1]".into());
            }
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err("the host is empty".into());
    }
    let port = match port {
        None => ISCSI_DEFAULT_PORT,
        Some(p) => match p.parse::<u16>() {
            Ok(0) | Err(_) => return Err(format!("port {p:?} is not a number in 1..=65535")),
            Ok(n) => n,
        },
    };
    if path.ends_with('/') && path.matches('/').count() >= 2 {
        return Err("unexpected '/' after the LUN".into());
    }
    let (target, lun) = path
        .rsplit_once('/')
        .ok_or("missing /LUN after the target name")?;
    if target.is_empty() {
        return Err("the target name is empty".into());
    }
    check_iscsi_name(target)?;
    if lun.is_empty() || !lun.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("LUN {lun:?} is not a decimal number"));
    }
    let lun = lun.parse().map_err(|_| format!("LUN {lun} is too large"))?;
    Ok(DeviceAddress::Iscsi {
        host: host.to_string(),
        port,
        target: target.to_string(),
        lun,
    })
}

impl FromStr for DeviceAddress {
    type Err = AddressError;

    fn from_str(s: &str) -> Result<DeviceAddress, AddressError> {
        let err = |reason: String| AddressError {
            input: s.to_string(),
            reason,
        };
        if s.is_empty() {
            return Err(err("the address is empty".into()));
        }
        if let Some(rest) = s.strip_prefix("vtl:") {
            return parse_vtl(rest).map_err(err);
        }
        if let Some(rest) = s.strip_prefix("iscsi://") {
            return parse_iscsi(rest).map_err(err);
        }
        if let Some((scheme, _)) = s.split_once("://") {
            return Err(err(format!("unknown scheme {scheme:?}")));
        }
        let path = PathBuf::from(s);
        let sg = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(is_sg_name);
        Ok(if sg {
            DeviceAddress::Sg(path)
        } else {
            DeviceAddress::Path(path)
        })
    }
}

impl fmt::Display for DeviceAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceAddress::Sg(p) | DeviceAddress::Path(p) => write!(f, "{}", p.display()),
            DeviceAddress::Vtl { dir, target } => {
                write!(f, "vtl:{}#", dir.display())?;
                match target {
                    VtlTarget::Drive(n) => write!(f, "drive{n}"),
                    VtlTarget::Changer => f.write_str("changer"),
                }
            }
            DeviceAddress::Iscsi {
                host,
                port,
                target,
                lun,
            } => {
                if host.contains(':') {
                    write!(f, "iscsi://[{host}]:{port}/{target}/{lun}")
                } else {
                    write!(f, "iscsi://{host}:{port}/{target}/{lun}")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> DeviceAddress {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn bad(s: &str) -> AddressError {
        match s.parse::<DeviceAddress>() {
            Ok(a) => panic!("{s:?} parsed as {a:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn linux_paths() {
        assert_eq!(p("/dev/sg0"), DeviceAddress::Sg("/dev/sg0".into()));
        assert_eq!(p("/dev/sg17"), DeviceAddress::Sg("/dev/sg17".into()));
        for s in [
            "/dev/nst0",
            "/dev/st1l",
            "/dev/sch0",
            "/dev/tape/by-id/scsi-10WT036260-nst",
            "/dev/sgx",
            "/dev/sg",
            "relative/nst0",
        ] {
            assert_eq!(p(s), DeviceAddress::Path(s.into()), "{s}");
            assert_eq!(p(s).linux_path(), Some(Path::new(s)));
        }
    }

    #[test]
    fn vtl() {
        assert_eq!(
            p("vtl:/var/lib/reel/vtl#drive0"),
            DeviceAddress::Vtl {
                dir: "/var/lib/reel/vtl".into(),
                target: VtlTarget::Drive(0)
            }
        );
        assert_eq!(
            p("vtl:lib#drive12"),
            DeviceAddress::Vtl {
                dir: "lib".into(),
                target: VtlTarget::Drive(12)
            }
        );
        // The last '#' separates: directories may contain '#'.
        assert_eq!(
            p("vtl:/a#b#changer"),
            DeviceAddress::Vtl {
                dir: "/a#b".into(),
                target: VtlTarget::Changer
            }
        );
        assert_eq!(p("vtl:/x#changer").linux_path(), None);
    }

    #[test]
    fn iscsi() {
        assert_eq!(
            p("iscsi://10.0.0.1/iqn.2024-01.org.reel:vtl/0"),
            DeviceAddress::Iscsi {
                host: "10.0.0.1".into(),
                port: 3260,
                target: "iqn.2024-01.org.reel:vtl".into(),
                lun: 0
            }
        );
        assert_eq!(
            p("iscsi://tapes.example:3261/iqn.2024-01.org.reel:vtl/3"),
            DeviceAddress::Iscsi {
                host: "tapes.example".into(),
                port: 3261,
                target: "iqn.2024-01.org.reel:vtl".into(),
                lun: 3
            }
        );
        assert_eq!(
            p("iscsi://[::1]:3262/eui.02004567A425678D/1"),
            DeviceAddress::Iscsi {
                host: "::1".into(),
                port: 3262,
                target: "eui.02004567A425678D".into(),
                lun: 1
            }
        );
        assert_eq!(
            p("iscsi://[fe80::1]/naa.52004567BA64678D/0"),
            DeviceAddress::Iscsi {
                host: "fe80::1".into(),
                port: 3260,
                target: "naa.52004567BA64678D".into(),
                lun: 0
            }
        );
    }

    #[test]
    fn display_forms() {
        assert_eq!(p("/dev/sg3").to_string(), "/dev/sg3");
        assert_eq!(p("/dev/nst0").to_string(), "/dev/nst0");
        assert_eq!(p("vtl:/v#drive2").to_string(), "vtl:/v#drive2");
        assert_eq!(p("vtl:/v#changer").to_string(), "vtl:/v#changer");
        // The default port is written out.
        assert_eq!(
            p("iscsi://h/iqn.a:b/7").to_string(),
            "iscsi://h:3260/iqn.a:b/7"
        );
        assert_eq!(
            p("iscsi://[::1]/iqn.a/0").to_string(),
            "iscsi://[::1]:3260/iqn.a/0"
        );
    }

    #[test]
    fn round_trips() {
        for s in [
            "/dev/sg0",
            "/dev/tape/by-id/scsi-X-nst",
            "vtl:/var/lib/reel#drive4294967295",
            "vtl:/a#b#changer",
            "iscsi://h:1/iqn.x/18446744073709551615",
            "iscsi://[2001:db8::2]:3260/iqn.2024-01.org.reel:t/2",
        ] {
            let a = p(s);
            assert_eq!(a.to_string(), s);
            assert_eq!(p(&a.to_string()), a);
        }
    }

    #[test]
    fn bad_inputs() {
        let cases: [(&str, &str); 24] = [
            ("", "empty"),
            ("vtl:", "#driveN or #changer"),
            ("vtl:/x", "#driveN or #changer"),
            ("vtl:#drive0", "directory is empty"),
            ("vtl:/x#drive", "decimal number"),
            ("vtl:/x#drivex", "decimal number"),
            ("vtl:/x#drive-1", "decimal number"),
            ("vtl:/x#drive99999999999", "too large"),
            ("vtl:/x#tape0", "unknown VTL device"),
            ("iscsi://", "missing /TARGET/LUN"),
            ("iscsi://host", "missing /TARGET/LUN"),
            ("iscsi://host/iqn.a", "missing /LUN"),
            ("iscsi://host/iqn.a/x", "not a decimal"),
            ("iscsi://host/iqn.a/", "not a decimal"),
            ("iscsi://host/iqn.a/0/", "'/' after the LUN"),
            ("iscsi://:3260/iqn.a/0", "host is empty"),
            ("iscsi://host:0/iqn.a/0", "1..=65535"),
            ("iscsi://host:99999/iqn.a/0", "1..=65535"),
            ("iscsi://host:/iqn.a/0", "1..=65535"),
            ("iscsi://::1/iqn.a/0", "brackets"),
            ("iscsi://[::1/iqn.a/0", "unterminated"),
            ("iscsi://user%pw@host/iqn.a/0", "credentials"),
            ("iscsi://host/target/0", "iqn., eui. or naa."),
            ("http://host/x", "unknown scheme"),
        ];
        for (s, want) in cases {
            let e = bad(s);
            let msg = e.to_string();
            assert!(msg.contains(want), "{s:?}: {msg}");
            assert!(msg.contains("expected /dev/sgN"), "{msg}");
            assert_eq!(e.input, s);
        }
        assert!(bad("iscsi://h/iqn.a b/0").reason.contains("' '"));
        assert!(bad("iscsi://h//0").reason.contains("target name is empty"));
        assert!(bad("iscsi://[::1]x/iqn.a/0").reason.contains(":PORT"));
        assert!(
            bad("iscsi://h/iqn.a/99999999999999999999")
                .reason
                .contains("too large")
        );
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,64}") {
            let _ = s.parse::<DeviceAddress>();
        }

        #[test]
        fn parsed_addresses_round_trip(s in "(vtl:[a-z/#]{1,12}#(drive[0-9]{1,4}|changer)|iscsi://[a-z]{1,8}(:[1-9][0-9]{0,3})?/iqn\\.[a-z.:-]{1,12}/[0-9]{1,4}|/dev/[a-z0-9]{1,6})") {
            if let Ok(a) = s.parse::<DeviceAddress>() {
                proptest::prop_assert_eq!(a.to_string().parse::<DeviceAddress>().unwrap(), a);
            }
        }
    }
}

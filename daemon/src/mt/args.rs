//! mt-st 1.7 command line: options, the command table (in mt-st's order,
//! which decides prefix matching), counts with k/M/G suffixes, usage text.
//! Pure: strings in, a parsed invocation or (exit code, stdout, stderr) out.

/// What a command does, independent of how mt spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MtOp {
    WriteFilemarks,
    WriteSetmarks,
    ForwardFiles,
    ForwardFilesMark,
    BackwardFiles,
    BackwardFilesMark,
    ForwardRecords,
    BackwardRecords,
    ForwardSetmarks,
    BackwardSetmarks,
    Rewind,
    Offline,
    Retension,
    EndOfData,
    Seek,
    Tell,
    Status,
    Erase,
    SetBlock,
    Lock,
    Unlock,
    Load,
    Compression,
    SetDensity,
    /// Options of the Linux st driver itself (buffering, timeouts,
    /// defaults): meaningless when reel drives the device directly.
    StDriverOption,
    Densities,
    SetPartition,
    MakePartition,
    PartitionSeek,
    AbsoluteFile,
    ShowOptions,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Args {
    None,
    One,
    Two,
    Many,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Open {
    NoDevice,
    ReadOnly,
    ReadWrite,
}

#[derive(Debug, PartialEq, Eq)]
pub struct MtCommand {
    pub name: &'static str,
    pub op: MtOp,
    pub open: Open,
    pub args: Args,
    /// mt-st's ET_ONLINE: on failure, say so if the drive is offline.
    pub test_online: bool,
    /// mt-st's ET_WPROT: on failure, say so if the tape is write-protected.
    pub test_wprot: bool,
}

const fn c(
    name: &'static str,
    op: MtOp,
    open: Open,
    args: Args,
    test_online: bool,
    test_wprot: bool,
) -> MtCommand {
    MtCommand {
        name,
        op,
        open,
        args,
        test_online,
        test_wprot,
    }
}

use Args as A;
use MtOp as O;
use Open as F;

/// mt-st 1.7's table, in its order (prefix matching takes the first match).
pub const COMMANDS: &[MtCommand] = &[
    c("weof", O::WriteFilemarks, F::ReadWrite, A::One, true, true),
    c("wset", O::WriteSetmarks, F::ReadWrite, A::One, true, true),
    c("eof", O::WriteFilemarks, F::ReadWrite, A::One, true, false),
    c("fsf", O::ForwardFiles, F::ReadOnly, A::One, true, false),
    c(
        "fsfm",
        O::ForwardFilesMark,
        F::ReadOnly,
        A::One,
        true,
        false,
    ),
    c("bsf", O::BackwardFiles, F::ReadOnly, A::One, true, false),
    c(
        "bsfm",
        O::BackwardFilesMark,
        F::ReadOnly,
        A::One,
        true,
        false,
    ),
    c("fsr", O::ForwardRecords, F::ReadOnly, A::One, true, false),
    c("bsr", O::BackwardRecords, F::ReadOnly, A::One, true, false),
    c("fss", O::ForwardSetmarks, F::ReadOnly, A::One, true, false),
    c("bss", O::BackwardSetmarks, F::ReadOnly, A::One, true, false),
    c("rewind", O::Rewind, F::ReadOnly, A::None, true, false),
    c("offline", O::Offline, F::ReadOnly, A::None, true, false),
    c("rewoffl", O::Offline, F::ReadOnly, A::None, true, false),
    c("eject", O::Offline, F::ReadOnly, A::None, true, false),
    c("retension", O::Retension, F::ReadOnly, A::None, true, false),
    c("eod", O::EndOfData, F::ReadOnly, A::None, true, false),
    c("seod", O::EndOfData, F::ReadOnly, A::None, true, false),
    c("seek", O::Seek, F::ReadOnly, A::One, true, false),
    c("tell", O::Tell, F::ReadOnly, A::None, true, false),
    c("status", O::Status, F::ReadOnly, A::None, false, false),
    c("erase", O::Erase, F::ReadWrite, A::One, true, false),
    c("setblk", O::SetBlock, F::ReadOnly, A::One, false, false),
    c("lock", O::Lock, F::ReadOnly, A::None, true, false),
    c("unlock", O::Unlock, F::ReadOnly, A::None, true, false),
    c("load", O::Load, F::ReadOnly, A::One, false, false),
    c(
        "compression",
        O::Compression,
        F::ReadOnly,
        A::One,
        false,
        false,
    ),
    c(
        "setdensity",
        O::SetDensity,
        F::ReadOnly,
        A::One,
        false,
        false,
    ),
    c(
        "drvbuffer",
        O::StDriverOption,
        F::ReadOnly,
        A::One,
        false,
        false,
    ),
    c(
        "stwrthreshold",
        O::StDriverOption,
        F::ReadOnly,
        A::One,
        false,
        false,
    ),
    c(
        "stoptions",
        O::StDriverOption,
        F::ReadOnly,
        A::Many,
        false,
        false,
    ),
    c(
        "stsetoptions",
        O::StDriverOption,
        F::ReadOnly,
        A::Many,
        false,
        false,
    ),
    c(
        "stclearoptions",
        O::StDriverOption,
        F::ReadOnly,
        A::Many,
        false,
        false,
    ),
    c(
        "defblksize",
        O::StDriverOption,
        F::ReadOnly,
        A::One,
        false,
        false,
    ),
    c(
        "defdensity",
        O::StDriverOption,
        F::ReadOnly,
        A::One,
        false,
        false,
    ),
    c(
        "defdrvbuffer",
        O::StDriverOption,
        F::ReadOnly,
        A::One,
        false,
        false,
    ),
    c(
        "defcompression",
        O::StDriverOption,
        F::ReadOnly,
        A::One,
        false,
        false,
    ),
    c(
        "stsetcln",
        O::StDriverOption,
        F::ReadOnly,
        A::One,
        false,
        false,
    ),
    c(
        "sttimeout",
        O::StDriverOption,
        F::ReadOnly,
        A::One,
        false,
        false,
    ),
    c(
        "stlongtimeout",
        O::StDriverOption,
        F::ReadOnly,
        A::One,
        false,
        false,
    ),
    c(
        "densities",
        O::Densities,
        F::NoDevice,
        A::None,
        false,
        false,
    ),
    c(
        "setpartition",
        O::SetPartition,
        F::ReadOnly,
        A::One,
        true,
        false,
    ),
    c(
        "mkpartition",
        O::MakePartition,
        F::ReadWrite,
        A::One,
        true,
        false,
    ),
    c(
        "partseek",
        O::PartitionSeek,
        F::ReadOnly,
        A::Two,
        true,
        false,
    ),
    c("asf", O::AbsoluteFile, F::ReadOnly, A::One, true, false),
    c(
        "stshowoptions",
        O::ShowOptions,
        F::ReadOnly,
        A::One,
        false,
        false,
    ),
];

pub const DEFAULT_TAPE: &str = "/dev/tape";
pub const MT_ST_VERSION: &str = "1.7";

/// A parsed `mt` command line ready to run.
#[derive(Debug, PartialEq, Eq)]
pub struct MtInvocation {
    pub device: String,
    /// True when neither -f nor $TAPE named the device.
    pub default_device: bool,
    pub command: &'static MtCommand,
    pub args: Vec<String>,
}

/// The command line says to stop now: print these and exit with `code`.
#[derive(Debug, PartialEq, Eq)]
pub struct MtExit {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

#[derive(Debug, PartialEq, Eq)]
pub enum LookupError {
    Unknown,
    Ambiguous,
}

/// mt-st's matching: the first command (in table order) that starts with
/// `s`; if `s` is not that command's full name, any later command that also
/// starts with `s` makes it ambiguous.
pub fn lookup(s: &str) -> Result<&'static MtCommand, LookupError> {
    let Some(i) = COMMANDS.iter().position(|c| c.name.starts_with(s)) else {
        return Err(LookupError::Unknown);
    };
    let first = &COMMANDS[i];
    if first.name.len() != s.len() && COMMANDS[i + 1..].iter().any(|c| c.name.starts_with(s)) {
        return Err(LookupError::Ambiguous);
    }
    Ok(first)
}

/// mt-st's usage text (to stderr); `explain` adds the command list.
pub fn usage(explain: bool) -> String {
    let mut out = String::from("usage: mt [-v] [--version] [-h] [ -f device ] command [ count ]\n");
    out.push_str(&format!("default tape device: {DEFAULT_TAPE}\n"));
    if explain {
        let mut ind = 0;
        while ind < COMMANDS.len() {
            let mut line = String::from(if ind == 0 { "commands: " } else { "          " });
            while ind < COMMANDS.len() {
                line.push_str(COMMANDS[ind].name);
                let last = ind + 1 == COMMANDS.len();
                line.push_str(if last { "." } else { ", " });
                ind += 1;
                if line.len() >= 70 || last {
                    break;
                }
            }
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

pub fn version_text() -> String {
    format!(
        "mt-st v. {MT_ST_VERSION} (reel {})\ndefault tape device: {DEFAULT_TAPE}\n",
        env!("CARGO_PKG_VERSION")
    )
}

fn exit_usage(explain: bool, code: i32, prefix: &str) -> MtExit {
    MtExit {
        code,
        stdout: String::new(),
        stderr: format!("{prefix}{}", usage(explain)),
    }
}

/// Parses `mt [-h] [-v] [-f device] command [args]` (without argv[0]).
pub fn parse(args: &[String], env_tape: Option<&str>) -> Result<MtInvocation, MtExit> {
    let mut device: Option<String> = None;
    let mut argn = 0;
    while argn < args.len() {
        let a = args[argn].as_bytes();
        if a.first() != Some(&b'-') {
            break;
        }
        match a.get(1) {
            Some(b'f') | Some(b't') => {
                argn += 1;
                match args.get(argn) {
                    Some(d) => device = Some(d.clone()),
                    None => return Err(exit_usage(false, 1, "")),
                }
            }
            Some(b'h') => return Err(exit_usage(true, 0, "")),
            Some(b'v') => {
                return Err(MtExit {
                    code: 0,
                    stdout: version_text(),
                    stderr: String::new(),
                });
            }
            Some(b'-') if a.get(2) == Some(&b'v') => {
                return Err(MtExit {
                    code: 0,
                    stdout: version_text(),
                    stderr: String::new(),
                });
            }
            _ => return Err(exit_usage(false, 1, "")),
        }
        argn += 1;
    }
    let (device, default_device) = match (device, env_tape) {
        (Some(d), _) => (d, false),
        (None, Some(t)) => (t.to_string(), false),
        (None, None) => (DEFAULT_TAPE.to_string(), true),
    };
    let Some(cmdstr) = args.get(argn) else {
        return Err(exit_usage(false, 1, ""));
    };
    argn += 1;
    let command = match lookup(cmdstr) {
        Ok(c) => c,
        Err(LookupError::Unknown) => {
            return Err(exit_usage(
                true,
                1,
                &format!("mt: unknown command \"{cmdstr}\"\n"),
            ));
        }
        Err(LookupError::Ambiguous) => {
            return Err(exit_usage(
                true,
                1,
                &format!("mt: ambiguous command \"{cmdstr}\"\n"),
            ));
        }
    };
    let rest = &args[argn..];
    let max = match command.args {
        Args::None => Some(0),
        Args::One => Some(1),
        Args::Two => Some(2),
        Args::Many => None,
    };
    if max.is_some_and(|m| rest.len() > m) {
        return Err(MtExit {
            code: 1,
            stdout: String::new(),
            stderr: format!(
                "mt: too many arguments for the command '{}'.\n",
                command.name
            ),
        });
    }
    Ok(MtInvocation {
        device,
        default_device,
        command,
        args: rest.to_vec(),
    })
}

/// C `strtol(s, &end, 0)`: optional whitespace and sign, then 0x/0X hex,
/// leading-0 octal or decimal. Returns (value, bytes consumed); consumed is
/// 0 when no digits were found. Saturates like strtol on overflow.
pub fn strtol(s: &str) -> (i64, usize) {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && (b[i] == b' ' || (b'\t'..=b'\r').contains(&b[i])) {
        i += 1;
    }
    let mut neg = false;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        neg = b[i] == b'-';
        i += 1;
    }
    let mut radix = 10;
    if i + 1 < b.len() && b[i] == b'0' && (b[i + 1] == b'x' || b[i + 1] == b'X') {
        let hex_follows = b.get(i + 2).is_some_and(|c| c.is_ascii_hexdigit());
        if hex_follows {
            radix = 16;
            i += 2;
        } else {
            // "0x" without hex digits: strtol parses the "0" only.
            return (0, i + 1);
        }
    } else if i < b.len() && b[i] == b'0' {
        radix = 8;
    }
    let start = i;
    let mut v: i64 = 0;
    let mut overflow = false;
    while i < b.len() {
        let Some(d) = (b[i] as char).to_digit(radix) else {
            break;
        };
        match v
            .checked_mul(radix as i64)
            .and_then(|x| x.checked_add(d as i64))
        {
            Some(x) => v = x,
            None => overflow = true,
        }
        i += 1;
    }
    if i == start {
        return (0, 0);
    }
    let v = if overflow {
        if neg { i64::MIN } else { i64::MAX }
    } else if neg {
        -v
    } else {
        v
    };
    (v, i)
}

/// A count argument as mt-st's do_standard reads it: default 1, k/M/G
/// multipliers, no negative counts. Errors carry mt-st's message and exit
/// code.
pub fn parse_count(arg: Option<&str>, allow_negative: bool) -> Result<i32, (String, i32)> {
    let Some(s) = arg else { return Ok(1) };
    let (v, used) = strtol(s);
    // mt_count is a C int: strtol's long is truncated on assignment.
    let mut count = v as i32;
    if used > 0 {
        let multiplier: i32 = match &s[used..] {
            "" => 1,
            rest if rest.starts_with('k') => 1024,
            rest if rest.starts_with('M') => 1024 * 1024,
            rest if rest.starts_with('G') => 1024 * 1024 * 1024,
            _ => return Err(("mt: illegal count unit.\n".into(), 3)),
        };
        if count.unsigned_abs() > (i32::MAX / multiplier) as u32 {
            return Err(("mt: repeat count too large.\n".into(), 3));
        }
        count *= multiplier;
    }
    if !allow_negative && count < 0 {
        return Err(("mt: negative repeat count\n".into(), 1));
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn prefix_matching_like_mt_st() {
        assert_eq!(lookup("st").unwrap_err(), LookupError::Ambiguous);
        assert_eq!(lookup("stat").unwrap().name, "status");
        assert_eq!(lookup("rew").unwrap_err(), LookupError::Ambiguous);
        assert_eq!(lookup("rewi").unwrap().name, "rewind");
        // An exact name wins even if longer names share it as a prefix.
        assert_eq!(lookup("fsf").unwrap().name, "fsf");
        assert_eq!(lookup("fsfm").unwrap().name, "fsfm");
        assert_eq!(lookup("eof").unwrap().name, "eof");
        assert_eq!(lookup("eo").unwrap_err(), LookupError::Ambiguous);
        assert_eq!(lookup("te").unwrap().name, "tell");
        assert_eq!(lookup("den").unwrap().name, "densities");
        assert_eq!(lookup("off").unwrap().name, "offline");
        assert_eq!(lookup("ej").unwrap().name, "eject");
        assert_eq!(lookup("").unwrap_err(), LookupError::Ambiguous);
        assert_eq!(lookup("frobnicate").unwrap_err(), LookupError::Unknown);
        assert_eq!(lookup("statusx").unwrap_err(), LookupError::Unknown);
    }

    #[test]
    fn options_and_device() {
        let inv = parse(&v(&["-f", "/dev/nst0", "fsf", "3"]), Some("/dev/nst9")).unwrap();
        assert_eq!(inv.device, "/dev/nst0");
        assert!(!inv.default_device);
        assert_eq!(inv.command.name, "fsf");
        assert_eq!(inv.args, v(&["3"]));
        let inv = parse(&v(&["status"]), Some("vtl:/x#drive0")).unwrap();
        assert_eq!(inv.device, "vtl:/x#drive0");
        let inv = parse(&v(&["-t", "d", "tell"]), None).unwrap();
        assert_eq!(inv.device, "d");
        let inv = parse(&v(&["tell"]), None).unwrap();
        assert_eq!(inv.device, "/dev/tape");
        assert!(inv.default_device);
        // A negative count after the command is not an option.
        let inv = parse(&v(&["fsf", "-1"]), None).unwrap();
        assert_eq!(inv.args, v(&["-1"]));
    }

    #[test]
    fn usage_errors() {
        let e = parse(&v(&[]), None).unwrap_err();
        assert_eq!(e.code, 1);
        assert_eq!(
            e.stderr,
            "usage: mt [-v] [--version] [-h] [ -f device ] command [ count ]\n\
default tape device: /dev/tape\n"
        );
        assert_eq!(parse(&v(&["-f"]), None).unwrap_err().code, 1);
        assert_eq!(parse(&v(&["-x", "status"]), None).unwrap_err().code, 1);
        assert_eq!(parse(&v(&["--help"]), None).unwrap_err().code, 1);
        let e = parse(&v(&["-h"]), None).unwrap_err();
        assert_eq!(e.code, 0);
        assert!(e.stderr.contains("commands: weof, wset, eof,"));
        let e = parse(&v(&["--version"]), None).unwrap_err();
        assert_eq!(e.code, 0);
        assert!(e.stdout.starts_with("mt-st v. 1.7"));
        let e = parse(&v(&["-f", "x", "bogus"]), None).unwrap_err();
        assert_eq!(e.code, 1);
        assert!(
            e.stderr
                .starts_with("mt: unknown command \"bogus\"\nusage: mt")
        );
        let e = parse(&v(&["s"]), None).unwrap_err();
        assert!(e.stderr.starts_with("mt: ambiguous command \"s\"\n"));
        let e = parse(&v(&["rewind", "2"]), None).unwrap_err();
        assert_eq!(e.code, 1);
        assert_eq!(
            e.stderr,
            "mt: too many arguments for the command 'rewind'.\n"
        );
        let e = parse(&v(&["fsf", "1", "2"]), None).unwrap_err();
        assert_eq!(e.stderr, "mt: too many arguments for the command 'fsf'.\n");
        assert!(parse(&v(&["partseek", "1", "2"]), None).is_ok());
        assert!(parse(&v(&["stoptions", "a", "b", "c"]), None).is_ok());
    }

    #[test]
    fn usage_command_list_wraps_at_70() {
        let u = usage(true);
        let lines: Vec<&str> = u.lines().collect();
        assert_eq!(
            lines[2],
            "commands: weof, wset, eof, fsf, fsfm, bsf, bsfm, fsr, bsr, fss, bss, rewind, "
        );
        assert!(lines[3].starts_with("          offline, rewoffl,"));
        assert!(lines.last().unwrap().ends_with("asf, stshowoptions."));
        for l in &lines[2..lines.len() - 1] {
            assert!(l.len() >= 70, "{l:?}");
        }
    }

    #[test]
    fn counts() {
        assert_eq!(parse_count(None, false), Ok(1));
        assert_eq!(parse_count(Some("3"), false), Ok(3));
        assert_eq!(parse_count(Some("0x10"), false), Ok(16));
        assert_eq!(parse_count(Some("010"), false), Ok(8));
        assert_eq!(parse_count(Some("2k"), false), Ok(2048));
        assert_eq!(parse_count(Some("1M"), false), Ok(1 << 20));
        assert_eq!(parse_count(Some("1G"), false), Ok(1 << 30));
        assert_eq!(
            parse_count(Some("2G"), false),
            Err(("mt: repeat count too large.\n".into(), 3))
        );
        assert_eq!(
            parse_count(Some("5x"), false),
            Err(("mt: illegal count unit.\n".into(), 3))
        );
        assert_eq!(
            parse_count(Some("-1"), false),
            Err(("mt: negative repeat count\n".into(), 1))
        );
        assert_eq!(parse_count(Some("-1"), true), Ok(-1));
        // No digits at all: strtol yields 0 and mt-st does not complain.
        assert_eq!(parse_count(Some("abc"), false), Ok(0));
        assert_eq!(parse_count(Some(" 7"), false), Ok(7));
        assert_eq!(
            parse_count(Some("99999999999999999999999"), false)
                .unwrap_err()
                .1,
            1
        );
    }

    #[test]
    fn strtol_edges() {
        assert_eq!(strtol("0x"), (0, 1));
        assert_eq!(strtol("0xz"), (0, 1));
        assert_eq!(strtol("-0x1f"), (-31, 5));
        assert_eq!(strtol("09"), (0, 1));
        assert_eq!(strtol(""), (0, 0));
        assert_eq!(strtol("-"), (0, 0));
    }
}

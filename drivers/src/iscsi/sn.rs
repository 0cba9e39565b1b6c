//! Sequence number comparison: CmdSN, StatSN, DataSN and R2TSN wrap at
//! 2^32 and are compared with RFC 1982 serial number arithmetic
//! (SERIAL_BITS = 32), as RFC 7143 4.2.2.1 requires.

/// `a < b` in serial arithmetic. Numbers exactly 2^31 apart are not
/// ordered (RFC 1982 leaves it undefined): neither is less.
pub fn sn_lt(a: u32, b: u32) -> bool {
    a != b && (b.wrapping_sub(a) as i32) > 0
}

/// `a <= b` in serial arithmetic.
pub fn sn_le(a: u32, b: u32) -> bool {
    a == b || sn_lt(a, b)
}

/// `a > b` in serial arithmetic.
pub fn sn_gt(a: u32, b: u32) -> bool {
    sn_lt(b, a)
}

/// `a >= b` in serial arithmetic.
pub fn sn_ge(a: u32, b: u32) -> bool {
    sn_le(b, a)
}

/// True when a non-immediate command with `cmd_sn` falls in the target's
/// window ExpCmdSN <= CmdSN <= MaxCmdSN (RFC 7143 4.2.2.1). The window is
/// empty when MaxCmdSN = ExpCmdSN - 1.
pub fn in_window(cmd_sn: u32, exp_cmd_sn: u32, max_cmd_sn: u32) -> bool {
    sn_le(exp_cmd_sn, cmd_sn) && sn_le(cmd_sn, max_cmd_sn)
}

/// The number of commands the window still admits (0 when closed).
pub fn window_size(exp_cmd_sn: u32, max_cmd_sn: u32) -> u32 {
    if sn_lt(max_cmd_sn, exp_cmd_sn) {
        0
    } else {
        max_cmd_sn.wrapping_sub(exp_cmd_sn).wrapping_add(1)
    }
}

use crate::iscsi::sn::*;

#[test]
fn serial_comparisons_wrap() {
    assert!(sn_lt(1, 2));
    assert!(!sn_lt(2, 2));
    assert!(sn_lt(0xffff_fffe, 3), "wrapped 3 is after 0xfffffffe");
    assert!(sn_gt(3, 0xffff_fffe));
    assert!(sn_le(5, 5) && sn_ge(5, 5));
    // 2^31 apart: undefined in RFC 1982, ordered neither way.
    assert!(!sn_lt(0, 0x8000_0000) && !sn_lt(0x8000_0000, 0));
    assert!(sn_lt(0, 0x7fff_ffff));
    assert!(!sn_lt(0, 0x8000_0001));
}

#[test]
fn command_window() {
    assert!(in_window(10, 10, 10));
    assert!(in_window(12, 10, 20));
    assert!(!in_window(9, 10, 20));
    assert!(!in_window(21, 10, 20));
    // Across the wrap.
    assert!(in_window(1, 0xffff_fff0, 5));
    assert!(!in_window(6, 0xffff_fff0, 5));
    // MaxCmdSN = ExpCmdSN - 1: closed.
    assert!(!in_window(10, 10, 9));
    assert_eq!(window_size(10, 9), 0);
    assert_eq!(window_size(10, 10), 1);
    assert_eq!(window_size(0xffff_ffff, 30), 32);
}

//! Destructive tape cases about where the tape is: positions after writes,
//! filemarks, SPACE both ways, end of data, LOCATE and REWIND.

use reel_drivers::scsi::sense::SenseKey;
use reel_drivers::tape::position::PositionForm;
use reel_drivers::tape::{ReadOutcome, SpaceKind, SpaceOutcome};

use super::util::{
    Drive, LAYOUT_LEN, expect_error, expect_object, expect_record, expect_sense, layout, position,
    read6_variable, record, scratch, sense_of, write_records,
};
use crate::conformance::{Bench, CaseError, check, expect_eq};

/// SPACE that must complete without meeting a filemark, EOD or BOP.
fn space_done(what: &str, d: &mut Drive, kind: SpaceKind, count: i64) -> Result<(), CaseError> {
    expect_eq(what, d.space(kind, count)?, SpaceOutcome::Done)
}

fn read_layout(what: &str, d: &mut Drive, n: u8) -> Result<(), CaseError> {
    expect_record(what, d, n, LAYOUT_LEN)
}

pub(super) fn write_read_records(b: &mut Bench) -> Result<(), CaseError> {
    let d = scratch(b)?;
    let sizes = [1000usize, 65536, 4096, 1];
    for (i, &n) in sizes.iter().enumerate() {
        d.write(&record(i as u8, n))?;
    }
    d.write_filemarks(1, false)?;
    d.rewind(false)?;
    let mut buf = vec![0u8; 128 * 1024];
    for (i, &n) in sizes.iter().enumerate() {
        let got = d.read(&mut buf)?;
        expect_eq("record length", got, ReadOutcome::ShortBlock { len: n })?;
        check(buf[..n] == record(i as u8, n)[..], || {
            format!("record {i}: contents differ")
        })?;
    }
    expect_eq("read at filemark", d.read(&mut buf)?, ReadOutcome::Filemark)
}

pub(super) fn bop_at_bot(b: &mut Bench) -> Result<(), CaseError> {
    let d = scratch(b)?;
    d.rewind(false)?;
    let p = position(d, PositionForm::Long)?;
    expect_eq("at BOT (object, BOP)", (p.block, p.bop), (Some(0), true))?;
    let p = position(d, PositionForm::Short)?;
    expect_eq(
        "at BOT, short form (object, BOP)",
        (p.block, p.bop),
        (Some(0), true),
    )
}

pub(super) fn after_writes(b: &mut Bench) -> Result<(), CaseError> {
    let d = scratch(b)?;
    for i in 0..3u8 {
        d.write(&record(i, 256))?;
        expect_object("after a write", d, u64::from(i) + 1)?;
    }
    let p = position(d, PositionForm::Long)?;
    expect_eq(
        "after 3 records (object, BOP, file)",
        (p.block, p.bop, p.file),
        (Some(3), false, Some(0)),
    )
}

pub(super) fn after_filemark(b: &mut Bench) -> Result<(), CaseError> {
    let d = scratch(b)?;
    write_records(d, &[(0, 256), (1, 256), (2, 256)])?;
    d.write_filemarks(1, false)?;
    let p = position(d, PositionForm::Long)?;
    expect_eq(
        "after 3 records + filemark (object, file, BOP)",
        (p.block, p.file, p.bop),
        (Some(4), Some(1), false),
    )
}

pub(super) fn rewind_to_first_record(b: &mut Bench) -> Result<(), CaseError> {
    let d = scratch(b)?;
    d.write(&record(7, 300))?;
    d.write(&record(8, 300))?;
    d.rewind(false)?;
    let st = d.status()?;
    expect_eq("bot after rewind", st.bot, true)?;
    expect_record("first record", d, 7, 300)
}

pub(super) fn filemark_read_stops(b: &mut Bench) -> Result<(), CaseError> {
    let d = scratch(b)?;
    layout(d)?;
    read_layout("A", d, 0)?;
    read_layout("B", d, 1)?;
    let mut buf = vec![0u8; 4096];
    let r = read6_variable(d, &mut buf, false)?;
    let s = sense_of("READ at a filemark", &r)?;
    expect_sense("READ at a filemark", &s, SenseKey::NoSense, 0x00, 0x01)?;
    check(s.filemark, || "FILEMARK bit clear".into())?;
    expect_eq("INFORMATION (bytes not read)", s.information, Some(4096))?;
    // Positioned after the filemark: the next read is C.
    expect_object("after reading the filemark", d, 3)?;
    read_layout("C", d, 2)
}

pub(super) fn filemarks_write_several(b: &mut Bench) -> Result<(), CaseError> {
    let d = scratch(b)?;
    d.write(&record(1, 100))?;
    d.write_filemarks(3, false)?;
    expect_object("after a record and 3 filemarks", d, 4)?;
    d.rewind(false)?;
    expect_record("record", d, 1, 100)?;
    let mut buf = vec![0u8; 1024];
    for i in 0..3 {
        expect_eq(
            &format!("filemark {i}"),
            d.read(&mut buf)?,
            ReadOutcome::Filemark,
        )?;
    }
    expect_eq(
        "after the filemarks",
        d.read(&mut buf)?,
        ReadOutcome::EndOfData,
    )
}

pub(super) fn filemarks_zero_flushes(b: &mut Bench) -> Result<(), CaseError> {
    let d = scratch(b)?;
    d.write(&record(1, 100))?;
    d.write_filemarks(0, false)?;
    expect_object("WRITE FILEMARKS 0 writes nothing", d, 1)?;
    d.rewind(false)?;
    expect_record("record", d, 1, 100)?;
    let mut buf = vec![0u8; 1024];
    expect_eq(
        "then end of data",
        d.read(&mut buf)?,
        ReadOutcome::EndOfData,
    )
}

pub(super) fn space_filemarks_forward(b: &mut Bench) -> Result<(), CaseError> {
    let d = scratch(b)?;
    layout(d)?;
    space_done("space 2 filemarks", d, SpaceKind::Filemarks, 2)?;
    expect_object("after 2 filemarks", d, 6)?;
    read_layout("E", d, 4)
}

/// The tape check list's filemark case, kept as it was.
pub(super) fn space_filemark_backward(b: &mut Bench) -> Result<(), CaseError> {
    let d = scratch(b)?;
    layout(d)?;
    space_done("space 2 filemarks", d, SpaceKind::Filemarks, 2)?;
    read_layout("E", d, 4)?;
    // Back over E and the second filemark: now before the filemark, after D.
    space_done("space -1 filemark", d, SpaceKind::Filemarks, -1)?;
    expect_object("on the BOP side of the second filemark", d, 5)?;
    space_done("space -1 block", d, SpaceKind::Blocks, -1)?;
    read_layout("D", d, 3)
}

pub(super) fn space_blocks_forward(b: &mut Bench) -> Result<(), CaseError> {
    let d = scratch(b)?;
    layout(d)?;
    space_done("space 1 block", d, SpaceKind::Blocks, 1)?;
    expect_object("after 1 block", d, 1)?;
    read_layout("B", d, 1)
}

pub(super) fn space_blocks_backward(b: &mut Bench) -> Result<(), CaseError> {
    let d = scratch(b)?;
    layout(d)?;
    space_done("space 2 filemarks", d, SpaceKind::Filemarks, 2)?;
    space_done("space -1 filemark", d, SpaceKind::Filemarks, -1)?;
    space_done("space -2 blocks", d, SpaceKind::Blocks, -2)?;
    expect_object("two records back", d, 3)?;
    read_layout("C", d, 2)
}

pub(super) fn space_blocks_into_filemark(b: &mut Bench) -> Result<(), CaseError> {
    let d = scratch(b)?;
    layout(d)?;
    space_done("space 1 filemark", d, SpaceKind::Filemarks, 1)?;
    read_layout("C", d, 2)?;
    read_layout("D", d, 3)?;
    // Spacing 3 blocks forward meets the filemark right after D: none of
    // the 3 moved (the filemark is crossed but not counted).
    expect_eq(
        "space 3 blocks into a filemark",
        d.space(SpaceKind::Blocks, 3)?,
        SpaceOutcome::Filemark { remaining: 3 },
    )?;
    expect_object("after the filemark", d, 6)
}

pub(super) fn space_blocks_backward_into_filemark(b: &mut Bench) -> Result<(), CaseError> {
    let d = scratch(b)?;
    layout(d)?;
    space_done("space 2 filemarks", d, SpaceKind::Filemarks, 2)?;
    // Backward from the start of E, the first object is the filemark.
    expect_eq(
        "space -2 blocks into a filemark",
        d.space(SpaceKind::Blocks, -2)?,
        SpaceOutcome::Filemark { remaining: 2 },
    )?;
    expect_object("on the BOP side of the filemark", d, 5)
}

pub(super) fn space_to_eod(b: &mut Bench) -> Result<(), CaseError> {
    let d = scratch(b)?;
    layout(d)?;
    space_done("space to end of data", d, SpaceKind::EndOfData, 0)?;
    expect_object("at end of data", d, 7)?;
    d.write(&record(9, 200))?;
    expect_object("after appending", d, 8)?;
    d.rewind(false)?;
    space_done("space 2 filemarks", d, SpaceKind::Filemarks, 2)?;
    read_layout("E", d, 4)?;
    expect_record("the appended record", d, 9, 200)
}

pub(super) fn space_past_eod_blocks(b: &mut Bench) -> Result<(), CaseError> {
    let d = scratch(b)?;
    write_records(d, &[(0, 256), (1, 256)])?;
    d.rewind(false)?;
    // SPACE(6) 5 blocks over 2: BLANK CHECK 00/05, 3 not spaced.
    let r = super::util::raw(
        d,
        "SPACE(6)",
        &[0x11, 0x00, 0, 0, 5, 0],
        reel_drivers::DataDirection::None,
    )?;
    let s = sense_of("SPACE 5 blocks over 2", &r)?;
    expect_sense(
        "SPACE 5 blocks over 2",
        &s,
        SenseKey::BlankCheck,
        0x00,
        0x05,
    )?;
    expect_eq("INFORMATION (blocks not spaced)", s.information, Some(3))?;
    expect_object("at end of data", d, 2)
}

pub(super) fn space_past_eod_filemarks(b: &mut Bench) -> Result<(), CaseError> {
    let d = scratch(b)?;
    layout(d)?;
    expect_eq(
        "space 3 filemarks over 2",
        d.space(SpaceKind::Filemarks, 3)?,
        SpaceOutcome::EndOfData { remaining: 1 },
    )?;
    expect_object("at end of data", d, 7)
}

pub(super) fn space_backward_past_bop(b: &mut Bench) -> Result<(), CaseError> {
    let d = scratch(b)?;
    write_records(d, &[(0, 256), (1, 256)])?;
    let r = super::util::raw(
        d,
        "SPACE(6)",
        &[0x11, 0x00, 0xff, 0xff, 0xfb, 0],
        reel_drivers::DataDirection::None,
    )?;
    let s = sense_of("SPACE -5 blocks from object 2", &r)?;
    expect_sense(
        "SPACE -5 blocks from object 2",
        &s,
        SenseKey::NoSense,
        0x00,
        0x04,
    )?;
    check(s.eom, || "EOM bit clear at beginning of partition".into())?;
    expect_eq("INFORMATION (blocks not spaced)", s.information, Some(3))?;
    let p = position(d, PositionForm::Short)?;
    expect_eq("at BOP (object, BOP)", (p.block, p.bop), (Some(0), true))
}

pub(super) fn eod_read_blank_check(b: &mut Bench) -> Result<(), CaseError> {
    let d = scratch(b)?;
    d.write(&record(1, 100))?;
    d.rewind(false)?;
    expect_record("record", d, 1, 100)?;
    let mut buf = vec![0u8; 4096];
    let r = read6_variable(d, &mut buf, false)?;
    let s = sense_of("READ at end of data", &r)?;
    expect_sense("READ at end of data", &s, SenseKey::BlankCheck, 0x00, 0x05)?;
    expect_object("end of data does not move the tape", d, 1)?;
    let r = read6_variable(d, &mut buf, false)?;
    let s = sense_of("second READ at end of data", &r)?;
    expect_sense(
        "second READ at end of data",
        &s,
        SenseKey::BlankCheck,
        0x00,
        0x05,
    )
}

pub(super) fn eod_write_truncates(b: &mut Bench) -> Result<(), CaseError> {
    let d = scratch(b)?;
    write_records(d, &[(0, 300), (1, 300), (2, 300)])?;
    d.locate(1, None)?;
    d.write(&record(9, 300))?;
    d.rewind(false)?;
    expect_record("A", d, 0, 300)?;
    expect_record("the overwriting record", d, 9, 300)?;
    let mut buf = vec![0u8; 1024];
    expect_eq(
        "a write is end of data",
        d.read(&mut buf)?,
        ReadOutcome::EndOfData,
    )
}

pub(super) fn locate_then_read(b: &mut Bench) -> Result<(), CaseError> {
    let d = scratch(b)?;
    layout(d)?;
    d.locate(4, None)?;
    expect_object("after LOCATE 4", d, 4)?;
    read_layout("D", d, 3)?;
    d.locate(0, None)?;
    let p = position(d, PositionForm::Short)?;
    expect_eq("LOCATE 0 (object, BOP)", (p.block, p.bop), (Some(0), true))?;
    read_layout("A", d, 0)
}

pub(super) fn locate_position_forms(b: &mut Bench) -> Result<(), CaseError> {
    let d = scratch(b)?;
    layout(d)?;
    d.locate(6, None)?;
    let short = position(d, PositionForm::Short)?;
    let long = position(d, PositionForm::Long)?;
    expect_eq("short form object", short.block, Some(6))?;
    expect_eq(
        "long form (object, file)",
        (long.block, long.file),
        (Some(6), Some(2)),
    )?;
    d.locate(3, None)?;
    let long = position(d, PositionForm::Long)?;
    expect_eq(
        "long form after LOCATE 3 (object, file)",
        (long.block, long.file),
        (Some(3), Some(1)),
    )
}

pub(super) fn locate_beyond_eod(b: &mut Bench) -> Result<(), CaseError> {
    let d = scratch(b)?;
    layout(d)?;
    expect_error(
        "LOCATE 100 beyond end of data",
        d.locate(100, None),
        SenseKey::BlankCheck,
        0x00,
        0x05,
    )?;
    expect_object("stopped at end of data", d, 7)
}

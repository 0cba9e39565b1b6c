#![no_main]
//! The reel label as read from a cartridge: block 0 at BOT, and the MAM
//! attributes of a READ ATTRIBUTE response. Neither may panic; whatever
//! decodes must survive a re-encode unchanged.
use libfuzzer_sys::fuzz_target;
use reel_drivers::scsi::attributes::parse_attribute_values;
use reeld::media::guard::{classify_first_block, may_write_at_bot};
use reeld::media::label::Label;
use reeld::media::mam::{label_from_mam, label_to_mam};

fuzz_target!(|data: &[u8]| {
    let on = classify_first_block(Some(data));
    let _ = may_write_at_bot(&on, 0, false);
    if let Ok(label) = Label::decode(data) {
        let block = label.encode().expect("a decoded label encodes");
        assert_eq!(Label::decode(&block).as_ref(), Ok(&label));
    }
    if let Ok(attrs) = parse_attribute_values(data)
        && let Ok(Some(label)) = label_from_mam(&attrs)
    {
        let again = label_to_mam(&label).expect("a decoded MAM label encodes");
        assert_eq!(label_from_mam(&again).ok().flatten().as_ref(), Some(&label));
    }
});

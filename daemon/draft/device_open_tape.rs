/// Opens the tape drive at `addr`.
pub fn open_tape(addr: &str) -> Result<Tape, OpenError> {
    let transport: Box<dyn ScsiTransport> = match parse_address(addr)? {
        Address::Node(path) => Box::new(open_node(&path)?),
        Address::VtlDrive { dir, drive } => crate::vtl::open_drive(&dir, drive)?,
        Address::VtlChanger { .. } => return Err(OpenError::NotATape(addr.to_string())),
    };
    Ok(Tape::new(TapeDrive::new(transport), addr))
}


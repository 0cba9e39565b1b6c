//! TODO-STUB: device addresses.

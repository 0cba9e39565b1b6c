//! TODO-STUB: Linux SG_IO transport.

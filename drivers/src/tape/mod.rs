//! TODO-STUB: SSC tape driver.

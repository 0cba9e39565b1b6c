//! reeld: the device host service. For now it holds what `reelctl` needs to
//! open any device address (including an in-process VTL).

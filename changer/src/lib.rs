//! reel-changer: the SMC media changer driver.
//!
//! Empty on purpose: the changer issue (#4) fills it. Nothing here pretends
//! to drive a library yet.

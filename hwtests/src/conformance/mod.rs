//! One conformance suite for every transport: named SSC (tape) and SMC
//! (changer) cases that backup software depends on, run through reel's
//! drivers against the in-process VTL, the VTL over iSCSI, tgtd, or a real
//! device on a lab bench (`reel-hwtest`).
//!
//! A [`Case`] is a plain function over a [`Bench`]; [`run`] runs the
//! selected cases one after another, tidying the bench after each, and
//! reports per case: pass, fail, skip, or a known gap of the target kind
//! ([`gaps`]).

pub mod bench;
pub mod gaps;
pub mod glob;
pub mod open;
pub mod report;
pub mod smc;
pub mod smc_gaps;
pub mod ssc;
pub mod vtl_fixture;

use std::fmt::Debug;
use std::time::{Duration, Instant};

pub use bench::{Bench, Fixture, FixtureCartridge, MediaPolicy};

/// What every case talks to: any SCSI transport, boxed.
pub type Transport = Box<dyn reel_drivers::scsi::transport::ScsiTransport + Send>;

/// Which devices a case needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needs {
    Tape,
    Changer,
    Both,
}

/// One named behaviour check.
pub struct Case {
    /// Stable dotted name, e.g. "ssc.space.filemark_backward",
    /// "smc.element_status.after_load". Matched by --cases GLOB.
    pub name: &'static str,
    pub needs: Needs,
    /// true when the case writes to a cartridge or moves media. Without
    /// --destructive only non-destructive cases run.
    pub destructive: bool,
    /// One line: what backup software relies on here.
    pub summary: &'static str,
    pub run: fn(&mut Bench) -> Result<(), CaseError>,
}

impl Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Case")
            .field("name", &self.name)
            .field("needs", &self.needs)
            .field("destructive", &self.destructive)
            .finish()
    }
}

/// Why a case did not pass.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// The device behaved wrongly: what was expected and what was seen.
    #[error("{0}")]
    Fail(String),
    /// The case cannot run here (no such feature, no fixture, no cartridge
    /// matching --allow-barcodes...). Reported, never counted as a failure.
    #[error("skipped: {0}")]
    Skip(String),
    /// Unexpected SCSI error (counts as a failure).
    #[error(transparent)]
    Scsi(#[from] reel_drivers::ScsiError),
    #[error(transparent)]
    Changer(#[from] reel_changer::ChangerError),
}

/// `Ok` when `cond` holds, else a failure with `msg()`.
pub fn check(cond: bool, msg: impl FnOnce() -> String) -> Result<(), CaseError> {
    if cond {
        Ok(())
    } else {
        Err(CaseError::Fail(msg()))
    }
}

/// `Ok` when `got == want`, else "WHAT: got G, want W".
pub fn expect_eq<T: PartialEq + Debug>(what: &str, got: T, want: T) -> Result<(), CaseError> {
    if got == want {
        Ok(())
    } else {
        Err(CaseError::Fail(format!(
            "{what}: got {got:?}, want {want:?}"
        )))
    }
}

/// Every case: the tape cases, then the changer cases.
pub fn all_cases() -> Vec<Case> {
    let mut v = ssc::cases();
    v.extend(smc::cases());
    v
}

/// Outcome of one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Pass,
    Fail(String),
    Skip(String),
    /// Failed as the target kind is known to (see [`gaps`]).
    KnownGap {
        reason: String,
        seen: String,
    },
    /// Listed as a known gap but passed: the gap list is out of date.
    UnexpectedPass(String),
}

impl Status {
    /// Counts as a failure of the run (exit code 1).
    pub fn is_failure(&self) -> bool {
        matches!(self, Status::Fail(_) | Status::UnexpectedPass(_))
    }

    /// Short upper-case label for tables.
    pub fn label(&self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail(_) => "FAIL",
            Status::Skip(_) => "SKIP",
            Status::KnownGap { .. } => "GAP",
            Status::UnexpectedPass(_) => "XPASS",
        }
    }

    /// The detail text, empty for a pass.
    pub fn detail(&self) -> String {
        match self {
            Status::Pass => String::new(),
            Status::Fail(s) | Status::Skip(s) | Status::UnexpectedPass(s) => s.clone(),
            Status::KnownGap { reason, seen } => format!("{reason} (seen: {seen})"),
        }
    }
}

/// One case's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseResult {
    pub name: &'static str,
    pub status: Status,
    pub elapsed: Duration,
}

/// Which kind of target is under test: chooses the known-gap list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    VtlInProcess,
    VtlIscsi,
    Tgtd,
    Device,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Glob over case names (`*` and `?`); `None` runs every case.
    pub cases: Option<String>,
    pub target: TargetKind,
}

/// Progress of a run, for live display.
#[derive(Debug)]
pub enum Event<'a> {
    Start {
        index: usize,
        total: usize,
        case: &'a Case,
    },
    Done {
        index: usize,
        total: usize,
        result: &'a CaseResult,
    },
}

/// The cases `opts` and `policy` select, in suite order: matching the
/// glob, and non-destructive unless the policy allows destruction.
pub fn select(opts: &RunOptions, policy: &MediaPolicy) -> Vec<Case> {
    all_cases()
        .into_iter()
        .filter(|c| {
            opts.cases
                .as_deref()
                .is_none_or(|g| glob::matches(g, c.name))
        })
        .filter(|c| policy.destructive || !c.destructive)
        .collect()
}

/// Runs every selected case (tidy() after each), calling `progress` before/after each.
pub fn run(
    bench: &mut Bench,
    opts: &RunOptions,
    progress: &mut dyn FnMut(Event),
) -> Vec<CaseResult> {
    let cases = select(opts, bench.policy());
    let total = cases.len();
    let gaps = gaps::known_gaps(opts.target);
    let mut results = Vec::with_capacity(total);
    for (index, case) in cases.iter().enumerate() {
        progress(Event::Start { index, total, case });
        let t0 = Instant::now();
        let outcome = match missing(case.needs, bench) {
            Some(why) => Err(CaseError::Skip(why.into())),
            None => (case.run)(bench),
        };
        let tidy = bench.tidy();
        let elapsed = t0.elapsed();
        let gap = gaps.iter().find(|g| g.0 == case.name).map(|g| g.1);
        let status = classify(outcome, tidy, gap);
        if let Status::Fail(why) = &status {
            tracing::info!(case = case.name, "failed: {why}");
        }
        let result = CaseResult {
            name: case.name,
            status,
            elapsed,
        };
        progress(Event::Done {
            index,
            total,
            result: &result,
        });
        results.push(result);
    }
    results
}

/// Why a case cannot run on this bench, when a device it needs is absent.
fn missing(needs: Needs, b: &Bench) -> Option<&'static str> {
    let tape = matches!(needs, Needs::Tape | Needs::Both) && !b.has_tape();
    let changer = matches!(needs, Needs::Changer | Needs::Both) && !b.has_changer();
    match (tape, changer) {
        (false, false) => None,
        (true, false) => Some("no tape drive under test (--tape)"),
        (false, true) => Some("no changer under test (--changer)"),
        (true, true) => Some("no tape drive and no changer under test"),
    }
}

/// Turns a case's outcome, the tidy-up after it and its known gap (if the
/// target kind has one) into a status.
fn classify(
    outcome: Result<(), CaseError>,
    tidy: Result<(), String>,
    gap: Option<&'static str>,
) -> Status {
    let failed = match outcome {
        Ok(()) => match tidy {
            Ok(()) => None,
            Err(t) => Some(format!("tidy-up after the case failed: {t}")),
        },
        Err(CaseError::Skip(why)) => return Status::Skip(why),
        Err(e) => Some(e.to_string()),
    };
    match (failed, gap) {
        (None, None) => Status::Pass,
        (None, Some(reason)) => Status::UnexpectedPass(format!(
            "listed as a known gap ({reason}) but passed: update gaps.rs"
        )),
        (Some(seen), Some(reason)) => Status::KnownGap {
            reason: reason.to_string(),
            seen,
        },
        (Some(seen), None) => Status::Fail(seen),
    }
}

/// Names of the results that are failures, known gaps excluded.
pub fn failures(results: &[CaseResult]) -> Vec<&'static str> {
    results
        .iter()
        .filter(|r| r.status.is_failure())
        .map(|r| r.name)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_names_are_unique_and_dotted() {
        let cases = all_cases();
        let mut names: Vec<&str> = cases.iter().map(|c| c.name).collect();
        for n in &names {
            assert!(
                n.starts_with("ssc.") || n.starts_with("smc."),
                "{n}: names start with ssc. or smc."
            );
            assert!(
                n.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._".contains(c)),
                "{n}: lower case, digits, dots and underscores only"
            );
        }
        let before = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), before, "duplicate case names");
    }

    #[test]
    fn classify_covers_every_combination() {
        let fail = || Err(CaseError::Fail("bad".into()));
        assert_eq!(classify(Ok(()), Ok(()), None), Status::Pass);
        assert_eq!(classify(fail(), Ok(()), None), Status::Fail("bad".into()));
        assert_eq!(
            classify(Err(CaseError::Skip("x".into())), Ok(()), Some("g")),
            Status::Skip("x".into())
        );
        assert_eq!(
            classify(fail(), Ok(()), Some("gap")),
            Status::KnownGap {
                reason: "gap".into(),
                seen: "bad".into()
            }
        );
        assert!(matches!(
            classify(Ok(()), Ok(()), Some("gap")),
            Status::UnexpectedPass(_)
        ));
        assert!(matches!(
            classify(Ok(()), Err("stuck".into()), None),
            Status::Fail(s) if s.contains("stuck")
        ));
    }

    #[test]
    fn known_gaps_name_real_cases() {
        let names: Vec<&str> = all_cases().iter().map(|c| c.name).collect();
        for kind in [
            TargetKind::VtlInProcess,
            TargetKind::VtlIscsi,
            TargetKind::Tgtd,
            TargetKind::Device,
        ] {
            for (case, _) in gaps::known_gaps(kind) {
                assert!(
                    names.contains(&case),
                    "{kind:?}: gap for unknown case {case}"
                );
            }
        }
    }
}

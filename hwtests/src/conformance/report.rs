//! Reporting: the progress line, the summary table, JUnit XML and JSON.

use super::{CaseResult, Status};

/// One line per case and a count line.
pub fn summary_table(results: &[CaseResult]) -> String {
    let width = results
        .iter()
        .map(|r| r.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut out = String::new();
    for r in results {
        let detail = r.status.detail();
        out.push_str(&format!(
            "{:<5} {:<width$} {:>7.2}s {}\n",
            r.status.label(),
            r.name,
            r.elapsed.as_secs_f64(),
            detail
        ));
    }
    let n = |f: fn(&Status) -> bool| results.iter().filter(|r| f(&r.status)).count();
    out.push_str(&format!(
        "{} cases: {} passed, {} failed, {} known gaps, {} skipped\n",
        results.len(),
        n(|s| matches!(s, Status::Pass)),
        n(Status::is_failure),
        n(|s| matches!(s, Status::KnownGap { .. })),
        n(|s| matches!(s, Status::Skip(_))),
    ));
    out
}

//! Reporting: the progress line, the summary table, JUnit XML and JSON.
//! Pure text builders; the runner decides where they go.

use serde_json::{Value, json};

use super::{Case, CaseResult, Event, Status};

/// What the run was against, for the reports' headers.
#[derive(Debug, Clone, Default)]
pub struct RunInfo {
    pub tape: Option<String>,
    pub changer: Option<String>,
    pub target: String,
    pub destructive: bool,
    pub allow_barcodes: Option<String>,
}

/// Counts per outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub total: usize,
    pub passed: usize,
    pub failed: usize,
    pub known_gaps: usize,
    pub skipped: usize,
}

pub fn totals(results: &[CaseResult]) -> Totals {
    let mut t = Totals {
        total: results.len(),
        ..Totals::default()
    };
    for r in results {
        match &r.status {
            Status::Pass => t.passed += 1,
            Status::Fail(_) | Status::UnexpectedPass(_) => t.failed += 1,
            Status::KnownGap { .. } => t.known_gaps += 1,
            Status::Skip(_) => t.skipped += 1,
        }
    }
    t
}

/// The live progress line for an event ("[12/70] ssc.space.to_eod").
pub fn progress_line(e: &Event) -> String {
    match e {
        Event::Start { index, total, case } => format!("[{}/{total}] {}", index + 1, case.name),
        Event::Done {
            index,
            total,
            result,
        } => format!(
            "[{}/{total}] {:<5} {} ({:.2}s)",
            index + 1,
            result.status.label(),
            result.name,
            result.elapsed.as_secs_f64()
        ),
    }
}

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
        out.push_str(
            format!(
                "{:<5} {:<width$} {:>7.2}s {}",
                r.status.label(),
                r.name,
                r.elapsed.as_secs_f64(),
                r.status.detail().replace('\n', " | ")
            )
            .trim_end(),
        );
        out.push('\n');
    }
    let t = totals(results);
    out.push_str(&format!(
        "{} cases: {} passed, {} failed, {} known gaps, {} skipped\n",
        t.total, t.passed, t.failed, t.known_gaps, t.skipped
    ));
    out
}

/// The case list `--list` prints: name, R/W, needs, summary.
pub fn case_list(cases: &[Case]) -> String {
    let width = cases.iter().map(|c| c.name.len()).max().unwrap_or(4);
    cases
        .iter()
        .map(|c| {
            format!(
                "{:<width$} {} {:<7} {}\n",
                c.name,
                if c.destructive { "RW" } else { "RO" },
                format!("{:?}", c.needs).to_lowercase(),
                c.summary
            )
        })
        .collect()
}

/// Text safe inside XML attributes and elements. Characters XML 1.0 does
/// not allow at all (most C0 controls) become U+FFFD.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// The JUnit class of a case: its name up to the last dot ("ssc.space").
fn class_of(name: &str) -> &str {
    name.rsplit_once('.').map_or(name, |(c, _)| c)
}

/// JUnit XML: one testsuite, one testcase per case. Known gaps and skips
/// are `<skipped>` (with the reason); failures and unexpected passes are
/// `<failure>`.
pub fn junit_xml(suite: &str, info: &RunInfo, results: &[CaseResult]) -> String {
    let t = totals(results);
    let time: f64 = results.iter().map(|r| r.elapsed.as_secs_f64()).sum();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str(&format!(
        "<testsuites tests=\"{}\" failures=\"{}\" skipped=\"{}\" time=\"{time:.3}\">\n",
        t.total,
        t.failed,
        t.skipped + t.known_gaps
    ));
    x.push_str(&format!(
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{time:.3}\">\n",
        xml_escape(suite),
        t.total,
        t.failed,
        t.skipped + t.known_gaps
    ));
    x.push_str("    <properties>\n");
    let props = [
        ("tape", info.tape.clone().unwrap_or_default()),
        ("changer", info.changer.clone().unwrap_or_default()),
        ("target", info.target.clone()),
        ("destructive", info.destructive.to_string()),
        (
            "allow_barcodes",
            info.allow_barcodes.clone().unwrap_or_default(),
        ),
    ];
    for (k, v) in props {
        x.push_str(&format!(
            "      <property name=\"{k}\" value=\"{}\"/>\n",
            xml_escape(&v)
        ));
    }
    x.push_str("    </properties>\n");
    for r in results {
        let open = format!(
            "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
            xml_escape(class_of(r.name)),
            xml_escape(r.name),
            r.elapsed.as_secs_f64()
        );
        match &r.status {
            Status::Pass => x.push_str(&format!("{open}/>\n")),
            Status::Skip(why) => x.push_str(&format!(
                "{open}>\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                xml_escape(why)
            )),
            Status::KnownGap { reason, seen } => x.push_str(&format!(
                "{open}>\n      <skipped message=\"known gap: {}\">{}</skipped>\n    </testcase>\n",
                xml_escape(reason),
                xml_escape(seen)
            )),
            Status::Fail(why) | Status::UnexpectedPass(why) => x.push_str(&format!(
                "{open}>\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>\n",
                xml_escape(why.lines().next().unwrap_or("")),
                r.status.label(),
                xml_escape(why)
            )),
        }
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

fn status_word(s: &Status) -> &'static str {
    match s {
        Status::Pass => "pass",
        Status::Fail(_) => "fail",
        Status::Skip(_) => "skip",
        Status::KnownGap { .. } => "known_gap",
        Status::UnexpectedPass(_) => "unexpected_pass",
    }
}

/// The JSON report: the run's facts, the totals and one object per case.
pub fn json_report(info: &RunInfo, results: &[CaseResult], cases: &[Case]) -> Value {
    let t = totals(results);
    let rows: Vec<Value> = results
        .iter()
        .map(|r| {
            let c = cases.iter().find(|c| c.name == r.name);
            let mut v = json!({
                "name": r.name,
                "status": status_word(&r.status),
                "elapsed_secs": r.elapsed.as_secs_f64(),
                "destructive": c.map(|c| c.destructive),
                "summary": c.map(|c| c.summary),
            });
            match &r.status {
                Status::Pass => {}
                Status::Fail(d) | Status::Skip(d) | Status::UnexpectedPass(d) => {
                    v["detail"] = json!(d);
                }
                Status::KnownGap { reason, seen } => {
                    v["gap_reason"] = json!(reason);
                    v["detail"] = json!(seen);
                }
            }
            v
        })
        .collect();
    json!({
        "tape": info.tape,
        "changer": info.changer,
        "target": info.target,
        "destructive": info.destructive,
        "allow_barcodes": info.allow_barcodes,
        "totals": {
            "total": t.total,
            "passed": t.passed,
            "failed": t.failed,
            "known_gaps": t.known_gaps,
            "skipped": t.skipped,
        },
        "cases": rows,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn results() -> Vec<CaseResult> {
        let ms = Duration::from_millis;
        vec![
            CaseResult {
                name: "ssc.a.pass",
                status: Status::Pass,
                elapsed: ms(1500),
            },
            CaseResult {
                name: "ssc.a.fail",
                status: Status::Fail("got <1> & \"2\"\nsecond line".into()),
                elapsed: ms(20),
            },
            CaseResult {
                name: "ssc.b.skip",
                status: Status::Skip("needs --destructive".into()),
                elapsed: ms(0),
            },
            CaseResult {
                name: "smc.c.gap",
                status: Status::KnownGap {
                    reason: "tgt's 'gap'".into(),
                    seen: "x\u{1}y".into(),
                },
                elapsed: ms(5),
            },
        ]
    }

    #[test]
    fn escapes_markup_quotes_and_controls() {
        assert_eq!(
            xml_escape("a<b>&\"c\"'d'\te\u{0}\u{1b}"),
            "a&lt;b&gt;&amp;&quot;c&quot;&apos;d&apos;\te\u{fffd}\u{fffd}"
        );
        assert_eq!(xml_escape("ünïcode"), "ünïcode");
    }

    #[test]
    fn totals_count_each_outcome() {
        assert_eq!(
            totals(&results()),
            Totals {
                total: 4,
                passed: 1,
                failed: 1,
                known_gaps: 1,
                skipped: 1
            }
        );
    }

    #[test]
    fn junit_lists_every_case_with_its_outcome() {
        let x = junit_xml("reel-hwtest", &RunInfo::default(), &results());
        assert!(x.contains(
            "<testsuite name=\"reel-hwtest\" tests=\"4\" failures=\"1\" errors=\"0\" skipped=\"2\""
        ));
        assert!(x.contains("<testcase classname=\"ssc.a\" name=\"ssc.a.pass\" time=\"1.500\"/>"));
        assert!(x.contains(
            "<failure message=\"got &lt;1&gt; &amp; &quot;2&quot;\" type=\"FAIL\">got &lt;1&gt; &amp; &quot;2&quot;\nsecond line</failure>"
        ));
        assert!(x.contains("<skipped message=\"needs --destructive\"/>"));
        assert!(x.contains(
            "<skipped message=\"known gap: tgt&apos;s &apos;gap&apos;\">x\u{fffd}y</skipped>"
        ));
        assert_eq!(x.matches("<testcase ").count(), 4);
        assert!(x.ends_with("</testsuites>\n"));
    }

    #[test]
    fn json_has_totals_and_cases() {
        let v = json_report(&RunInfo::default(), &results(), &[]);
        assert_eq!(v["totals"]["failed"], 1);
        assert_eq!(v["cases"][1]["status"], "fail");
        assert_eq!(v["cases"][3]["status"], "known_gap");
        assert_eq!(v["cases"][3]["gap_reason"], "tgt's 'gap'");
        assert_eq!(v["cases"].as_array().map(Vec::len), Some(4));
    }

    #[test]
    fn table_has_a_line_per_case_and_totals() {
        let t = summary_table(&results());
        assert_eq!(t.lines().count(), 5);
        assert!(
            t.lines()
                .next()
                .unwrap_or("")
                .starts_with("PASS  ssc.a.pass")
        );
        assert!(t.ends_with("4 cases: 1 passed, 1 failed, 1 known gaps, 1 skipped\n"));
    }
}

//! Test-only syntax check of `udev/60-reel-tape.rules`, since `udevadm
//! verify` is not available everywhere reel is built: every rule is a
//! comma-separated list of `KEY[{ATTR}]OP"VALUE"`, operators fit the key,
//! and every GOTO has its LABEL.

const RULES: &str = include_str!("../../../udev/60-reel-tape.rules");

/// Splits one rule line into (key, op, value) triples.
fn parse_line(line: &str) -> Result<Vec<(String, String, String)>, String> {
    let mut out = Vec::new();
    let mut rest = line.trim();
    while !rest.is_empty() {
        let key_end = rest
            .find(['=', '!', '+', ':'])
            .ok_or_else(|| format!("no operator in {rest:?}"))?;
        let key = rest[..key_end].trim().to_string();
        let after = &rest[key_end..];
        let op = ["==", "!=", "+=", ":=", "-=", "="]
            .into_iter()
            .find(|op| after.starts_with(op))
            .ok_or_else(|| format!("bad operator in {after:?}"))?;
        let value_part = after[op.len()..].trim_start();
        let body = value_part
            .strip_prefix('"')
            .ok_or_else(|| format!("value of {key} is not quoted"))?;
        let close = body
            .find('"')
            .ok_or_else(|| format!("unterminated value of {key}"))?;
        out.push((key, op.to_string(), body[..close].to_string()));
        rest = body[close + 1..].trim_start();
        if let Some(r) = rest.strip_prefix(',') {
            rest = r.trim_start();
            if rest.is_empty() {
                return Err("trailing comma".into());
            }
        } else if !rest.is_empty() {
            return Err(format!("missing comma before {rest:?}"));
        }
    }
    Ok(out)
}

#[test]
fn rules_are_well_formed() {
    let known = [
        "ACTION",
        "SUBSYSTEM",
        "SUBSYSTEMS",
        "KERNEL",
        "KERNELS",
        "ATTRS",
        "ENV",
        "TEST",
        "IMPORT",
        "GOTO",
        "LABEL",
        "GROUP",
        "MODE",
        "OPTIONS",
        "SYMLINK",
    ];
    let assign_only = [
        "IMPORT", "GOTO", "LABEL", "GROUP", "MODE", "OPTIONS", "SYMLINK",
    ];
    let match_only = [
        "ACTION",
        "SUBSYSTEM",
        "SUBSYSTEMS",
        "KERNEL",
        "KERNELS",
        "ATTRS",
        "TEST",
    ];
    let mut gotos = Vec::new();
    let mut labels = Vec::new();
    let mut rules = 0;
    for (n, line) in RULES.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        rules += 1;
        let triples = parse_line(line).unwrap_or_else(|e| panic!("line {}: {e}", n + 1));
        for (key, op, value) in triples {
            let base = key.split('{').next().unwrap_or("");
            assert!(known.contains(&base), "line {}: unknown key {key}", n + 1);
            if key.contains('{') {
                assert!(key.ends_with('}'), "line {}: {key}", n + 1);
            }
            let is_match = op == "==" || op == "!=";
            if assign_only.contains(&base) {
                assert!(!is_match, "line {}: {key} cannot be matched", n + 1);
            }
            if match_only.contains(&base) {
                assert!(is_match, "line {}: {key} can only be matched", n + 1);
            }
            match base {
                "GOTO" => gotos.push(value),
                "LABEL" => labels.push(value),
                _ => {}
            }
        }
    }
    assert!(rules > 10);
    for g in &gotos {
        assert!(labels.contains(g), "GOTO {g:?} has no LABEL");
    }
}

#[test]
fn checker_rejects_bad_lines() {
    assert!(parse_line(r#"KERNEL=="sg*""#).is_ok());
    assert!(parse_line(r#"KERNEL=="sg*", "#).is_err());
    assert!(parse_line(r#"KERNEL==sg"#).is_err());
    assert!(parse_line(r#"KERNEL=="sg"  GROUP="tape""#).is_err());
    assert!(parse_line(r#"KERNEL=="sg"#).is_err());
    assert!(parse_line(r#"KERNEL"#).is_err());
}

//! Output of `reelctl` commands: one serde value, printed either as JSON
//! (`--json`) or as aligned `key: value` lines for people.

use serde_json::Value;

/// Renders a JSON value as indented `key: value` lines; nulls are skipped.
pub fn human(v: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, v, 0);
    out
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Bool(b) => Some(if *b { "yes".into() } else { "no".into() }),
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

fn write_value(out: &mut String, v: &Value, indent: usize) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(map) => {
            let width = map
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, _)| k.len())
                .max()
                .unwrap_or(0);
            for (k, val) in map {
                match val {
                    Value::Null => {}
                    Value::Object(_) => {
                        out.push_str(&format!("{pad}{k}:\n"));
                        write_value(out, val, indent + 2);
                    }
                    Value::Array(items) if items.iter().all(|i| scalar(i).is_some()) => {
                        let list: Vec<String> = items.iter().filter_map(scalar).collect();
                        out.push_str(&format!("{pad}{k:<width$}  {}\n", list.join(", ")));
                    }
                    Value::Array(items) => {
                        out.push_str(&format!("{pad}{k}:\n"));
                        for i in items {
                            write_value(out, i, indent + 2);
                            if matches!(i, Value::Object(_)) {
                                out.push('\n');
                            }
                        }
                    }
                    _ => {
                        if let Some(s) = scalar(val) {
                            out.push_str(&format!("{pad}{k:<width$}  {s}\n"));
                        }
                    }
                }
            }
        }
        Value::Array(items) => {
            for i in items {
                write_value(out, i, indent);
            }
        }
        other => {
            if let Some(s) = scalar(other) {
                out.push_str(&format!("{pad}{s}\n"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_nested_values() {
        let v = json!({"vendor": "IBM", "worm": false, "skip": null, "n": 3,
                        "list": [1, 2], "pos": {"block": 7}});
        assert_eq!(
            human(&v),
            // serde_json maps are sorted by key.
            "list    1, 2\nn       3\npos:\n  block  7\nvendor  IBM\nworm    no\n"
        );
    }
}

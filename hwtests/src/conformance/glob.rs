//! The tiny glob used by `--cases` and `--allow-barcodes`: `*` matches any
//! run of characters (including none), `?` exactly one; everything else
//! matches itself. A comma separates alternatives ("ssc.space.*,smc.*").

/// True when `text` matches `pattern` (or one of its comma-separated
/// alternatives).
pub fn matches(pattern: &str, text: &str) -> bool {
    pattern
        .split(',')
        .any(|p| one(p.trim().as_bytes(), text.as_bytes()))
}

/// Iterative wildcard matching with one backtrack point (the last `*`).
fn one(p: &[u8], t: &[u8]) -> bool {
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == b'?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi.min(p.len())..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn wildcards() {
        assert!(matches("*", ""));
        assert!(matches("*", "ssc.space.eod"));
        assert!(matches("ssc.*", "ssc.space.eod"));
        assert!(!matches("ssc.*", "smc.move"));
        assert!(matches("ssc.*.eod", "ssc.space.eod"));
        assert!(matches("RL00??L8", "RL0001L8"));
        assert!(!matches("RL00??L8", "RL001L8"));
        assert!(matches("a*b*c", "axxbyyc"));
        assert!(!matches("a*b*c", "axxbyy"));
        assert!(matches("smc.*,ssc.space.*", "ssc.space.eod"));
        assert!(!matches("", "x"));
        assert!(matches("", ""));
        assert!(matches("*eod", "ssc.read.eod"));
        assert!(!matches("eod", "ssc.read.eod"));
    }
}

//! Alerts: what an operator must look at (a failed job attempt, a device
//! taken out of service, TapeAlert flags). Kept in memory, newest last,
//! bounded.

use std::collections::VecDeque;
use std::sync::Mutex;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Alert {
    pub id: u64,
    pub at: i64,
    /// info, warning, critical
    pub severity: &'static str,
    pub device: String,
    pub message: String,
    pub job: i64,
}

const KEEP: usize = 1000;

#[derive(Default)]
pub struct Alerts {
    inner: Mutex<(u64, VecDeque<Alert>)>,
}

impl Alerts {
    pub fn raise(&self, severity: &'static str, device: &str, job: i64, message: String) {
        tracing::warn!(severity, device, job, "alert: {message}");
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.0 += 1;
        let a = Alert {
            id: g.0,
            at: crate::db::unix_now(),
            severity,
            device: device.into(),
            message,
            job,
        };
        g.1.push_back(a);
        while g.1.len() > KEEP {
            g.1.pop_front();
        }
    }

    pub fn list(&self) -> Vec<Alert> {
        let g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.1.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alerts_are_numbered_and_bounded() {
        let a = Alerts::default();
        for i in 0..(KEEP + 5) {
            a.raise("warning", "d", 1, format!("m{i}"));
        }
        let l = a.list();
        assert_eq!(l.len(), KEEP);
        assert_eq!(l[0].id, 6);
        assert_eq!(l.last().unwrap().message, format!("m{}", KEEP + 4));
    }
}

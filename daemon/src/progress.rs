//! Progress display for long operations (erase, rewind, locate): on a
//! terminal only, so scripts and pipes see exactly what mt-st prints.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// A spinner or bar on stderr, or nothing when either stdout or stderr is
/// not a terminal.
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    pub fn enabled() -> bool {
        std::io::stdout().is_terminal() && std::io::stderr().is_terminal()
    }

    pub fn start(message: &str) -> Progress {
        if !Self::enabled() {
            return Progress { bar: None };
        }
        let bar = ProgressBar::new(u64::from(u16::MAX));
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {msg} [{elapsed_precise}] {wide_bar} {percent}%",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_message(message.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress { bar: Some(bar) }
    }

    /// A hidden progress (for callers that must not draw).
    pub fn hidden() -> Progress {
        Progress { bar: None }
    }

    pub fn is_visible(&self) -> bool {
        self.bar.is_some()
    }

    /// SCSI progress indication: `value` / 65536 done.
    pub fn set_indication(&self, value: u16) {
        if let Some(b) = &self.bar {
            b.set_position(u64::from(value));
        }
    }

    pub fn finish(self) {
        if let Some(b) = self.bar {
            b.finish_and_clear();
        }
    }
}

//! Reporting: the progress line, the summary table, JUnit XML and JSON.

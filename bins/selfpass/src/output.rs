//! Output formatting, in one place: human text (tables, ✓/✗/! lines) on stdout and stderr, or
//! with `--json` exactly one JSON document on stdout and everything else on stderr.

use std::io::{IsTerminal, Write};

use selfpass_core::{ConfigError, Failure};
use serde_json::{Value, json};

/// Exit code: everything went well.
pub const EXIT_OK: i32 = 0;
/// Exit code: some items of a bulk run failed (or a doctor warning under `--strict`).
pub const EXIT_PARTIAL: i32 = 1;
/// Exit code: usage or configuration error.
pub const EXIT_USAGE: i32 = 2;

/// A failure of a command, as the user sees it.
#[derive(Debug, Clone)]
pub struct CliError {
    /// Process exit code.
    pub code: i32,
    /// Stable key (`wrong-credentials`, `bad-input`, …).
    pub key: String,
    /// What went wrong.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
    /// Further lines (input errors, rule violations).
    pub details: Vec<String>,
}

impl CliError {
    /// A usage error (exit 2).
    pub fn usage(key: &str, message: impl Into<String>) -> Self {
        Self {
            code: EXIT_USAGE,
            key: key.to_owned(),
            message: message.into(),
            hint: None,
            details: Vec::new(),
        }
    }

    /// Adds a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Adds detail lines.
    pub fn with_details(mut self, details: Vec<String>) -> Self {
        self.details = details;
        self
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

impl From<Failure> for CliError {
    fn from(f: Failure) -> Self {
        Self::from(&f)
    }
}

impl From<&Failure> for CliError {
    fn from(f: &Failure) -> Self {
        let mut details: Vec<String> = f.detail().map(str::to_owned).into_iter().collect();
        details.extend(
            f.violations()
                .iter()
                .map(|v| format!("{} ({})", v.message, v.key)),
        );
        Self {
            code: f.exit_code(),
            key: f.key().to_owned(),
            message: f.message().to_owned(),
            hint: Some(f.hint().to_owned()).filter(|h| !h.is_empty()),
            details,
        }
    }
}

impl From<ConfigError> for CliError {
    fn from(e: ConfigError) -> Self {
        Self::usage("config", e.to_string())
            .with_hint("see `selfpass --help` (Settings) and docs/configuration.md")
    }
}

/// Where and how a command prints.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// `--json`.
    pub json: bool,
    /// `--quiet`.
    pub quiet: bool,
}

impl Output {
    /// An output mode.
    pub fn new(json: bool, quiet: bool) -> Self {
        Self { json, quiet }
    }

    /// Prints the one JSON document (with `--json`).
    pub fn document(&self, doc: &Value) {
        let text = serde_json::to_string_pretty(doc).unwrap_or_else(|_| "{}".to_owned());
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{text}");
    }

    /// Prints a line of the command's result (human mode) on stdout.
    pub fn line(&self, text: impl AsRef<str>) {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{}", text.as_ref());
    }

    /// Prints a note on stderr, unless `--quiet`.
    pub fn note(&self, text: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("{}", text.as_ref());
        }
    }

    /// Prints a warning on stderr (even with `--quiet`).
    pub fn warn(&self, text: impl AsRef<str>) {
        eprintln!("warning: {}", text.as_ref());
    }

    /// Reports `err` (a JSON document with `--json`, else lines on stderr) and returns its exit code.
    pub fn error(&self, err: &CliError) -> i32 {
        if self.json {
            self.document(&json!({
                "ok": false,
                "error": {
                    "key": err.key,
                    "message": err.message,
                    "hint": err.hint,
                    "details": err.details,
                    "exit_code": err.code,
                }
            }));
        } else {
            eprintln!("error: {}", err.message);
            for d in &err.details {
                eprintln!("  {d}");
            }
            if let Some(hint) = &err.hint {
                eprintln!("hint: {hint}");
            }
        }
        err.code
    }

    /// Whether stderr is a terminal a progress bar may draw on.
    pub fn progress_allowed(&self) -> bool {
        !self.quiet && !self.json && std::io::stderr().is_terminal()
    }
}

/// Renders a clap error: help and version go to stdout with exit 0, usage errors exit 2.
pub fn clap_error(err: &clap::Error, json: bool) -> i32 {
    use clap::error::ErrorKind;
    match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = err.print();
            EXIT_OK
        }
        _ if json => {
            let text = err.render().to_string();
            let message = text
                .lines()
                .next()
                .unwrap_or("usage error")
                .trim_start_matches("error: ")
                .to_owned();
            Output::new(true, false).error(
                &CliError::usage("usage", message)
                    .with_hint("see `selfpass --help`")
                    .with_details(
                        text.lines()
                            .skip(1)
                            .filter(|l| !l.trim().is_empty())
                            .map(str::to_owned)
                            .collect(),
                    ),
            )
        }
        _ => {
            let _ = err.print();
            EXIT_USAGE
        }
    }
}

/// A plain text table: a header row and rows, columns padded to their widest cell.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let mut out = String::new();
    let mut push_row = |cells: &mut dyn Iterator<Item = &str>| {
        let mut line = String::new();
        for (i, cell) in cells.enumerate() {
            let width = widths.get(i).copied().unwrap_or(0);
            line.push_str(cell);
            for _ in cell.chars().count()..width + 2 {
                line.push(' ');
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    };
    push_row(&mut header.iter().copied());
    for row in rows {
        push_row(&mut row.iter().map(String::as_str));
    }
    out
}

/// `YYYY-MM-DD` (UTC) of a Unix time in seconds.
pub fn date(unix_secs: i64) -> String {
    // Days to civil date (Howard Hinnant's algorithm).
    let days = unix_secs.div_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!("{y:04}-{m:02}-{d:02}")
}

/// `yes` / `no`.
pub fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_civil_utc() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(951_782_400), "2000-02-29");
        assert_eq!(date(1_763_856_000), "2025-11-23");
    }

    #[test]
    fn table_pads_columns() {
        let t = table(&["A", "BB"], &[vec!["xxx".into(), "y".into()]]);
        assert_eq!(t, "A    BB\nxxx  y\n");
    }
}

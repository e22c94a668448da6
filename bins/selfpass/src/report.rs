//! The per-user result report of a bulk reset (`--report FILE`), written atomically: a temporary
//! file (mode 0600, created new) in the same directory, then moved into place. A report holding
//! generated passwords never replaces an existing file: it is linked into place, which fails when
//! the name is taken, and the temporary file is kept and named instead.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use selfpass_core::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::output::CliError;

/// What happened to one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The password was set.
    Reset,
    /// Dry run: the row would be reset.
    WouldReset,
    /// The row failed.
    Failed,
    /// Not attempted (an earlier row failed and `--continue-on-error` was not given).
    Skipped,
}

impl Status {
    /// The word in reports and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Reset => "reset",
            Status::WouldReset => "would-reset",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
        }
    }
}

/// One row of the report.
#[derive(Debug)]
pub struct ReportRow {
    /// Line in the input file.
    pub line: u64,
    /// Username.
    pub username: String,
    /// Outcome.
    pub status: Status,
    /// The generated password (shown once, here).
    pub password: Option<SecretString>,
    /// Rules a given password fails (accepted with `--allow-weak`).
    pub weak: Vec<String>,
    /// Failure key.
    pub error_key: Option<String>,
    /// Failure sentence (and detail).
    pub error: Option<String>,
}

impl ReportRow {
    /// The row as JSON; the password only when `with_password`.
    pub fn to_json(&self, with_password: bool) -> Value {
        let mut v = json!({
            "line": self.line,
            "username": self.username,
            "status": self.status.as_str(),
        });
        if with_password && let Some(p) = &self.password {
            v["password"] = Value::String(p.expose_secret().to_owned());
        }
        if !self.weak.is_empty() {
            v["weak"] = json!(self.weak);
        }
        if let Some(k) = &self.error_key {
            v["error_key"] = Value::String(k.clone());
        }
        if let Some(e) = &self.error {
            v["error"] = Value::String(e.clone());
        }
        v
    }
}

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `line,username,status,password,error_key,error`.
    Csv,
    /// A JSON array of row objects.
    Json,
}

impl Format {
    /// By extension: `.json` / `.jsonl` JSON, anything else CSV.
    pub fn of(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("json") || e.eq_ignore_ascii_case("jsonl") => {
                Format::Json
            }
            _ => Format::Csv,
        }
    }
}

/// Checks, before anything changes, that the report can be written: the directory exists and,
/// for a report holding passwords, the name is free.
pub fn precheck(path: &Path, holds_passwords: bool) -> Result<(), CliError> {
    let dir = parent(path);
    if !dir.is_dir() {
        return Err(CliError::usage(
            "report",
            format!(
                "report {}: directory {} does not exist",
                path.display(),
                dir.display()
            ),
        ));
    }
    if holds_passwords && std::fs::symlink_metadata(path).is_ok() {
        return Err(CliError::usage(
            "report",
            format!(
                "report {} exists; a report holding generated passwords is never written over an existing file",
                path.display()
            ),
        )
        .with_hint("choose a new file name, or move the old report away first"));
    }
    Ok(())
}

fn parent(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Renders the rows.
pub fn render(rows: &[ReportRow], format: Format) -> Result<Vec<u8>, CliError> {
    let fail = |e: &dyn std::fmt::Display| {
        CliError::usage("report", format!("cannot render the report: {e}"))
    };
    match format {
        Format::Json => {
            let doc = Value::Array(rows.iter().map(|r| r.to_json(true)).collect());
            let mut bytes = serde_json::to_vec_pretty(&doc).map_err(|e| fail(&e))?;
            bytes.push(b'\n');
            Ok(bytes)
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record([
                "line",
                "username",
                "status",
                "password",
                "error_key",
                "error",
            ])
            .map_err(|e| fail(&e))?;
            for r in rows {
                let line = r.line.to_string();
                let mut error = r.error.clone().unwrap_or_default();
                if !r.weak.is_empty() {
                    error = format!("weak: {}", r.weak.join("; "));
                }
                w.write_record([
                    line.as_str(),
                    r.username.as_str(),
                    r.status.as_str(),
                    r.password.as_ref().map_or("", |p| p.expose_secret()),
                    r.error_key.as_deref().unwrap_or(""),
                    error.as_str(),
                ])
                .map_err(|e| fail(&e))?;
            }
            w.into_inner().map_err(|e| fail(&e))
        }
    }
}

/// Writes `bytes` to `path` atomically (see the module doc).
pub fn write_atomic(path: &Path, bytes: &[u8], holds_passwords: bool) -> Result<(), CliError> {
    let dir = parent(path);
    let file_name = path
        .file_name()
        .map_or_else(|| "report".into(), |n| n.to_string_lossy().into_owned());
    let temp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let io_fail = |what: &str, e: std::io::Error| {
        CliError::usage("report", format!("report {}: {what}: {e}", path.display()))
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temp)
        .map_err(|e| io_fail("cannot create a temporary file", e))?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    drop(file);
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(io_fail("cannot write", e));
    }
    let placed = if holds_passwords {
        std::fs::hard_link(&temp, path).and_then(|()| std::fs::remove_file(&temp))
    } else {
        std::fs::rename(&temp, path)
    };
    match placed {
        Ok(()) => {
            if let Ok(d) = std::fs::File::open(&dir) {
                let _ = d.sync_all();
            }
            Ok(())
        }
        Err(e) if holds_passwords => Err(CliError {
            code: crate::output::EXIT_PARTIAL,
            key: "report".into(),
            message: format!(
                "report {} could not be put in place ({e}); the results, with the generated passwords, \
                 are in {}",
                path.display(),
                temp.display()
            ),
            hint: Some("move that file where you want it; it is readable by you only".into()),
            details: Vec::new(),
        }),
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            Err(io_fail("cannot move the temporary file into place", e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn row(name: &str, password: Option<&str>) -> ReportRow {
        ReportRow {
            line: 1,
            username: name.into(),
            status: Status::Reset,
            password: password.map(SecretString::from),
            weak: Vec::new(),
            error_key: None,
            error: None,
        }
    }

    #[test]
    fn secret_report_is_0600_and_never_replaces_a_file() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("r.csv");
        let bytes = render(&[row("alice", Some("s3cret-generated"))], Format::Csv)?;
        write_atomic(&path, &bytes, true)?;
        let mode = std::fs::metadata(&path)?.permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(std::fs::read_to_string(&path)?.contains("alice,reset,s3cret-generated"));
        assert!(precheck(&path, true).is_err());
        let again = write_atomic(&path, &bytes, true);
        assert!(again.is_err());
        // The old report is untouched and the new one waits in the named temporary file.
        assert!(std::fs::read_to_string(&path)?.contains("s3cret-generated"));
        Ok(())
    }

    #[test]
    fn plain_report_replaces_atomically() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("r.json");
        std::fs::write(&path, "old")?;
        let bytes = render(&[row("bob", None)], Format::of(&path))?;
        write_atomic(&path, &bytes, false)?;
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
        assert_eq!(doc[0]["username"], "bob");
        Ok(())
    }
}

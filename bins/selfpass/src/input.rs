//! The bulk input of `reset --from FILE`: CSV (`username[,password]`, header optional) or JSON
//! Lines. Every problem names the file, the line and the field; all problems are collected before
//! anything is changed. Duplicate usernames (compared case-insensitively, as SMB does) and empty
//! passwords are errors.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use selfpass_core::SecretString;
use serde_json::Value;

use crate::cli::InputFormat;
use crate::output::CliError;

/// At most this many problems are listed (then a count of the rest).
const MAX_LISTED: usize = 50;

/// One row of the input.
#[derive(Debug)]
pub struct Row {
    /// 1-based line number in the file.
    pub line: u64,
    /// The username, trimmed.
    pub username: String,
    /// The password, when the row has one (`None`: generate).
    pub password: Option<SecretString>,
}

/// Reads and checks the whole file (`-`: stdin).
pub fn read_rows(
    path: &Path,
    format: Option<InputFormat>,
    generate: bool,
) -> Result<Vec<Row>, CliError> {
    let name = path.display().to_string();
    let mut bytes = Vec::new();
    let read = if path == Path::new("-") {
        std::io::stdin().lock().read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut bytes))
    };
    if let Err(e) = read {
        return Err(CliError::usage(
            "bad-input",
            format!("cannot read {name}: {e}"),
        ));
    }
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let line = e.as_bytes()[..at].iter().filter(|b| **b == b'\n').count() + 1;
            return Err(CliError::usage(
                "bad-input",
                format!("{name}:{line}: not UTF-8 text"),
            ));
        }
    };
    let format = format
        .or_else(|| format_by_extension(path))
        .unwrap_or_else(|| format_by_content(&text));
    parse(&text, format, generate).map_err(|problems| {
        let total = problems.len();
        let mut details: Vec<String> = problems
            .into_iter()
            .take(MAX_LISTED)
            .map(|p| format!("{name}:{p}"))
            .collect();
        if total > MAX_LISTED {
            details.push(format!("… and {} more", total - MAX_LISTED));
        }
        CliError::usage(
            "bad-input",
            format!("{name}: {total} problem{} in the input; nothing was changed", plural(total)),
        )
        .with_details(details)
        .with_hint(
            "each row is username[,password] (CSV, header optional) or {\"username\": …, \"password\": …} \
             (JSON Lines); rows without a password need --generate",
        )
    })
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn format_by_extension(path: &Path) -> Option<InputFormat> {
    match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
        "csv" | "txt" => Some(InputFormat::Csv),
        "jsonl" | "ndjson" | "json" => Some(InputFormat::Jsonl),
        _ => None,
    }
}

fn format_by_content(text: &str) -> InputFormat {
    if text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .starts_with('{')
    {
        InputFormat::Jsonl
    } else {
        InputFormat::Csv
    }
}

/// Parses `text`; on failure, every problem as `LINE: field F: what`.
pub fn parse(text: &str, format: InputFormat, generate: bool) -> Result<Vec<Row>, Vec<String>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut problems = Vec::new();
    let raw = match format {
        InputFormat::Csv => parse_csv(text, &mut problems),
        InputFormat::Jsonl => parse_jsonl(text, &mut problems),
    };
    let mut rows = Vec::with_capacity(raw.len());
    let mut seen: HashMap<String, u64> = HashMap::new();
    for (line, username, password) in raw {
        if username.is_empty() {
            problems.push(format!("{line}: field username: empty"));
            continue;
        }
        if username.chars().any(char::is_control) {
            problems.push(format!(
                "{line}: field username: contains a control character"
            ));
            continue;
        }
        match &password {
            Some(p) if p.is_empty() => {
                problems.push(format!(
                    "{line}: field password: empty (leave the field out and pass --generate to generate one)"
                ));
                continue;
            }
            None if !generate => {
                problems.push(format!(
                    "{line}: field password: missing (give one, or pass --generate to generate it)"
                ));
                continue;
            }
            _ => {}
        }
        if let Some(first) = seen.get(&username.to_lowercase()) {
            problems.push(format!(
                "{line}: field username: duplicate of line {first} ({username})"
            ));
            continue;
        }
        seen.insert(username.to_lowercase(), line);
        rows.push(Row {
            line,
            username,
            password: password.map(SecretString::from),
        });
    }
    if problems.is_empty() {
        if rows.is_empty() {
            return Err(vec!["1: no rows (the file is empty)".to_owned()]);
        }
        Ok(rows)
    } else {
        Err(problems)
    }
}

type RawRow = (u64, String, Option<String>);

fn parse_csv(text: &str, problems: &mut Vec<String>) -> Vec<RawRow> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::None)
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    // Column positions: username first, password second, unless a header says otherwise.
    let mut columns = (0usize, Some(1usize));
    let mut first = true;
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, csv::Position::line);
                problems.push(format!("{line}: not valid CSV: {}", csv_reason(&e)));
                continue;
            }
        };
        let line = record.position().map_or(0, csv::Position::line);
        if first {
            first = false;
            let is_header = record
                .get(0)
                .is_some_and(|f| f.trim().eq_ignore_ascii_case("username"))
                || record
                    .get(1)
                    .is_some_and(|f| f.trim().eq_ignore_ascii_case("username"));
            if is_header {
                match header_columns(&record) {
                    Ok(c) => columns = c,
                    Err(p) => problems.push(format!("{line}: {p}")),
                }
                continue;
            }
        }
        let width = if columns.1.is_some() { 2 } else { 1 };
        if record.len() > width {
            problems.push(format!(
                "{line}: field {}: unexpected (a row is username[,password]; found {} fields — \
                 quote a password holding a comma)",
                width + 1,
                record.len()
            ));
            continue;
        }
        let username = record.get(columns.0).unwrap_or("").trim().to_owned();
        let password = columns.1.and_then(|i| record.get(i)).map(str::to_owned);
        out.push((line, username, password));
    }
    out
}

fn header_columns(record: &csv::StringRecord) -> Result<(usize, Option<usize>), String> {
    let mut username = None;
    let mut password = None;
    for (i, name) in record.iter().enumerate() {
        match name.trim().to_ascii_lowercase().as_str() {
            "username" if username.is_none() => username = Some(i),
            "password" if password.is_none() => password = Some(i),
            other => {
                return Err(format!(
                    "field {}: unknown or repeated column '{other}' in the header (username, password)",
                    i + 1
                ));
            }
        }
    }
    let username = username.ok_or("field username: missing in the header")?;
    Ok((username, password))
}

fn csv_reason(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths { .. } => "rows have different numbers of fields".into(),
        csv::ErrorKind::Utf8 { .. } => "not UTF-8 text".into(),
        _ => {
            let text = e.to_string();
            text.split(": ").last().unwrap_or(&text).to_owned()
        }
    }
}

fn parse_jsonl(text: &str, problems: &mut Vec<String>) -> Vec<RawRow> {
    let mut out = Vec::new();
    for (index, raw_line) in text.lines().enumerate() {
        let line = index as u64 + 1;
        let trimmed = raw_line.trim();
        if trimmed.is_empty() {
            continue;
        }
        let value: Value = match serde_json::from_str(trimmed) {
            Ok(v) => v,
            Err(e) => {
                let reason = e.to_string();
                let reason = reason
                    .split(" at line ")
                    .next()
                    .unwrap_or(&reason)
                    .to_owned();
                problems.push(format!(
                    "{line}: not valid JSON (column {}): {reason}",
                    e.column()
                ));
                continue;
            }
        };
        let Value::Object(map) = value else {
            problems.push(format!(
                "{line}: expected an object {{\"username\": …, \"password\": …}}"
            ));
            continue;
        };
        let mut bad = false;
        for key in map.keys() {
            if key != "username" && key != "password" {
                problems.push(format!("{line}: field {key}: unknown (username, password)"));
                bad = true;
            }
        }
        let username = match map.get("username") {
            Some(Value::String(s)) => s.trim().to_owned(),
            Some(_) => {
                problems.push(format!("{line}: field username: not a string"));
                continue;
            }
            None => {
                problems.push(format!("{line}: field username: missing"));
                continue;
            }
        };
        let password = match map.get("password") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Null) | None => None,
            Some(_) => {
                problems.push(format!("{line}: field password: not a string"));
                continue;
            }
        };
        if !bad {
            out.push((line, username, password));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use selfpass_core::ExposeSecret;

    #[test]
    fn csv_with_and_without_header() -> Result<(), Vec<String>> {
        let rows = parse(
            "username,password\nalice,pw one\nbob,\"a,b\"\n",
            InputFormat::Csv,
            false,
        )?;
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].line, 3);
        assert_eq!(
            rows[1]
                .password
                .as_ref()
                .map(|p| p.expose_secret().to_owned()),
            Some("a,b".into())
        );
        let rows = parse("alice\nbob\n", InputFormat::Csv, true)?;
        assert_eq!(rows.len(), 2);
        assert!(rows[0].password.is_none());
        Ok(())
    }

    #[test]
    fn csv_problems_name_line_and_field() {
        let Err(p) = parse(
            "alice,x\n,y\nbob,\ncarol\nALICE,z\nd,e,f\n",
            InputFormat::Csv,
            false,
        ) else {
            panic!("should fail");
        };
        assert!(
            p.iter().any(|p| p.starts_with("2: field username: empty")),
            "{p:?}"
        );
        assert!(
            p.iter().any(|p| p.starts_with("3: field password: empty")),
            "{p:?}"
        );
        assert!(
            p.iter()
                .any(|p| p.starts_with("4: field password: missing")),
            "{p:?}"
        );
        assert!(
            p.iter()
                .any(|p| p.starts_with("5: field username: duplicate of line 1")),
            "{p:?}"
        );
        assert!(
            p.iter().any(|p| p.starts_with("6: field 3: unexpected")),
            "{p:?}"
        );
    }

    #[test]
    fn jsonl_problems_name_line_and_field() {
        let text = "{\"username\":\"alice\",\"password\":\"x\"}\n\n{\"username\":1}\n{bad\n{\"username\":\"b\",\"pw\":\"x\"}\n";
        let Err(p) = parse(text, InputFormat::Jsonl, true) else {
            panic!("should fail");
        };
        assert!(
            p.iter()
                .any(|p| p.starts_with("3: field username: not a string")),
            "{p:?}"
        );
        assert!(
            p.iter().any(|p| p.starts_with("4: not valid JSON")),
            "{p:?}"
        );
        assert!(
            p.iter().any(|p| p.starts_with("5: field pw: unknown")),
            "{p:?}"
        );
    }

    #[test]
    fn format_is_sniffed_from_content() {
        assert_eq!(
            format_by_content("\u{feff}{\"username\":\"a\"}"),
            InputFormat::Jsonl
        );
        assert_eq!(format_by_content("username\nalice"), InputFormat::Csv);
    }
}

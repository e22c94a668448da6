//! `selfpass completions SHELL` and `selfpass man`, generated from the clap definition.

use serde_json::json;

use crate::cli::{self, CompletionsArgs};
use crate::output::{CliError, EXIT_OK, Output};

/// Prints a completion script.
pub fn completions(args: &CompletionsArgs, out: &Output) -> Result<i32, CliError> {
    let mut cmd = cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "selfpass", &mut buf);
    emit(
        out,
        "completions",
        String::from_utf8_lossy(&buf).into_owned(),
    );
    Ok(EXIT_OK)
}

/// Prints the man page (roff).
pub fn man(out: &Output) -> Result<i32, CliError> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(cli::command())
        .render(&mut buf)
        .map_err(|e| CliError::usage("internal", format!("cannot render the man page: {e}")))?;
    emit(out, "man", String::from_utf8_lossy(&buf).into_owned());
    Ok(EXIT_OK)
}

fn emit(out: &Output, command: &str, text: String) {
    if out.json {
        out.document(&json!({ "ok": true, "command": command, "text": text }));
    } else {
        out.line(text.trim_end());
    }
}

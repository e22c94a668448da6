//! Reading a password from stdin (`--password-stdin`, `check`): one line, the line ending
//! stripped, nothing else touched. Never echoed back, never logged.

use std::io::{BufRead, IsTerminal};

use selfpass_core::SecretString;

use crate::output::CliError;

/// Reads one password line from stdin. An empty password is an error.
pub fn read_password(what: &str) -> Result<SecretString, CliError> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("{what} (typed text is visible; end with Enter): ");
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line).map_err(|e| {
        CliError::usage(
            "bad-input",
            format!("cannot read the password from stdin: {e}"),
        )
    })?;
    let password = strip_line_ending(line);
    if password.is_empty() {
        return Err(
            CliError::usage("bad-input", "the password read from stdin is empty").with_hint(
                "pipe it in, e.g. `printf %s \"$PW\" | selfpass reset USER --password-stdin`",
            ),
        );
    }
    Ok(SecretString::from(password))
}

fn strip_line_ending(mut line: String) -> String {
    if line.ends_with('\n') {
        line.pop();
        if line.ends_with('\r') {
            line.pop();
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_line_ending_is_stripped() {
        assert_eq!(strip_line_ending(" pw \r\n".into()), " pw ");
        assert_eq!(strip_line_ending("pw".into()), "pw");
    }
}

//! Looks at the raw command line before clap does: refuses secrets given as argument values (with
//! the reason and what to use instead) and notices `--json` early so that even usage errors come
//! out as one JSON document.

use std::ffi::OsString;

use crate::output::CliError;

/// Flags that would carry a secret on the command line, and what to use instead.
const SECRET_FLAGS: &[(&str, &str)] = &[
    (
        "--api-key",
        "use --api-key-file FILE, or the TRUENAS_API_KEY_FILE or TRUENAS_API_KEY environment variable",
    ),
    ("--key", "use --api-key-file FILE, or TRUENAS_API_KEY_FILE"),
    (
        "--token",
        "use --api-key-file FILE, or TRUENAS_API_KEY_FILE",
    ),
    (
        "--password",
        "use --password-stdin (e.g. `printf %s \"$PW\" | selfpass reset USER --password-stdin`), \
         --generate, or a file with --from",
    ),
    (
        "--new-password",
        "use --password-stdin, --generate, or --from FILE",
    ),
    ("--pass", "use --password-stdin, --generate, or --from FILE"),
    ("-p", "use --password-stdin, --generate, or --from FILE"),
    (
        "--secret-key",
        "use the SECRET_KEY_FILE environment variable",
    ),
];

/// Whether `--json` appears before a `--` (so usage errors can be rendered as JSON too).
pub fn wants_json(args: &[OsString]) -> bool {
    args.iter()
        .skip(1)
        .take_while(|a| *a != "--")
        .any(|a| a == "--json")
}

/// Refuses a key or password given as a plain argument value: command lines are visible to every
/// user of the machine (`ps`, `/proc/PID/cmdline`) and end up in shell history.
pub fn refuse_secrets(args: &[OsString]) -> Result<(), CliError> {
    for arg in args.iter().skip(1).take_while(|a| *a != "--") {
        let Some(text) = arg.to_str() else { continue };
        let name = text.split_once('=').map_or(text, |(n, _)| n);
        if let Some((flag, instead)) = SECRET_FLAGS.iter().find(|(f, _)| *f == name) {
            return Err(CliError::usage(
                "secret-on-command-line",
                format!(
                    "{flag} is refused: a key or password on the command line is visible to every \
                     user of this machine (ps, /proc) and stays in shell history"
                ),
            )
            .with_hint(*instead));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn refuses_secret_flags_with_and_without_equals() {
        for bad in [
            &["selfpass", "--api-key", "1-abc", "users"][..],
            &["selfpass", "--api-key=1-abc", "users"],
            &["selfpass", "reset", "alice", "--password", "x"],
            &["selfpass", "reset", "alice", "--password=x"],
        ] {
            assert!(refuse_secrets(&args(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn allows_file_and_stdin_forms_and_values_after_double_dash() {
        for good in [
            &["selfpass", "--api-key-file", "/k", "users"][..],
            &["selfpass", "reset", "alice", "--password-stdin"],
            &["selfpass", "check", "--", "--password"],
        ] {
            assert!(refuse_secrets(&args(good)).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn json_is_noticed_before_double_dash_only() {
        assert!(wants_json(&args(&["selfpass", "users", "--json"])));
        assert!(!wants_json(&args(&["selfpass", "check", "--", "--json"])));
    }
}

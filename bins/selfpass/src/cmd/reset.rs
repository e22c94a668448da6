//! `selfpass reset USER (--password-stdin | --generate [--length N])`.

use selfpass_core::{ExposeSecret, NewPassword, ResetOptions};
use serde_json::{Value, json};

use crate::cli::{Global, ResetArgs};
use crate::output::{CliError, EXIT_OK, Output};
use crate::{secrets, session};

/// Resets one user's password.
pub fn run(global: &Global, args: &ResetArgs, out: &Output) -> Result<i32, CliError> {
    let Some(user) = args.user.as_deref() else {
        return Err(CliError::usage("usage", "reset needs USER or --from FILE"));
    };
    let bulk_only = [
        ("--report", args.report.is_some()),
        ("--continue-on-error", args.continue_on_error),
        ("--format", args.format.is_some()),
    ];
    if let Some((flag, _)) = bulk_only.iter().find(|(_, given)| *given) {
        return Err(CliError::usage(
            "usage",
            format!("{flag} goes with --from FILE (bulk reset)"),
        ));
    }
    let new = match (args.password_stdin, args.generate) {
        (true, false) => {
            NewPassword::Given(secrets::read_password(&format!("New password for {user}"))?)
        }
        (false, true) => NewPassword::Generated {
            length: usize::from(args.length),
        },
        _ => {
            return Err(CliError::usage(
                "usage",
                "reset USER needs exactly one of --password-stdin and --generate",
            )
            .with_hint("a password is never given as an argument: pipe it to --password-stdin"));
        }
    };
    let options = options(args);
    let config = session::load_config(global)?;
    let rt = session::runtime()?;
    let reset = rt.block_on(async {
        let core = session::connect(config).await?;
        core.admin_reset(user, new, options)
            .await
            .map_err(CliError::from)
    })?;
    for v in &reset.weak {
        out.warn(format!(
            "{}: the password breaks a rule ({}); accepted because of --allow-weak (audited)",
            reset.username, v.message
        ));
    }
    if out.json {
        let mut doc = json!({
            "ok": true,
            "command": "reset",
            "username": reset.username,
            "dry_run": reset.dry_run,
            "generated": reset.generated.is_some(),
            "weak": reset.weak,
        });
        if let Some(p) = &reset.generated {
            doc["password"] = Value::String(p.expose_secret().to_owned());
        }
        out.document(&doc);
    } else {
        let verb = if reset.dry_run {
            "would be reset (dry run, nothing changed)"
        } else {
            "reset"
        };
        match &reset.generated {
            // The generated password is the command's output: printed even with --quiet.
            Some(p) if !reset.dry_run => {
                out.note(format!(
                    "{}: password {verb}; the new password (shown once):",
                    reset.username
                ));
                out.line(p.expose_secret());
            }
            _ => out.line(format!("{}: password {verb}", reset.username)),
        }
    }
    Ok(EXIT_OK)
}

/// The core's reset options from the flags.
pub fn options(args: &ResetArgs) -> ResetOptions {
    ResetOptions {
        allow_weak: args.allow_weak,
        force_protected: args.force_protected,
        dry_run: args.dry_run,
    }
}

//! `selfpass check USER` (password on stdin).

use serde_json::json;

use crate::cli::{Global, UserArg};
use crate::output::{CliError, EXIT_OK, Output};
use crate::{secrets, session};

/// Exit code when the password was not accepted.
const EXIT_REJECTED: i32 = 1;

/// Runs the verifier chain for a user and says which verifier answered.
pub fn run(global: &Global, args: &UserArg, out: &Output) -> Result<i32, CliError> {
    let password = secrets::read_password(&format!("Password of {}", args.user))?;
    let config = session::load_config(global)?;
    let rt = session::runtime()?;
    let report = rt.block_on(async {
        let core = session::connect(config).await?;
        core.check(&args.user, password)
            .await
            .map_err(CliError::from)
    })?;
    let code = if report.accepted {
        EXIT_OK
    } else {
        EXIT_REJECTED
    };
    if out.json {
        let steps: Vec<_> = report
            .steps
            .iter()
            .map(|(name, verdict)| json!({ "verifier": name, "verdict": verdict }))
            .collect();
        out.document(&json!({
            "ok": report.accepted,
            "command": "check",
            "username": report.username,
            "accepted": report.accepted,
            "decided_by": report.decided_by,
            "steps": steps,
        }));
    } else {
        for (name, verdict) in &report.steps {
            out.line(format!("  {name:<6} {verdict}"));
        }
        match (&report.decided_by, report.accepted) {
            (Some(by), true) => out.line(format!("{}: accepted by {by}", report.username)),
            (Some(by), false) => out.line(format!("{}: rejected by {by}", report.username)),
            (None, _) => out.line(format!(
                "{}: not decided: every verifier was unavailable",
                report.username
            )),
        }
    }
    Ok(code)
}

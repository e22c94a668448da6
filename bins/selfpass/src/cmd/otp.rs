//! `selfpass otp USER`.

use selfpass_core::ExposeSecret;
use serde_json::json;

use crate::cli::{Global, UserArg};
use crate::output::{CliError, EXIT_OK, Output};
use crate::session;

/// Prints TrueNAS's one-time password for a user (once; never logged).
pub fn run(global: &Global, args: &UserArg, out: &Output) -> Result<i32, CliError> {
    let config = session::load_config(global)?;
    let rt = session::runtime()?;
    let otp = rt.block_on(async {
        let core = session::connect(config).await?;
        core.one_time_password(&args.user)
            .await
            .map_err(CliError::from)
    })?;
    if out.json {
        out.document(&json!({
            "ok": true,
            "command": "otp",
            "username": args.user,
            "one_time_password": otp.expose_secret(),
        }));
    } else {
        out.note(format!(
            "{}: one-time password (single use; the user must choose a new password after signing in):",
            args.user
        ));
        out.line(otp.expose_secret());
    }
    Ok(EXIT_OK)
}

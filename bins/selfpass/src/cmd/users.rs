//! `selfpass users [--filter TEXT]`.

use serde_json::json;

use crate::cli::{Global, UsersArgs};
use crate::output::{self, CliError, EXIT_OK, Output};
use crate::session;

/// Lists users.
pub fn run(global: &Global, args: &UsersArgs, out: &Output) -> Result<i32, CliError> {
    let config = session::load_config(global)?;
    let rt = session::runtime()?;
    let users = rt.block_on(async {
        let core = session::connect(config).await?;
        core.list_users(args.filter.as_deref())
            .await
            .map_err(CliError::from)
    })?;
    if out.json {
        out.document(&json!({ "ok": true, "command": "users", "users": users }));
        return Ok(EXIT_OK);
    }
    let rows: Vec<Vec<String>> = users
        .iter()
        .map(|u| {
            vec![
                u.username.clone(),
                u.uid.to_string(),
                output::yes_no(u.smb),
                output::yes_no(u.locked),
                output::yes_no(u.password_disabled),
                u.last_password_change
                    .map_or_else(|| "never".to_owned(), output::date),
                u.password_age_days
                    .map_or_else(|| "-".to_owned(), |d| d.to_string()),
                output::yes_no(u.two_factor),
                if u.local { "local" } else { "directory" }.to_owned(),
            ]
        })
        .collect();
    out.line(
        output::table(
            &[
                "USERNAME",
                "UID",
                "SMB",
                "LOCKED",
                "PW-DISABLED",
                "LAST-CHANGE",
                "AGE-DAYS",
                "2FA",
                "SOURCE",
            ],
            &rows,
        )
        .trim_end(),
    );
    out.note(format!(
        "{} user{}",
        users.len(),
        if users.len() == 1 { "" } else { "s" }
    ));
    Ok(EXIT_OK)
}

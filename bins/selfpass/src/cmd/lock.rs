//! `selfpass lock USER` and `selfpass unlock USER`.

use serde_json::json;

use crate::cli::Global;
use crate::output::{CliError, EXIT_OK, Output};
use crate::session;

/// Locks (`lock == true`) or unlocks a user.
pub fn run(global: &Global, user: &str, lock: bool, out: &Output) -> Result<i32, CliError> {
    let config = session::load_config(global)?;
    let rt = session::runtime()?;
    rt.block_on(async {
        let core = session::connect(config).await?;
        if lock {
            core.lock(user).await
        } else {
            core.unlock(user).await
        }
        .map_err(CliError::from)
    })?;
    let (command, done) = if lock {
        ("lock", "locked")
    } else {
        ("unlock", "unlocked")
    };
    if out.json {
        out.document(&json!({ "ok": true, "command": command, "username": user, "locked": lock }));
    } else {
        out.line(format!("{user}: {done}"));
    }
    Ok(EXIT_OK)
}

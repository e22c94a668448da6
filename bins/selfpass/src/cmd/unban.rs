//! `selfpass unban NAME|IP`.

use serde_json::json;

use crate::cli::{Global, UnbanArgs};
use crate::output::{CliError, EXIT_OK, Output};
use crate::session;

/// Lifts a throttle ban (every replica, when the throttle store is Redis).
pub fn run(global: &Global, args: &UnbanArgs, out: &Output) -> Result<i32, CliError> {
    let config = session::load_config(global)?;
    let store = config.throttle_store.clone();
    let rt = session::runtime()?;
    rt.block_on(async {
        let core = session::connect(config).await?;
        core.unban(&args.target).await.map_err(CliError::from)
    })?;
    if store == "memory" {
        out.warn(
            "the throttle store is `memory`: this lifted bans in this process only; a running portal \
             keeps its own counters (set SELFPASS_THROTTLE_STORE to the portal's redis:// URL)",
        );
    }
    if out.json {
        out.document(&json!({ "ok": true, "command": "unban", "target": args.target, "store": if store == "memory" { "memory" } else { "redis" } }));
    } else {
        out.line(format!("{}: ban lifted", args.target));
    }
    Ok(EXIT_OK)
}

//! `selfpass`: the admin CLI of selfpass — scripted password resets, user listing, lock/unlock,
//! throttle unbans, one-time passwords, verifier checks and step-by-step connection diagnosis.
//!
//! Thin over `selfpass-core`: this binary parses arguments, calls one core operation and renders
//! the answer (human text, or exactly one JSON document on stdout with `--json`). Exit codes:
//! 0 ok, 1 some items failed (bulk) or a doctor warning under `--strict`, 2 usage, 3 cannot
//! connect or authenticate, 4 user not found or not allowed.

mod argv;
mod cli;
mod cmd;
mod input;
mod output;
mod report;
mod secrets;
mod session;

use std::process::ExitCode;

fn main() -> ExitCode {
    let code = run(std::env::args_os().collect());
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// Parses `args`, runs the command and returns the process exit code.
fn run(args: Vec<std::ffi::OsString>) -> i32 {
    let json = argv::wants_json(&args);
    if let Err(refusal) = argv::refuse_secrets(&args) {
        return output::Output::new(json, false).error(&refusal);
    }
    let cli = match cli::parse(args) {
        Ok(cli) => cli,
        Err(err) => return output::clap_error(&err, json),
    };
    let out = output::Output::new(cli.global.json, cli.global.quiet);
    session::init_logging(&cli.global);
    match cmd::dispatch(&cli, &out) {
        Ok(code) => code,
        Err(err) => out.error(&err),
    }
}

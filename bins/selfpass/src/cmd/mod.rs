//! One file per command. Each takes its parsed arguments and the output mode, calls one
//! `selfpass-core` operation and returns the exit code.

mod bulk;
mod check;
mod completions;
mod doctor;
mod lock;
mod otp;
mod reset;
mod unban;
mod users;

use crate::cli::{Cli, Commands};
use crate::output::{CliError, Output};

/// Runs the parsed command line.
pub fn dispatch(cli: &Cli, out: &Output) -> Result<i32, CliError> {
    let global = &cli.global;
    match &cli.command {
        Commands::Reset(args) if args.from.is_some() => bulk::run(global, args, out),
        Commands::Reset(args) => reset::run(global, args, out),
        Commands::Users(args) => users::run(global, args, out),
        Commands::Lock(args) => lock::run(global, &args.user, true, out),
        Commands::Unlock(args) => lock::run(global, &args.user, false, out),
        Commands::Unban(args) => unban::run(global, args, out),
        Commands::Otp(args) => otp::run(global, args, out),
        Commands::Check(args) => check::run(global, args, out),
        Commands::Doctor(args) => doctor::run(global, args, out),
        Commands::Completions(args) => completions::completions(args, out),
        Commands::Man => completions::man(out),
    }
}

//! The command line, as clap types. The settings flags (host, port, TLS, API key file, …) are
//! built from `selfpass_core::config::SETTINGS`, the one table of settings, so the flags, the
//! environment variables and the TOML keys cannot drift apart.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{
    Arg, ArgAction, ArgMatches, Args, Command, CommandFactory, FromArgMatches, Parser, Subcommand,
};
use selfpass_core::config::{SETTINGS, Scope, SettingSpec};

const AFTER_HELP: &str = "\
Exit codes: 0 ok, 1 some items failed (bulk), a doctor warning with --strict, or a password
`check` did not accept, 2 usage or configuration, 3 cannot connect or authenticate, 4 user not
found or not allowed.

Secrets never go on the command line: the API key comes from --api-key-file, TRUENAS_API_KEY_FILE
or TRUENAS_API_KEY; passwords from --password-stdin, --generate or a --from file.";

/// Admin CLI of selfpass: scripted password resets and connection diagnosis for TrueNAS.
#[derive(Debug, Parser)]
#[command(name = "selfpass", version, about, after_help = AFTER_HELP, propagate_version = true)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: Global,
    /// The command.
    #[command(subcommand)]
    pub command: Commands,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct Global {
    /// Exactly one JSON document on stdout; everything else goes to stderr.
    #[arg(long, global = true)]
    pub json: bool,
    /// Print only errors (and what a command exists to print, such as a generated password).
    #[arg(long, short, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More log output on stderr (-v info, -vv debug, -vvv trace).
    #[arg(long, short, global = true, action = ArgAction::Count)]
    pub verbose: u8,
    /// TOML configuration file (flags beat the environment, which beats the file).
    #[arg(long, global = true, value_name = "FILE", help_heading = "Settings")]
    pub config: Option<PathBuf>,
    /// Settings given as flags, by TOML key.
    #[command(flatten)]
    pub settings: SettingFlags,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Commands {
    /// Set a user's password with the service key (one user, or many with --from FILE).
    Reset(ResetArgs),
    /// List users: username, uid, SMB, locked, password disabled, last change, age.
    #[command(visible_alias = "list-users")]
    Users(UsersArgs),
    /// Lock a user (password sign-in refused until unlocked).
    Lock(UserArg),
    /// Unlock a user.
    Unlock(UserArg),
    /// Lift a portal throttle ban on a name or a client IP address.
    Unban(UnbanArgs),
    /// Get TrueNAS's one-time password for a user who forgot theirs (where the server supports it).
    Otp(UserArg),
    /// Check a password (read from stdin) through the portal's verifier chain; says which verifier answered.
    Check(UserArg),
    /// Diagnose the connection to TrueNAS step by step, with a remedy for each failure.
    Doctor(DoctorArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
    /// Print the man page (roff) on stdout.
    Man,
}

/// `reset`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["user", "from"])))]
pub struct ResetArgs {
    /// The user whose password is set.
    #[arg(value_name = "USER")]
    pub user: Option<String>,
    /// Bulk: CSV (`username[,password]`, header optional) or JSON Lines (`{"username":…,"password":…}`); `-` is stdin.
    #[arg(long, value_name = "FILE", conflicts_with = "password_stdin")]
    pub from: Option<PathBuf>,
    /// Read the new password from stdin (one line).
    #[arg(long, conflicts_with = "generate")]
    pub password_stdin: bool,
    /// Generate the password (printed once, never logged); with --from, for rows without one.
    #[arg(long)]
    pub generate: bool,
    /// Length of a generated password.
    #[arg(long, value_name = "N", default_value_t = 20, requires = "generate",
          value_parser = clap::value_parser!(u16).range(16..=128))]
    pub length: u16,
    /// Accept a given password that fails the rules (warned and audited).
    #[arg(long)]
    pub allow_weak: bool,
    /// Reset a protected account (root, builtin, administrators, the service account).
    #[arg(long)]
    pub force_protected: bool,
    /// Check everything (user exists, allowed, password meets the rules) and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Bulk: go on after a failed row (the default stops scheduling new rows at the first failure).
    #[arg(long)]
    pub continue_on_error: bool,
    /// Bulk: write the per-user results here (`.json` for JSON, otherwise CSV). A report holding
    /// generated passwords is created new with mode 0600, never over an existing file.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Bulk: input format (default: by extension, then by content).
    #[arg(long, value_enum)]
    pub format: Option<InputFormat>,
    /// Bulk: calls in flight at once (the connection allows 20).
    #[arg(long, value_name = "N", default_value_t = 16,
          value_parser = clap::value_parser!(u16).range(1..=20))]
    pub concurrency: u16,
}

/// Bulk input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InputFormat {
    /// `username[,password]`, header optional.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

/// `users`.
#[derive(Debug, Args)]
pub struct UsersArgs {
    /// Only users whose username contains this text.
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
}

/// Commands taking one user.
#[derive(Debug, Args)]
pub struct UserArg {
    /// The username.
    #[arg(value_name = "USER")]
    pub user: String,
}

/// `unban`.
#[derive(Debug, Args)]
pub struct UnbanArgs {
    /// A username or a client IP address.
    #[arg(value_name = "NAME|IP")]
    pub target: String,
}

/// `doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Exit 1 on a warning too.
    #[arg(long)]
    pub strict: bool,
}

/// `completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Flags built from the settings table (scope `Both`): each flag's value becomes a
/// `Sources::overrides` entry under its TOML key.
#[derive(Debug, Clone, Default)]
pub struct SettingFlags {
    /// (TOML key, value) for every flag given on the command line.
    pub overrides: Vec<(String, String)>,
}

fn cli_settings() -> impl Iterator<Item = (&'static SettingSpec, &'static str)> {
    SETTINGS
        .iter()
        .filter(|s| s.scope == Scope::Both)
        .filter_map(|s| s.flag.map(|f| (s, f)))
}

fn is_boolean(spec: &SettingSpec) -> bool {
    matches!(spec.default, Some("true" | "false"))
}

impl Args for SettingFlags {
    fn augment_args(mut cmd: Command) -> Command {
        for (spec, flag) in cli_settings() {
            let mut help = format!("{} [env: {}]", spec.help, spec.env);
            if let Some(default) = spec.default.filter(|d| !d.is_empty()) {
                help.push_str(&format!(" [default: {default}]"));
            }
            let mut arg = Arg::new(flag)
                .long(flag)
                .global(true)
                .help(help)
                .help_heading("Settings");
            if is_boolean(spec) {
                // `--insecure` alone means true; `--use-ssl=false` needs the `=` so that a
                // following command word is never taken as the value.
                arg = arg
                    .value_name("BOOL")
                    .num_args(0..=1)
                    .require_equals(true)
                    .default_missing_value("true");
            } else {
                arg = arg.value_name(value_name(flag)).num_args(1);
            }
            cmd = cmd.arg(arg);
        }
        cmd
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

fn value_name(flag: &str) -> &'static str {
    if flag.ends_with("-file") || flag == "audit-log" {
        "FILE"
    } else if flag.ends_with("port") {
        "PORT"
    } else if flag.ends_with("host") {
        "HOST"
    } else {
        "VALUE"
    }
}

impl FromArgMatches for SettingFlags {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut flags = SettingFlags::default();
        flags.update_from_arg_matches(matches)?;
        Ok(flags)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        for (spec, flag) in cli_settings() {
            if matches.value_source(flag) != Some(ValueSource::CommandLine) {
                continue;
            }
            if let Some(value) = matches.get_one::<String>(flag) {
                self.overrides.retain(|(k, _)| k != spec.key);
                self.overrides.push((spec.key.to_owned(), value.clone()));
            }
        }
        Ok(())
    }
}

/// Parses the command line.
pub fn parse(args: Vec<OsString>) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(args)
}

/// The clap command (completions, man page).
pub fn command() -> Command {
    Cli::command()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_list(list: &[&str]) -> Result<Cli, clap::Error> {
        parse(list.iter().map(OsString::from).collect())
    }

    #[test]
    fn definition_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn settings_flags_become_overrides_by_key() -> Result<(), clap::Error> {
        let cli = parse_list(&[
            "selfpass",
            "--host",
            "nas.lan",
            "users",
            "--port",
            "8443",
            "--insecure",
            "--use-ssl=false",
        ])?;
        let o = &cli.global.settings.overrides;
        assert!(o.contains(&("truenas.host".into(), "nas.lan".into())));
        assert!(o.contains(&("truenas.port".into(), "8443".into())));
        assert!(o.contains(&("truenas.insecure_tls".into(), "true".into())));
        assert!(o.contains(&("truenas.use_ssl".into(), "false".into())));
        Ok(())
    }

    #[test]
    fn reset_needs_a_target_and_one_password_source() {
        assert!(parse_list(&["selfpass", "reset"]).is_err());
        assert!(
            parse_list(&[
                "selfpass",
                "reset",
                "alice",
                "--generate",
                "--password-stdin"
            ])
            .is_err()
        );
        assert!(parse_list(&["selfpass", "reset", "alice", "--from", "r.csv"]).is_err());
        assert!(parse_list(&["selfpass", "reset", "--from", "f.csv", "--generate"]).is_ok());
    }
}

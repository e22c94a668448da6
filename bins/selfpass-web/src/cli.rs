//! Command-line flags, built from the core's table of settings (one flag per portal setting), plus
//! `--config FILE` and `--demo`.

use clap::{Arg, ArgAction, ArgMatches, Command};
use selfpass_core::Sources;
use selfpass_core::config::{SETTINGS, Scope};
use std::ffi::OsString;
use std::path::PathBuf;

/// What the command line asked for.
#[derive(Debug, Clone)]
pub struct Args {
    /// Where settings come from (file, environment, flags).
    pub sources: Sources,
    /// Run against an in-process simulator with demo users.
    pub demo: bool,
}

fn is_bool(default: Option<&str>) -> bool {
    matches!(default, Some("true" | "false"))
}

/// The clap command.
pub fn command() -> Command {
    let mut cmd = Command::new("selfpass-web")
        .version(selfpass_core::version())
        .about("Self-service password portal for TrueNAS users.")
        .after_help(
            "Every flag also has an environment variable and a TOML key (see docs/configuration.md). \
             Flags beat the environment, the environment beats the file.",
        )
        .arg(
            Arg::new("config")
                .long("config")
                .value_name("FILE")
                .value_parser(clap::value_parser!(PathBuf))
                .help("TOML configuration file."),
        )
        .arg(
            Arg::new("demo")
                .long("demo")
                .action(ArgAction::SetTrue)
                .help("Start an in-process TrueNAS simulator with demo users and serve the portal on it."),
        );
    for spec in SETTINGS {
        let Some(flag) = spec.flag else { continue };
        if !matches!(spec.scope, Scope::Both | Scope::Portal) {
            continue;
        }
        let mut help = format!("{} [env: {}]", spec.help, spec.env);
        if let Some(default) = spec.default.filter(|d| !d.is_empty()) {
            help.push_str(&format!(" [default: {default}]"));
        }
        let mut arg = Arg::new(spec.key)
            .long(flag)
            .help(help)
            .action(ArgAction::Append);
        if is_bool(spec.default) {
            arg = arg
                .value_name("true|false")
                .num_args(0..=1)
                .default_missing_value("true");
        } else {
            arg = arg.value_name("VALUE");
        }
        cmd = cmd.arg(arg);
    }
    cmd
}

fn sources_from(matches: &ArgMatches) -> Sources {
    let mut overrides = Vec::new();
    for spec in SETTINGS {
        if spec.flag.is_none() {
            continue;
        }
        if let Ok(Some(values)) = matches.try_get_many::<String>(spec.key) {
            // A repeated flag (e.g. --trusted-proxy) is a list.
            let joined = values.map(String::as_str).collect::<Vec<_>>().join(",");
            overrides.push((spec.key.to_owned(), joined));
        }
    }
    Sources {
        file: matches.get_one::<PathBuf>("config").cloned(),
        overrides,
        read_env: true,
        env: Vec::new(),
    }
}

/// Parses the command line.
///
/// # Errors
/// clap's error (help and version are errors too: print them with `exit`).
pub fn parse_from<I, T>(args: I) -> Result<Args, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let matches = command().try_get_matches_from(args)?;
    Ok(Args {
        sources: sources_from(&matches),
        demo: matches.get_flag("demo"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_become_overrides() {
        let args = parse_from([
            "selfpass-web",
            "--listen",
            "0.0.0.0:9000",
            "--trusted-proxy",
            "10.0.0.0/8",
            "--trusted-proxy",
            "::1",
            "--metrics",
            "--base-path",
            "/passwd",
        ])
        .unwrap();
        let o = &args.sources.overrides;
        assert!(o.contains(&("portal.listen".into(), "0.0.0.0:9000".into())));
        assert!(o.contains(&("portal.trusted_proxies".into(), "10.0.0.0/8,::1".into())));
        assert!(o.contains(&("portal.metrics".into(), "true".into())));
        assert!(o.contains(&("portal.base_path".into(), "/passwd".into())));
        assert!(!args.demo);
    }

    #[test]
    fn secrets_have_no_flag() {
        assert!(parse_from(["selfpass-web", "--secret-key", "x"]).is_err());
        assert!(parse_from(["selfpass-web", "--demo"]).unwrap().demo);
    }

    #[test]
    fn command_is_consistent() {
        command().debug_assert();
    }
}

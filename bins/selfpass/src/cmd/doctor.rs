//! `selfpass doctor [--strict]`: the connection diagnosis, one line per step (✓ ok, ! warning,
//! ✗ failure, - skipped), each problem with its remedy.

use selfpass_core::doctor::{self, DoctorReport, StepStatus};
use serde_json::json;

use crate::cli::{DoctorArgs, Global};
use crate::output::{CliError, EXIT_OK, EXIT_PARTIAL, Output};
use crate::session;

/// Exit code when a step failed (cannot connect or authenticate).
const EXIT_FAILED: i32 = 3;

/// Runs the diagnosis.
pub fn run(global: &Global, args: &DoctorArgs, out: &Output) -> Result<i32, CliError> {
    let config = session::load_config(global)?;
    let target = format!(
        "{}://{}:{}",
        if config.truenas.use_ssl { "wss" } else { "ws" },
        config.truenas.host,
        config.truenas.port
    );
    let rt = session::runtime()?;
    let report = rt.block_on(doctor::run(&config));
    let verdict = verdict(&report);
    let code = match verdict {
        Verdict::Failed => EXIT_FAILED,
        Verdict::Warnings if args.strict => EXIT_PARTIAL,
        _ => EXIT_OK,
    };
    if out.json {
        out.document(&json!({
            "ok": code == EXIT_OK,
            "command": "doctor",
            "target": target,
            "verdict": verdict.as_str(),
            "steps": report.steps,
        }));
    } else {
        out.line(render(&report, &target, verdict));
    }
    Ok(code)
}

/// The overall answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Ok,
    Warnings,
    Failed,
}

impl Verdict {
    fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Warnings => "warnings",
            Verdict::Failed => "failed",
        }
    }
}

fn verdict(report: &DoctorReport) -> Verdict {
    if report.steps.iter().any(|s| s.status == StepStatus::Fail) {
        Verdict::Failed
    } else if report.steps.iter().any(|s| s.status == StepStatus::Warn) {
        Verdict::Warnings
    } else {
        Verdict::Ok
    }
}

fn symbol(status: StepStatus) -> &'static str {
    match status {
        StepStatus::Ok => "✓",
        StepStatus::Warn => "!",
        StepStatus::Fail => "✗",
        StepStatus::Skipped => "-",
    }
}

fn render(report: &DoctorReport, target: &str, verdict: Verdict) -> String {
    let width = report
        .steps
        .iter()
        .map(|s| s.name.chars().count())
        .max()
        .unwrap_or(0);
    let mut text = format!("selfpass doctor: {target}\n");
    for step in &report.steps {
        let mut lines = step.detail.lines();
        let first = lines.next().unwrap_or("");
        text.push_str(&format!(
            "{} {:<width$}  {first}\n",
            symbol(step.status),
            step.name
        ));
        for more in lines {
            text.push_str(&format!("  {:<width$}  {more}\n", ""));
        }
        if let Some(remedy) = &step.remedy {
            for (i, line) in remedy.lines().enumerate() {
                let label = if i == 0 { "fix:" } else { "" };
                text.push_str(&format!("  {:<width$}  {label:<4} {line}\n", ""));
            }
        }
    }
    let summary = match verdict {
        Verdict::Ok => {
            "✓ verdict: ready — selfpass can reach TrueNAS and use the service key".to_owned()
        }
        Verdict::Warnings => "! verdict: usable, with warnings (see above)".to_owned(),
        Verdict::Failed => {
            let at = report
                .steps
                .iter()
                .find(|s| s.status == StepStatus::Fail)
                .map_or("", |s| s.name.as_str());
            format!("✗ verdict: not working — fix the step `{at}` first")
        }
    };
    text.push_str(&summary);
    text
}

//! `selfpass reset --from FILE`: many resets, pipelined over the one connection (at most
//! `--concurrency` calls in flight, 16 by default, under the connection's limit of 20), with a
//! progress bar on a TTY, a per-user report written atomically and a summary.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use selfpass_core::{Core, ExposeSecret, NewPassword};
use serde_json::json;

use crate::cli::{Global, ResetArgs};
use crate::cmd::reset;
use crate::input::{self, Row};
use crate::output::{self, CliError, EXIT_OK, EXIT_PARTIAL, Output};
use crate::report::{self, ReportRow, Status};
use crate::session;

/// Resets every row of the input file.
pub fn run(global: &Global, args: &ResetArgs, out: &Output) -> Result<i32, CliError> {
    let Some(path) = args.from.as_deref() else {
        return Err(CliError::usage("usage", "reset --from needs a FILE"));
    };
    if args.password_stdin {
        return Err(CliError::usage(
            "usage",
            "--password-stdin is for one user; with --from, passwords come from the file",
        ));
    }
    let rows = input::read_rows(path, args.format, args.generate)?;
    let generates = !args.dry_run && rows.iter().any(|r| r.password.is_none());
    if let Some(report_path) = &args.report {
        report::precheck(report_path, generates)?;
    }
    let config = session::load_config(global)?;
    let rt = session::runtime()?;
    let started = Instant::now();
    let results = rt.block_on(async {
        let core = session::connect(config).await?;
        Ok::<_, CliError>(reset_all(&core, rows, args, out).await)
    })?;
    let elapsed = started.elapsed();
    finish(args, out, &results, elapsed)
}

async fn reset_all(core: &Core, rows: Vec<Row>, args: &ResetArgs, out: &Output) -> Vec<ReportRow> {
    let progress = if out.progress_allowed() {
        let bar =
            ProgressBar::with_draw_target(Some(rows.len() as u64), ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("{bar:40} {pos}/{len} users  {elapsed} (eta {eta})")
        {
            bar.set_style(style);
        }
        bar
    } else {
        ProgressBar::hidden()
    };
    // Stop scheduling new rows after a failure (unless told to go on) or on Ctrl-C; calls in
    // flight finish either way, so every password that was set is in the report.
    let stop = Arc::new(AtomicBool::new(false));
    let interrupt = tokio::spawn({
        let stop = stop.clone();
        async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                stop.store(true, Ordering::SeqCst);
            }
        }
    });
    let go_on = args.continue_on_error || args.dry_run;
    let options = reset::options(args);
    let length = usize::from(args.length);
    let mut results: Vec<ReportRow> = futures_util::stream::iter(rows)
        .map(|row| {
            let stop = stop.clone();
            let progress = progress.clone();
            async move {
                if stop.load(Ordering::SeqCst) {
                    progress.inc(1);
                    return skipped(row);
                }
                let new = match row.password {
                    Some(p) => NewPassword::Given(p),
                    None => NewPassword::Generated { length },
                };
                let answer = core.admin_reset(&row.username, new, options).await;
                progress.inc(1);
                match answer {
                    Ok(done) => ReportRow {
                        line: row.line,
                        username: row.username,
                        status: if done.dry_run {
                            Status::WouldReset
                        } else {
                            Status::Reset
                        },
                        password: if done.dry_run { None } else { done.generated },
                        weak: done.weak.iter().map(|v| v.message.clone()).collect(),
                        error_key: None,
                        error: None,
                    },
                    Err(failure) => {
                        if !go_on {
                            stop.store(true, Ordering::SeqCst);
                        }
                        ReportRow {
                            line: row.line,
                            username: row.username,
                            status: Status::Failed,
                            password: None,
                            weak: Vec::new(),
                            error_key: Some(failure.key().to_owned()),
                            error: Some(failure.to_string()),
                        }
                    }
                }
            }
        })
        .buffer_unordered(usize::from(args.concurrency))
        .collect()
        .await;
    interrupt.abort();
    progress.finish_and_clear();
    results.sort_by_key(|r| r.line);
    results
}

fn skipped(row: Row) -> ReportRow {
    ReportRow {
        line: row.line,
        username: row.username,
        status: Status::Skipped,
        password: None,
        weak: Vec::new(),
        error_key: None,
        error: Some("not attempted: an earlier row failed (see --continue-on-error) or the run was interrupted".into()),
    }
}

fn finish(
    args: &ResetArgs,
    out: &Output,
    results: &[ReportRow],
    elapsed: Duration,
) -> Result<i32, CliError> {
    let count = |s: Status| results.iter().filter(|r| r.status == s).count();
    let (done, would, failed, skipped) = (
        count(Status::Reset),
        count(Status::WouldReset),
        count(Status::Failed),
        count(Status::Skipped),
    );
    let holds_passwords = results.iter().any(|r| r.password.is_some());
    let mut report_error = None;
    if let Some(path) = &args.report {
        let written = report::render(results, report::Format::of(path))
            .and_then(|bytes| report::write_atomic(path, &bytes, holds_passwords));
        if let Err(e) = written {
            report_error = Some(e);
        }
    }
    // Passwords go to the report when there is one, else to stdout (shown once).
    let passwords_here = args.report.is_none() || report_error.is_some();
    for r in results.iter().filter(|r| !r.weak.is_empty()) {
        out.warn(format!(
            "line {}: {}: the password breaks rules ({}); accepted because of --allow-weak (audited)",
            r.line,
            r.username,
            r.weak.join("; ")
        ));
    }
    let code = if failed + skipped > 0 {
        EXIT_PARTIAL
    } else {
        EXIT_OK
    };
    let mut summary = format!(
        "{} row{} in {:.1} s: ",
        results.len(),
        if results.len() == 1 { "" } else { "s" },
        elapsed.as_secs_f64()
    );
    summary.push_str(&if args.dry_run {
        format!("{would} would be reset, {failed} would fail (dry run, nothing changed)")
    } else {
        format!("{done} reset, {failed} failed, {skipped} skipped")
    });
    if let (Some(path), None) = (&args.report, &report_error) {
        summary.push_str(&format!("; report: {}", path.display()));
    }
    if out.json {
        out.document(&json!({
            "ok": code == EXIT_OK && report_error.is_none(),
            "command": "reset",
            "dry_run": args.dry_run,
            "summary": {
                "rows": results.len(),
                "reset": done,
                "would_reset": would,
                "failed": failed,
                "skipped": skipped,
                "seconds": elapsed.as_secs_f64(),
            },
            "report": args.report.as_ref().map(|p| p.display().to_string()),
            "report_error": report_error.as_ref().map(|e| e.message.clone()),
            "results": results.iter().map(|r| r.to_json(passwords_here)).collect::<Vec<_>>(),
        }));
    } else {
        for r in results.iter().filter(|r| r.status == Status::Failed) {
            eprintln!(
                "line {}: {}: {}",
                r.line,
                r.username,
                r.error.as_deref().unwrap_or("failed")
            );
        }
        if passwords_here && holds_passwords {
            let rows: Vec<Vec<String>> = results
                .iter()
                .filter_map(|r| {
                    r.password
                        .as_ref()
                        .map(|p| vec![r.username.clone(), p.expose_secret().to_owned()])
                })
                .collect();
            out.line(output::table(&["USERNAME", "NEW PASSWORD (shown once)"], &rows).trim_end());
        }
        out.line(summary);
    }
    match report_error {
        // With --json the failure is in the one document already.
        Some(e) if out.json => Ok(e.code.max(EXIT_PARTIAL)),
        Some(e) => Err(e),
        None => Ok(code),
    }
}

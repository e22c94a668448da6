//! `selfpass doctor`: step-by-step diagnosis of the connection to TrueNAS, each step with a
//! remedy, stopping at the first hard failure.

use crate::config::Config;
use crate::core::{client_failure, endpoint_for, options_for};
use serde::Serialize;
use std::time::Duration;
use truenas_client::Client;

/// How a step went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Fine.
    Ok,
    /// Works, but worth fixing.
    Warn,
    /// Broken: later steps cannot run.
    Fail,
    /// Not run (an earlier step failed, or it does not apply).
    Skipped,
}

/// One step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DoctorStep {
    /// Short name, e.g. `tcp`.
    pub name: String,
    /// How it went.
    pub status: StepStatus,
    /// What was found.
    pub detail: String,
    /// What to do, when something is wrong.
    pub remedy: Option<String>,
}

/// The whole diagnosis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DoctorReport {
    /// Steps in order.
    pub steps: Vec<DoctorStep>,
}

impl DoctorReport {
    /// No step failed.
    pub fn passed(&self) -> bool {
        !self.steps.iter().any(|s| s.status == StepStatus::Fail)
    }

    /// Some step warned.
    pub fn has_warnings(&self) -> bool {
        self.steps.iter().any(|s| s.status == StepStatus::Warn)
    }

    fn push(
        &mut self,
        name: &str,
        status: StepStatus,
        detail: impl Into<String>,
        remedy: Option<String>,
    ) {
        self.steps.push(DoctorStep {
            name: name.to_owned(),
            status,
            detail: detail.into(),
            remedy,
        });
    }
}

/// Runs the diagnosis with `config`'s connection settings.
pub async fn run(config: &Config) -> DoctorReport {
    let mut report = DoctorReport { steps: Vec::new() };
    let endpoint = endpoint_for(config);
    let options = match options_for(config) {
        Ok(o) => o.reconnect(false),
        Err(f) => {
            report.push(
                "settings",
                StepStatus::Fail,
                f.to_string(),
                Some(f.hint().to_owned()),
            );
            return report;
        }
    };
    let client = match Client::connect(endpoint, options).await {
        Ok(c) => {
            report.push(
                "connect",
                StepStatus::Ok,
                format!(
                    "connected to {}:{}",
                    config.truenas.host, config.truenas.port
                ),
                None,
            );
            c
        }
        Err(e) => {
            report.push("connect", StepStatus::Fail, e.to_string(), Some(e.hint()));
            return report;
        }
    };
    if let Err(e) = client
        .login_api_key(
            config.truenas.api_key.clone(),
            config.truenas.api_key_user.as_deref(),
        )
        .await
    {
        report.push("api key", StepStatus::Fail, e.to_string(), Some(e.hint()));
        return report;
    }
    report.push("api key", StepStatus::Ok, "the service key logs in", None);
    match tokio::time::timeout(Duration::from_secs(10), client.system_version()).await {
        Ok(Ok(v)) => report.push("version", StepStatus::Ok, v, None),
        Ok(Err(e)) => {
            let f = client_failure(&e);
            report.push("version", StepStatus::Warn, f.to_string(), None);
        }
        Err(_) => report.push(
            "version",
            StepStatus::Warn,
            "system.version timed out",
            None,
        ),
    }
    client.close().await;
    report
}

//! A few counters and one histogram, rendered by hand in the Prometheus text format
//! (`/metrics`, off by default).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency histogram buckets, seconds.
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

/// The portal's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    signins_ok: AtomicU64,
    signins_failed: AtomicU64,
    throttled: AtomicU64,
    changes_ok: AtomicU64,
    changes_failed: AtomicU64,
    buckets: [AtomicU64; BUCKETS.len()],
    latency_count: AtomicU64,
    latency_micros: AtomicU64,
}

/// What a sign-in or change came to, for the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A sign-in (or its second step) succeeded.
    SignedIn,
    /// A sign-in failed for any reason but throttling.
    SignInFailed,
    /// Refused by the throttle.
    Throttled,
    /// A password changed.
    Changed,
    /// A change was refused.
    ChangeFailed,
}

impl Metrics {
    /// Counts one event.
    pub fn count(&self, event: Event) {
        let counter = match event {
            Event::SignedIn => &self.signins_ok,
            Event::SignInFailed => &self.signins_failed,
            Event::Throttled => &self.throttled,
            Event::Changed => &self.changes_ok,
            Event::ChangeFailed => &self.changes_failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Records how long one call into the core (and so the middleware) took.
    pub fn observe(&self, took: Duration) {
        let secs = took.as_secs_f64();
        for (bound, bucket) in BUCKETS.iter().zip(&self.buckets) {
            if secs <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_micros.fetch_add(
            u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut out = String::new();
        let _ = writeln!(out, "# HELP selfpass_signins_total Sign-ins by result.");
        let _ = writeln!(out, "# TYPE selfpass_signins_total counter");
        let _ = writeln!(
            out,
            "selfpass_signins_total{{result=\"ok\"}} {}",
            get(&self.signins_ok)
        );
        let _ = writeln!(
            out,
            "selfpass_signins_total{{result=\"failed\"}} {}",
            get(&self.signins_failed)
        );
        let _ = writeln!(
            out,
            "# HELP selfpass_throttled_total Requests refused by the throttle."
        );
        let _ = writeln!(out, "# TYPE selfpass_throttled_total counter");
        let _ = writeln!(out, "selfpass_throttled_total {}", get(&self.throttled));
        let _ = writeln!(
            out,
            "# HELP selfpass_changes_total Password changes by result."
        );
        let _ = writeln!(out, "# TYPE selfpass_changes_total counter");
        let _ = writeln!(
            out,
            "selfpass_changes_total{{result=\"ok\"}} {}",
            get(&self.changes_ok)
        );
        let _ = writeln!(
            out,
            "selfpass_changes_total{{result=\"failed\"}} {}",
            get(&self.changes_failed)
        );
        let _ = writeln!(
            out,
            "# HELP selfpass_core_call_seconds Time of sign-in and change calls (TrueNAS included)."
        );
        let _ = writeln!(out, "# TYPE selfpass_core_call_seconds histogram");
        for (bound, bucket) in BUCKETS.iter().zip(&self.buckets) {
            let _ = writeln!(
                out,
                "selfpass_core_call_seconds_bucket{{le=\"{bound}\"}} {}",
                get(bucket)
            );
        }
        let count = get(&self.latency_count);
        let _ = writeln!(
            out,
            "selfpass_core_call_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "selfpass_core_call_seconds_sum {}",
            get(&self.latency_micros) as f64 / 1e6
        );
        let _ = writeln!(out, "selfpass_core_call_seconds_count {count}");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts_and_buckets() {
        let m = Metrics::default();
        m.count(Event::SignedIn);
        m.count(Event::Throttled);
        m.observe(Duration::from_millis(30));
        let text = m.render();
        assert!(
            text.contains("selfpass_signins_total{result=\"ok\"} 1"),
            "{text}"
        );
        assert!(text.contains("selfpass_throttled_total 1"));
        assert!(text.contains("selfpass_core_call_seconds_bucket{le=\"0.025\"} 0"));
        assert!(text.contains("selfpass_core_call_seconds_bucket{le=\"0.05\"} 1"));
        assert!(text.contains("selfpass_core_call_seconds_count 1"));
    }
}

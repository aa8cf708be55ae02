//! Counters for Prometheus and the health check: cheap atomics bumped where things happen,
//! read by `GET /metrics`. Gauges that live in the database (outbox depth, last tick) are read
//! at scrape time.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct Metrics {
    pub updates_handled: AtomicU64,
    pub messages_sent: AtomicU64,
    pub messages_failed: AtomicU64,
    pub emails_sent: AtomicU64,
    pub escalations: AtomicU64,
    pub ticks: AtomicU64,
    /// Duration of the last planner run, in microseconds.
    pub last_tick_micros: AtomicU64,
}

impl Metrics {
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// The counters in Prometheus' text format, followed by the gauges the caller read.
    pub fn render(&self, outbox_depth: i64, dead_letters: i64, last_tick_age_secs: Option<i64>) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, value: String| {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"));
        };
        metric(
            "guanxi_updates_handled_total",
            "counter",
            "Telegram updates handled.",
            get(&self.updates_handled).to_string(),
        );
        metric(
            "guanxi_messages_sent_total",
            "counter",
            "Telegram messages delivered.",
            get(&self.messages_sent).to_string(),
        );
        metric(
            "guanxi_messages_failed_total",
            "counter",
            "Failed delivery attempts (Telegram and e-mail).",
            get(&self.messages_failed).to_string(),
        );
        metric("guanxi_emails_sent_total", "counter", "E-mails delivered.", get(&self.emails_sent).to_string());
        metric(
            "guanxi_escalations_total",
            "counter",
            "Overdue items escalated by e-mail.",
            get(&self.escalations).to_string(),
        );
        metric("guanxi_ticks_total", "counter", "Planner runs.", get(&self.ticks).to_string());
        metric(
            "guanxi_tick_duration_seconds",
            "gauge",
            "Duration of the last planner run.",
            format!("{:.6}", get(&self.last_tick_micros) as f64 / 1e6),
        );
        metric("guanxi_outbox_depth", "gauge", "Messages pending or being sent.", outbox_depth.to_string());
        metric("guanxi_outbox_dead", "gauge", "Dead letters waiting for an operator.", dead_letters.to_string());
        if let Some(age) = last_tick_age_secs {
            metric("guanxi_last_tick_age_seconds", "gauge", "Seconds since the planner last ran.", age.to_string());
        }
        out
    }
}

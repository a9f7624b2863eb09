//! Counters exported at `/metrics` in the Prometheus text format.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
pub struct Metrics {
    pub http_requests: AtomicU64,
    pub http_server_errors: AtomicU64,
    pub clicks_accepted: AtomicU64,
    pub clicks_bot: AtomicU64,
    pub clicks_dropped: AtomicU64,
    pub clicks_written: AtomicU64,
    pub clicks_published: AtomicU64,
    pub events_published: AtomicU64,
    pub click_write_errors: AtomicU64,
    pub events_ingested: AtomicU64,
    pub events_replayed: AtomicU64,
    pub ingest_groups: AtomicU64,
    pub jobs_run: AtomicU64,
    pub jobs_failed: AtomicU64,
}

impl Metrics {
    pub fn incr(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn render(&self) -> String {
        let rows: [(&str, &str, &AtomicU64); 14] = [
            (
                "tributary_http_requests_total",
                "HTTP requests served",
                &self.http_requests,
            ),
            (
                "tributary_http_server_errors_total",
                "HTTP responses with a 5xx status",
                &self.http_server_errors,
            ),
            (
                "tributary_clicks_total",
                "Clicks accepted by the redirect",
                &self.clicks_accepted,
            ),
            (
                "tributary_clicks_bot_total",
                "Clicks flagged as bots",
                &self.clicks_bot,
            ),
            (
                "tributary_clicks_dropped_total",
                "Clicks dropped because the click buffer was full",
                &self.clicks_dropped,
            ),
            (
                "tributary_clicks_written_total",
                "Clicks written to the store",
                &self.clicks_written,
            ),
            (
                "tributary_clicks_published_total",
                "Clicks acknowledged by the event log (tier 2)",
                &self.clicks_published,
            ),
            (
                "tributary_events_published_total",
                "Events acknowledged by the event log (tier 2)",
                &self.events_published,
            ),
            (
                "tributary_click_write_errors_total",
                "Failed click batch writes",
                &self.click_write_errors,
            ),
            (
                "tributary_events_ingested_total",
                "Events stored",
                &self.events_ingested,
            ),
            (
                "tributary_events_replayed_total",
                "Event requests answered from their idempotency key",
                &self.events_replayed,
            ),
            (
                "tributary_ingest_groups_total",
                "Transactions that committed a group of events",
                &self.ingest_groups,
            ),
            ("tributary_jobs_run_total", "Jobs completed", &self.jobs_run),
            (
                "tributary_jobs_failed_total",
                "Job attempts that failed",
                &self.jobs_failed,
            ),
        ];
        let mut out = String::new();
        for (name, help, value) in rows {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                value.load(Ordering::Relaxed)
            );
        }
        out
    }
}

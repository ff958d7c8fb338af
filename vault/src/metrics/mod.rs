//! Operational metrics, served as Prometheus text at `GET /metrics`.
//!
//! A small hand-written registry rather than a metrics framework: the set
//! is fixed (requests by route and status with latency histograms, bytes in
//! and out, integrity failures, intake worker crashes and time-outs, policy
//! denials, database and object-store errors, audit checkpoint age), the
//! exposition format is plain text, and the dependency tree stays lean.
//!
//! The registry is process-wide: the places that count (the error mapping,
//! the sandbox, the policy check) are far from any handle on the router,
//! and a process serves one vault. Labels never carry personal data: routes
//! are the router's templates (`/api/v1/dossiers/{nu}`), not the paths.

mod http;

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    sync::{
        LazyLock, Mutex,
        atomic::{AtomicI64, AtomicU64, Ordering},
    },
    time::Duration,
};

pub use http::{exposition, record_requests};

use crate::error::Failure;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 13] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// One counter without labels.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.add(1);
    }
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Requests of one (route, method, status): a latency histogram.
#[derive(Debug, Clone, Default)]
struct Series {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum_seconds: f64,
}

/// Why an intake worker failed without answering.
#[derive(Debug, Clone, Copy)]
pub enum WorkerFailure {
    Crash,
    Timeout,
}

/// Why one attempt of a request to the S3 store failed (the SDK may try
/// it again; `dnu_vault_object_store_errors_total` counts the client
/// requests that failed in the end).
#[derive(Debug, Clone, Copy)]
pub enum StoreAttemptFailure {
    /// The store answered 503 (Slow Down, unavailable).
    Unavailable,
    /// Another 5xx, or 429.
    ServerError,
    /// No answer within `VAULT_S3_TIMEOUT_SECONDS` (or the connect time).
    Timeout,
    /// The connection failed: refused, reset, closed mid-request.
    Connection,
}

impl StoreAttemptFailure {
    const ALL: [Self; 4] = [Self::Unavailable, Self::ServerError, Self::Timeout, Self::Connection];

    fn label(self) -> &'static str {
        match self {
            Self::Unavailable => "unavailable",
            Self::ServerError => "server_error",
            Self::Timeout => "timeout",
            Self::Connection => "connection",
        }
    }
}

/// Every metric of the process.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), Series>>,
    pub bytes_in: Counter,
    pub bytes_out: Counter,
    pub integrity_failures: Counter,
    pub worker_crashes: Counter,
    pub worker_timeouts: Counter,
    pub policy_denials: Counter,
    pub database_errors: Counter,
    pub store_errors: Counter,
    pub notices_sent: Counter,
    pub notices_deferred: Counter,
    pub notices_refused: Counter,
    pub connections_refused: Counter,
    /// Audit commits of events that must be durable before content leaves,
    /// and the events they held (group commit: their ratio is how many
    /// readers shared a commit).
    pub audit_commits: Counter,
    pub audit_events: Counter,
    /// Failed attempts of S3 requests, by [`StoreAttemptFailure`].
    store_attempt_failures: [Counter; 4],
    /// Connections open now.
    connections_open: AtomicI64,
    /// E-mails waiting in the outbox at the last delivery (this replica's view).
    outbox_waiting: AtomicI64,
    /// Unix seconds when the audit chain head was last known covered by a
    /// signed checkpoint; 0 until the first check.
    checkpoint_ok_at: AtomicI64,
    started_at: AtomicI64,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let m = Metrics::default();
    m.started_at.store(unix_now(), Ordering::Relaxed);
    m
});

/// The process's registry.
pub fn global() -> &'static Metrics {
    &METRICS
}

fn unix_now() -> i64 {
    crate::clock::now_s()
}

impl Metrics {
    /// Records one answered request.
    pub fn observe_request(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let mut map = self.requests.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let s = map.entry((route.to_owned(), method.to_owned(), status)).or_default();
        s.count += 1;
        s.sum_seconds += secs;
        for (i, le) in BUCKETS.iter().enumerate() {
            if secs <= *le {
                s.buckets[i] += 1;
            }
        }
    }

    /// Counts a failure that reaches a client (an answer or an aborted body)
    /// under its cause.
    pub fn count_failure(&self, f: Failure) {
        match f {
            Failure::Integrity => self.integrity_failures.inc(),
            Failure::Database => self.database_errors.inc(),
            Failure::ObjectStore => self.store_errors.inc(),
            Failure::Internal | Failure::Refusal => {}
        }
    }

    pub fn store_attempt_failed(&self, why: StoreAttemptFailure) {
        self.store_attempt_failures[why as usize].inc();
    }

    pub fn worker_failed(&self, why: WorkerFailure) {
        match why {
            WorkerFailure::Crash => self.worker_crashes.inc(),
            WorkerFailure::Timeout => self.worker_timeouts.inc(),
        }
    }

    /// The audit chain head is covered by a signed checkpoint as of now.
    /// The outbox's e-mails still waiting after a delivery.
    pub fn outbox_waiting(&self, n: i64) {
        self.outbox_waiting.store(n, Ordering::Relaxed);
    }

    /// Connections open now (the listener's count).
    pub fn connections_open(&self, n: usize) {
        self.connections_open.store(i64::try_from(n).unwrap_or(i64::MAX), Ordering::Relaxed);
    }

    pub fn checkpoint_ok(&self) {
        self.checkpoint_ok_at.store(unix_now(), Ordering::Relaxed);
    }

    /// Seconds since the chain head was last known covered by a signed
    /// checkpoint (since the process started, if never).
    pub fn checkpoint_age_seconds(&self) -> i64 {
        let ok = self.checkpoint_ok_at.load(Ordering::Relaxed);
        let since = if ok == 0 { self.started_at.load(Ordering::Relaxed) } else { ok };
        (unix_now() - since).max(0)
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(8192);
        let requests = self.requests.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        header(
            &mut out,
            "dnu_vault_http_requests_total",
            "counter",
            "HTTP requests answered, by route template, method and status.",
        );
        for ((route, method, status), s) in &requests {
            let _ = writeln!(
                out,
                "dnu_vault_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {}",
                escape(route),
                escape(method),
                s.count
            );
        }
        header(
            &mut out,
            "dnu_vault_http_request_duration_seconds",
            "histogram",
            "Time to answer (until the response head), by route template, method and status.",
        );
        for ((route, method, status), s) in &requests {
            let labels = format!("route=\"{}\",method=\"{}\",status=\"{status}\"", escape(route), escape(method));
            for (i, le) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "dnu_vault_http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {}",
                    s.buckets[i]
                );
            }
            let _ = writeln!(out, "dnu_vault_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}", s.count);
            let _ = writeln!(out, "dnu_vault_http_request_duration_seconds_sum{{{labels}}} {}", s.sum_seconds);
            let _ = writeln!(out, "dnu_vault_http_request_duration_seconds_count{{{labels}}} {}", s.count);
        }
        let counters: [(&str, &str, &Counter); 14] = [
            ("dnu_vault_http_request_bytes_total", "Bytes of request bodies received.", &self.bytes_in),
            ("dnu_vault_http_response_bytes_total", "Bytes of response bodies sent.", &self.bytes_out),
            (
                "dnu_vault_integrity_failures_total",
                "Stored data that failed authentication (tampering or corruption).",
                &self.integrity_failures,
            ),
            (
                "dnu_vault_intake_worker_crashes_total",
                "Intake workers that died without answering.",
                &self.worker_crashes,
            ),
            (
                "dnu_vault_intake_worker_timeouts_total",
                "Intake workers stopped for exceeding their wall-clock limit.",
                &self.worker_timeouts,
            ),
            ("dnu_vault_policy_denials_total", "Requests the access policy refused.", &self.policy_denials),
            ("dnu_vault_database_errors_total", "Requests failed by a database error.", &self.database_errors),
            ("dnu_vault_object_store_errors_total", "Requests failed by an object-store error.", &self.store_errors),
            ("dnu_vault_notices_sent_total", "E-mail notices the mail server accepted.", &self.notices_sent),
            (
                "dnu_vault_notices_deferred_total",
                "E-mail notice attempts that failed for now (retried with back-off).",
                &self.notices_deferred,
            ),
            (
                "dnu_vault_notices_refused_total",
                "E-mail notices the mail server refused for good (shown to the guichet).",
                &self.notices_refused,
            ),
            (
                "dnu_vault_connections_refused_total",
                "Connections refused on arrival: too many from one address (429) or in all (503).",
                &self.connections_refused,
            ),
            (
                "dnu_vault_audit_commits_total",
                "Commits of audit events that must be durable before content leaves (reads, exports, sign-ins, denials).",
                &self.audit_commits,
            ),
            (
                "dnu_vault_audit_committed_events_total",
                "Audit events those commits held: events per commit is how many requests shared one.",
                &self.audit_events,
            ),
        ];
        for (name, help, c) in counters {
            header(&mut out, name, "counter", help);
            let _ = writeln!(out, "{name} {}", c.get());
        }
        header(
            &mut out,
            "dnu_vault_object_store_attempt_failures_total",
            "counter",
            "Attempts of requests to the S3 store that failed, by cause (each may be retried).",
        );
        for why in StoreAttemptFailure::ALL {
            let n = self.store_attempt_failures[why as usize].get();
            let _ = writeln!(out, "dnu_vault_object_store_attempt_failures_total{{cause=\"{}\"}} {n}", why.label());
        }
        header(
            &mut out,
            "dnu_vault_audit_checkpoint_age_seconds",
            "gauge",
            "Seconds since the audit chain head was last known covered by a signed checkpoint.",
        );
        let _ = writeln!(out, "dnu_vault_audit_checkpoint_age_seconds {}", self.checkpoint_age_seconds());
        header(
            &mut out,
            "dnu_vault_outbox_waiting",
            "gauge",
            "E-mail notices waiting in the outbox after this replica's last delivery (mail server down or refusing).",
        );
        let _ = writeln!(out, "dnu_vault_outbox_waiting {}", self.outbox_waiting.load(Ordering::Relaxed));
        header(&mut out, "dnu_vault_connections_open", "gauge", "HTTP connections open now.");
        let _ = writeln!(out, "dnu_vault_connections_open {}", self.connections_open.load(Ordering::Relaxed));
        out
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Label values escaped as the text format requires.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_labels_escaped() {
        let m = Metrics::default();
        m.observe_request("/a\"b", "GET", 200, Duration::from_millis(3));
        m.observe_request("/a\"b", "GET", 200, Duration::from_millis(300));
        let text = m.render();
        assert!(text.contains("route=\"/a\\\"b\""), "{text}");
        assert!(text.contains("le=\"0.005\"} 1\n"), "{text}");
        assert!(text.contains("le=\"0.5\"} 2\n"), "{text}");
        assert!(text.contains("le=\"+Inf\"} 2\n"), "{text}");
        assert!(text.contains("dnu_vault_http_requests_total{route=\"/a\\\"b\",method=\"GET\",status=\"200\"} 2\n"));
    }
}

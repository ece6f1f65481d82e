//! The metric families: one function per family, so every metric name and
//! label lives here and nowhere else. Callers say what happened
//! (`metrics::store_error()`); [`serve`] installs the Prometheus recorder
//! and serves `/metrics` (`--metrics-listen`). Without it the functions
//! record into the `metrics` crate's no-op recorder and cost a few
//! nanoseconds.

mod serve;

pub use serve::{serve, MetricsError};

use std::time::Duration;

/// Requests answered, by the rules' method name, the response `Key` and the HTTP status.
pub const REQUESTS: &str = "cashdesk_http_requests_total";
/// Time from the request's arrival to its answer, by method.
pub const REQUEST_SECONDS: &str = "cashdesk_http_request_duration_seconds";
/// Basic credentials answered from the verified-credential cache (no Argon2id run).
pub const CREDENTIAL_CACHE_HITS: &str = "cashdesk_credential_cache_hits_total";
/// Basic credentials that had to be verified with Argon2id.
pub const CREDENTIAL_CACHE_MISSES: &str = "cashdesk_credential_cache_misses_total";
/// Logins refused (401, with `Retry-After`) because the user name had too many failures.
pub const LOGINS_THROTTLED: &str = "cashdesk_logins_throttled_total";
/// Rules reloads (SIGHUP), by outcome: `ok` or `refused`.
pub const RULES_RELOADS: &str = "cashdesk_rules_reloads_total";
/// Store failures that reached a caller (answered `InternalError`).
pub const STORE_ERRORS: &str = "cashdesk_store_errors_total";
/// Changes written by one group commit.
pub const GROUP_COMMIT_BATCH: &str = "cashdesk_group_commit_batch_size";
/// Time one group-commit flush (fsync) took.
pub const FLUSH_SECONDS: &str = "cashdesk_group_commit_flush_duration_seconds";

/// Every family (a scrape shows them in no particular order).
pub const FAMILIES: [&str; 9] = [
    REQUESTS,
    REQUEST_SECONDS,
    CREDENTIAL_CACHE_HITS,
    CREDENTIAL_CACHE_MISSES,
    LOGINS_THROTTLED,
    RULES_RELOADS,
    STORE_ERRORS,
    GROUP_COMMIT_BATCH,
    FLUSH_SECONDS,
];

/// A request was answered. `method` is the rules' method name (`Balance`,
/// `Block`, …), `Health`/`Ready`, or `-` when no route matched.
pub fn request(method: &'static str, key: &'static str, http_status: u16) {
    metrics::counter!(REQUESTS, "method" => method, "key" => key, "status" => status_label(http_status)).increment(1);
}

/// The status as a label, without an allocation for the statuses the API
/// answers with.
fn status_label(status: u16) -> metrics::SharedString {
    let known = match status {
        200 => "200",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        405 => "405",
        408 => "408",
        413 => "413",
        500 => "500",
        503 => "503",
        other => return other.to_string().into(),
    };
    known.into()
}

/// How long a request took, from arrival to its answer.
pub fn request_latency(method: &'static str, elapsed: Duration) {
    metrics::histogram!(REQUEST_SECONDS, "method" => method).record(elapsed.as_secs_f64());
}

/// A credential was found in the verified-credential cache.
pub fn credential_cache_hit() {
    metrics::counter!(CREDENTIAL_CACHE_HITS).increment(1);
}

/// A credential was not in the cache: Argon2id runs.
pub fn credential_cache_miss() {
    metrics::counter!(CREDENTIAL_CACHE_MISSES).increment(1);
}

/// A login was refused because its user name is throttled.
pub fn login_throttled() {
    metrics::counter!(LOGINS_THROTTLED).increment(1);
}

/// A rules reload ended: taken (`ok`) or refused (the old rules stay).
pub fn rules_reload(ok: bool) {
    metrics::counter!(RULES_RELOADS, "outcome" => reload_outcome(ok)).increment(1);
}

fn reload_outcome(ok: bool) -> &'static str {
    if ok {
        "ok"
    } else {
        "refused"
    }
}

/// A store error reached a caller.
pub fn store_error() {
    metrics::counter!(STORE_ERRORS).increment(1);
}

/// One group commit wrote `size` changes.
pub fn group_commit_batch(size: usize) {
    debug_assert!(size > 0, "a group commit writes at least one change");
    metrics::histogram!(GROUP_COMMIT_BATCH).record(size as f64);
}

/// One group-commit flush took `elapsed`.
pub fn flush_latency(elapsed: Duration) {
    metrics::histogram!(FLUSH_SECONDS).record(elapsed.as_secs_f64());
}

/// Makes every family without per-request labels exist at zero, so a scrape
/// shows it (and an alert on its rate works) before the first event.
fn register_at_zero() {
    for counter in [CREDENTIAL_CACHE_HITS, CREDENTIAL_CACHE_MISSES, LOGINS_THROTTLED, STORE_ERRORS] {
        metrics::counter!(counter).absolute(0);
    }
    for ok in [true, false] {
        metrics::counter!(RULES_RELOADS, "outcome" => reload_outcome(ok)).absolute(0);
    }
    // Registering is enough: a histogram with no observations shows `_count 0`.
    let _ = metrics::histogram!(GROUP_COMMIT_BATCH);
    let _ = metrics::histogram!(FLUSH_SECONDS);
}

/// `# HELP` lines: the first doc line of each family's constant.
fn describe() {
    metrics::describe_counter!(REQUESTS, "Requests answered, by rules method, response Key and HTTP status.");
    metrics::describe_histogram!(
        REQUEST_SECONDS,
        metrics::Unit::Seconds,
        "Time from a request's arrival to its answer, by rules method."
    );
    metrics::describe_counter!(CREDENTIAL_CACHE_HITS, "Credentials answered from the verified cache (no Argon2id).");
    metrics::describe_counter!(CREDENTIAL_CACHE_MISSES, "Credentials verified with Argon2id (not in the cache).");
    metrics::describe_counter!(
        LOGINS_THROTTLED,
        "Logins refused unchecked (401 with Retry-After): too many failures for the user name."
    );
    metrics::describe_counter!(RULES_RELOADS, "Rules reloads by outcome: ok, or refused (the old rules stay).");
    metrics::describe_counter!(STORE_ERRORS, "Store failures that reached a caller (answered InternalError).");
    metrics::describe_histogram!(GROUP_COMMIT_BATCH, metrics::Unit::Count, "Changes written by one group commit.");
    metrics::describe_histogram!(FLUSH_SECONDS, metrics::Unit::Seconds, "Time one group-commit flush (fsync) took.");
}

#[cfg(test)]
mod tests;

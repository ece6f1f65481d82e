//! The families as Prometheus text: recorded through this module's functions
//! into a recorder local to the test thread, then rendered.

use super::*;
use metrics_exporter_prometheus::PrometheusHandle;

/// Runs `record` against a fresh recorder (described, zero families
/// registered) and returns what a scrape would show.
fn scrape(record: impl FnOnce()) -> String {
    let recorder = serve::recorder().unwrap();
    let handle: PrometheusHandle = recorder.handle();
    metrics::with_local_recorder(&recorder, || {
        describe();
        register_at_zero();
        record();
    });
    handle.render()
}

/// The value of one series (`name{labels}` exactly as rendered), if shown.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn every_family_is_shown_with_help_and_type_before_any_event() {
    let text = scrape(|| {});
    for family in [CREDENTIAL_CACHE_HITS, CREDENTIAL_CACHE_MISSES, LOGINS_THROTTLED, STORE_ERRORS] {
        assert_eq!(value(&text, family), Some(0.0), "{family} at zero:\n{text}");
        assert!(text.contains(&format!("# TYPE {family} counter")), "{family}:\n{text}");
    }
    assert_eq!(value(&text, r#"cashdesk_rules_reloads_total{outcome="ok"}"#), Some(0.0), "{text}");
    assert_eq!(value(&text, r#"cashdesk_rules_reloads_total{outcome="refused"}"#), Some(0.0), "{text}");
    for family in [GROUP_COMMIT_BATCH, FLUSH_SECONDS] {
        assert_eq!(value(&text, &format!("{family}_count")), Some(0.0), "{family} empty:\n{text}");
        assert!(text.contains(&format!("# TYPE {family} histogram")), "{family}:\n{text}");
        assert!(text.contains(&format!("# HELP {family} ")), "{family}:\n{text}");
    }
}

#[test]
fn each_function_moves_its_own_family() {
    let text = scrape(|| {
        request("Balance", "OK", 200);
        request("Balance", "OK", 200);
        request("Block", "StatusError", 200);
        request_latency("Balance", Duration::from_micros(300));
        credential_cache_hit();
        credential_cache_hit();
        credential_cache_miss();
        login_throttled();
        rules_reload(true);
        rules_reload(false);
        rules_reload(false);
        store_error();
        group_commit_batch(3);
        group_commit_batch(40);
        flush_latency(Duration::from_millis(2));
    });
    let expected = [
        (r#"cashdesk_http_requests_total{method="Balance",key="OK",status="200"}"#, 2.0),
        (r#"cashdesk_http_requests_total{method="Block",key="StatusError",status="200"}"#, 1.0),
        (r#"cashdesk_http_request_duration_seconds_bucket{method="Balance",le="0.00025"}"#, 0.0),
        (r#"cashdesk_http_request_duration_seconds_bucket{method="Balance",le="0.0005"}"#, 1.0),
        (r#"cashdesk_http_request_duration_seconds_count{method="Balance"}"#, 1.0),
        ("cashdesk_credential_cache_hits_total", 2.0),
        ("cashdesk_credential_cache_misses_total", 1.0),
        ("cashdesk_logins_throttled_total", 1.0),
        (r#"cashdesk_rules_reloads_total{outcome="ok"}"#, 1.0),
        (r#"cashdesk_rules_reloads_total{outcome="refused"}"#, 2.0),
        ("cashdesk_store_errors_total", 1.0),
        (r#"cashdesk_group_commit_batch_size_bucket{le="2"}"#, 0.0),
        (r#"cashdesk_group_commit_batch_size_bucket{le="4"}"#, 1.0),
        (r#"cashdesk_group_commit_batch_size_bucket{le="64"}"#, 2.0),
        ("cashdesk_group_commit_batch_size_sum", 43.0),
        ("cashdesk_group_commit_batch_size_count", 2.0),
        (r#"cashdesk_group_commit_flush_duration_seconds_bucket{le="0.001"}"#, 0.0),
        (r#"cashdesk_group_commit_flush_duration_seconds_bucket{le="0.0025"}"#, 1.0),
        ("cashdesk_group_commit_flush_duration_seconds_count", 1.0),
    ];
    for (series, want) in expected {
        assert_eq!(value(&text, series), Some(want), "{series}:\n{text}");
    }
}

#[test]
fn a_store_error_that_reaches_a_caller_is_counted() {
    let text = scrape(|| {
        let error = crate::store::StoreError::Corrupt { key: "card/1".into(), reason: "test".into() };
        let failure = crate::service::Failure::from(error);
        assert_eq!(failure.key, crate::ErrorKey::InternalError);
    });
    assert_eq!(value(&text, STORE_ERRORS), Some(1.0), "{text}");
}

//! What a PostgreSQL store is opened with: the URL (kept out of logs but
//! for its password-less form) and the pool's size and timeouts.

use std::time::Duration;

/// The settings `cashdesk serve --pg-…` gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgOptions {
    /// Most connections this server holds.
    pub pool_size: u32,
    /// Longest wait for a new connection, and for a free one from the pool.
    pub connect_timeout: Duration,
    /// Longest a statement (lock waits included) may run; 0 = no limit.
    pub statement_timeout: Duration,
}

impl Default for PgOptions {
    fn default() -> PgOptions {
        PgOptions { pool_size: 16, connect_timeout: Duration::from_secs(5), statement_timeout: Duration::from_secs(30) }
    }
}

/// Whether a `--store` value names PostgreSQL rather than a directory.
pub fn is_postgres_url(store: &str) -> bool {
    store.starts_with("postgres://") || store.starts_with("postgresql://")
}

/// The URL with its password replaced by `***` (in the user info and in a
/// `password=` parameter), for messages and logs.
pub fn redact(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(scheme_end) = out.find("://") {
        let rest_start = scheme_end + 3;
        let authority_end = out[rest_start..].find(['/', '?']).map_or(out.len(), |i| rest_start + i);
        if let Some(at) = out[rest_start..authority_end].rfind('@') {
            let userinfo = &out[rest_start..rest_start + at];
            if let Some(colon) = userinfo.find(':') {
                out.replace_range(rest_start + colon + 1..rest_start + at, "***");
            }
        }
    }
    if let Some(q) = out.find('?') {
        let (head, query) = out.split_at(q + 1);
        let redacted: Vec<String> = query
            .split('&')
            .map(|kv| if kv.starts_with("password=") { "password=***".to_string() } else { kv.to_string() })
            .collect();
        out = format!("{head}{}", redacted.join("&"));
    }
    out
}

/// The URL naming database `name` on the same server (for tests and tools
/// that create databases).
pub fn with_dbname(url: &str, name: &str) -> String {
    let rest_start = url.find("://").map_or(0, |i| i + 3);
    let query_at = url[rest_start..].find('?').map(|i| rest_start + i);
    let path_at = url[rest_start..query_at.unwrap_or(url.len())].find('/').map(|i| rest_start + i);
    let end = query_at.unwrap_or(url.len());
    let start = path_at.unwrap_or(end);
    format!("{}/{name}{}", &url[..start], &url[end..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(
            redact("postgres://u@h/db?password=x&sslmode=disable"),
            "postgres://u@h/db?password=***&sslmode=disable"
        );
        assert_eq!(redact("postgres://h1,h2/db"), "postgres://h1,h2/db");
    }

    #[test]
    fn a_database_name_is_replaced() {
        assert_eq!(with_dbname("postgres://u:p@h:1/postgres?x=1", "t"), "postgres://u:p@h:1/t?x=1");
        assert_eq!(with_dbname("postgres://u@h:1", "t"), "postgres://u@h:1/t");
    }
}

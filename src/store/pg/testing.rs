//! Throwaway databases for tests. A test that needs PostgreSQL finds a
//! server through `CASHDESK_TEST_PG` (a URL of a server where it may create
//! databases). Without it the test says so on standard error and passes,
//! unless `CASHDESK_REQUIRE_PG=1` (CI), where it fails.

use super::config::{redact, with_dbname};
use super::{PgOptions, PgStore};
use std::ops::Deref;

/// The server tests may use, or `None` after saying why (see the module).
pub fn test_server() -> Option<String> {
    match std::env::var("CASHDESK_TEST_PG") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            if std::env::var("CASHDESK_REQUIRE_PG").is_ok_and(|v| v == "1") {
                panic!("CASHDESK_REQUIRE_PG=1 but CASHDESK_TEST_PG is not set: PostgreSQL tests cannot run");
            }
            // Past the test harness's capture, so the skip is seen.
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "PostgreSQL tests skipped: CASHDESK_TEST_PG not set");
            None
        }
    }
}

/// A database of its own for one test, dropped with this value.
pub struct TestDatabase {
    server: String,
    name: String,
    url: String,
}

impl TestDatabase {
    /// A fresh, empty database; `serializable` sets its default isolation to
    /// SERIALIZABLE. `None` when no server is given (see [`test_server`]).
    pub fn create(serializable: bool) -> Option<TestDatabase> {
        let server = test_server()?;
        let name = format!("cashdesk_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = postgres::Client::connect(&server, postgres::NoTls)
            .unwrap_or_else(|e| panic!("cannot connect to CASHDESK_TEST_PG ({}): {e}", redact(&server)));
        admin.batch_execute(&format!("CREATE DATABASE {name}")).expect("create the test database");
        if serializable {
            admin
                .batch_execute(&format!("ALTER DATABASE {name} SET default_transaction_isolation = 'serializable'"))
                .expect("make the test database serializable");
        }
        let url = with_dbname(&server, &name);
        Some(TestDatabase { server, name, url })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// A store on it with default options.
    pub fn store(self) -> TestStore {
        let store = PgStore::open(&self.url, &PgOptions::default()).expect("open the test database");
        TestStore { store: Some(store), db: self }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = postgres::Client::connect(&self.server, postgres::NoTls) {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        }
    }
}

/// A [`PgStore`] on a [`TestDatabase`]: closed, then the database dropped.
pub struct TestStore {
    store: Option<PgStore>,
    #[allow(dead_code)]
    db: TestDatabase,
}

impl TestStore {
    pub fn database(&self) -> &TestDatabase {
        &self.db
    }
}

impl Deref for TestStore {
    type Target = PgStore;
    fn deref(&self) -> &PgStore {
        self.store.as_ref().expect("open until dropped")
    }
}

impl Drop for TestStore {
    fn drop(&mut self) {
        // Close the pool's connections before the database goes.
        self.store.take();
    }
}

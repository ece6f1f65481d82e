//! Throwaway databases for tests. A test that needs PostgreSQL finds a
//! server through `CASHDESK_TEST_PG` (a URL of a server where it may create
//! databases). Without it the test says so on standard error and passes,
//! unless `CASHDESK_REQUIRE_PG=1` (CI), where it fails.

use super::config::{redact, with_dbname};
use super::{PgOptions, PgStore};
use crate::store::records::{CardQuery, CardRecord, ContactQuery, ContactRecord, HistoryEntry, Page, ReceiptRecord};
use crate::store::{CardView, Lot, Operation, Store, StoreError, Stored, Table};
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

/// A test store is a store: tests hand it to the service as `Arc<dyn Store>`
/// and the database goes when the last handle does.
impl crate::store::StoreRead for TestStore {
    fn card(&self, number: &str) -> Result<Option<CardRecord>, StoreError> {
        (**self).card(number)
    }
    fn contact(&self, code: &str) -> Result<Option<ContactRecord>, StoreError> {
        (**self).contact(code)
    }
    fn contact_by_mobile(&self, e164: &str) -> Result<Option<ContactRecord>, StoreError> {
        (**self).contact_by_mobile(e164)
    }
    fn contact_cards(&self, code: &str) -> Result<Vec<String>, StoreError> {
        (**self).contact_cards(code)
    }
    fn lots(&self, number: &str) -> Result<Vec<Lot>, StoreError> {
        (**self).lots(number)
    }
    fn history(&self, number: &str) -> Result<Vec<HistoryEntry>, StoreError> {
        (**self).history(number)
    }
    fn receipt(&self, id: &str) -> Result<Option<ReceiptRecord>, StoreError> {
        (**self).receipt(id)
    }
    fn card_view(&self, number: &str) -> Result<Option<CardView>, StoreError> {
        (**self).card_view(number)
    }
}

impl Store for TestStore {
    fn transact(&self, op: &mut Operation<'_>) -> Result<(), StoreError> {
        (**self).transact(op)
    }
    fn card_count(&self) -> Result<u64, StoreError> {
        (**self).card_count()
    }
    fn find_contacts(
        &self,
        query: &ContactQuery,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<ContactRecord>, StoreError> {
        (**self).find_contacts(query, after, limit)
    }
    fn find_cards(&self, query: &CardQuery, after: Option<&str>, limit: usize) -> Result<Page<CardRecord>, StoreError> {
        (**self).find_cards(query, after, limit)
    }
    fn scan(&self, table: Table, after: Option<&str>, limit: usize) -> Result<Page<Stored>, StoreError> {
        (**self).scan(table, after, limit)
    }
}

/// The store the library-level tests run on: a fresh PostgreSQL database when
/// `CASHDESK_TEST_STORE=postgres` (the switch `tests/common` reads too),
/// otherwise `None` and the test uses its usual engine.
pub fn store_from_env() -> Option<TestStore> {
    match std::env::var("CASHDESK_TEST_STORE").as_deref() {
        Ok("postgres") => {
            Some(TestDatabase::create(false).expect("CASHDESK_TEST_STORE=postgres needs CASHDESK_TEST_PG").store())
        }
        _ => None,
    }
}

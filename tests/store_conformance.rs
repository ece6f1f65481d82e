//! The store conformance tests (src/store/conformance.rs) against every
//! engine, and against each engine behind a double that runs every
//! operation twice (as an engine that retries after a conflict does).

use cashdesk_card::store::{MemStore, RunTwice, SledStore};

fn boxed<S>(s: S) -> Box<S> {
    Box::new(s)
}

mod mem {
    cashdesk_card::store_conformance_tests!(|| super::boxed(super::MemStore::new()));
}

mod sled {
    cashdesk_card::store_conformance_tests!(|| super::boxed(super::SledStore::temporary().expect("sled")));
}

mod mem_run_twice {
    cashdesk_card::store_conformance_tests!(|| super::boxed(super::RunTwice(super::MemStore::new())));
}

mod sled_run_twice {
    cashdesk_card::store_conformance_tests!(|| super::boxed(super::RunTwice(
        super::SledStore::temporary().expect("sled")
    )));
}

/// A fresh database per test on the server CASHDESK_TEST_PG names (see
/// `cashdesk_card::store::pg::testing`); dropped after the test.
fn pg_available() -> bool {
    cashdesk_card::store::pg::testing::test_server().is_some()
}

fn pg_store(serializable: bool) -> cashdesk_card::store::pg::testing::TestStore {
    cashdesk_card::store::pg::testing::TestDatabase::create(serializable).expect("checked available").store()
}

mod pg {
    cashdesk_card::store_conformance_tests!(available = super::pg_available, || super::pg_store(false));
}

/// The same tests with the database's default isolation SERIALIZABLE:
/// conflicts become serialisation failures, and the operations run again.
mod pg_serializable {
    cashdesk_card::store_conformance_tests!(available = super::pg_available, || super::pg_store(true));
}

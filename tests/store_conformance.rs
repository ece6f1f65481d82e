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

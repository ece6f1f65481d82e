//! An engine double that runs every operation twice, as a retrying engine
//! may: the first run's batch is thrown away. An operation that is safe to
//! re-run gives the same results on it as on the engine it wraps.

use super::{Operation, Store, StoreError, StoreRead};

pub struct RunTwice<S>(pub S);

impl<S: StoreRead> StoreRead for RunTwice<S> {
    fn card(&self, number: &str) -> Result<Option<super::CardRecord>, StoreError> {
        self.0.card(number)
    }
    fn contact(&self, code: &str) -> Result<Option<super::ContactRecord>, StoreError> {
        self.0.contact(code)
    }
    fn contact_by_mobile(&self, e164: &str) -> Result<Option<super::ContactRecord>, StoreError> {
        self.0.contact_by_mobile(e164)
    }
    fn contact_cards(&self, code: &str) -> Result<Vec<String>, StoreError> {
        self.0.contact_cards(code)
    }
    fn lots(&self, number: &str) -> Result<Vec<super::Lot>, StoreError> {
        self.0.lots(number)
    }
    fn history(&self, number: &str) -> Result<Vec<super::HistoryEntry>, StoreError> {
        self.0.history(number)
    }
    fn receipt(&self, id: &str) -> Result<Option<super::ReceiptRecord>, StoreError> {
        self.0.receipt(id)
    }
}

impl<S: Store> Store for RunTwice<S> {
    fn transact(&self, op: &mut Operation<'_>) -> Result<(), StoreError> {
        self.0.transact(&mut |read| {
            // The first run's batch and answer are discarded, as after a
            // serialisation conflict.
            let _ = op(read)?;
            op(read)
        })
    }

    fn card_count(&self) -> Result<u64, StoreError> {
        self.0.card_count()
    }

    fn find_contacts(
        &self,
        query: &super::ContactQuery,
        after: Option<&str>,
        limit: usize,
    ) -> Result<super::Page<super::ContactRecord>, StoreError> {
        self.0.find_contacts(query, after, limit)
    }

    fn find_cards(
        &self,
        query: &super::CardQuery,
        after: Option<&str>,
        limit: usize,
    ) -> Result<super::Page<super::CardRecord>, StoreError> {
        self.0.find_cards(query, after, limit)
    }

    fn snapshot(&self, part: super::SnapshotPart, sink: &mut super::Sink<'_>) -> Result<(), StoreError> {
        self.0.snapshot(part, sink)
    }

    fn scan(
        &self,
        table: super::Table,
        after: Option<&str>,
        limit: usize,
    ) -> Result<super::Page<super::Stored>, StoreError> {
        self.0.scan(table, after, limit)
    }
}

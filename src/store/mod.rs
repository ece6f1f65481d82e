//! Persistent state: cards, contacts, their indexes, bonus lots and history.
//!
//! The store knows nothing of rules or HTTP, and its trait names no
//! engine's types. Reads go through [`StoreRead`]; a state change is one
//! [`Store::transact`]: the engine hands the operation a read handle, the
//! operation reads only through it and returns the [`Batch`] it writes, and
//! the engine applies the batch all or nothing and returns once it is
//! durable. An engine may run an operation more than once (PostgreSQL does,
//! after a serialisation conflict); only the last run's batch counts.
//!
//! Engines: [`SledStore`] (embedded, the default), [`PgStore`] (PostgreSQL,
//! several servers on one database), [`MemStore`] (in memory, for tests and tools). Every engine passes the same [`conformance`] tests.
//! The on-disk layout and the crash-safety argument are in docs/storage.md.

pub mod conformance;
mod error;
pub mod group_commit;
mod mem;
mod open;
pub mod pg;
mod records;
mod rerun;
mod sled;
mod snapshot;

pub use error::{Source, StoreError};
pub use group_commit::FlushStats;
pub use mem::MemStore;
pub use open::open_store;
pub use pg::{PgOptions, PgStore};
pub use records::{
    contact_cursor, name_key, scan_fetch, scan_page, Batch, BlockRecord, CardChange, CardQuery, CardRecord,
    ContactQuery, ContactRecord, ContactWrite, FullCard, HistoryEntry, Lot, Page, ReceiptLine, ReceiptRecord,
    ReceiptState, RedeemedPortion, ReturnRecord, Reversal, Stored, Table,
};
pub use rerun::RunTwice;
pub use sled::SledStore;
pub use snapshot::{Sink, SnapshotItem, SnapshotPart};

/// A card with what a balance shows of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardView {
    pub card: CardRecord,
    /// The bound contact, if any.
    pub contact: Option<ContactRecord>,
    pub lots: Vec<Lot>,
}

/// Point reads. Outside a transaction they see committed state; inside one,
/// the engine's handle sees what the transaction may rely on.
pub trait StoreRead {
    fn card(&self, number: &str) -> Result<Option<CardRecord>, StoreError>;
    fn contact(&self, code: &str) -> Result<Option<ContactRecord>, StoreError>;
    fn contact_by_mobile(&self, e164: &str) -> Result<Option<ContactRecord>, StoreError>;
    /// The numbers of the cards bound to a contact (empty when none).
    fn contact_cards(&self, code: &str) -> Result<Vec<String>, StoreError>;
    fn lots(&self, number: &str) -> Result<Vec<Lot>, StoreError>;
    /// A card's history, oldest first.
    fn history(&self, number: &str) -> Result<Vec<HistoryEntry>, StoreError>;
    fn receipt(&self, id: &str) -> Result<Option<ReceiptRecord>, StoreError>;

    /// A card's record and its lots. Engines that keep them together
    /// override it to read once.
    fn card_and_lots(&self, number: &str) -> Result<Option<(CardRecord, Vec<Lot>)>, StoreError> {
        let Some(card) = self.card(number)? else { return Ok(None) };
        let lots = self.lots(number)?;
        Ok(Some((card, lots)))
    }

    /// A card with its contact and lots, as a balance reads it. Engines
    /// override it to read in one go.
    fn card_view(&self, number: &str) -> Result<Option<CardView>, StoreError> {
        let Some((card, lots)) = self.card_and_lots(number)? else { return Ok(None) };
        let contact = self.bound_contact(&card)?;
        Ok(Some(CardView { card, contact, lots }))
    }

    /// The contact `card` names, as this handle sees it. Engines that keep
    /// a copy of it with the card override it to answer without reading
    /// the contact.
    fn bound_contact(&self, card: &CardRecord) -> Result<Option<ContactRecord>, StoreError> {
        match &card.contact {
            Some(code) => self.contact(code),
            None => Ok(None),
        }
    }
}

/// The operation of a [`Store::transact`]: reads through the handle it is
/// given and returns what it writes (`None`: nothing, e.g. a refused call).
/// It may run more than once, so it must have no effect outside what it
/// returns (its captured answer is overwritten by each run). A read error
/// must be returned as it is: the engine may run the operation again.
pub type Operation<'a> = dyn FnMut(&dyn StoreRead) -> Result<Option<Batch>, StoreError> + Send + 'a;

/// The seam where a storage engine plugs in.
pub trait Store: StoreRead + Send + Sync {
    /// One state change, read-decide-write, returning once it is durable.
    ///
    /// The reads `op` makes through its handle see every change durable
    /// before the call, and no other change lands between those reads and
    /// `op`'s batch (the engine isolates them: sled by running changes one
    /// at a time, PostgreSQL by locking what was read and retrying on
    /// conflict). The batch of the last run is applied all or nothing; the
    /// call returns once it, and the state it was decided on, is durable. A
    /// panic in `op` comes back out of this call with nothing of its batch
    /// written. `op` may run on another caller's thread.
    fn transact(&self, op: &mut Operation<'_>) -> Result<(), StoreError>;

    /// How many cards are stored.
    fn card_count(&self) -> Result<u64, StoreError>;

    /// Contacts matching `query` in its order (see [`contact_cursor`]),
    /// after the cursor `after`, at most `limit`; from an index.
    fn find_contacts(
        &self,
        query: &ContactQuery,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<ContactRecord>, StoreError>;

    /// Cards matching `query` by number, after `after`, at most `limit`;
    /// from an index.
    fn find_cards(&self, query: &CardQuery, after: Option<&str>, limit: usize) -> Result<Page<CardRecord>, StoreError>;

    /// Every record of `part`, in key order, as of one moment (see
    /// [`snapshot`]'s doc for what each engine does), handed to `sink` one
    /// by one; for export and backup. An engine that cannot says so.
    fn snapshot(&self, part: SnapshotPart, sink: &mut Sink<'_>) -> Result<(), StoreError> {
        let _ = (part, sink);
        Err(StoreError::engine("exporting", std::io::Error::other("this store cannot export")))
    }

    /// Every record of `table` in key order (the byte order of the code,
    /// number or receipt id), after the key `after`, at most `limit` (at
    /// least one): a whole store, page by page, for `cashdesk store copy`.
    /// Each page is read as the store is then; a store changed between pages
    /// is listed part before, part after the change.
    fn scan(&self, table: Table, after: Option<&str>, limit: usize) -> Result<Page<Stored>, StoreError>;
}

/// Applies a ready batch as one transaction (loading data in tests,
/// benches and tools).
pub fn put(store: &dyn Store, batch: Batch) -> Result<(), StoreError> {
    store.transact(&mut |_| Ok(Some(batch.clone())))
}

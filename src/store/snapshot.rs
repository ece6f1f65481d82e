//! A whole-store read for export and backup ([`super::Store::snapshot`]):
//! every record of one kind, in key order, as of one moment.
//!
//! "One moment" per engine: sled has no snapshots, so its engine copies the
//! tree's entries on the group-commit leader, between two groups (writers
//! wait for the copy, not for the export's consumer); PostgreSQL reads in one
//! `REPEATABLE READ READ ONLY` transaction, which waits for no one.

use super::{CardRecord, ContactRecord, Lot, ReceiptRecord, StoreError};

/// Which records a snapshot reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotPart {
    Contacts,
    /// Cards with their lots.
    Cards,
    Receipts,
}

/// One record of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotItem {
    Contact(ContactRecord),
    Card(CardRecord, Vec<Lot>),
    Receipt(Box<ReceiptRecord>),
}

/// Where a snapshot's records go, one by one; an error stops the snapshot.
pub type Sink<'a> = dyn FnMut(SnapshotItem) -> Result<(), StoreError> + Send + 'a;

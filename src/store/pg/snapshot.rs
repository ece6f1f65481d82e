//! The whole-table reads of [`crate::store::Store::snapshot`]: one
//! `REPEATABLE READ READ ONLY` transaction, so every row comes from the one
//! snapshot the transaction took, while writers go on; rows are fetched
//! through a portal [`FETCH_ROWS`] at a time, so a million rows are never in
//! memory at once.

use super::conn::Conn;
use super::errors;
use super::sql::json;
use crate::store::{Sink, SnapshotItem, SnapshotPart, StoreError};
use tokio_postgres::IsolationLevel;

/// Rows fetched per round trip.
const FETCH_ROWS: i32 = 1000;

pub(super) fn run(conn: &mut Conn, part: SnapshotPart, sink: &mut Sink<'_>) -> Result<(), StoreError> {
    let m = |e| errors::map("exporting", e);
    let Conn { client, io } = conn;
    io.block_on(async move {
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(m)?;
        let sql = match part {
            SnapshotPart::Contacts => "SELECT code, rec FROM contacts ORDER BY code",
            SnapshotPart::Cards => "SELECT number, rec, lots FROM cards ORDER BY number",
            SnapshotPart::Receipts => "SELECT id, rec FROM receipts ORDER BY id",
        };
        let statement = tx.prepare(sql).await.map_err(m)?;
        let portal = tx.bind(&statement, &[]).await.map_err(m)?;
        loop {
            let rows = tx.query_portal(&portal, FETCH_ROWS).await.map_err(m)?;
            if rows.is_empty() {
                break;
            }
            for row in rows {
                let key: String = row.try_get(0).map_err(m)?;
                let item = match part {
                    SnapshotPart::Contacts => SnapshotItem::Contact(json(&row, 1, &key)?),
                    SnapshotPart::Cards => SnapshotItem::Card(json(&row, 1, &key)?, json(&row, 2, &key)?),
                    SnapshotPart::Receipts => SnapshotItem::Receipt(Box::new(json(&row, 1, &key)?)),
                };
                sink(item)?;
            }
        }
        tx.commit().await.map_err(m)
    })
}

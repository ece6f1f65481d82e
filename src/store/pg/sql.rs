//! The statements, prepared once per connection, and the point reads. A
//! read inside `transact` locks what it finds (`FOR UPDATE`); outside, it is
//! one indexed query on committed state.

use super::conn::{pipelined, Conn, Lead, Param};
use super::errors;
use crate::store::{CardRecord, CardView, ContactRecord, HistoryEntry, Lot, ReceiptRecord, StoreError};
use tokio_postgres::types::Json;
use tokio_postgres::{Error, Row, Statement};

/// A read, in its plain and its locking form.
pub(super) struct Read {
    pub plain: Statement,
    pub locking: Statement,
}

/// Every statement the store runs, prepared on each new connection.
pub(super) struct Statements {
    pub card: Read,
    pub contact: Read,
    pub contact_by_mobile: Read,
    pub contact_cards: Read,
    pub lots: Read,
    pub history: Read,
    pub receipt: Read,
    pub lock_receipt_id: Statement,
    pub card_view: Statement,
    pub lock_cards: Statement,
    pub insert_cards: Statement,
    pub update_cards: Statement,
    pub update_cards_with_history: Statement,
    pub update_lots: Statement,
    pub insert_history: Statement,
    pub upsert_contacts: Statement,
    pub upsert_contact_cards: Statement,
    pub upsert_receipts: Statement,
    pub scan_contacts: Statement,
    pub scan_contact_cards: Statement,
    pub scan_cards: Statement,
    pub scan_history: Statement,
    pub scan_receipts: Statement,
    pub cards_by_status: Statement,
    pub contacts_by_code: Statement,
    pub contacts_by_code_open: Statement,
    pub contacts_by_name: Statement,
    pub contacts_by_name_open: Statement,
    pub card_count: Statement,
}

fn read(c: &mut Conn, sql: &str) -> Result<Read, Error> {
    Ok(Read { plain: c.prepare(sql)?, locking: c.prepare(&format!("{sql} FOR UPDATE"))? })
}

impl Statements {
    pub fn prepare(c: &mut Conn) -> Result<Statements, Error> {
        Ok(Statements {
            // Locked, a card comes with what the transaction's writes need
            // of it (its history length, `write::lock_cards` otherwise) and
            // its lots, so `lots()` on it is answered without a query.
            card: Read {
                plain: c.prepare("SELECT rec FROM cards WHERE number = $1")?,
                locking: c.prepare("SELECT rec, history_len, lots::text FROM cards WHERE number = $1 FOR UPDATE")?,
            },
            contact: read(c, "SELECT rec FROM contacts WHERE code = $1")?,
            contact_by_mobile: read(c, "SELECT rec FROM contacts WHERE mobile = $1 LIMIT 1")?,
            contact_cards: read(c, "SELECT numbers FROM contact_cards WHERE code = $1")?,
            lots: read(c, "SELECT lots FROM cards WHERE number = $1")?,
            history: read(c, "SELECT entry FROM history WHERE number = $1 ORDER BY seq")?,
            receipt: read(c, "SELECT rec FROM receipts WHERE id = $1")?,
            // Key space of two int4s, apart from the one-bigint locks of
            // the migrations and the retry queue; 0x72637074 is "rcpt".
            lock_receipt_id: c.prepare("SELECT pg_advisory_xact_lock(1919119476, hashtext($1))")?,
            card_view: c.prepare(
                "SELECT c.rec, c.lots, t.rec FROM cards c LEFT JOIN contacts t ON t.code = c.contact \
                 WHERE c.number = $1",
            )?,
            // The writes take whole columns as arrays, so a batch is a few
            // statements however many rows it has (src/store/pg/write.rs).
            lock_cards: c.prepare("SELECT number, history_len FROM cards WHERE number = ANY($1::text[]) FOR UPDATE")?,
            insert_cards: c.prepare(
                "INSERT INTO cards (number, status, contact, history_len, rec, lots) \
                 SELECT u.number, u.status, u.contact, u.history_len, u.rec, coalesce(u.lots, '[]'::json) \
                 FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::json[], $6::json[]) \
                 AS u(number, status, contact, history_len, rec, lots)",
            )?,
            update_cards: c.prepare(
                "UPDATE cards c SET status = u.status, contact = u.contact, history_len = u.history_len, \
                 rec = u.rec, lots = coalesce(u.lots, c.lots) \
                 FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::json[], $6::json[]) \
                 AS u(number, status, contact, history_len, rec, lots) WHERE c.number = u.number",
            )?,
            // The usual change of a stored card (Block, a sale): its row
            // and its new history entries in one statement.
            update_cards_with_history: c.prepare(
                "WITH h AS (INSERT INTO history (number, seq, entry) \
                 SELECT * FROM unnest($7::text[], $8::int8[], $9::json[])) \
                 UPDATE cards c SET status = u.status, contact = u.contact, history_len = u.history_len, \
                 rec = u.rec, lots = coalesce(u.lots, c.lots) \
                 FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::json[], $6::json[]) \
                 AS u(number, status, contact, history_len, rec, lots) WHERE c.number = u.number",
            )?,
            update_lots: c.prepare(
                "UPDATE cards c SET lots = u.lots FROM unnest($1::text[], $2::json[]) AS u(number, lots) \
                 WHERE c.number = u.number",
            )?,
            insert_history: c.prepare(
                "INSERT INTO history (number, seq, entry) SELECT * FROM unnest($1::text[], $2::int8[], $3::json[])",
            )?,
            upsert_contacts: c.prepare(
                "INSERT INTO contacts (code, mobile, name_key, rec) \
                 SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::json[]) \
                 ON CONFLICT (code) DO UPDATE SET mobile = EXCLUDED.mobile, name_key = EXCLUDED.name_key, \
                 rec = EXCLUDED.rec",
            )?,
            // A contact's numbers come as a JSON array each (arrays of
            // arrays must be rectangular), unpacked in their order.
            upsert_contact_cards: c.prepare(
                "INSERT INTO contact_cards (code, numbers) \
                 SELECT u.code, ARRAY(SELECT e.n FROM json_array_elements_text(u.numbers) WITH ORDINALITY \
                 AS e(n, i) ORDER BY e.i) \
                 FROM unnest($1::text[], $2::json[]) AS u(code, numbers) \
                 ON CONFLICT (code) DO UPDATE SET numbers = EXCLUDED.numbers",
            )?,
            upsert_receipts: c.prepare(
                "INSERT INTO receipts (id, card, rec) SELECT * FROM unnest($1::text[], $2::text[], $3::json[]) \
                 ON CONFLICT (id) DO UPDATE SET card = EXCLUDED.card, rec = EXCLUDED.rec",
            )?,
            scan_contacts: c.prepare("SELECT code, rec FROM contacts WHERE code > $1 ORDER BY code LIMIT $2")?,
            scan_contact_cards: c
                .prepare("SELECT code, numbers FROM contact_cards WHERE code > $1 ORDER BY code LIMIT $2")?,
            scan_cards: c.prepare("SELECT number, rec, lots FROM cards WHERE number > $1 ORDER BY number LIMIT $2")?,
            scan_history: c
                .prepare("SELECT number, entry FROM history WHERE number = ANY($1::text[]) ORDER BY number, seq")?,
            scan_receipts: c.prepare("SELECT id, rec FROM receipts WHERE id > $1 ORDER BY id LIMIT $2")?,
            cards_by_status: c
                .prepare("SELECT rec FROM cards WHERE status = $1 AND number > $2 ORDER BY number LIMIT $3")?,
            contacts_by_code: c.prepare(
                "SELECT rec FROM contacts WHERE code >= $1 AND code < $2 AND code > $3 ORDER BY code LIMIT $4",
            )?,
            contacts_by_code_open: c
                .prepare("SELECT rec FROM contacts WHERE code >= $1 AND code > $2 ORDER BY code LIMIT $3")?,
            contacts_by_name: c.prepare(
                "SELECT rec FROM contacts WHERE name_key >= $1 AND name_key < $2 AND (name_key, code) > ($3, $4) \
                 ORDER BY name_key, code LIMIT $5",
            )?,
            contacts_by_name_open: c.prepare(
                "SELECT rec FROM contacts WHERE name_key >= $1 AND (name_key, code) > ($2, $3) \
                 ORDER BY name_key, code LIMIT $4",
            )?,
            card_count: c.prepare("SELECT count(*) FROM cards")?,
        })
    }
}

/// Column `i` of `row` as the record `T` it holds as JSON.
pub(super) fn json<T: serde::de::DeserializeOwned>(row: &Row, i: usize, key: &str) -> Result<T, StoreError> {
    row.try_get::<_, Json<T>>(i)
        .map(|j| j.0)
        .map_err(|e| StoreError::Corrupt { key: key.to_string(), reason: e.to_string() })
}

fn opt_json<T: serde::de::DeserializeOwned>(row: &Row, i: usize, key: &str) -> Result<Option<T>, StoreError> {
    row.try_get::<_, Option<Json<T>>>(i)
        .map(|j| j.map(|j| j.0))
        .map_err(|e| StoreError::Corrupt { key: key.to_string(), reason: e.to_string() })
}

/// No key holds a NUL (PostgreSQL text cannot), so a key with one finds nothing.
fn storable(key: &str) -> bool {
    !key.contains('\0')
}

/// Where the point reads run: a connection, or a transaction (which sends
/// its BEGIN with its first statement).
pub(super) trait Run {
    /// The rows of `st`, run after `lead` (if any; its rows are dropped),
    /// the two sent together.
    fn run(&mut self, lead: Lead<'_>, st: &Statement, params: &[Param<'_>]) -> Result<Vec<Row>, Error>;

    fn query(&mut self, st: &Statement, params: &[Param<'_>]) -> Result<Vec<Row>, Error> {
        self.run(None, st, params)
    }
}

impl Run for Conn {
    fn run(&mut self, lead: Lead<'_>, st: &Statement, params: &[Param<'_>]) -> Result<Vec<Row>, Error> {
        pipelined(self, false, lead, st, params)
    }
}

/// A card read locked: the record, its history length and its lots (JSON).
pub(super) type LockedCard = (CardRecord, i64, String);

/// The point reads, on a connection or inside a transaction.
pub(super) struct Reads<'a, C: Run + ?Sized> {
    pub client: &'a mut C,
    pub st: &'a Statements,
    pub lock: bool,
}

impl<C: Run + ?Sized> Reads<'_, C> {
    fn pick<'s>(&self, r: &'s Read) -> &'s Statement {
        if self.lock {
            &r.locking
        } else {
            &r.plain
        }
    }

    fn one<T: serde::de::DeserializeOwned>(
        &mut self,
        r: &Read,
        key: &str,
        what: &str,
    ) -> Result<Option<T>, StoreError> {
        if !storable(key) {
            return Ok(None);
        }
        let st = self.pick(r).clone();
        let rows = self.client.query(&st, &[&key]).map_err(|e| errors::map(what, e))?;
        rows.first().map(|row| json(row, 0, key)).transpose()
    }

    /// A card, locked, with its history length and lots (inside a transaction).
    pub fn locked_card(&mut self, number: &str) -> Result<Option<LockedCard>, StoreError> {
        if !storable(number) {
            return Ok(None);
        }
        let st = self.st.card.locking.clone();
        let rows = self.client.query(&st, &[&number]).map_err(|e| errors::map("reading a card", e))?;
        let Some(row) = rows.first() else { return Ok(None) };
        let corrupt = |e: Error| StoreError::Corrupt { key: number.to_string(), reason: e.to_string() };
        Ok(Some((json(row, 0, number)?, row.try_get(1).map_err(corrupt)?, row.try_get(2).map_err(corrupt)?)))
    }

    pub fn card(&mut self, number: &str) -> Result<Option<CardRecord>, StoreError> {
        self.one(&self.st.card, number, "reading a card")
    }
    pub fn contact(&mut self, code: &str) -> Result<Option<ContactRecord>, StoreError> {
        self.one(&self.st.contact, code, "reading a contact")
    }
    pub fn contact_by_mobile(&mut self, e164: &str) -> Result<Option<ContactRecord>, StoreError> {
        self.one(&self.st.contact_by_mobile, e164, "reading a contact by mobile")
    }
    pub fn lots(&mut self, number: &str) -> Result<Vec<Lot>, StoreError> {
        Ok(self.one(&self.st.lots, number, "reading lots")?.unwrap_or_default())
    }
    /// Inside a transaction the receipt id is locked first, found or not,
    /// until COMMIT: a receipt that does not exist yet has no row to lock,
    /// and two identical Confirms must not both find none (the second waits,
    /// then reads the first's receipt, in a statement of its own so that
    /// READ COMMITTED reads it after the wait).
    ///
    /// The two statements go out together; the server runs them one after
    /// the other all the same.
    pub fn receipt(&mut self, id: &str) -> Result<Option<ReceiptRecord>, StoreError> {
        if !storable(id) {
            return Ok(None);
        }
        if !self.lock {
            return self.one(&self.st.receipt, id, "reading a receipt");
        }
        let (lock, read) = (self.st.lock_receipt_id.clone(), self.st.receipt.locking.clone());
        let params: [Param<'_>; 1] = [&id];
        let rows = self
            .client
            .run(Some((&lock, &params[..])), &read, &params)
            .map_err(|e| errors::map("locking and reading a receipt", e))?;
        rows.first().map(|row| json(row, 0, id)).transpose()
    }
    pub fn contact_cards(&mut self, code: &str) -> Result<Vec<String>, StoreError> {
        if !storable(code) {
            return Ok(Vec::new());
        }
        let st = self.pick(&self.st.contact_cards).clone();
        let rows = self.client.query(&st, &[&code]).map_err(|e| errors::map("reading a contact's cards", e))?;
        match rows.first() {
            Some(row) => row
                .try_get::<_, Vec<String>>(0)
                .map_err(|e| StoreError::Corrupt { key: code.to_string(), reason: e.to_string() }),
            None => Ok(Vec::new()),
        }
    }
    pub fn history(&mut self, number: &str) -> Result<Vec<HistoryEntry>, StoreError> {
        if !storable(number) {
            return Ok(Vec::new());
        }
        let st = self.pick(&self.st.history).clone();
        let rows = self.client.query(&st, &[&number]).map_err(|e| errors::map("reading history", e))?;
        rows.iter().map(|row| json(row, 0, number)).collect()
    }
    /// The balance read: one indexed query.
    pub fn card_view(&mut self, number: &str) -> Result<Option<CardView>, StoreError> {
        if !storable(number) {
            return Ok(None);
        }
        let st = self.st.card_view.clone();
        let rows = self.client.query(&st, &[&number]).map_err(|e| errors::map("reading a card", e))?;
        let Some(row) = rows.first() else { return Ok(None) };
        Ok(Some(CardView {
            card: json(row, 0, number)?,
            lots: json(row, 1, number)?,
            contact: opt_json(row, 2, number)?,
        }))
    }
}

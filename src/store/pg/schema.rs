//! Versioned migrations, run by every server at start. Two servers starting
//! at once are serialised by a transaction-scoped advisory lock; the
//! `schema_version` table says which migrations are in.

use super::conn::Conn;
use super::errors;
use crate::store::StoreError;

/// The advisory lock key of the migrations ("cashdesk" in ASCII).
const MIGRATION_LOCK: i64 = 0x6361_7368_6465_736b;

/// Each migration, in order; index + 1 is its version. Never edit one that
/// has shipped: add the next.
///
/// Records are kept whole as `json` (serde's form of the store's records;
/// `json`, not `jsonb`, keeps any text a field may hold), with the columns
/// the indexes need beside them. Text keys are `COLLATE "C"` so the order is
/// the byte order every engine sorts by.
const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE cards (
    number text COLLATE "C" PRIMARY KEY,
    status text NOT NULL,
    contact text COLLATE "C",
    history_len bigint NOT NULL,
    rec json NOT NULL,
    lots json NOT NULL
);
CREATE INDEX cards_by_status ON cards (status, number);
-- The mobile is unique, checked at commit: one batch may move a number
-- from one contact to another.
CREATE TABLE contacts (
    code text COLLATE "C" PRIMARY KEY,
    mobile text UNIQUE DEFERRABLE INITIALLY DEFERRED,
    name_key text COLLATE "C" NOT NULL,
    rec json NOT NULL
);
CREATE INDEX contacts_by_name ON contacts (name_key, code);
CREATE TABLE contact_cards (
    code text COLLATE "C" PRIMARY KEY,
    numbers text[] NOT NULL
);
CREATE TABLE history (
    number text COLLATE "C" NOT NULL,
    seq bigint NOT NULL,
    entry json NOT NULL,
    PRIMARY KEY (number, seq)
);
CREATE TABLE receipts (
    id text COLLATE "C" PRIMARY KEY,
    card text COLLATE "C" NOT NULL,
    rec json NOT NULL
);
"#];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i32 = MIGRATIONS.len() as i32;

/// Brings the database to [`SCHEMA_VERSION`]; refuses a newer one.
pub(super) fn migrate(conn: &mut Conn) -> Result<(), StoreError> {
    let m = |e| errors::map("migrating the schema", e);
    let Conn { client, io } = conn;
    io.block_on(async move {
        let tx = client.transaction().await.map_err(m)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await.map_err(m)?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)").await.map_err(m)?;
        let current: i32 =
            tx.query_one("SELECT coalesce(max(version), 0) FROM schema_version", &[]).await.map_err(m)?.get(0);
        if current > SCHEMA_VERSION {
            return Err(StoreError::engine(
                "opening the database",
                std::io::Error::other(format!(
                    "its schema is version {current}, written by a newer cashdesk; this one knows up to {SCHEMA_VERSION}"
                )),
            ));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            let version = i as i32 + 1;
            tx.batch_execute(sql).await.map_err(m)?;
            tx.execute("INSERT INTO schema_version (version) VALUES ($1)", &[&version]).await.map_err(m)?;
            tracing::info!(version, "database schema migrated");
        }
        tx.commit().await.map_err(m)
    })
}

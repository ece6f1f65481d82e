//! Choosing the engine from the `--store` value (SPEC §7): none → sled
//! under the data directory, a `postgres://` URL → PostgreSQL, anything
//! else → a sled directory.

use super::pg::{is_postgres_url, PgOptions, PgStore};
use super::{SledStore, Store, StoreError};
use std::path::Path;
use std::sync::Arc;

/// Opens the store `store` names, or sled in `DATA/store` when none.
pub fn open_store(store: Option<&str>, data: &Path, pg: &PgOptions) -> Result<Arc<dyn Store>, StoreError> {
    match store {
        Some(url) if is_postgres_url(url) => Ok(Arc::new(PgStore::open(url, pg)?)),
        Some(dir) => Ok(Arc::new(SledStore::open(Path::new(dir))?)),
        None => Ok(Arc::new(SledStore::open(&data.join("store"))?)),
    }
}

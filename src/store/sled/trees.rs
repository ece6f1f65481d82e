//! The open sled database: its trees, plain writes of ops, and what sled's
//! errors mean to a person running the server.

use super::intent::Op;
use super::layout::{TreeId, INTENTS_TREE};
use crate::store::{Source, StoreError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long opening keeps retrying while sled's file lock is still held.
const OPEN_LOCK_WAIT_MAX: Duration = Duration::from_secs(3);

pub struct Trees {
    pub db: sled::Db,
    trees: Vec<sled::Tree>,
    pub intents: sled::Tree,
    /// Where the store lives (`None`: a temporary store).
    dir: Option<PathBuf>,
}

impl Trees {
    /// Opens (or creates) the database at `dir`, or a temporary one.
    pub fn open(dir: Option<&Path>) -> Result<Trees, StoreError> {
        // No periodic background flush: every acknowledged change is flushed
        // by the group commit anyway, and sled's timer flush competed with
        // its rounds for sled's flush lock (docs/storage.md).
        let config = match dir {
            Some(dir) => sled::Config::new().path(dir).flush_every_ms(None),
            None => sled::Config::new().temporary(true),
        };
        let dir = dir.map(Path::to_path_buf);
        let db = open_with_retry(&config, dir.as_deref())?;
        let open = |name: &str| db.open_tree(name).map_err(|e| sled_error(e, "opening the store", dir.as_deref()));
        let trees = TreeId::ALL.into_iter().map(|t| open(t.name())).collect::<Result<Vec<_>, _>>()?;
        debug_assert!(TreeId::ALL.iter().enumerate().all(|(i, t)| t.index() == i), "trees by index");
        let intents = open(INTENTS_TREE)?;
        Ok(Trees { db, trees, intents, dir })
    }

    pub fn tree(&self, id: TreeId) -> &sled::Tree {
        &self.trees[id.index()]
    }

    pub fn get(&self, id: TreeId, key: &[u8]) -> Result<Option<sled::IVec>, StoreError> {
        self.tree(id).get(key).map_err(|e| self.error(e, "reading"))
    }

    /// Applies ops in order with plain inserts and removes, sleeping
    /// `pause` after each (crash tests only; zero otherwise).
    pub fn apply(&self, ops: &[Op], pause: Duration) -> Result<(), StoreError> {
        for op in ops {
            let tree = self.tree(op.tree);
            match &op.value {
                Some(value) => tree.insert(op.key.as_slice(), value.as_slice()),
                None => tree.remove(op.key.as_slice()),
            }
            .map_err(|e| self.error(e, "writing"))?;
            if !pause.is_zero() {
                std::thread::sleep(pause);
            }
        }
        Ok(())
    }

    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map(drop).map_err(|e| self.error(e, "making changes durable"))
    }

    pub fn error(&self, e: sled::Error, what: &str) -> StoreError {
        sled_error(e, what, self.dir.as_deref())
    }
}

/// sled's background threads can hold the directory's file lock for a
/// moment after the previous `Db` in this process was dropped, and a
/// restarted server can race its predecessor's exit: retry briefly.
fn open_with_retry(config: &sled::Config, dir: Option<&Path>) -> Result<sled::Db, StoreError> {
    let started = Instant::now();
    loop {
        match config.open() {
            Ok(db) => return Ok(db),
            Err(e) if is_lock_error(&e) && started.elapsed() < OPEN_LOCK_WAIT_MAX => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(sled_error(e, "opening the store", dir)),
        }
    }
}

fn is_lock_error(e: &sled::Error) -> bool {
    matches!(e, sled::Error::Io(io) if io.to_string().contains("could not acquire lock"))
}

fn is_disk_full(io: &std::io::Error) -> bool {
    io.kind() == std::io::ErrorKind::StorageFull
        || io.raw_os_error() == Some(28)
        || io.to_string().contains("os error 28")
}

/// What a sled error means, in words a person can act on.
pub fn sled_error(e: sled::Error, what: &str, dir: Option<&Path>) -> StoreError {
    match &e {
        sled::Error::Io(io) if is_disk_full(io) => StoreError::DiskFull(Source::new(e)),
        sled::Error::Io(_) if is_lock_error(&e) => {
            StoreError::Locked { dir: dir.map(Path::to_path_buf).unwrap_or_default(), source: Source::new(e) }
        }
        sled::Error::Corruption { .. } => {
            StoreError::Corrupt { key: String::from("<sled>"), reason: format!("sled reports corruption: {e}") }
        }
        _ => StoreError::engine(what, e),
    }
}

//! `cashdesk store copy --from STORE --to STORE`: moving a chain between
//! engines (sled directory ↔ PostgreSQL URL) with the library's
//! [`cashdesk_card::copy`].

use anyhow::{anyhow, bail, Context};
use cashdesk_card::store::pg::{is_postgres_url, redact};
use cashdesk_card::store::{open_store, PgOptions, SledStore, Store, StoreError};
use clap::{Args, Subcommand};
use std::path::Path;
use std::sync::Arc;

#[derive(Subcommand)]
pub enum StoreCommand {
    /// Copy every contact, card (lots and history), binding and receipt of
    /// one store into another, empty one: sled to PostgreSQL or back. Stop
    /// the servers on the source first.
    Copy(CopyArgs),
}

#[derive(Args)]
pub struct CopyArgs {
    /// The store to copy: a sled store directory (a server's DATA/store) or
    /// postgres://user:password@host:port/database.
    #[arg(long)]
    from: String,
    /// The store to fill, which must be empty: a new directory or the URL of
    /// an empty database (its schema is created).
    #[arg(long)]
    to: String,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

pub fn run(c: StoreCommand) -> anyhow::Result<()> {
    match c {
        StoreCommand::Copy(a) => copy(a),
    }
}

/// How a store is named in messages: a directory as given, a URL without
/// its password.
fn shown(store: &str) -> String {
    if is_postgres_url(store) {
        redact(store)
    } else {
        store.to_string()
    }
}

/// Opens the source, refusing a directory that holds no sled store (a
/// mistyped path would otherwise become a new, empty store).
fn open_source(from: &str) -> anyhow::Result<Arc<dyn Store>> {
    if !is_postgres_url(from) {
        let dir = Path::new(from);
        if !SledStore::is_store_dir(dir) {
            if SledStore::is_store_dir(&dir.join("store")) {
                bail!("{from} is a data directory, not a store: its store is {}", dir.join("store").display());
            }
            bail!("there is no store in {from}");
        }
    }
    open(from).with_context(|| format!("cannot open the source store {}", shown(from)))
}

/// Opens a store; one a running server holds is named without sled's own
/// words about its lock file.
fn open(store: &str) -> anyhow::Result<Arc<dyn Store>> {
    open_store(Some(store), Path::new(""), &PgOptions::default()).map_err(|e| match e {
        StoreError::Locked { .. } => anyhow!("a cashdesk server is running on {store}; stop it first"),
        other => other.into(),
    })
}

fn copy(a: CopyArgs) -> anyhow::Result<()> {
    if a.from == a.to {
        bail!("--from and --to name the same store");
    }
    let from = open_source(&a.from)?;
    let to = open(&a.to).with_context(|| format!("cannot open the target store {}", shown(&a.to)))?;
    let report = cashdesk_card::copy::copy_store(&*from, &*to, !a.quiet)
        .with_context(|| format!("copying {} to {}", shown(&a.from), shown(&a.to)))?;
    println!("{report}");
    Ok(())
}

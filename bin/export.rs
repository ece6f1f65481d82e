//! `cashdesk export`: the store as the CSV files `cashdesk import` reads
//! back, for migration and backup (issue 13; the library's `export` module
//! has the formats).

use crate::{read_config, store_error, StoreArgs};
use anyhow::Context;
use cashdesk_card::export::{export, ExportKind};
use clap::Args;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Args)]
pub struct ExportArgs {
    /// Data directory (as for serve: flag, CASHDESK_DATA, config file).
    #[arg(long, env = "CASHDESK_DATA")]
    data: Option<PathBuf>,
    /// Config file (its `data` key is used).
    #[arg(long, env = "CASHDESK_CONFIG")]
    config: Option<PathBuf>,
    #[command(flatten)]
    store: StoreArgs,
    /// Directory to write the files to (created if missing; files in it
    /// with the same names are replaced).
    #[arg(long)]
    out: PathBuf,
    /// What to export: contacts, cards, bonuses, receipts (default: all, in
    /// that order — the order a restore imports them).
    what: Vec<String>,
}

pub fn run(a: ExportArgs) -> anyhow::Result<()> {
    let kinds: Vec<ExportKind> = if a.what.is_empty() {
        ExportKind::ALL.to_vec()
    } else {
        a.what.iter().map(|w| w.parse::<ExportKind>().map_err(anyhow::Error::msg)).collect::<Result<_, _>>()?
    };
    let file = read_config(a.config.as_deref())?;
    let data = a.data.or(file.data).context("--data is required (or CASHDESK_DATA, or `data` in --config)")?;
    let store = cashdesk_card::store::open_store(a.store.store.as_deref(), &data, &a.store.pg_options())
        .map_err(|e| store_error(e, &data))?;
    std::fs::create_dir_all(&a.out).with_context(|| format!("cannot create {}", a.out.display()))?;
    for kind in kinds {
        let started = Instant::now();
        let path = a.out.join(kind.file_name());
        // Written beside, renamed when complete: a file under the final
        // name is always a whole snapshot.
        let partial = a.out.join(format!(".{}.partial", kind.file_name()));
        let f = std::fs::File::create(&partial).with_context(|| format!("cannot create {}", partial.display()))?;
        let mut out = std::io::BufWriter::with_capacity(256 * 1024, f);
        let lines = export(store.as_ref(), kind, &mut out).with_context(|| format!("exporting {kind}"))?;
        let f =
            out.into_inner().map_err(|e| e.into_error()).with_context(|| format!("writing {}", partial.display()))?;
        f.sync_all().with_context(|| format!("writing {}", partial.display()))?;
        std::fs::rename(&partial, &path).with_context(|| format!("cannot rename to {}", path.display()))?;
        println!("{}: {lines} {} in {:.2} s", path.display(), noun(kind, lines), started.elapsed().as_secs_f64());
    }
    Ok(())
}

fn noun(kind: ExportKind, n: u64) -> &'static str {
    match (kind, n == 1) {
        (ExportKind::Contacts, true) => "contact",
        (ExportKind::Contacts, false) => "contacts",
        (ExportKind::Cards, true) => "card",
        (ExportKind::Cards, false) => "cards",
        (ExportKind::Bonuses, true) => "lot",
        (ExportKind::Bonuses, false) => "lots",
        (ExportKind::Receipts, true) => "receipt",
        (ExportKind::Receipts, false) => "receipts",
    }
}

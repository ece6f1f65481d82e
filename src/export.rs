//! Export and backup (issue 13): the store as the CSV files `cashdesk
//! import` reads back (`cashdesk export`, `GET /api/admin/export/…`).
//!
//! Each file is one [`Store::snapshot`], so it is consistent in itself: a
//! state the store was in between two changes. The three files are three
//! snapshots; changes made between them (a card bound to a contact exported
//! a moment before) are why a backup of a running server is taken as
//! contacts, then cards, then bonuses: a later file may only name records
//! an earlier one has, except for contacts or cards created in between.
//!
//! | file | columns (the import's) |
//! |---|---|
//! | `contacts.csv` | `Code,MobileNumber,Name,Email,BirthDate,Gender,City,Fields` (`Fields`: a JSON object) |
//! | `cards.csv` | `Number,CategoryCode,TypeCode,Status,ContactCode,BlockReasonCode,BlockedByUser,BlockedByRole` |
//! | `bonuses.csv` | `Number,Amount,TypeCode,ActiveFrom,ExpireDate,Frozen,ReceiptId`, one line per lot |
//! | `receipts.jsonl` | one receipt per line, as stored (a backup: not imported) |

use crate::import::ImportKind;
use crate::store::{SnapshotItem, SnapshotPart, Store, StoreError};
use std::fmt;
use std::io::Write;
use std::str::FromStr;

/// Which file is exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExportKind {
    Contacts,
    Cards,
    Bonuses,
    Receipts,
}

impl ExportKind {
    /// In the order a restore imports them.
    pub const ALL: [ExportKind; 4] =
        [ExportKind::Contacts, ExportKind::Cards, ExportKind::Bonuses, ExportKind::Receipts];

    pub fn name(self) -> &'static str {
        match self {
            ExportKind::Contacts => "contacts",
            ExportKind::Cards => "cards",
            ExportKind::Bonuses => "bonuses",
            ExportKind::Receipts => "receipts",
        }
    }

    /// The file name `cashdesk export` writes.
    pub fn file_name(self) -> &'static str {
        match self {
            ExportKind::Contacts => "contacts.csv",
            ExportKind::Cards => "cards.csv",
            ExportKind::Bonuses => "bonuses.csv",
            ExportKind::Receipts => "receipts.jsonl",
        }
    }

    /// The import that reads this file back, if any.
    pub fn import_kind(self) -> Option<ImportKind> {
        match self {
            ExportKind::Contacts => Some(ImportKind::Contacts),
            ExportKind::Cards => Some(ImportKind::Cards),
            ExportKind::Bonuses => Some(ImportKind::Bonuses),
            ExportKind::Receipts => None,
        }
    }

    fn part(self) -> SnapshotPart {
        match self {
            ExportKind::Contacts => SnapshotPart::Contacts,
            ExportKind::Cards | ExportKind::Bonuses => SnapshotPart::Cards,
            ExportKind::Receipts => SnapshotPart::Receipts,
        }
    }
}

impl fmt::Display for ExportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ExportKind {
    type Err = String;
    fn from_str(s: &str) -> Result<ExportKind, String> {
        ExportKind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(s.trim()) || k.file_name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown export `{s}`; expected contacts, cards, bonuses or receipts"))
    }
}

/// Writing the output failed (the store's own failures are store errors).
fn write_error(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::engine("writing the export", e)
}

/// Writes one file of `kind` from one snapshot of `store` to `out`;
/// returns the number of records (lines after the header) written.
pub fn export(store: &dyn Store, kind: ExportKind, out: &mut (dyn Write + Send)) -> Result<u64, StoreError> {
    if kind == ExportKind::Receipts {
        return export_receipts(store, out);
    }
    let mut csv = csv::WriterBuilder::new().from_writer(out);
    if let Some(import) = kind.import_kind() {
        csv.write_record(import.columns()).map_err(write_error)?;
    }
    let mut lines = 0u64;
    store.snapshot(kind.part(), &mut |item| {
        match (kind, item) {
            (ExportKind::Contacts, SnapshotItem::Contact(c)) => {
                let fields = if c.fields.is_empty() {
                    String::new()
                } else {
                    serde_json::to_string(&c.fields).map_err(write_error)?
                };
                let mobile = c.mobile.as_deref().unwrap_or("");
                let row = [&c.code, mobile, &c.name, &c.email, &c.birth_date, &c.gender, &c.city, &fields];
                csv.write_record(row).map_err(write_error)?;
                lines += 1;
            }
            (ExportKind::Cards, SnapshotItem::Card(card, _)) => {
                let b = card.block.as_ref();
                let row = [
                    card.number.as_str(),
                    card.category.code(),
                    card.card_type.code(),
                    card.status.code(),
                    card.contact.as_deref().unwrap_or(""),
                    b.map_or("", |b| b.reason.as_str()),
                    b.map_or("", |b| b.user.as_str()),
                    b.map_or("", |b| b.role.as_str()),
                ];
                csv.write_record(row).map_err(write_error)?;
                lines += 1;
            }
            (ExportKind::Bonuses, SnapshotItem::Card(card, lots)) => {
                for lot in lots {
                    let row = [
                        card.number.clone(),
                        lot.amount.to_string(),
                        lot.bonus_type.code().to_string(),
                        lot.active_from.format("%Y-%m-%d").to_string(),
                        lot.expire.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default(),
                        lot.frozen.to_string(),
                        lot.receipt.unwrap_or_default(),
                    ];
                    csv.write_record(row).map_err(write_error)?;
                    lines += 1;
                }
            }
            _ => debug_assert!(false, "the snapshot of {kind} gave a record of another kind"),
        }
        Ok(())
    })?;
    csv.flush().map_err(write_error)?;
    Ok(lines)
}

/// Receipts as JSON lines: the stored record whole, one per line.
fn export_receipts(store: &dyn Store, out: &mut (dyn Write + Send)) -> Result<u64, StoreError> {
    let mut lines = 0u64;
    store.snapshot(SnapshotPart::Receipts, &mut |item| {
        if let SnapshotItem::Receipt(r) = item {
            serde_json::to_writer(&mut *out, &r).map_err(write_error)?;
            out.write_all(b"\n").map_err(write_error)?;
            lines += 1;
        }
        Ok(())
    })?;
    out.flush().map_err(write_error)?;
    Ok(lines)
}

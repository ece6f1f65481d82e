//! Purchases at the till (SPEC §8): Calculate, Confirm, Cancel, Return and
//! Receipt. The figures come from the pure computation in
//! [`crate::rules::purchases`]; this module reads the card and the receipt
//! through the transaction's handle, applies the figures to the lots, keeps
//! the receipt, and makes each Confirm, Cancel and Return one all-or-nothing
//! change with its history entry.
//!
//! - [`input`]: the request's fields into domain values, in §8.4's order;
//! - [`sale`]: Calculate and Confirm, with Confirm's idempotency;
//! - [`reverse`]: Cancel and Return;
//! - [`lots`]: applying figures to a card's lots, and its active balance.
//!
//! Idempotency: a receipt id is kept for good. The same Confirm (same card,
//! lines, redemption) replays its first answer with `Replayed: true` and
//! changes nothing; other content under the id is `ReceiptIdConflict`. A
//! refused call keeps nothing, so its retry is decided afresh. The same for
//! a Return by its `ReturnId`, and a second Cancel.

mod input;
mod lots;
mod reverse;
mod sale;

use crate::domain::Amount;
use chrono::NaiveDate;

/// One receipt line as it came on the wire.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineInput {
    pub position: Option<String>,
    pub amount: Option<String>,
    pub category: Option<String>,
}

/// A Calculate or Confirm request as it came on the wire.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SaleInput {
    /// Confirm only.
    pub receipt_id: Option<String>,
    pub number: Option<String>,
    pub mobile: Option<String>,
    /// `None`: the field was absent.
    pub lines: Option<Vec<LineInput>>,
    pub redeem: Option<String>,
}

/// A Return request as it came on the wire.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReturnInput {
    pub receipt_id: Option<String>,
    pub return_id: Option<String>,
    pub lines: Option<Vec<LineInput>>,
}

/// What a receipt does to one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineFigures {
    pub position: u32,
    pub amount: Amount,
    pub redeemed: Amount,
    pub accrued: Amount,
}

/// Calculate's answer, and (with `receipt_id`, `replayed`) Confirm's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleAnswer {
    pub receipt_id: Option<String>,
    pub number: String,
    /// Calculate only: the most this receipt could redeem now.
    pub max_redeem: Amount,
    pub redeemed: Amount,
    pub accrued: Amount,
    /// The accrued lot's dates (`None` when nothing is accrued).
    pub active_from: Option<NaiveDate>,
    pub expire_date: Option<NaiveDate>,
    /// Calculate: now; Confirm: after the sale.
    pub active_balance: Amount,
    pub lines: Vec<LineFigures>,
    pub replayed: bool,
}

/// What a Return did to one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineReversal {
    pub position: u32,
    pub amount: Amount,
    /// Accrual this return took back for the line.
    pub reversed: Amount,
    /// Redemption this return gave back for the line.
    pub restored: Amount,
}

/// Cancel's answer, and (with `return_id` and `lines`) Return's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReversalAnswer {
    pub receipt_id: String,
    pub return_id: Option<String>,
    /// The card reversed.
    pub number: String,
    /// Accrual taken back from lots.
    pub reversed: Amount,
    /// Redemption given back as lots.
    pub restored: Amount,
    /// Accrual that no lot had left.
    pub unrecovered: Amount,
    pub active_balance: Amount,
    pub lines: Vec<LineReversal>,
    pub replayed: bool,
}

impl super::CardService {
    /// Receipt (SPEC §8.4): the sale as kept, with its returns.
    pub fn receipt(&self, caller: &super::Caller, id: &str) -> super::R<crate::store::ReceiptRecord> {
        let rules = self.rules.current();
        super::access(&rules, caller, crate::rules::Method::Receipt)?;
        let id = input::receipt_id(Some(id))?;
        self.store.receipt(id.as_str())?.ok_or_else(|| {
            super::Failure::new(crate::ErrorKey::CannotFindReceipt, format!("no receipt with id {}", id.as_str()))
        })
    }
}

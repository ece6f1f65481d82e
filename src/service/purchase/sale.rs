//! Calculate (what a Confirm would do now; changes nothing) and Confirm
//! (records the sale: redeems, accrues, keeps the receipt), SPEC §8.3–8.4.

use super::super::lookup::{identified_card, identified_card_and_lots};
use super::super::{access, record_history, Abort, Caller, CardService, Failure, Tx, R};
use super::input::{self, Sale};
use super::lots::{active_balance, subtract};
use super::{LineFigures, SaleAnswer, SaleInput};
use crate::domain::{Amount, Lot};
use crate::rules::purchases::{compute, Computation, Refusal};
use crate::rules::{Method, RuleSet};
use crate::store::{Batch, CardRecord, ReceiptLine, ReceiptRecord, ReceiptState, RedeemedPortion, StoreRead};
use crate::ErrorKey;
use chrono::NaiveDate;

fn refused(r: Refusal) -> Failure {
    Failure::new(r.key, r.message)
}

/// The figures of `sale` on `card` with `lots`, or the refusal of steps 4–6.
fn figures(rules: &RuleSet, card: &CardRecord, lots: &[Lot], sale: &Sale, today: NaiveDate) -> R<Computation> {
    let s = crate::rules::purchases::Sale {
        status: card.status,
        card_type: card.card_type,
        lots,
        lines: &sale.lines,
        redeem: sale.redeem,
        today,
    };
    compute(rules, &s).map_err(refused)
}

fn line_figures(c: &Computation) -> Vec<LineFigures> {
    c.lines
        .iter()
        .map(|l| LineFigures {
            position: l.position.get(),
            amount: l.amount.amount(),
            redeemed: l.redeemed,
            accrued: l.accrued,
        })
        .collect()
}

impl CardService {
    /// Calculate (SPEC §8.4): what a Confirm would do now. Reads committed
    /// state; changes nothing.
    pub fn calculate(&self, caller: &Caller, input: &SaleInput, today: NaiveDate) -> R<SaleAnswer> {
        let rules = self.rules.current();
        access(&rules, caller, Method::Calculate)?;
        let sale = input::sale(&rules, input, false)?;
        let read: &dyn StoreRead = &*self.store;
        let (card, lots) = identified_card_and_lots(read, &rules, sale.number.as_ref(), sale.mobile.as_ref())?;
        let c = figures(&rules, &card, &lots, &sale, today)?;
        let lot = c.accrued_lot.as_ref();
        Ok(SaleAnswer {
            receipt_id: None,
            number: card.number,
            max_redeem: c.max_redeem,
            redeemed: c.redeemed,
            accrued: c.accrued,
            active_from: lot.map(|l| l.active_from),
            expire_date: lot.and_then(|l| l.expire),
            active_balance: c.active_balance,
            lines: line_figures(&c),
            replayed: false,
        })
    }

    /// Confirm (SPEC §8.4): records the sale, all or nothing, durable before
    /// the answer; the same sale again replays its first answer.
    pub fn confirm(&self, caller: &Caller, input: &SaleInput, today: NaiveDate) -> R<SaleAnswer> {
        let rules = self.rules.current();
        access(&rules, caller, Method::Confirm)?;
        let sale = input::sale(&rules, input, true)?;
        self.write(|r, out| {
            let id = sale.receipt_id.as_ref().map(|id| id.as_str()).unwrap_or_default();
            if let Some(existing) = r.receipt(id)? {
                return replay(r, &rules, &existing, &sale);
            }
            let (card, lots) = identified_card_and_lots(r, &rules, sale.number.as_ref(), sale.mobile.as_ref())?;
            let c = figures(&rules, &card, &lots, &sale, today)?;
            Ok(record_sale(&rules, caller, id, card, lots, &sale, &c, today, out))
        })
    }
}

/// Step 3: a receipt with this id exists. The same sale (same card after
/// lookup, same lines, same R) replays the first answer; anything else is
/// a conflict.
fn replay(r: &dyn StoreRead, rules: &RuleSet, existing: &ReceiptRecord, sale: &Sale) -> Tx<SaleAnswer> {
    let card = match identified_card(r, rules, sale.number.as_ref(), sale.mobile.as_ref()) {
        Ok(card) => Some(card.number),
        Err(Abort::Refused(_)) => None,
        Err(e) => return Err(e),
    };
    if card.as_deref() != Some(existing.card.as_str())
        || !same_lines(existing, sale)
        || existing.redeemed != sale.redeem
    {
        return Err(Failure::new(
            ErrorKey::ReceiptIdConflict,
            format!("receipt {} was confirmed with other content (card, lines or redemption)", existing.id),
        )
        .into());
    }
    Ok(first_answer(existing))
}

/// The same lines: Position, Amount (as numbers) and Category, in any order.
fn same_lines(existing: &ReceiptRecord, sale: &Sale) -> bool {
    let mut ours: Vec<(u32, Amount, Option<&str>)> =
        sale.lines.iter().map(|l| (l.position.get(), l.amount.amount(), l.category.as_deref())).collect();
    let mut theirs: Vec<(u32, Amount, Option<&str>)> =
        existing.lines.iter().map(|l| (l.position, l.amount, l.category.as_deref())).collect();
    ours.sort();
    theirs.sort();
    ours == theirs
}

/// The answer Confirm first gave, rebuilt from the receipt.
pub(super) fn first_answer(rec: &ReceiptRecord) -> SaleAnswer {
    SaleAnswer {
        receipt_id: Some(rec.id.clone()),
        number: rec.card.clone(),
        max_redeem: Amount::ZERO,
        redeemed: rec.redeemed,
        accrued: rec.accrued,
        active_from: rec.accrued_from,
        expire_date: rec.accrued_expire,
        active_balance: rec.active_balance,
        lines: rec
            .lines
            .iter()
            .map(|l| LineFigures { position: l.position, amount: l.amount, redeemed: l.redeemed, accrued: l.accrued })
            .collect(),
        replayed: true,
    }
}

/// Puts the sale in the batch: the lots after redemption and accrual, the
/// receipt, and the card's history entry.
#[allow(clippy::too_many_arguments)]
fn record_sale(
    rules: &RuleSet,
    caller: &Caller,
    id: &str,
    mut card: CardRecord,
    mut lots: Vec<Lot>,
    sale: &Sale,
    c: &Computation,
    today: NaiveDate,
    out: &mut Batch,
) -> SaleAnswer {
    subtract(&mut lots, c.taken.iter().map(|t| (t.lot, t.portion.amount)));
    if let Some(lot) = &c.accrued_lot {
        lots.push(Lot { receipt: Some(id.to_string()), ..lot.clone() });
    }
    let balance = active_balance(rules, card.status, &lots, today);
    let receipt = ReceiptRecord {
        id: id.to_string(),
        card: card.number.clone(),
        state: ReceiptState::Confirmed,
        time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        user: caller.user.clone(),
        redeemed: c.redeemed,
        accrued: c.accrued,
        accrued_from: c.accrued_lot.as_ref().map(|l| l.active_from),
        accrued_expire: c.accrued_lot.as_ref().and_then(|l| l.expire),
        active_balance: balance,
        lines: c
            .lines
            .iter()
            .zip(&sale.lines)
            .map(|(l, s)| ReceiptLine {
                position: l.position.get(),
                amount: l.amount.amount(),
                category: s.category.clone(),
                redeemed: l.redeemed,
                accrued: l.accrued,
                returned: Amount::ZERO,
                reversed: Amount::ZERO,
                restored: Amount::ZERO,
            })
            .collect(),
        portions: c
            .taken
            .iter()
            .map(|t| RedeemedPortion { amount: t.portion.amount, expire: t.portion.expire })
            .collect(),
        reversed: Amount::ZERO,
        restored: Amount::ZERO,
        unrecovered: Amount::ZERO,
        returns: Vec::new(),
        cancel: None,
    };
    let status = Some(card.status);
    let reason = format!("receipt {id}: {} bonuses redeemed, {} accrued", c.redeemed, c.accrued);
    record_history(out, &mut card, caller, Method::Confirm, (status, status), reason);
    out.put_lots(&card.number, lots);
    out.put_card(card);
    let answer = SaleAnswer { replayed: false, ..first_answer(&receipt) };
    out.put_receipt(receipt);
    answer
}

//! Cancel (voids the whole sale) and Return (goods brought back, whole
//! lines or part of them), SPEC §8.4 "Reversal": take back accrual, give
//! back redemption, on the receipt's card — or, when that card was blocked
//! for replacement, on the contact's current card, where its bonuses went.

use super::super::lookup::{blocked_for_replacement, current_card};
use super::super::parse::{missing_parameters, present};
use super::super::{access, record_history, Caller, CardService, Failure, Tx, R};
use super::input::{self, Return};
use super::lots::{active_balance, subtract};
use super::{LineReversal, ReturnInput, ReversalAnswer};
use crate::domain::{Amount, Money};
use crate::rules::purchases::{give_back_redemption, line_return, take_back_accrual, Portion};
use crate::rules::{Method, RuleSet};
use crate::store::{Batch, CardRecord, ReceiptRecord, ReceiptState, ReturnRecord, Reversal, StoreError, StoreRead};
use crate::ErrorKey;
use chrono::NaiveDate;

fn sum(amounts: impl Iterator<Item = Amount>) -> Amount {
    amounts.fold(Amount::ZERO, Amount::plus)
}

fn less(a: Amount, b: Amount) -> Amount {
    a.minus(b).unwrap_or(Amount::ZERO)
}

impl CardService {
    /// Cancel (SPEC §8.4): takes back all accrual not yet taken back and
    /// gives back all redemption not yet given back.
    pub fn cancel(&self, caller: &Caller, receipt_id: Option<&str>, today: NaiveDate) -> R<ReversalAnswer> {
        let rules = self.rules.current();
        access(&rules, caller, Method::Cancel)?;
        missing_parameters(if present(receipt_id).is_none() { &["ReceiptId"] } else { &[] })?;
        let id = input::receipt_id(receipt_id)?;
        self.write(|r, out| {
            let mut rec = find_receipt(r, id.as_str())?;
            if let Some(first) = &rec.cancel {
                return Ok(answer(&rec, None, first, Vec::new(), true));
            }
            let x = sum(rec.lines.iter().map(|l| less(l.accrued, l.reversed)));
            let y = sum(rec.lines.iter().map(|l| less(l.redeemed, l.restored)));
            for l in &mut rec.lines {
                (l.reversed, l.restored) = (l.accrued, l.redeemed);
            }
            let done = reverse(r, &rules, caller, Method::Cancel, &mut rec, (x, y), today, out)?;
            rec.state = ReceiptState::Cancelled;
            rec.cancel = Some(done.clone());
            let a = answer(&rec, None, &done, Vec::new(), false);
            out.put_receipt(rec);
            Ok(a)
        })
    }

    /// Return (SPEC §8.4): for each line, its accrual taken back so far
    /// becomes floor2(c·T/a) and its redemption given back floor2(s·T/a);
    /// this return does the difference.
    pub fn return_goods(&self, caller: &Caller, input: &ReturnInput, today: NaiveDate) -> R<ReversalAnswer> {
        let rules = self.rules.current();
        access(&rules, caller, Method::Return)?;
        let req = input::return_request(input)?;
        self.write(|r, out| {
            let mut rec = find_receipt(r, req.receipt_id.as_str())?;
            if let Some(earlier) = rec.returns.iter().find(|x| x.id == req.return_id.as_str()) {
                return replay(&rec, earlier, &req);
            }
            if rec.state == ReceiptState::Cancelled {
                return Err(
                    Failure::new(ErrorKey::ReceiptCancelled, format!("receipt {} was cancelled", rec.id)).into()
                );
            }
            let (lines, (x, y)) = return_lines(&mut rec, &req)?;
            let done = reverse(r, &rules, caller, Method::Return, &mut rec, (x, y), today, out)?;
            rec.state = if rec.lines.iter().all(|l| l.returned == l.amount) {
                ReceiptState::Returned
            } else {
                ReceiptState::PartiallyReturned
            };
            rec.returns.push(ReturnRecord {
                id: req.return_id.as_str().to_string(),
                lines: req.lines.iter().map(|(p, a)| (p.get(), a.amount())).collect(),
                done: lines.iter().map(|l| (l.position, l.reversed, l.restored)).collect(),
                reversal: done.clone(),
            });
            let a = answer(&rec, Some(req.return_id.as_str()), &done, lines, false);
            out.put_receipt(rec);
            Ok(a)
        })
    }
}

fn find_receipt(r: &dyn StoreRead, id: &str) -> Tx<ReceiptRecord> {
    Ok(r.receipt(id)?.ok_or_else(|| Failure::new(ErrorKey::CannotFindReceipt, format!("no receipt with id {id}")))?)
}

/// Step 4: this ReturnId is on the receipt already.
fn replay(rec: &ReceiptRecord, earlier: &ReturnRecord, req: &Return) -> Tx<ReversalAnswer> {
    let mut asked: Vec<(u32, Amount)> = req.lines.iter().map(|(p, a)| (p.get(), a.amount())).collect();
    let mut first = earlier.lines.clone();
    asked.sort();
    first.sort();
    if asked != first {
        return Err(Failure::new(
            ErrorKey::ReceiptIdConflict,
            format!("return {} of receipt {} was made with other lines", earlier.id, rec.id),
        )
        .into());
    }
    Ok(answer(rec, Some(&earlier.id), &earlier.reversal, return_lines_of(earlier), true))
}

fn return_lines_of(ret: &ReturnRecord) -> Vec<LineReversal> {
    ret.lines
        .iter()
        .zip(&ret.done)
        .map(|((position, amount), (_, reversed, restored))| LineReversal {
            position: *position,
            amount: *amount,
            reversed: *reversed,
            restored: *restored,
        })
        .collect()
}

/// Step 6 and the per-line figures of step 7: updates the receipt's lines
/// and returns what this return does per line and in all (X accrual to take
/// back, Y redemption to give back).
fn return_lines(rec: &mut ReceiptRecord, req: &Return) -> Tx<(Vec<LineReversal>, (Amount, Amount))> {
    let mut at = Vec::with_capacity(req.lines.len());
    for (p, _) in &req.lines {
        let i = rec.lines.iter().position(|l| l.position == p.get()).ok_or_else(|| {
            Failure::new(ErrorKey::InvalidPosition, format!("receipt {} has no line at position {p}", rec.id))
        })?;
        at.push(i);
    }
    for (&i, (p, amount)) in at.iter().zip(&req.lines) {
        let line = &rec.lines[i];
        if line.returned.plus(amount.amount()) > line.amount {
            return Err(Failure::new(
                ErrorKey::ReturnExceedsPurchase,
                format!(
                    "line {p}: {} returned before and {amount} now is more than its amount {}",
                    line.returned, line.amount
                ),
            )
            .into());
        }
    }
    let mut out = Vec::with_capacity(at.len());
    for (&i, (p, amount)) in at.iter().zip(&req.lines) {
        let line = &mut rec.lines[i];
        let money = Money::try_from(line.amount).map_err(|e| StoreError::Corrupt {
            key: format!("receipts/{}", rec.id),
            reason: format!("line {p}: {e}"),
        })?;
        let after = line.returned.plus(amount.amount());
        let back = line_return(money, line.redeemed, line.accrued, line.returned, after);
        line.returned = after;
        line.reversed = line.reversed.plus(back.accrual);
        line.restored = line.restored.plus(back.redemption);
        out.push(LineReversal {
            position: p.get(),
            amount: amount.amount(),
            reversed: back.accrual,
            restored: back.redemption,
        });
    }
    let x = sum(out.iter().map(|l| l.reversed));
    let y = sum(out.iter().map(|l| l.restored));
    Ok((out, (x, y)))
}

/// The card a reversal works on: the receipt's, or the current card of its
/// contact when it was blocked for replacement.
fn target_card(r: &dyn StoreRead, rules: &RuleSet, number: &str) -> Tx<CardRecord> {
    let card = r.card(number)?.ok_or_else(|| StoreError::Corrupt {
        key: format!("cards/{number}"),
        reason: "a receipt names a card that does not exist".into(),
    })?;
    if !blocked_for_replacement(rules, &card) {
        return Ok(card);
    }
    match &card.contact {
        Some(code) => Ok(current_card(r, rules, code)?.unwrap_or(card)),
        None => Ok(card),
    }
}

/// Takes back `x` of accrual and gives back `y` of redemption on the
/// target card, puts its lots, record and history entry in `out`, and adds
/// the totals to the receipt.
#[allow(clippy::too_many_arguments)]
fn reverse(
    r: &dyn StoreRead,
    rules: &RuleSet,
    caller: &Caller,
    method: Method,
    rec: &mut ReceiptRecord,
    (x, y): (Amount, Amount),
    today: NaiveDate,
    out: &mut Batch,
) -> Tx<Reversal> {
    let mut card = target_card(r, rules, &rec.card)?;
    let mut lots = r.lots(&card.number)?;
    let back = take_back_accrual(rules, &lots, &rec.id, x, today);
    subtract(&mut lots, back.from.iter().copied());
    let portions: Vec<Portion> = rec.portions.iter().map(|p| Portion { amount: p.amount, expire: p.expire }).collect();
    let given = give_back_redemption(rules, &portions, rec.restored, y, today);
    let restored = sum(given.iter().map(|g| g.amount));
    debug_assert_eq!(restored, y, "a redemption is given back whole");
    lots.extend(given.into_iter().map(|g| g.lot));
    let reversed = less(x, back.unrecovered);
    rec.reversed = rec.reversed.plus(reversed);
    rec.restored = rec.restored.plus(restored);
    rec.unrecovered = rec.unrecovered.plus(back.unrecovered);
    let status = Some(card.status);
    let reason = format!(
        "receipt {}: {reversed} bonuses taken back, {restored} given back{}",
        rec.id,
        if back.unrecovered.is_zero() {
            String::new()
        } else {
            format!(", {} could not be taken back", back.unrecovered)
        }
    );
    record_history(out, &mut card, caller, method, (status, status), reason);
    let active_balance = active_balance(rules, card.status, &lots, today);
    out.put_lots(&card.number, lots);
    let number = card.number.clone();
    out.put_card(card);
    Ok(Reversal {
        time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        user: caller.user.clone(),
        number,
        reversed,
        restored,
        unrecovered: back.unrecovered,
        active_balance,
    })
}

fn answer(
    rec: &ReceiptRecord,
    return_id: Option<&str>,
    done: &Reversal,
    lines: Vec<LineReversal>,
    replayed: bool,
) -> ReversalAnswer {
    ReversalAnswer {
        receipt_id: rec.id.clone(),
        return_id: return_id.map(str::to_string),
        number: done.number.clone(),
        reversed: done.reversed,
        restored: done.restored,
        unrecovered: done.unrecovered,
        active_balance: done.active_balance,
        lines,
        replayed,
    }
}

//! The purchase methods on the wire (SPEC §8.4): their request fields and
//! their answers' field names. Every bonus amount is a JSON number with its
//! exact decimal digits.

use super::json_out::JsonOut;
use super::wire::{amount_json, ok_json, Fields, Malformed};
use crate::domain::Amount;
use crate::service::{LineFigures, LineInput, LineReversal, ReturnInput, ReversalAnswer, SaleAnswer, SaleInput};
use crate::store::ReceiptRecord;
use serde::Serialize;
use serde_json::value::RawValue;

fn lines(fields: &Fields, with_category: bool) -> Result<Option<Vec<LineInput>>, Malformed> {
    let Some(objects) = fields.objects("Lines")? else { return Ok(None) };
    let mut out = Vec::with_capacity(objects.len());
    for line in objects {
        out.push(LineInput {
            position: line.amount("Position")?,
            amount: line.amount("Amount")?,
            category: if with_category { line.code("Category")? } else { None },
        });
    }
    Ok(Some(out))
}

/// A Calculate or Confirm body.
pub fn sale_input(fields: &Fields) -> Result<SaleInput, Malformed> {
    Ok(SaleInput {
        receipt_id: fields.string("ReceiptId")?,
        number: fields.string("Number")?,
        mobile: fields.string("ContactMobileNumber")?,
        lines: lines(fields, true)?,
        redeem: fields.amount("Redeem")?,
    })
}

/// A Return body.
pub fn return_input(fields: &Fields) -> Result<ReturnInput, Malformed> {
    Ok(ReturnInput {
        receipt_id: fields.string("ReceiptId")?,
        return_id: fields.string("ReturnId")?,
        lines: lines(fields, false)?,
    })
}

/// The lines of a Calculate or Confirm answer.
fn sale_lines(out: &mut JsonOut, lines: &[LineFigures]) {
    out.array("Lines");
    for l in lines {
        out.element().uint("Position", l.position.into()).amount("Amount", l.amount);
        out.amount("Redeemed", l.redeemed).amount("Accrued", l.accrued).end_object();
    }
    out.end_array();
}

/// The figures Calculate and Confirm share, after `Number`.
fn sale_figures(out: &mut JsonOut, a: &SaleAnswer, with_max: bool) {
    if with_max {
        out.amount("MaxRedeem", a.max_redeem);
    }
    out.amount("Redeemed", a.redeemed).amount("Accrued", a.accrued);
    out.date("ActiveFrom", a.active_from).date("ExpireDate", a.expire_date);
    out.amount("ActiveBalance", a.active_balance);
    sale_lines(out, &a.lines);
}

/// Calculate's answer, written by [`JsonOut`] (a till calls it per scan).
pub fn calculate_json(a: &SaleAnswer) -> Vec<u8> {
    let mut out = JsonOut::object(256 + 96 * a.lines.len());
    out.bool("Status", true).str("Key", "OK").str("Value", "").str("Number", &a.number);
    sale_figures(&mut out, a, true);
    out.finish()
}

pub fn confirm_json(a: &SaleAnswer) -> Vec<u8> {
    let mut out = JsonOut::object(320 + 96 * a.lines.len());
    out.bool("Status", true).str("Key", "OK").str("Value", "");
    out.str("ReceiptId", a.receipt_id.as_deref().unwrap_or_default()).str("Number", &a.number);
    sale_figures(&mut out, a, false);
    out.bool("Replayed", a.replayed);
    out.finish()
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ReturnLineBody {
    position: u32,
    amount: Box<RawValue>,
    reversed: Box<RawValue>,
    restored: Box<RawValue>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ReversalBody {
    receipt_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    return_id: Option<String>,
    number: String,
    reversed: Box<RawValue>,
    restored: Box<RawValue>,
    unrecovered: Box<RawValue>,
    active_balance: Box<RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lines: Option<Vec<ReturnLineBody>>,
    replayed: bool,
}

fn reversal_body(a: &ReversalAnswer, lines: Option<&[LineReversal]>) -> ReversalBody {
    ReversalBody {
        receipt_id: a.receipt_id.clone(),
        return_id: a.return_id.clone(),
        number: a.number.clone(),
        reversed: amount_json(a.reversed),
        restored: amount_json(a.restored),
        unrecovered: amount_json(a.unrecovered),
        active_balance: amount_json(a.active_balance),
        lines: lines.map(|ls| {
            ls.iter()
                .map(|l| ReturnLineBody {
                    position: l.position,
                    amount: amount_json(l.amount),
                    reversed: amount_json(l.reversed),
                    restored: amount_json(l.restored),
                })
                .collect()
        }),
        replayed: a.replayed,
    }
}

pub fn cancel_json(a: &ReversalAnswer) -> Vec<u8> {
    ok_json(reversal_body(a, None))
}

pub fn return_json(a: &ReversalAnswer) -> Vec<u8> {
    ok_json(reversal_body(a, Some(&a.lines)))
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ReceiptLineBody {
    position: u32,
    amount: Box<RawValue>,
    category: Option<String>,
    redeemed: Box<RawValue>,
    accrued: Box<RawValue>,
    returned: Box<RawValue>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ReturnedLineBody {
    position: u32,
    amount: Box<RawValue>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ReturnBody {
    return_id: String,
    time: String,
    user: String,
    lines: Vec<ReturnedLineBody>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ReceiptBody {
    receipt_id: String,
    number: String,
    state: &'static str,
    time: String,
    user: String,
    redeemed: Box<RawValue>,
    accrued: Box<RawValue>,
    reversed: Box<RawValue>,
    restored: Box<RawValue>,
    unrecovered: Box<RawValue>,
    lines: Vec<ReceiptLineBody>,
    returns: Vec<ReturnBody>,
}

pub fn receipt_json(r: &ReceiptRecord) -> Vec<u8> {
    let a = |x: Amount| amount_json(x);
    ok_json(ReceiptBody {
        receipt_id: r.id.clone(),
        number: r.card.clone(),
        state: r.state.name(),
        time: r.time.clone(),
        user: r.user.clone(),
        redeemed: a(r.redeemed),
        accrued: a(r.accrued),
        reversed: a(r.reversed),
        restored: a(r.restored),
        unrecovered: a(r.unrecovered),
        lines: r
            .lines
            .iter()
            .map(|l| ReceiptLineBody {
                position: l.position,
                amount: a(l.amount),
                category: l.category.clone(),
                redeemed: a(l.redeemed),
                accrued: a(l.accrued),
                returned: a(l.returned),
            })
            .collect(),
        returns: r
            .returns
            .iter()
            .map(|x| ReturnBody {
                return_id: x.id.clone(),
                time: x.reversal.time.clone(),
                user: x.reversal.user.clone(),
                lines: x.lines.iter().map(|(p, amt)| ReturnedLineBody { position: *p, amount: a(*amt) }).collect(),
            })
            .collect(),
    })
}

//! The purchase methods on the wire (SPEC §8.4): their request fields and
//! their answers' field names. Every bonus amount is a JSON number with its
//! exact decimal digits.

use super::wire::{amount_json, ok_json, Fields, Malformed};
use crate::domain::Amount;
use crate::service::{LineFigures, LineInput, LineReversal, ReturnInput, ReversalAnswer, SaleAnswer, SaleInput};
use crate::store::ReceiptRecord;
use chrono::NaiveDate;
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

fn date(d: Option<NaiveDate>) -> Option<String> {
    d.map(|d| d.format("%Y-%m-%d").to_string())
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct LineBody {
    position: u32,
    amount: Box<RawValue>,
    redeemed: Box<RawValue>,
    accrued: Box<RawValue>,
}

fn line_bodies(lines: &[LineFigures]) -> Vec<LineBody> {
    lines
        .iter()
        .map(|l| LineBody {
            position: l.position,
            amount: amount_json(l.amount),
            redeemed: amount_json(l.redeemed),
            accrued: amount_json(l.accrued),
        })
        .collect()
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct CalculateBody {
    number: String,
    max_redeem: Box<RawValue>,
    redeemed: Box<RawValue>,
    accrued: Box<RawValue>,
    active_from: Option<String>,
    expire_date: Option<String>,
    active_balance: Box<RawValue>,
    lines: Vec<LineBody>,
}

pub fn calculate_json(a: &SaleAnswer) -> Vec<u8> {
    ok_json(CalculateBody {
        number: a.number.clone(),
        max_redeem: amount_json(a.max_redeem),
        redeemed: amount_json(a.redeemed),
        accrued: amount_json(a.accrued),
        active_from: date(a.active_from),
        expire_date: date(a.expire_date),
        active_balance: amount_json(a.active_balance),
        lines: line_bodies(&a.lines),
    })
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ConfirmBody {
    receipt_id: String,
    number: String,
    redeemed: Box<RawValue>,
    accrued: Box<RawValue>,
    active_from: Option<String>,
    expire_date: Option<String>,
    active_balance: Box<RawValue>,
    lines: Vec<LineBody>,
    replayed: bool,
}

pub fn confirm_json(a: &SaleAnswer) -> Vec<u8> {
    ok_json(ConfirmBody {
        receipt_id: a.receipt_id.clone().unwrap_or_default(),
        number: a.number.clone(),
        redeemed: amount_json(a.redeemed),
        accrued: amount_json(a.accrued),
        active_from: date(a.active_from),
        expire_date: date(a.expire_date),
        active_balance: amount_json(a.active_balance),
        lines: line_bodies(&a.lines),
        replayed: a.replayed,
    })
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

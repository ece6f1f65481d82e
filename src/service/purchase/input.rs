//! A purchase request's fields into domain values, with §8.4's keys in its
//! order: what is missing, then what is malformed (receipt id, return id,
//! card number, mobile, positions, amounts), before anything is looked up.

use super::super::parse::{missing_parameters, parse_mobile, parse_number, present};
use super::super::{Failure, R};
use super::LineInput;
use crate::domain::{Amount, CardNumber, MobileNumber, Money, Position, ReceiptId, ReturnId};
use crate::rules::purchases::SaleLine;
use crate::rules::RuleSet;
use crate::ErrorKey;
use std::collections::BTreeSet;

/// Most lines one request may carry (SPEC §8.1).
pub const LINES_MAX: usize = 1000;

/// A sale's parsed request.
#[derive(Debug, Clone)]
pub struct Sale {
    pub receipt_id: Option<ReceiptId>,
    pub number: Option<CardNumber>,
    pub mobile: Option<MobileNumber>,
    pub lines: Vec<SaleLine>,
    pub redeem: Amount,
}

/// A return's parsed request: (position, amount) per line.
#[derive(Debug, Clone)]
pub struct Return {
    pub receipt_id: ReceiptId,
    pub return_id: ReturnId,
    pub lines: Vec<(Position, Money)>,
}

fn lines_given(lines: &Option<Vec<LineInput>>) -> bool {
    lines.as_ref().is_some_and(|l| !l.is_empty())
}

pub fn receipt_id(s: Option<&str>) -> R<ReceiptId> {
    ReceiptId::parse(s.unwrap_or("")).map_err(|e| Failure::new(ErrorKey::InvalidReceiptId, e.to_string()))
}

fn return_id(s: Option<&str>) -> R<ReturnId> {
    ReturnId::parse(s.unwrap_or("")).map_err(|e| Failure::new(ErrorKey::InvalidReturnId, e.to_string()))
}

/// Positions first (each valid, none twice, at most [`LINES_MAX`] lines),
/// then amounts: SPEC lists InvalidPosition before InvalidAmount.
fn positions(lines: &[LineInput]) -> R<Vec<Position>> {
    if lines.len() > LINES_MAX {
        return Err(Failure::new(ErrorKey::InvalidPosition, format!("a receipt has at most {LINES_MAX} lines")));
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(lines.len());
    for l in lines {
        let p = Position::parse(l.position.as_deref().unwrap_or(""))
            .map_err(|e| Failure::new(ErrorKey::InvalidPosition, e.to_string()))?;
        if !seen.insert(p) {
            return Err(Failure::new(ErrorKey::InvalidPosition, format!("position {p} is given twice")));
        }
        out.push(p);
    }
    Ok(out)
}

fn money(s: Option<&str>) -> R<Money> {
    Money::parse(s.unwrap_or("")).map_err(|e| Failure::new(ErrorKey::InvalidAmount, e.to_string()))
}

/// Calculate (`confirm` false) or Confirm: steps 1 and 2 of §8.4.
pub fn sale(rules: &RuleSet, input: &super::SaleInput, confirm: bool) -> R<Sale> {
    let (number, mobile) = (present(input.number.as_deref()), present(input.mobile.as_deref()));
    let mut missing = Vec::new();
    if confirm && present(input.receipt_id.as_deref()).is_none() {
        missing.push("ReceiptId");
    }
    if number.is_none() && mobile.is_none() {
        missing.push("Number or ContactMobileNumber");
    }
    if !lines_given(&input.lines) {
        missing.push("Lines");
    }
    missing_parameters(&missing)?;
    let receipt_id = if confirm { Some(receipt_id(input.receipt_id.as_deref())?) } else { None };
    let number = number.map(|n| parse_number(rules, n)).transpose()?;
    let mobile = mobile.map(|m| parse_mobile(rules, m)).transpose()?;
    let given = input.lines.as_deref().unwrap_or_default();
    let positions = positions(given)?;
    let mut lines = Vec::with_capacity(given.len());
    for (l, position) in given.iter().zip(positions) {
        let category = present(l.category.as_deref()).map(|c| c.trim().to_string());
        lines.push(SaleLine { position, amount: money(l.amount.as_deref())?, category });
    }
    let redeem = match present(input.redeem.as_deref()) {
        None => Amount::ZERO,
        Some(r) => Money::parse_redeem(r).map_err(|e| Failure::new(ErrorKey::InvalidAmount, e.to_string()))?,
    };
    Ok(Sale { receipt_id, number, mobile, lines, redeem })
}

/// Return: steps 1 and 2 of §8.4.
pub fn return_request(input: &super::ReturnInput) -> R<Return> {
    let mut missing = Vec::new();
    if present(input.receipt_id.as_deref()).is_none() {
        missing.push("ReceiptId");
    }
    if present(input.return_id.as_deref()).is_none() {
        missing.push("ReturnId");
    }
    if !lines_given(&input.lines) {
        missing.push("Lines");
    }
    missing_parameters(&missing)?;
    let receipt_id = receipt_id(input.receipt_id.as_deref())?;
    let return_id = return_id(input.return_id.as_deref())?;
    let given = input.lines.as_deref().unwrap_or_default();
    let positions = positions(given)?;
    let mut lines = Vec::with_capacity(given.len());
    for (l, position) in given.iter().zip(positions) {
        lines.push((position, money(l.amount.as_deref())?));
    }
    Ok(Return { receipt_id, return_id, lines })
}

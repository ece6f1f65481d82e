//! Reading a receipt (the body of a Calculate call) and a card's lots (as
//! the admin bonus body) from JSON, exactly: numbers are taken from their
//! text, never through a float. Field names match case-insensitively, as
//! the API's do.

use anyhow::{bail, Context};
use cashdesk_card::domain::{parse_date, Amount, BonusType, Lot, Money, Position};
use cashdesk_card::rules::purchases::SaleLine;
use chrono::NaiveDate;
use serde_json::value::RawValue;
use std::collections::HashMap;

type Object = HashMap<String, Box<RawValue>>;

/// A receipt: its lines and the redemption asked for (0 when absent).
pub struct Receipt {
    pub lines: Vec<SaleLine>,
    pub redeem: Amount,
}

fn object(text: &str, what: &str) -> anyhow::Result<Object> {
    let raw: Object = serde_json::from_str(text).with_context(|| format!("{what} must be a JSON object"))?;
    Ok(raw.into_iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect())
}

/// The text of a number or a string field; `None` when absent, null or "".
fn scalar(o: &Object, name: &str) -> anyhow::Result<Option<String>> {
    let Some(raw) = o.get(&name.to_ascii_lowercase()) else { return Ok(None) };
    let text = raw.get().trim();
    if text == "null" {
        return Ok(None);
    }
    let value = if text.starts_with('"') {
        serde_json::from_str::<String>(text).with_context(|| format!("`{name}` is not a JSON string"))?
    } else if text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        text.to_string()
    } else {
        bail!("`{name}` must be a number or a string, not {text}")
    };
    Ok((!value.is_empty()).then_some(value))
}

pub fn receipt(text: &str) -> anyhow::Result<Receipt> {
    let o = object(text, "the receipt")?;
    let redeem = match scalar(&o, "Redeem")? {
        Some(r) => Money::parse_redeem(&r).context("Redeem (InvalidAmount)")?,
        None => Amount::ZERO,
    };
    let raw_lines = o.get("lines").context("the receipt has no `Lines` (RequiredParameterNotSpecified)")?;
    let items: Vec<Box<RawValue>> = serde_json::from_str(raw_lines.get()).context("`Lines` must be a JSON array")?;
    if items.is_empty() {
        bail!("`Lines` is empty (RequiredParameterNotSpecified)");
    }
    let mut lines: Vec<SaleLine> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let l = object(item.get(), &format!("line {}", i + 1))?;
        let at = || format!("line {}", i + 1);
        let position = scalar(&l, "Position")?.with_context(|| format!("{}: no Position (InvalidPosition)", at()))?;
        let position = Position::parse(&position).with_context(|| format!("{} (InvalidPosition)", at()))?;
        if lines.iter().any(|x| x.position == position) {
            bail!("{}: position {position} is listed twice (InvalidPosition)", at());
        }
        let amount = scalar(&l, "Amount")?.with_context(|| format!("{}: no Amount (InvalidAmount)", at()))?;
        let amount = Money::parse(&amount).with_context(|| format!("{} (InvalidAmount)", at()))?;
        let category = scalar(&l, "Category")?;
        lines.push(SaleLine { position, amount, category });
    }
    Ok(Receipt { lines, redeem })
}

/// `[{Amount, TypeCode, ActiveFrom, ExpireDate, Frozen}]`; TypeCode defaults
/// to `default_type`, ActiveFrom to `today`.
pub fn lots(text: &str, default_type: BonusType, today: NaiveDate) -> anyhow::Result<Vec<Lot>> {
    let items: Vec<Box<RawValue>> = serde_json::from_str(text).context("the lots must be a JSON array")?;
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let o = object(item.get(), &format!("lot {}", i + 1))?;
        let at = || format!("lot {}", i + 1);
        let amount = scalar(&o, "Amount")?.with_context(|| format!("{}: no Amount", at()))?;
        let amount = Amount::parse(&amount).with_context(at)?;
        let bonus_type = match scalar(&o, "TypeCode")? {
            Some(c) => BonusType::from_code(&c).with_context(|| format!("{}: unknown TypeCode `{c}`", at()))?,
            None => default_type,
        };
        let date = |name: &str| -> anyhow::Result<Option<NaiveDate>> {
            scalar(&o, name)?.map(|d| parse_date(&d).with_context(|| format!("{}: {name}", at()))).transpose()
        };
        let active_from = date("ActiveFrom")?.unwrap_or(today);
        let expire = date("ExpireDate")?;
        let frozen = match o.get("frozen").map(|r| r.get().trim()) {
            None | Some("null") | Some("false") => false,
            Some("true") => true,
            Some(other) => bail!("{}: Frozen must be true or false, not {other}", at()),
        };
        out.push(Lot { amount, bonus_type, active_from, expire, frozen, receipt: None });
    }
    Ok(out)
}

//! Receipt expectations of `rules test`: a sale computed under the rules,
//! then its returns and a cancel, each figure compared with what the
//! retailer wrote.

use super::raw::{RawLine, RawReceipt};
use super::Run;
use crate::domain::{parse_date, Amount, BonusType, CardType, Lot, Money, Position, Status};
use crate::rules::purchases::{compute, line_return, Computation, Sale, SaleLine};
use chrono::NaiveDate;

/// An amount written as a TOML string, integer or float (its shortest form).
fn amount(v: &toml::Value) -> Option<Amount> {
    match v {
        toml::Value::String(s) => Amount::parse(s).ok(),
        toml::Value::Integer(i) => Amount::parse(&i.to_string()).ok(),
        toml::Value::Float(f) => Amount::parse(&f.to_string()).ok(),
        _ => None,
    }
}

fn lines(run: &mut Run, line: usize, raw: &[RawLine]) -> Option<Vec<SaleLine>> {
    let mut out = Vec::new();
    for l in raw {
        let Some(position) = Position::new(l.position) else {
            run.error(line, format!("position {} is not 1-100000", l.position));
            return None;
        };
        let Some(m) = amount(&l.amount).and_then(|a| Money::parse(&a.to_string()).ok()) else {
            run.error(line, format!("line {}: amount {} is not money (> 0, 2 decimals)", l.position, l.amount));
            return None;
        };
        out.push(SaleLine { position, amount: m, category: l.category.clone() });
    }
    Some(out)
}

fn date(run: &mut Run, line: usize, s: &str) -> Option<NaiveDate> {
    match parse_date(s) {
        Ok(d) => Some(d),
        Err(e) => {
            run.error(line, e.to_string());
            None
        }
    }
}

pub(super) fn run(run: &mut Run, start: usize, r: &RawReceipt) {
    let line = super::line_of(run.text, start);
    let rules = run.rules;
    let (Some(status), Some(card_type)) = (Status::from_ident(&r.status), CardType::from_code(&r.card_type)) else {
        return run.error(line, format!("unknown status `{}` or card type `{}`", r.status, r.card_type));
    };
    let Some(today) = date(run, line, &r.today) else { return };
    let Some(sale_lines) = lines(run, line, &r.lines) else { return };
    let mut lots = Vec::new();
    for l in &r.lots {
        let Some(a) = amount(&l.amount) else {
            return run.error(line, format!("lot amount {} is not a number", l.amount));
        };
        let bonus_type = match &l.bonus_type {
            Some(c) => match BonusType::from_code(c) {
                Some(t) => t,
                None => return run.error(line, format!("unknown bonus type `{c}`")),
            },
            None => rules.purchases().redemption_type(),
        };
        let active_from = match &l.active_from {
            Some(d) => match date(run, line, d) {
                Some(d) => d,
                None => return,
            },
            None => today,
        };
        let expire = match &l.expire {
            Some(d) => match date(run, line, d) {
                Some(d) => Some(d),
                None => return,
            },
            None => None,
        };
        lots.push(Lot { amount: a, bonus_type, active_from, expire, frozen: l.frozen, receipt: None });
    }
    let redeem = r.redeem.as_ref().and_then(amount).unwrap_or(Amount::ZERO);
    let name = r.name.clone().unwrap_or_else(|| "receipt".into());
    if let Some(role) = &r.role {
        match rules.role(role) {
            Some(id) if !rules.may_call(id, crate::rules::Method::Confirm) => {
                let src = rules.source(rules.role_rule(id));
                let rule = format!("{}:{}  {}", src.file, src.line, src.summary);
                return run.check(line, name, r.expect.clone(), "AccessDenied".into(), rule);
            }
            Some(_) => {}
            None => return run.error(line, format!("unknown role `{role}`")),
        }
    }
    let sale = Sale { status, card_type, lots: &lots, lines: &sale_lines, redeem, today };
    match compute(rules, &sale) {
        Err(refusal) => {
            let src = rules.source(refusal.rule);
            let rule = format!("{}:{}  {}", src.file, src.line, src.summary);
            run.check(line, name, r.expect.clone(), refusal.key.to_string(), rule);
        }
        Ok(c) => {
            run.check(line, name.clone(), r.expect.clone(), "OK".into(), "purchases.toml".into());
            figures(run, start, &name, r, &c);
            reversals(run, start, &name, r, &c);
        }
    }
}

/// Compares one figure, when the retailer wrote it.
fn figure(run: &mut Run, line: usize, case: String, expected: Option<&toml::Value>, got: Amount) {
    if let Some(v) = expected {
        let want = amount(v).map(|a| a.to_string()).unwrap_or_else(|| v.to_string());
        run.check(line, case, want, got.to_string(), "purchases.toml (see `rules explain --receipt`)".into());
    }
}

fn figures(run: &mut Run, start: usize, name: &str, r: &RawReceipt, c: &Computation) {
    let at = |key: &str| run.key_line(start, key);
    let (l1, l2, l3) = (at("accrued"), at("max_redeem"), at("eligible_total"));
    figure(run, l1, format!("{name}: accrued"), r.accrued.as_ref(), c.accrued);
    figure(run, l2, format!("{name}: max redeem"), r.max_redeem.as_ref(), c.max_redeem);
    figure(run, l3, format!("{name}: eligible total"), r.eligible_total.as_ref(), c.eligible_total);
    let lot = c.accrued_lot.as_ref();
    let line = run.key_line(start, "active_from");
    if let Some(want) = &r.active_from {
        let got = lot.map(|l| l.active_from.to_string()).unwrap_or("(no lot)".into());
        run.check(line, format!("{name}: accrued lot active from"), want.clone(), got, "purchases.toml".into());
    }
    let line = run.key_line(start, "expire");
    if let Some(want) = &r.expire {
        let got = lot.map(|l| l.expire.map(|e| e.to_string()).unwrap_or("never".into())).unwrap_or("(no lot)".into());
        run.check(line, format!("{name}: accrued lot expires"), want.clone(), got, "purchases.toml".into());
    }
    for (what, want, got) in [
        ("redeemed", &r.line_redeemed, c.lines.iter().map(|l| l.redeemed).collect::<Vec<_>>()),
        ("accrued", &r.line_accrued, c.lines.iter().map(|l| l.accrued).collect::<Vec<_>>()),
    ] {
        let Some(want) = want else { continue };
        let line = run.key_line(start, &format!("line_{what}"));
        for (i, (w, g)) in want.iter().zip(&got).enumerate() {
            let rule = run.rules.source(c.lines[i].decided_by);
            let rule = format!("{}:{}  {}", rule.file, rule.line, rule.summary);
            let want = amount(w).map(|a| a.to_string()).unwrap_or_else(|| w.to_string());
            run.check(line, format!("{name}: line {} {what}", c.lines[i].position), want, g.to_string(), rule);
        }
    }
}

/// Returns in order, then a cancel of the rest: totals reversed and restored.
fn reversals(run: &mut Run, start: usize, name: &str, r: &RawReceipt, c: &Computation) {
    let line = run.key_line(start, "returns");
    let mut returned: Vec<Amount> = vec![Amount::ZERO; c.lines.len()];
    let (mut reversed_all, mut restored_all) = (Amount::ZERO, Amount::ZERO);
    for (n, ret) in r.returns.iter().enumerate() {
        let Some(back) = lines(run, line, &ret.lines) else { return };
        let (mut reversed, mut restored) = (Amount::ZERO, Amount::ZERO);
        for b in back {
            let Some(i) = c.lines.iter().position(|l| l.position == b.position) else {
                return run.error(line, format!("return {}: position {} is not on the receipt", n + 1, b.position));
            };
            let after = returned[i].plus(b.amount.amount());
            if after > c.lines[i].amount.amount() {
                return run.error(line, format!("return {}: more of line {} than was bought", n + 1, b.position));
            }
            let l = &c.lines[i];
            let x = line_return(l.amount, l.redeemed, l.accrued, returned[i], after);
            returned[i] = after;
            reversed = reversed.plus(x.accrual);
            restored = restored.plus(x.redemption);
        }
        reversed_all = reversed_all.plus(reversed);
        restored_all = restored_all.plus(restored);
        figure(run, line, format!("{name}: return {} reversed", n + 1), ret.reversed.as_ref(), reversed);
        figure(run, line, format!("{name}: return {} restored", n + 1), ret.restored.as_ref(), restored);
    }
    let line = run.key_line(start, "cancel");
    if let Some(cancel) = &r.cancel {
        let reversed = c.accrued.minus(reversed_all).unwrap_or(Amount::ZERO);
        let restored = c.redeemed.minus(restored_all).unwrap_or(Amount::ZERO);
        figure(run, line, format!("{name}: cancel reversed"), cancel.reversed.as_ref(), reversed);
        figure(run, line, format!("{name}: cancel restored"), cancel.restored.as_ref(), restored);
    }
}

//! purchases.toml's raw structs → checked [`PurchaseRules`], every mistake
//! reported with its place and a hint, as the other rule files are.

use super::{PurchaseRules, DAYS_MAX};
use crate::domain::{BonusType, CardType, Status};
use crate::rules::ctx::{did_you_mean, Ctx};
use crate::rules::raw::{self, S};
use crate::rules::{RuleId, RuleSource};
use rust_decimal::Decimal;
use std::str::FromStr;
use toml::Spanned;

const FILE: &str = "purchases.toml";

/// Checks purchases.toml. Problems go to `cx`; what is returned is only used
/// when there are none.
pub(in crate::rules) fn check(cx: &mut Ctx, f: &raw::PurchasesFile) -> PurchaseRules {
    let a = &f.accrual;
    let r = &f.redemption;
    let (accrual_statuses, accrual_statuses_rule) = statuses(cx, "accrual", &a.statuses);
    let (redemption_statuses, redemption_statuses_rule) = statuses(cx, "redemption", &r.statuses);
    let activation_delay_days = days(cx, "activation_delay_days", &a.activation_delay_days);
    let lifetime_days = days(cx, "lifetime_days", &a.lifetime_days);
    let life =
        if lifetime_days == 0 { "never expire".to_string() } else { format!("are valid for {lifetime_days} days") };
    let dates_rule = cx.rule(
        FILE,
        a.activation_delay_days.span(),
        format!("accrued bonuses become active after {activation_delay_days} days and then {life}"),
    );
    let max_share = percent(cx, "max_share_percent", &r.max_share_percent).unwrap_or(0);
    let max_share_rule = cx.rule(
        FILE,
        r.max_share_percent.span(),
        format!("[redemption] max_share_percent: at most {}% of the eligible amount", show(max_share)),
    );
    cx.sources.push(RuleSource {
        file: "(built in)".into(),
        line: 0,
        col: 0,
        summary: "the card's active bonuses of the redemption type (SPEC §8.3)".into(),
    });
    let balance_rule = RuleId((cx.sources.len() - 1) as u16);
    PurchaseRules {
        accrual_statuses,
        accrual_statuses_rule,
        accrual_type: bonus_type(cx, &a.bonus_type),
        activation_delay_days,
        lifetime_days,
        dates_rule,
        excluded: excluded(cx, &a.excluded_categories),
        percent: percents(cx, a),
        redemption_statuses,
        redemption_statuses_rule,
        redemption_type: bonus_type(cx, &r.bonus_type),
        max_share,
        max_share_rule,
        balance_rule,
    }
}

fn statuses(cx: &mut Ctx, table: &str, list: &Spanned<Vec<S>>) -> (u8, RuleId) {
    let mut mask = 0u8;
    for s in list.get_ref() {
        match Status::from_ident(s.get_ref()) {
            Some(st) if mask & (1 << st.index()) != 0 => {
                cx.err(FILE, s.span(), format!("status `{}` is listed twice in [{table}] statuses", st.ident()), None)
            }
            Some(st) => mask |= 1 << st.index(),
            None => {
                let hint = did_you_mean(s.get_ref(), Status::ALL.iter().map(|s| s.ident()));
                let msg = format!("unknown status `{}`; the statuses are new, issued, active, blocked", s.get_ref());
                cx.err(FILE, s.span(), msg, hint);
            }
        }
    }
    let names: Vec<&str> = Status::ALL.iter().filter(|s| mask & (1 << s.index()) != 0).map(|s| s.ident()).collect();
    let shown = if names.is_empty() { "none".to_string() } else { names.join(", ") };
    let verb = if table == "accrual" { "earn bonuses" } else { "may pay with bonuses" };
    (mask, cx.rule(FILE, list.span(), format!("[{table}] statuses: cards {shown} {verb}")))
}

fn bonus_type(cx: &mut Ctx, code: &S) -> BonusType {
    match BonusType::from_code(code.get_ref()) {
        Some(t) => t,
        None => {
            let hint = did_you_mean(code.get_ref(), BonusType::ALL.iter().map(|t| t.code()));
            let msg = format!(
                "unknown bonus type `{}`; the bonus types are \"0\" (monetary) and \"1\" (status)",
                code.get_ref()
            );
            cx.err(FILE, code.span(), msg, hint.or(Some("write the code as a string, e.g. bonus_type = \"0\"".into())));
            BonusType::Monetary
        }
    }
}

fn days(cx: &mut Ctx, name: &str, v: &Spanned<i64>) -> u32 {
    let d = *v.get_ref();
    if d < 0 {
        cx.err(FILE, v.span(), format!("{name} must not be negative, not {d}"), Some("use 0 for none".into()));
        0
    } else if d > DAYS_MAX {
        cx.err(FILE, v.span(), format!("{name} must be at most {DAYS_MAX} (100 years), not {d}"), None);
        0
    } else {
        d as u32
    }
}

fn excluded(cx: &mut Ctx, list: &[S]) -> Vec<(String, RuleId)> {
    let mut out: Vec<(String, RuleId)> = Vec::new();
    for c in list {
        let name = c.get_ref();
        if name.trim().is_empty() || name.chars().count() > 64 || name.chars().any(|ch| ch.is_control()) {
            cx.err(FILE, c.span(), "a category must be 1-64 characters without control characters".into(), None);
        } else if out.iter().any(|(x, _)| x == name) {
            cx.err(FILE, c.span(), format!("category `{name}` is listed twice in excluded_categories"), None);
        } else {
            let rule = cx.rule(
                FILE,
                c.span(),
                format!("excluded category `{name}`: neither earns nor may be paid with bonuses"),
            );
            out.push((name.clone(), rule));
        }
    }
    out
}

fn percents(cx: &mut Ctx, a: &raw::RawAccrual) -> [(u32, RuleId); 3] {
    let table_span = a.percent.as_ref().map(|p| p.span()).unwrap_or(a.bonus_type.span());
    let mut out = [(0u32, RuleId(0)); 3];
    let mut listed = [false; 3];
    if let Some(p) = &a.percent {
        for (code, v) in p.get_ref() {
            let Some(t) = CardType::from_code(code) else {
                let hint = did_you_mean(code, CardType::ALL.iter().map(|t| t.code()));
                let msg = format!(
                    "unknown card type `{code}` in [accrual.percent]; the card types are \"0\" (bonus), \"1\" (discount), \"2\" (bonus/discount)"
                );
                cx.err(FILE, v.span(), msg, hint);
                continue;
            };
            let h = percent(cx, &format!("the percent of card type {code}"), v).unwrap_or(0);
            let rule =
                cx.rule(FILE, v.span(), format!("card type {code} earns {}% of the paid eligible amount", show(h)));
            out[t.index()] = (h, rule);
            listed[t.index()] = true;
        }
    }
    for t in CardType::ALL {
        if !listed[t.index()] {
            let summary = format!("[accrual.percent] lists no percent for card type {}: it earns nothing", t.code());
            out[t.index()] = (0, cx.rule(FILE, table_span.clone(), summary));
        }
    }
    out
}

/// A percent 0–100 with at most 2 fraction digits, in hundredths.
fn percent(cx: &mut Ctx, what: &str, v: &Spanned<toml::Value>) -> Option<u32> {
    let d = match v.get_ref() {
        toml::Value::Integer(i) => Some(Decimal::from(*i)),
        // A TOML float is binary; its shortest decimal form is what was written.
        toml::Value::Float(f) if f.is_finite() => Decimal::from_str(&f.to_string()).ok(),
        _ => None,
    };
    let Some(d) = d.map(|d| d.normalize()) else {
        cx.err(FILE, v.span(), format!("{what} must be a number from 0 to 100"), None);
        return None;
    };
    if d.is_sign_negative() && !d.is_zero() || d > Decimal::ONE_HUNDRED {
        cx.err(FILE, v.span(), format!("{what} must be from 0 to 100, not {d}"), None);
        return None;
    }
    if d.scale() > 2 {
        cx.err(FILE, v.span(), format!("{what} may have at most 2 digits after the point, not {d}"), None);
        return None;
    }
    let h = (d * Decimal::ONE_HUNDRED).trunc();
    Some((h.mantissa() / 10i128.pow(h.scale())) as u32)
}

fn show(h: u32) -> String {
    Decimal::new(h as i64, 2).normalize().to_string()
}

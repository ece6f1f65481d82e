//! `cashdesk rules explain`: the decision the server would take for given
//! inputs and the rule row behind it — a lifecycle call, an access check, or
//! the figures of a receipt (Calculate and Confirm).

use super::load;
use super::receipt_json;
use anyhow::{bail, Context};
use cashdesk_card::domain::{parse_date, Amount, BonusType, CardType, Lot, Status};
use cashdesk_card::rules::purchases::{compute, Computation, Sale};
use cashdesk_card::rules::{BlockFacts, Facts, Method, RoleId, RuleSet};
use clap::Args;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct ExplainArgs {
    dir: PathBuf,
    /// Balance, Issue, BindTo, Active, Block, UnBlock, Admin, or a purchase
    /// method: Calculate, Confirm, Cancel, Return, Receipt (default with
    /// --receipt: Calculate).
    #[arg(long)]
    method: Option<String>,
    /// new, issued, active or blocked (with --receipt: default active).
    #[arg(long)]
    status: Option<String>,
    /// The caller's role; a role that may not call the method is answered
    /// AccessDenied, as the server does. Needed for the card methods.
    #[arg(long)]
    role: Option<String>,
    /// The card is bound to a contact.
    #[arg(long)]
    bound: bool,
    /// The contact's registration is sufficient.
    #[arg(long)]
    registered: bool,
    /// Block: the block reason code; UnBlock: the unblock reason code.
    #[arg(long)]
    reason: Option<String>,
    /// UnBlock: the reason code the card was blocked with.
    #[arg(long)]
    block_reason: Option<String>,
    /// UnBlock: the role that blocked the card (left out: not known).
    #[arg(long)]
    blocker: Option<String>,
    /// Calculate/Confirm: the receipt as JSON, the body of a Calculate call
    /// (`{"Lines": [{"Position": 1, "Amount": 600, "Category": "dairy"}], "Redeem": 250}`);
    /// a file, or `-` for standard input.
    #[arg(long)]
    receipt: Option<PathBuf>,
    /// With --receipt: the day to compute for (YYYY-MM-DD; default today in the rules' zone).
    #[arg(long)]
    today: Option<String>,
    /// With --receipt: the card type code (0 bonus, 1 discount, 2 bonus/discount).
    #[arg(long, default_value = "0")]
    card_type: String,
    /// With --receipt: the card holds this many active bonuses of the redemption type, without expiry.
    #[arg(long, conflicts_with = "lots")]
    balance: Option<String>,
    /// With --receipt: the card's lots as a JSON array of admin bonus bodies
    /// (`[{"Amount": 300, "ExpireDate": "2026-06-30", "ActiveFrom": "2026-01-01", "TypeCode": "0"}]`).
    #[arg(long)]
    lots: Option<PathBuf>,
}

pub fn run(a: ExplainArgs) -> ExitCode {
    let Some(r) = load(&a.dir) else { return ExitCode::FAILURE };
    match explain(&r, &a) {
        Ok(text) => {
            super::emit(&format!("{text}\n"));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn explain(r: &RuleSet, a: &ExplainArgs) -> anyhow::Result<String> {
    let method = match (&a.method, &a.receipt) {
        (Some(m), _) => Method::from_name(m).with_context(|| {
            let all: Vec<&str> = Method::ALL.iter().map(|m| m.name()).collect();
            format!("unknown method `{m}`; use {}", all.join(", "))
        })?,
        (None, Some(_)) => Method::Calculate,
        (None, None) => bail!("--method is required (or --receipt for a receipt's figures)"),
    };
    let role = match &a.role {
        Some(name) => Some(r.role(name).with_context(|| {
            let all: Vec<&str> = r.role_names().collect();
            format!("unknown role `{name}`; the roles are {}", all.join(", "))
        })?),
        None => None,
    };
    if let Some(role) = role {
        if !r.may_call(role, method) {
            return Ok(access_denied(r, role, method));
        }
    }
    match method {
        Method::Calculate | Method::Confirm => receipt(r, a, method),
        Method::Balance | Method::Admin | Method::Cancel | Method::Return | Method::Receipt => {
            Ok(no_rules_decide(r, role, method))
        }
        _ => lifecycle(r, a, method, role.context("--role is required for the card methods")?),
    }
}

fn access_denied(r: &RuleSet, role: RoleId, method: Method) -> String {
    let src = r.source(r.role_rule(role));
    format!(
        "decision: AccessDenied (HTTP 403)\nrule:     {}:{}  {}\nValue:    the role `{}` may not call {}",
        src.file,
        src.line,
        src.summary,
        r.role_name(role),
        method.name()
    )
}

fn no_rules_decide(r: &RuleSet, role: Option<RoleId>, method: Method) -> String {
    let what = match method {
        Method::Balance => "Balance reads the card and changes nothing; every status is answered",
        Method::Admin => "the admin endpoints load contacts, cards and bonuses; no status check applies",
        Method::Receipt => "Receipt reads a stored receipt and changes nothing",
        _ => "what it reverses depends on the stored receipt (SPEC §8.4); it works whatever the card's status",
    };
    let mut out = format!("decision: OK: {what}");
    if let Some(role) = role {
        let src = r.source(r.role_rule(role));
        out.push_str(&format!("\nrule:     {}:{}  {}", src.file, src.line, src.summary));
    }
    out
}

fn status(s: &str) -> anyhow::Result<Status> {
    Status::from_ident(s).with_context(|| format!("unknown status `{s}`; use new, issued, active or blocked"))
}

fn lifecycle(r: &RuleSet, a: &ExplainArgs, m: Method, role: RoleId) -> anyhow::Result<String> {
    let st = status(a.status.as_deref().context("--status is required for the card methods")?)?;
    // Unknown codes are decided, not refused here: the server answers them
    // BlockReasonError / UnBlockReasonError.
    let reason = match m {
        Method::Block => {
            Some(a.reason.as_deref().context("--reason is required for Block")?).and_then(|c| r.block_reason(c))
        }
        Method::UnBlock => {
            Some(a.reason.as_deref().context("--reason is required for UnBlock")?).and_then(|c| r.unblock_reason(c))
        }
        _ => None,
    };
    let block = match m {
        Method::UnBlock => {
            let code = a.block_reason.as_deref().context(
                "--block-reason is required for UnBlock: the reason code the card was blocked with decides who may lift it",
            )?;
            let blocker = match &a.blocker {
                Some(b) => Some(r.role(b).with_context(|| format!("unknown role `{b}` in --blocker"))?),
                None => None,
            };
            Some(BlockFacts { reason: r.block_reason(code), blocker })
        }
        _ => None,
    };
    let facts = Facts { method: m, status: st, bound: a.bound, registered: a.registered, role, reason, block };
    let d = r.decide(&facts);
    let src = r.source(d.rule);
    let mut out = format!("decision: {}\nrule:     {}:{}  {}", r.describe(&d), src.file, src.line, src.summary);
    let why = r.explain(&facts, &d, "NUMBER");
    if !why.is_empty() {
        out.push_str(&format!("\nValue:    {why}"));
    }
    Ok(out)
}

fn read_input(path: &PathBuf) -> anyhow::Result<String> {
    if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).context("cannot read standard input")?;
        Ok(s)
    } else {
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
    }
}

fn receipt(r: &RuleSet, a: &ExplainArgs, method: Method) -> anyhow::Result<String> {
    let path = a.receipt.as_ref().with_context(|| format!("--receipt is required for {}", method.name()))?;
    let rc = receipt_json::receipt(&read_input(path)?)?;
    let status = status(a.status.as_deref().unwrap_or("active"))?;
    let card_type = CardType::from_code(&a.card_type)
        .with_context(|| format!("unknown card type `{}`; use 0, 1 or 2", a.card_type))?;
    let today = match &a.today {
        Some(t) => parse_date(t)?,
        None => r.zone().today(),
    };
    let redemption = r.purchases().redemption_type();
    let lots = match (&a.balance, &a.lots) {
        (Some(b), _) => vec![Lot {
            amount: Amount::parse(b).context("--balance")?,
            bonus_type: redemption,
            active_from: today,
            expire: None,
            frozen: false,
            receipt: None,
        }],
        (None, Some(p)) => receipt_json::lots(&read_input(p)?, redemption, today)?,
        (None, None) => Vec::new(),
    };
    let sale = Sale { status, card_type, lots: &lots, lines: &rc.lines, redeem: rc.redeem, today };
    let head = format!(
        "receipt:  {} line(s), Redeem {}, card type {} «{}», status {} «{}», today {today}",
        rc.lines.len(),
        money(rc.redeem),
        card_type.code(),
        r.card_type_name(card_type),
        status.ident(),
        r.status_name(status)
    );
    Ok(match compute(r, &sale) {
        Err(refusal) => {
            let src = r.source(refusal.rule);
            format!(
                "{head}\ndecision: {}\nrule:     {}:{}  {}\nValue:    {}",
                refusal.key, src.file, src.line, src.summary, refusal.message
            )
        }
        Ok(c) => format!("{head}\ndecision: OK\n{}", figures(r, &c, &lots, redemption)),
    })
}

/// An amount as a receipt shows it: at least two fraction digits.
fn money(a: Amount) -> String {
    let v = a.value();
    if v.scale() >= 2 {
        v.to_string()
    } else {
        format!("{v:.2}")
    }
}

fn figures(r: &RuleSet, c: &Computation, lots: &[Lot], redemption: BonusType) -> String {
    let mut out = format!(
        "{:<9} {:>12} {:<9} {:>12} {:>12} {}\n",
        "position", "amount", "eligible", "redeemed", "accrued", "decided by"
    );
    for l in &c.lines {
        let src = r.source(l.decided_by);
        out.push_str(&format!(
            "{:<9} {:>12} {:<9} {:>12} {:>12} {}:{}  {}\n",
            l.position,
            money(l.amount.amount()),
            if l.eligible { "yes" } else { "no" },
            money(l.redeemed),
            money(l.accrued),
            src.file,
            src.line,
            src.summary
        ));
    }
    let p = r.purchases();
    let share = r.source(p.max_share_rule());
    out.push_str(&format!("eligible total (E): {}\n", money(c.eligible_total)));
    out.push_str(&format!(
        "redeem limit:       {}   ({}:{}  {})\n",
        money(c.redeem_limit),
        share.file,
        share.line,
        share.summary
    ));
    out.push_str(&format!(
        "active balance:     {}   (type {} «{}», state active today)\n",
        money(c.active_balance),
        redemption.code(),
        r.bonus_type_name(redemption)
    ));
    out.push_str(&format!("max redeem:         {}\n", money(c.max_redeem)));
    let taken: Vec<String> = c
        .taken
        .iter()
        .map(|t| {
            let exp = lots[t.lot].expire.map(|e| format!("expires {e}")).unwrap_or_else(|| "no expiry".into());
            format!("{} from lot {} ({exp})", money(t.portion.amount), t.lot + 1)
        })
        .collect();
    let taken = if taken.is_empty() { String::new() } else { format!("   taken: {}", taken.join("; ")) };
    out.push_str(&format!("redeemed:           {}{taken}\n", money(c.redeemed)));
    match &c.accrued_lot {
        None => out.push_str(&format!("accrued:            {}   (no lot)", money(c.accrued))),
        Some(l) => {
            let exp = l.expire.map(|e| format!("expiring {e}")).unwrap_or_else(|| "never expiring".into());
            let dates = r.source(p.dates_rule());
            out.push_str(&format!(
                "accrued:            {}   as a lot of type {} active from {}, {exp} ({}:{}  {})",
                money(c.accrued),
                p.accrual_type().code(),
                l.active_from,
                dates.file,
                dates.line,
                dates.summary
            ));
        }
    }
    out
}

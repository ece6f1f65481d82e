//! Field-by-field comparison of what is not a lifecycle decision: names and
//! codes, role titles, reasons added or removed, registration fields,
//! formats, options, message templates and purchase settings.

use super::SettingChange;
use crate::domain::{BonusState, BonusType, CardType, Category, Status};
use crate::rules::RuleSet;

struct Out(Vec<SettingChange>);

impl Out {
    fn cmp(&mut self, what: impl Into<String>, old: impl Into<String>, new: impl Into<String>) {
        let (old, new) = (old.into(), new.into());
        if old != new {
            self.0.push(SettingChange { what: what.into(), old, new });
        }
    }
}

fn list<T: AsRef<str>>(items: &[T]) -> String {
    if items.is_empty() {
        "(none)".into()
    } else {
        items.iter().map(|s| s.as_ref()).collect::<Vec<_>>().join(", ")
    }
}

pub(super) fn compare(old: &RuleSet, new: &RuleSet) -> Vec<SettingChange> {
    let mut o = Out(Vec::new());
    for s in Status::ALL {
        let w = |what: &str| format!("statuses.toml {} {what}", s.ident());
        o.cmp(w("code"), old.status_code(s), new.status_code(s));
        o.cmp(w("name"), old.status_name(s), new.status_name(s));
    }
    roles(&mut o, old, new);
    reasons(&mut o, old, new);
    o.cmp("registration.toml required_fields", list(old.required_fields()), list(new.required_fields()));
    o.cmp("registration.toml extra_fields", list(old.extra_fields()), list(new.extra_fields()));
    let genders = |r: &RuleSet| r.genders().map_or_else(|| "(any)".to_string(), list);
    o.cmp("registration.toml genders", genders(old), genders(new));
    o.cmp("formats.toml [card_number]", format!("{:?}", old.card_format()), format!("{:?}", new.card_format()));
    o.cmp("formats.toml [mobile_number] region", format!("{:?}", old.region()), format!("{:?}", new.region()));
    o.cmp("formats.toml [time] zone", format!("{:?}", old.zone()), format!("{:?}", new.zone()));
    let (a, b) = (old.options(), new.options());
    o.cmp("options.toml freeze_while_blocked", a.freeze_while_blocked.to_string(), b.freeze_while_blocked.to_string());
    o.cmp("options.toml auto_activate", a.auto_activate.to_string(), b.auto_activate.to_string());
    o.cmp(
        "options.toml move_lots_on_replacement",
        a.move_lots_on_replacement.to_string(),
        b.move_lots_on_replacement.to_string(),
    );
    names(&mut o, old, new);
    messages(&mut o, old, new);
    purchases(&mut o, old, new);
    o.0
}

fn roles(o: &mut Out, old: &RuleSet, new: &RuleSet) {
    for r in &old.roles {
        match new.roles.iter().find(|x| x.name == r.name) {
            None => o.cmp(format!("roles.toml role {}", r.name), "defined", "removed (its users are refused)"),
            Some(n) => o.cmp(format!("roles.toml role {} title", r.name), r.title.as_str(), n.title.as_str()),
        }
    }
    for n in new.roles.iter().filter(|n| old.role(&n.name).is_none()) {
        o.cmp(format!("roles.toml role {}", n.name), "(none)", "added");
    }
    let names = |s: &RuleSet, mask: u64| -> String {
        let v: Vec<&str> =
            s.roles.iter().enumerate().filter(|(i, _)| mask >> i & 1 == 1).map(|(_, r)| r.name.as_str()).collect();
        list(&v)
    };
    o.cmp(
        "unblock_reasons.toml [pairing] exempt_roles",
        names(old, old.pairing_exempt),
        names(new, new.pairing_exempt),
    );
    o.cmp("unblock_reasons.toml [reserved_blocks] roles", names(old, old.reserved), names(new, new.reserved));
}

fn reasons(o: &mut Out, old: &RuleSet, new: &RuleSet) {
    for r in &old.block_reasons {
        let w = |what: &str| format!("block_reasons.toml {} {what}", r.code);
        match new.block_reasons.iter().find(|x| x.code == r.code) {
            None => o.cmp(w("reason"), format!("«{}»", r.name), "removed (answered as an unknown code)"),
            Some(n) => {
                o.cmp(w("name"), r.name.as_str(), n.name.as_str());
                o.cmp(w("final"), r.is_final.to_string(), n.is_final.to_string());
                o.cmp(w("replacement"), r.replacement.to_string(), n.replacement.to_string());
            }
        }
    }
    for n in new.block_reasons.iter().filter(|n| old.block_reason(&n.code).is_none()) {
        o.cmp(format!("block_reasons.toml {} reason", n.code), "(none)", format!("added «{}»", n.name));
    }
    for r in &old.unblock_reasons {
        let w = format!("unblock_reasons.toml {} name", r.code);
        match new.unblock_reasons.iter().find(|x| x.code == r.code) {
            None => o.cmp(w, format!("«{}»", r.name), "removed (answered as an unknown code)"),
            Some(n) => o.cmp(w, r.name.as_str(), n.name.as_str()),
        }
    }
    for n in new.unblock_reasons.iter().filter(|n| old.unblock_reason(&n.code).is_none()) {
        o.cmp(format!("unblock_reasons.toml {} name", n.code), "(none)", format!("added «{}»", n.name));
    }
}

fn names(o: &mut Out, old: &RuleSet, new: &RuleSet) {
    for c in Category::ALL {
        o.cmp(format!("names.toml [card_categories] {}", c.code()), old.category_name(c), new.category_name(c));
    }
    for t in CardType::ALL {
        o.cmp(format!("names.toml [card_types] {}", t.code()), old.card_type_name(t), new.card_type_name(t));
    }
    for s in BonusState::ALL {
        o.cmp(format!("names.toml [bonus_states] {}", s.code()), old.bonus_state_name(s), new.bonus_state_name(s));
    }
    for t in BonusType::ALL {
        o.cmp(format!("names.toml [bonus_types] {}", t.code()), old.bonus_type_name(t), new.bonus_type_name(t));
    }
}

fn messages(o: &mut Out, old: &RuleSet, new: &RuleSet) {
    let (a, b) = (&old.messages, &new.messages);
    for (key, x, y) in [
        ("block_reason_role", &a.block_reason_role, &b.block_reason_role),
        ("unknown_block_reason", &a.unknown_block_reason, &b.unknown_block_reason),
        ("unknown_unblock_reason", &a.unknown_unblock_reason, &b.unknown_unblock_reason),
        ("final_block", &a.final_block, &b.final_block),
        ("reserved_block", &a.reserved_block, &b.reserved_block),
        ("lift_role", &a.lift_role, &b.lift_role),
        ("unblock_reason_role", &a.unblock_reason_role, &b.unblock_reason_role),
        ("pairing", &a.pairing, &b.pairing),
        ("purchase_status", &a.purchase_status, &b.purchase_status),
        ("redeem_status", &a.redeem_status, &b.redeem_status),
        ("redeem_limit", &a.redeem_limit, &b.redeem_limit),
        ("not_enough_bonuses", &a.not_enough_bonuses, &b.not_enough_bonuses),
    ] {
        o.cmp(format!("messages.toml {key}"), x.as_str(), y.as_str());
    }
}

fn purchases(o: &mut Out, old: &RuleSet, new: &RuleSet) {
    let (a, b) = (old.purchases(), new.purchases());
    let statuses = |v: Vec<Status>| list(&v.iter().map(|s| s.ident()).collect::<Vec<_>>());
    let f = "purchases.toml";
    o.cmp(format!("{f} [accrual] statuses"), statuses(a.accrual_statuses()), statuses(b.accrual_statuses()));
    o.cmp(format!("{f} [accrual] bonus_type"), a.accrual_type().code(), b.accrual_type().code());
    o.cmp(
        format!("{f} [accrual] activation_delay_days"),
        a.activation_delay_days().to_string(),
        b.activation_delay_days().to_string(),
    );
    o.cmp(format!("{f} [accrual] lifetime_days"), a.lifetime_days().to_string(), b.lifetime_days().to_string());
    let cats = |p: &crate::rules::purchases::PurchaseRules| list(&p.excluded_categories().collect::<Vec<_>>());
    o.cmp(format!("{f} [accrual] excluded_categories"), cats(a), cats(b));
    for t in CardType::ALL {
        o.cmp(
            format!("{f} [accrual.percent] \"{}\"", t.code()),
            format!("{}%", a.percent(t)),
            format!("{}%", b.percent(t)),
        );
    }
    o.cmp(format!("{f} [redemption] statuses"), statuses(a.redemption_statuses()), statuses(b.redemption_statuses()));
    o.cmp(format!("{f} [redemption] bonus_type"), a.redemption_type().code(), b.redemption_type().code());
    o.cmp(
        format!("{f} [redemption] max_share_percent"),
        format!("{}%", a.max_share_percent()),
        format!("{}%", b.max_share_percent()),
    );
}

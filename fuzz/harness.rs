//! The bodies of the fuzz targets, shared word for word by `fuzz/fuzz_targets/*.rs`
//! (through libFuzzer) and by the main crate's `tests/fuzz_corpus.rs` (which
//! replays every saved corpus file), so a corpus file tests the same code path
//! in both places. Each function must never panic on any input; a property
//! violation is a panic.

#![allow(dead_code)]

use cashdesk_card::domain::{
    parse_date, Amount, BonusType, CardFormat, CardNumber, CardType, CheckDigit, ContactCode, Lot, MobileNumber, Money,
    PhoneRegion, Position, Status,
};
use cashdesk_card::http::wire::Fields;
use cashdesk_card::rules::purchases::{compute, Sale, SaleLine};
use cashdesk_card::rules::{BlockFacts, Facts, GraphFormat, Method, RuleSet};

/// Target `rules_files`: the first byte picks one shipped rule file, the rest
/// replaces its text; the set is compiled. If it loads, the graph is drawn,
/// decisions are taken for every method, status and guard, with the first and
/// last role and a few reason codes, and a sample receipt is computed for
/// every status and card type. Property: a computed receipt's lines share out
/// exactly the redemption asked for.
pub fn rules_files(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else { return };
    let shipped = RuleSet::shipped_files();
    let index = pick as usize % shipped.len();
    let text = String::from_utf8_lossy(rest);
    let files: Vec<(&str, &str)> =
        shipped.iter().enumerate().map(|(i, &(name, t))| (name, if i == index { &*text } else { t })).collect();
    let rules = match RuleSet::from_sources(&files) {
        Ok(r) => r,
        Err(e) => {
            // The error report must render too.
            let _ = e.to_string();
            return;
        }
    };
    let _ = rules.graph(GraphFormat::Dot);
    let _ = rules.graph(GraphFormat::Mermaid);
    let roles: Vec<String> = rules.role_names().map(str::to_string).collect();
    assert!(!roles.is_empty(), "a loaded rule set has at least one role");
    let picks = [roles.first().unwrap(), roles.last().unwrap()];
    let codes = ["0", "1", "2", "3", "4", "9", "x"];
    for name in picks {
        let role = rules.role(name).expect("a listed role resolves");
        for method in Method::ALL {
            let _ = rules.may_call(role, method);
            for status in Status::ALL {
                for (bound, registered) in [(false, false), (false, true), (true, false), (true, true)] {
                    for code in codes {
                        // As the service fills Facts: a reason only for Block and UnBlock.
                        let reason = match method {
                            Method::Block => rules.block_reason(code),
                            Method::UnBlock => rules.unblock_reason(code),
                            _ => None,
                        };
                        let block =
                            rules.block_reason(code).map(|r| BlockFacts { reason: Some(r), blocker: Some(role) });
                        let facts = Facts { method, status, bound, registered, role, reason, block };
                        let d = rules.decide(&facts);
                        let _ = rules.explain(&facts, &d, "123456");
                        let _ = rules.describe(&d);
                        let _ = rules.source(d.rule);
                    }
                }
            }
        }
    }
    sample_receipts(&rules);
}

fn sample_receipts(rules: &RuleSet) {
    let today = parse_date("2026-03-01").expect("date");
    let lots: Vec<Lot> = BonusType::ALL
        .into_iter()
        .map(|t| Lot {
            amount: Amount::parse("400").expect("amount"),
            bonus_type: t,
            active_from: today,
            expire: None,
            frozen: false,
            receipt: None,
        })
        .collect();
    let lines: Vec<SaleLine> = [("600", None), ("400", Some("tobacco")), ("0.01", Some("dairy"))]
        .iter()
        .enumerate()
        .map(|(i, (a, c))| SaleLine {
            position: Position::new(i as u32 + 1).expect("position"),
            amount: Money::parse(a).expect("money"),
            category: c.map(str::to_string),
        })
        .collect();
    for status in Status::ALL {
        for card_type in CardType::ALL {
            for redeem in ["0", "0.01", "250"] {
                let redeem = Amount::parse(redeem).expect("amount");
                let sale = Sale { status, card_type, lots: &lots, lines: &lines, redeem, today };
                if let Ok(c) = compute(rules, &sale) {
                    let shared = c.lines.iter().fold(Amount::ZERO, |s, l| s.plus(l.redeemed));
                    assert_eq!(shared, redeem, "the lines share out exactly R");
                    for l in &c.lines {
                        let _ = rules.source(l.decided_by);
                    }
                }
            }
        }
    }
}

/// The field names the HTTP layer reads.
const NAMES: [&str; 20] = [
    "Number",
    "MobileNumber",
    "ContactMobileNumber",
    "Code",
    "BlockReasonCode",
    "UnBlockReasonCode",
    "CategoryCode",
    "TypeCode",
    "Amount",
    "Frozen",
    "ActiveFrom",
    "ExpireDate",
    "BirthDate",
    "Name",
    "City",
    "Email",
    "Gender",
    "Fields",
    "number",
    "missing",
];

/// Target `json_body`: a request body through `Fields::parse`, then every
/// accessor on every typical name. Properties: a field that reads as a code
/// or a string reads the same either way when it is a JSON string.
pub fn json_body(data: &[u8]) {
    let Ok(fields) = Fields::parse(data) else { return };
    for name in NAMES {
        let s = fields.string(name);
        let c = fields.code(name);
        let a = fields.amount(name);
        let _ = fields.boolean(name);
        let _ = fields.string_map(name);
        if let Ok(Some(s)) = &s {
            assert_eq!(c.as_ref().ok().and_then(|c| c.as_deref()), Some(s.as_str()), "string and code disagree");
            assert_eq!(a.as_ref().ok().and_then(|a| a.as_deref()), Some(s.as_str()), "string and amount disagree");
        }
        if let Ok(Some(a)) = &a {
            let _ = Amount::parse(a);
        }
    }
}

/// Target `parsers`: the input as text through every domain parser. Property:
/// whatever parses, parses again from its canonical form to the same value.
pub fn parsers(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let formats = [
        CardFormat::default(),
        CardFormat { check_digit: CheckDigit::Luhn, ..CardFormat::default() },
        CardFormat { digits_min: 13, digits_max: 13, check_digit: CheckDigit::Ean13 },
        CardFormat { digits_min: 1, digits_max: 256, check_digit: CheckDigit::Ean13 },
    ];
    for f in &formats {
        if let Ok(n) = CardNumber::parse(s, f) {
            assert_eq!(CardNumber::parse(n.as_str(), f).as_ref(), Ok(&n), "card number round trip");
        }
    }
    let regions: Vec<PhoneRegion> = ["RU", "KZ", "US", "DE"].iter().filter_map(|r| PhoneRegion::parse(r)).collect();
    for &r in &regions {
        if let Ok(m) = MobileNumber::parse(s, r) {
            assert_eq!(MobileNumber::parse(m.as_str(), r).as_ref(), Ok(&m), "mobile round trip");
        }
    }
    let _ = PhoneRegion::parse(s);
    if let Ok(c) = ContactCode::parse(s) {
        assert_eq!(ContactCode::parse(c.as_str()).as_ref(), Ok(&c), "contact code round trip");
    }
    if let Ok(a) = Amount::parse(s) {
        let text = a.to_string();
        assert_eq!(Amount::parse(&text).as_ref(), Ok(&a), "amount round trip via {text}");
    }
    if let Ok(d) = parse_date(s) {
        assert_eq!(parse_date(&d.format("%Y-%m-%d").to_string()), Ok(d), "date round trip");
    }
}

/// Target `purchase_body`: a request body as Calculate, Confirm, a second
/// Confirm, Return and Cancel would read it, against a fresh demo data set
/// in memory (a body that names no card gets the demo's active bonus card).
/// Properties: the lines share out exactly the redemption, none pays more
/// than its amount, the accrual stays within the card type's percent of what
/// was paid; Confirm takes exactly the redemption from the active balance and
/// agrees with Calculate; the same Confirm again replays it; Cancel restores
/// the active balance exactly.
pub fn purchase_body(data: &[u8]) {
    use cashdesk_card::http::purchase::{return_input, sale_input};
    let Ok(fields) = Fields::parse(data) else { return };
    let (Ok(mut sale), Ok(ret)) = (sale_input(&fields), return_input(&fields)) else { return };
    let purchase = PurchaseFixture::new();
    let today = purchase.service.today();
    if sale.number.is_none() && sale.mobile.is_none() {
        sale.number = Some(purchase.card.clone());
    }
    sale.receipt_id = sale.receipt_id.or_else(|| Some("FUZZ-1".to_string()));
    let before = purchase.active_balance(&sale);
    let calculated = purchase.service.calculate(&purchase.cashier, &sale, today);
    if let Ok(c) = &calculated {
        check_sale_figures(c);
    }
    let Ok(confirmed) = purchase.service.confirm(&purchase.cashier, &sale, today) else {
        let _ = purchase.service.return_goods(&purchase.cashier, &ret, today);
        return;
    };
    let calculated = calculated.expect("a Confirm that succeeds was calculable");
    assert_eq!((&confirmed.lines, confirmed.accrued), (&calculated.lines, calculated.accrued), "Confirm = Calculate");
    let before = before.expect("a card that sold has a balance");
    assert_eq!(before.minus(confirmed.redeemed), Some(confirmed.active_balance), "Confirm takes exactly R");
    let again = purchase.service.confirm(&purchase.cashier, &sale, today).expect("a replay answers");
    assert!(again.replayed, "the same Confirm replays");
    assert_eq!((again.lines, again.accrued), (confirmed.lines, confirmed.accrued), "a replay is the first answer");
    let _ = purchase.service.return_goods(&purchase.cashier, &ret, today);
    let receipt = sale.receipt_id.as_deref();
    purchase.service.cancel(&purchase.cashier, receipt, today).expect("a confirmed receipt cancels");
    assert_eq!(purchase.active_balance(&sale), Some(before), "Cancel restores the balance");
}

fn check_sale_figures(c: &cashdesk_card::service::SaleAnswer) {
    let shared = c.lines.iter().fold(Amount::ZERO, |s, l| s.plus(l.redeemed));
    assert_eq!(shared, c.redeemed, "the lines share out exactly R");
    let accrued = c.lines.iter().fold(Amount::ZERO, |s, l| s.plus(l.accrued));
    assert_eq!(accrued, c.accrued, "the accrual is the lines' sum");
    assert!(c.redeemed <= c.max_redeem, "redeemed {} above MaxRedeem {}", c.redeemed, c.max_redeem);
    let five = Amount::parse("0.05").expect("amount").value();
    for l in &c.lines {
        assert!(l.redeemed <= l.amount, "line {} pays more than its amount", l.position);
        let paid = l.amount.minus(l.redeemed).expect("redeemed ≤ amount").value();
        assert!(l.accrued.value() <= paid * five, "line {} earns more than 5% of what was paid", l.position);
    }
}

/// A fresh demo data set in memory, and its active bonus/discount card.
struct PurchaseFixture {
    service: cashdesk_card::service::CardService,
    cashier: cashdesk_card::service::Caller,
    card: String,
}

impl PurchaseFixture {
    fn new() -> PurchaseFixture {
        use cashdesk_card::rules::RuleHandle;
        use cashdesk_card::service::CardService;
        use cashdesk_card::store::MemStore;
        use std::sync::Arc;
        let store = Arc::new(MemStore::new());
        let service = CardService::new(store, Arc::new(RuleHandle::new(RuleSet::shipped())));
        let summary = cashdesk_card::demo::seed(&service).expect("the demo seeds");
        let card = summary.cards.iter().find(|c| c.description.starts_with("Active")).expect("an active demo card");
        PurchaseFixture {
            card: card.number.clone(),
            service,
            cashier: cashdesk_card::service::Caller::new("fuzz", "cashier"),
        }
    }

    /// The active balance of the sale's card, via Calculate with one line and
    /// no redemption (`None` when the card is not found or may not earn).
    fn active_balance(&self, sale: &cashdesk_card::service::SaleInput) -> Option<Amount> {
        let line =
            cashdesk_card::service::LineInput { position: Some("1".into()), amount: Some("1".into()), category: None };
        let probe = cashdesk_card::service::SaleInput {
            number: sale.number.clone(),
            mobile: sale.mobile.clone(),
            lines: Some(vec![line]),
            ..Default::default()
        };
        self.service.calculate(&self.cashier, &probe, self.service.today()).ok().map(|a| a.active_balance)
    }
}

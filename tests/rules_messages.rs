//! Every `Value` sentence the shipped rules produce reads as a sentence a
//! store employee can read: articles from roles.toml ("blocked by an
//! administrator", never "a administrator"), no unfilled placeholder, no
//! stray spaces. Checked over the whole lifecycle decision space and every
//! purchase refusal.

use cashdesk_card::domain::{Amount, BonusType, CardType, Lot, Money, Position, Status};
use cashdesk_card::rules::purchases::{compute, Sale, SaleLine};
use cashdesk_card::rules::{BlockFacts, Check, Facts, Method, Outcome, RuleSet};

fn assert_sentence(text: &str, what: &str) {
    assert!(!text.trim().is_empty(), "{what}: empty");
    assert_eq!(text, text.trim(), "{what}: `{text}` has surrounding spaces");
    assert!(!text.contains("  "), "{what}: `{text}` has a double space");
    assert!(!text.contains(['{', '}', '?']), "{what}: `{text}` has an unfilled placeholder");
    let words: Vec<&str> = text.split_whitespace().collect();
    for w in words.windows(2) {
        let vowel = w[1].starts_with(|c: char| "aeiouAEIOU".contains(c));
        assert!(!(w[0] == "a" && vowel), "{what}: `{text}` says `a {}`", w[1]);
        assert!(w[0] != "an" || vowel, "{what}: `{text}` says `an {}`", w[1]);
        assert!(!(w[0] == w[1] && w[0].chars().all(char::is_alphabetic)), "{what}: `{text}` repeats `{}`", w[0]);
    }
}

#[test]
fn every_lifecycle_refusal_reads_as_a_sentence() {
    let r = RuleSet::shipped();
    let roles: Vec<_> = r.role_names().filter_map(|n| r.role(n)).collect();
    let blocks: Vec<_> = ["0", "1", "2", "3", "4"].iter().filter_map(|c| r.block_reason(c)).collect();
    let unblocks: Vec<_> = ["0", "1", "2", "3"].iter().filter_map(|c| r.unblock_reason(c)).collect();
    let mut checked = 0;
    for m in Method::WITH_TRANSITIONS {
        for &role in &roles {
            for status in Status::ALL {
                for (bound, registered) in [(false, false), (true, false), (true, true)] {
                    let reasons: Vec<_> = match m {
                        Method::Block => blocks.iter().copied().map(Some).collect(),
                        Method::UnBlock => unblocks.iter().copied().map(Some).collect(),
                        _ => vec![None],
                    };
                    for reason in reasons {
                        let cards: Vec<Option<BlockFacts>> = match m {
                            Method::UnBlock => blocks
                                .iter()
                                .flat_map(|b| {
                                    roles
                                        .iter()
                                        .map(move |by| Some(BlockFacts { reason: Some(*b), blocker: Some(*by) }))
                                })
                                .chain([Some(BlockFacts { reason: None, blocker: None })])
                                .collect(),
                            _ => vec![None],
                        };
                        for block in cards {
                            let f = Facts { method: m, status, bound, registered, role, reason, block };
                            let d = r.decide(&f);
                            if matches!(d.outcome, Outcome::Refuse(_)) && d.check != Check::UnknownReason {
                                let text = r.explain(&f, &d, "1234567");
                                assert_sentence(&text, &format!("{f:?}"));
                                checked += 1;
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(checked > 1000, "only {checked} refusals checked");
}

#[test]
fn a_card_blocked_by_an_administrator_says_so_with_the_article() {
    let r = RuleSet::shipped();
    let admin = r.role("administrator").expect("administrator");
    let f = Facts {
        method: Method::UnBlock,
        status: Status::Blocked,
        bound: true,
        registered: true,
        role: r.role("director").expect("director"),
        reason: r.unblock_reason("0"),
        block: Some(BlockFacts { reason: r.block_reason("0"), blocker: Some(admin) }),
    };
    let text = r.explain(&f, &r.decide(&f), "1234567");
    assert_eq!(text, "card 1234567 was blocked by an administrator; only an administrator may unblock it");
    let f = Facts {
        method: Method::Block,
        role: r.role("senior_employee").expect("role"),
        reason: r.block_reason("2"),
        block: None,
        ..f
    };
    assert_eq!(
        r.explain(&f, &r.decide(&f), "1"),
        "a senior store employee may not block a card with reason «Попадание в черный список»"
    );
}

#[test]
fn the_article_comes_from_roles_toml_or_from_the_title() {
    let files: Vec<(&str, String)> = RuleSet::shipped_files()
        .iter()
        .map(|(n, t)| {
            let t = if *n == "roles.toml" {
                t.replace("title = \"marketer\"", "title = \"outreach marketer\"")
                    .replace("title = \"store director\"", "title = \"honorary director\"\narticle = \"an\"")
            } else {
                t.to_string()
            };
            (*n, t)
        })
        .collect();
    let refs: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
    let r = RuleSet::from_sources(&refs).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.role_in_sentence(r.role("marketer").expect("role")), "an outreach marketer");
    assert_eq!(r.role_in_sentence(r.role("director").expect("role")), "an honorary director");
    assert_eq!(r.role_in_sentence(r.role("cashier").expect("role")), "a cash desk");
}

#[test]
fn every_purchase_refusal_reads_as_a_sentence() {
    let r = RuleSet::shipped();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 3, 1).expect("date");
    let lots = [Lot {
        amount: Amount::parse("10").expect("amount"),
        bonus_type: BonusType::Monetary,
        active_from: today,
        expire: None,
        frozen: false,
        receipt: None,
    }];
    let lines =
        [SaleLine { position: Position::new(1).expect("p"), amount: Money::parse("100").expect("m"), category: None }];
    let mut keys = std::collections::BTreeSet::new();
    for status in Status::ALL {
        for redeem in ["0", "1", "20", "60"] {
            let sale = Sale {
                status,
                card_type: CardType::Bonus,
                lots: &lots,
                lines: &lines,
                redeem: Amount::parse(redeem).expect("a"),
                today,
            };
            if let Err(e) = compute(&r, &sale) {
                assert_sentence(&e.message, &format!("{status:?} Redeem {redeem}"));
                keys.insert(e.key.to_string());
            }
        }
    }
    assert_eq!(keys.len(), 3, "StatusError, RedeemLimitExceeded and NotEnoughBonuses all checked: {keys:?}");
}

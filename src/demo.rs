//! A fresh demo data set for `cashdesk serve --demo`, made through the
//! service's public methods only, so it obeys the rules in force.
//!
//! It has a card in every status (with both kinds of Issued and of Blocked),
//! and bonus lots in every bonus state for both bonus types, relative to
//! the `today` it is given, and receipts in three states (confirmed, partly
//! returned, cancelled) on the replacement card. Seed it into an empty store:
//! seeding twice adds the lots again and fails on the second Block.

use crate::domain::{CardFormat, CheckDigit};
use crate::service::{BonusInput, Caller, CardService, ContactInput, Failure, LineInput, ReturnInput, SaleInput};
use chrono::{Days, NaiveDate};
use std::fmt;

/// One user per role of the shipped rules: (user name, role).
pub fn demo_users() -> Vec<(&'static str, &'static str)> {
    vec![
        ("demo-client", "client"),
        ("demo-call-center", "call_center"),
        ("demo-marketer", "marketer"),
        ("demo-senior", "senior_employee"),
        ("demo-director", "director"),
        ("demo-admin", "administrator"),
        ("demo-cashier", "cashier"),
    ]
}

/// A demo card and what it shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoCard {
    pub number: String,
    pub description: String,
}

/// A demo contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoContact {
    pub code: String,
    pub mobile: String,
    /// Empty for the contact whose registration is not sufficient.
    pub name: String,
    pub description: String,
}

/// A demo receipt and what it shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoReceipt {
    pub id: String,
    /// The card the sale was on.
    pub number: String,
    pub description: String,
}

/// What [`seed_demo`] made, for printing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoSummary {
    pub today: NaiveDate,
    pub cards: Vec<DemoCard>,
    pub contacts: Vec<DemoContact>,
    pub receipts: Vec<DemoReceipt>,
}

impl fmt::Display for DemoSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Demo cards (bonus dates relative to {}):", self.today)?;
        for c in &self.cards {
            writeln!(f, "  {:<15} {}", c.number, c.description)?;
        }
        writeln!(f, "Demo contacts:")?;
        for c in &self.contacts {
            let name = if c.name.is_empty() { "(no name)" } else { c.name.as_str() };
            writeln!(f, "  {:<10} {:<13} {:<18} {}", c.code, c.mobile, name, c.description)?;
        }
        writeln!(f, "Demo receipts:")?;
        for r in &self.receipts {
            writeln!(f, "  {:<10} {:<15} {}", r.id, r.number, r.description)?;
        }
        Ok(())
    }
}

struct Seeder<'a> {
    service: &'a CardService,
    admin: &'a Caller,
    today: NaiveDate,
    format: CardFormat,
    summary: DemoSummary,
}

impl Seeder<'_> {
    fn day(&self, offset: i64) -> String {
        let d = if offset >= 0 {
            self.today.checked_add_days(Days::new(offset.unsigned_abs()))
        } else {
            self.today.checked_sub_days(Days::new(offset.unsigned_abs()))
        };
        d.unwrap_or(self.today).format("%Y-%m-%d").to_string()
    }

    fn contact(&mut self, code: &str, mobile: &str, name: &str, description: &str) -> Result<(), Failure> {
        let input = ContactInput {
            mobile: Some(mobile.to_string()),
            name: (!name.is_empty()).then(|| name.to_string()),
            city: Some("Москва".to_string()),
            ..Default::default()
        };
        let rec = self.service.upsert_contact(self.admin, code, input)?;
        self.summary.contacts.push(DemoContact {
            code: rec.code,
            mobile: rec.mobile.unwrap_or_default(),
            name: rec.name,
            description: description.to_string(),
        });
        Ok(())
    }

    /// Creates card `seq` (a number valid under the rules' format).
    fn card(&mut self, seq: u32, category: &str, card_type: &str, description: &str) -> Result<String, Failure> {
        let number = demo_number(&self.format, seq);
        self.service.upsert_card(self.admin, &number, Some(category), Some(card_type))?;
        self.summary.cards.push(DemoCard { number: number.clone(), description: description.to_string() });
        Ok(number)
    }

    fn issue(&self, number: &str) -> Result<(), Failure> {
        self.service.issue(self.admin, Some(number)).map(|_| ())
    }

    fn bind(&self, number: &str, mobile: &str) -> Result<(), Failure> {
        self.service.bind_to(self.admin, Some(number), Some(mobile)).map(|_| ())
    }

    fn activate(&self, number: &str) -> Result<(), Failure> {
        self.service.active(self.admin, Some(number)).map(|_| ())
    }

    fn block(&self, number: &str, reason: &str) -> Result<(), Failure> {
        self.service.block(self.admin, Some(number), None, Some(reason)).map(|_| ())
    }

    /// Three sales on `number` (a bonus card with 1000 active bonuses): the
    /// SPEC §8.5 sale kept as confirmed, one partly returned, one cancelled.
    fn receipts(&mut self, number: &str) -> Result<(), Failure> {
        let lines = [("1", "600.00", None), ("2", "400.00", None), ("3", "150.00", Some("tobacco"))];
        self.sale("DEMO-R-1", number, &lines, "250", "confirmed: SPEC's worked example (tobacco earns nothing)")?;
        let returned = "partially_returned: half of line 1 came back (return DEMO-RT-1)";
        self.sale("DEMO-R-2", number, &[("1", "300", None), ("2", "200", None)], "100", returned)?;
        let back = ReturnInput {
            receipt_id: Some("DEMO-R-2".into()),
            return_id: Some("DEMO-RT-1".into()),
            lines: Some(vec![line("1", "150", None)]),
        };
        self.service.return_goods(self.admin, &back, self.today)?;
        self.sale("DEMO-R-3", number, &[("1", "80", None)], "0", "cancelled")?;
        self.service.cancel(self.admin, Some("DEMO-R-3"), self.today)?;
        Ok(())
    }

    /// Confirms a sale of (position, amount, category) lines.
    fn sale(
        &mut self,
        id: &str,
        number: &str,
        lines: &[(&str, &str, Option<&str>)],
        redeem: &str,
        description: &str,
    ) -> Result<(), Failure> {
        let input = SaleInput {
            receipt_id: Some(id.to_string()),
            number: Some(number.to_string()),
            mobile: None,
            lines: Some(lines.iter().map(|&(p, a, c)| line(p, a, c)).collect()),
            redeem: Some(redeem.to_string()),
        };
        self.service.confirm(self.admin, &input, self.today)?;
        let (id, number, description) = (id.to_string(), number.to_string(), description.to_string());
        self.summary.receipts.push(DemoReceipt { id, number, description });
        Ok(())
    }

    /// Adds a lot: `from`/`expire` are day offsets from today.
    fn lot(
        &self,
        number: &str,
        amount: &str,
        bonus_type: &str,
        from: i64,
        expire: Option<i64>,
        frozen: bool,
    ) -> Result<(), Failure> {
        let input = BonusInput {
            amount: Some(amount.to_string()),
            type_code: Some(bonus_type.to_string()),
            active_from: Some(self.day(from)),
            expire_date: expire.map(|e| self.day(e)),
            frozen,
        };
        self.service.add_bonus(self.admin, number, input).map(|_| ())
    }
}

/// Seeds the demo data set as `admin` (an administrator, e.g. `demo-admin`),
/// with bonus dates relative to `today`. Stops at the first refusal.
pub fn seed_demo(service: &CardService, admin: &Caller, today: NaiveDate) -> Result<DemoSummary, Failure> {
    let format = service.rules().card_format().clone();
    let mut s = Seeder {
        service,
        admin,
        today,
        format,
        summary: DemoSummary { today, cards: Vec::new(), contacts: Vec::new(), receipts: Vec::new() },
    };
    let (m1, m2, m3, m4, m5) = ("+79160000001", "+79160000002", "+79160000003", "+79160000004", "+79160000005");
    s.contact("DEMO-001", m1, "Иван Петров", "Active card with bonuses in every state")?;
    s.contact("DEMO-002", m2, "Мария Иванова", "card blocked: lost")?;
    s.contact("DEMO-003", m3, "", "no Name: registration not sufficient, its card cannot be activated")?;
    s.contact("DEMO-004", m4, "Ольга Смирнова", "card replaced; bonuses moved to the new card")?;
    s.contact("DEMO-005", m5, "Алексей Кузнецов", "no card yet: try BindTo with the unbound Issued card")?;

    // New.
    s.card(1, "0", "1", "New (plastic, discount): try Issue")?;

    // Issued, bound to no contact.
    let unbound = s.card(2, "0", "0", "Issued, unbound: try BindTo with +79160000005")?;
    s.issue(&unbound)?;

    // Issued, bound, registration not sufficient.
    let unregistered = s.card(3, "0", "0", "Issued, bound to DEMO-003 (no Name): Active answers StatusError")?;
    s.issue(&unregistered)?;
    s.bind(&unregistered, m3)?;

    // Active, with every bonus state of both types.
    let active = s.card(4, "0", "2", "Active (bonus/discount): bonuses in every state, both types")?;
    s.issue(&active)?;
    s.bind(&active, m1)?;
    s.activate(&active)?;
    for (t, k) in [("0", 10), ("1", 1)] {
        let amt = |units: i64| (units * k).to_string();
        s.lot(&active, &amt(50), t, 0, None, false)?; // active, never expires
        s.lot(&active, &amt(10), t, 0, Some(20), false)?; // active, nearest expiry …
        s.lot(&active, &format!("{}.5", 15 * k), t, 0, Some(20), false)?; // … twice on the same day
        s.lot(&active, &amt(30), t, 0, Some(60), false)?; // active, later expiry
        s.lot(&active, &amt(20), t, 30, None, false)?; // inactive: starts in 30 days
        s.lot(&active, &amt(7), t, -90, Some(-1), false)?; // burned: expired yesterday
        s.lot(&active, &amt(12), t, 0, None, true)?; // frozen flag
    }

    // Blocked for loss; its lots show frozen while blocked. 0.1 + 0.2 = 0.3 exactly.
    let lost = s.card(5, "0", "0", "Blocked: lost (by an administrator); its 0.3 bonuses show frozen")?;
    s.issue(&lost)?;
    s.bind(&lost, m2)?;
    s.activate(&lost)?;
    s.lot(&lost, "0.1", "0", 0, None, false)?;
    s.lot(&lost, "0.2", "0", 0, None, false)?;
    s.block(&lost, "0")?;

    // Blocked for replacement, and the replacement card bound to the same
    // contact: the old card's lots move to it.
    let replaced = s.card(6, "0", "0", "Blocked: replacement (final); its lots moved to the next card")?;
    s.issue(&replaced)?;
    s.bind(&replaced, m4)?;
    s.activate(&replaced)?;
    s.lot(&replaced, "1000", "0", 0, None, false)?;
    s.lot(&replaced, "100", "1", 0, Some(45), false)?;
    s.block(&replaced, "4")?;
    let replacement = s.card(7, "1", "0", "Active (virtual): replacement card of DEMO-004, holds the moved lots")?;
    s.issue(&replacement)?;
    s.bind(&replacement, m4)?;
    s.activate(&replacement)?;

    s.receipts(&replacement)?;
    Ok(s.summary)
}

fn line(position: &str, amount: &str, category: Option<&str>) -> LineInput {
    LineInput {
        position: Some(position.to_string()),
        amount: Some(amount.to_string()),
        category: category.map(str::to_string),
    }
}

/// Demo card `seq` as a number the format accepts: 13 digits where the
/// format allows (EAN-13 length), starting `2` (in-store numbering), the
/// last digit a check digit of the format's kind.
fn demo_number(format: &CardFormat, seq: u32) -> String {
    let len = match format.check_digit {
        CheckDigit::Ean13 => 13,
        _ => 13usize.clamp(format.digits_min.max(2), format.digits_max.max(2)),
    };
    let tail = seq.to_string();
    let zeros = (len - 1).saturating_sub(1 + tail.len());
    let payload = format!("2{}{}", "0".repeat(zeros), tail);
    let digits: Vec<u32> = payload.bytes().map(|b| u32::from(b - b'0')).collect();
    let check = match format.check_digit {
        CheckDigit::Luhn => luhn_check(&digits),
        CheckDigit::Ean13 | CheckDigit::None => ean_check(&digits),
    };
    format!("{payload}{check}")
}

/// The Luhn digit to append to `payload`.
fn luhn_check(payload: &[u32]) -> u32 {
    let sum: u32 = payload
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    (10 - sum % 10) % 10
}

/// The EAN digit to append: weights 3, 1, … from the right of the payload.
fn ean_check(payload: &[u32]) -> u32 {
    let sum: u32 = payload.iter().rev().enumerate().map(|(i, &d)| if i % 2 == 0 { d * 3 } else { d }).sum();
    (10 - sum % 10) % 10
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{BonusState, BonusType, CardNumber, Status};
    use crate::rules::{RuleHandle, RuleSet};
    use crate::service::Lookup;
    use crate::store::MemStore;
    use std::collections::BTreeSet;
    use std::sync::Arc;

    fn service() -> CardService {
        CardService::new(Arc::new(MemStore::new()), Arc::new(RuleHandle::new(RuleSet::shipped())))
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 3, 15).unwrap()
    }

    #[test]
    fn demo_users_cover_every_shipped_role_once() {
        let rules = RuleSet::shipped();
        let roles: BTreeSet<&str> = demo_users().iter().map(|(_, r)| *r).collect();
        let shipped: BTreeSet<&str> = rules.role_names().collect();
        assert_eq!(roles, shipped);
        assert_eq!(demo_users().len(), shipped.len());
        assert!(demo_users().contains(&("demo-admin", "administrator")));
    }

    #[test]
    fn demo_numbers_pass_every_check_digit_format() {
        for check_digit in [CheckDigit::None, CheckDigit::Luhn, CheckDigit::Ean13] {
            let format = CardFormat { check_digit, ..CardFormat::default() };
            for seq in 1..=20 {
                let n = demo_number(&format, seq);
                assert!(CardNumber::parse(&n, &format).is_ok(), "{n} under {check_digit:?}");
            }
        }
        let short = CardFormat { digits_min: 6, digits_max: 8, check_digit: CheckDigit::Luhn };
        let n = demo_number(&short, 7);
        assert_eq!(n.len(), 8);
        assert!(CardNumber::parse(&n, &short).is_ok());
    }

    #[test]
    fn demo_has_every_status_and_every_bonus_state() {
        let service = service();
        let admin = Caller::new("demo-admin", "administrator");
        let summary = seed_demo(&service, &admin, today()).unwrap();
        assert_eq!(summary.cards.len(), 7);
        assert_eq!(summary.contacts.len(), 5);
        let text = summary.to_string();
        for c in &summary.cards {
            assert!(text.contains(&c.number));
        }

        let mut statuses = BTreeSet::new();
        // (bonus type, state) pairs with a non-zero amount, over all cards.
        let mut states = BTreeSet::new();
        let mut balances = Vec::new();
        for c in &summary.cards {
            let b = service.balance(&admin, Lookup::Number(&c.number), today()).unwrap();
            statuses.insert(b.status);
            for line in &b.bonuses {
                if line.amount != crate::domain::Amount::ZERO {
                    states.insert((line.bonus_type, line.state));
                }
            }
            balances.push(b);
        }
        assert_eq!(statuses, Status::ALL.into_iter().collect());
        for t in BonusType::ALL {
            for st in BonusState::ALL {
                assert!(states.contains(&(t, st)), "no {st:?} bonuses of type {t:?}");
            }
        }

        // The active card: the nearest expiry is two lots on the same day.
        let active = &balances[3];
        assert_eq!(active.status, Status::Active);
        let nearest: Vec<_> = active.bonuses.iter().filter(|l| l.state == BonusState::NearestExpiry).collect();
        assert_eq!(nearest.len(), 2);
        assert_eq!(nearest[0].amount.to_string(), "250.5");
        assert_eq!(nearest[0].expire, NaiveDate::from_ymd_opt(2025, 4, 4));
        assert_eq!(nearest[1].amount.to_string(), "25.5");

        // Issued unbound vs Issued bound but not registered.
        assert_eq!(balances[1].status, Status::Issued);
        assert_eq!(balances[1].code, "");
        assert_eq!(balances[2].status, Status::Issued);
        assert_eq!(balances[2].code, "DEMO-003");
        let refused = service.active(&admin, Some(&summary.cards[2].number)).unwrap_err();
        assert_eq!(refused.key, crate::ErrorKey::StatusError);

        // Lost: blocked, 0.1 + 0.2 shows as exactly 0.3 frozen.
        let lost = &balances[4];
        assert_eq!(lost.status, Status::Blocked);
        let frozen = lost.bonuses.iter().find(|l| l.state == BonusState::Frozen && l.bonus_type == BonusType::Monetary);
        assert_eq!(frozen.unwrap().amount.to_string(), "0.3");

        // Replacement: the old card is blocked for replacement and empty,
        // the new card is the contact's current card and holds the lots.
        let old = service.card(&summary.cards[5].number).unwrap().unwrap();
        assert_eq!(old.status, Status::Blocked);
        assert_eq!(old.block.unwrap().reason, "4");
        assert!(service.lots(&summary.cards[5].number).unwrap().is_empty());
        let by_phone = service.balance(&admin, Lookup::Phone("+79160000004"), today()).unwrap();
        assert_eq!(by_phone.number, summary.cards[6].number);
        assert!(service.lots(&summary.cards[6].number).unwrap().iter().any(|l| l.amount.to_string() == "100"));
        assert_eq!(by_phone.status, Status::Active);
    }

    #[test]
    fn demo_receipts_are_confirmed_partly_returned_and_cancelled() {
        let service = service();
        let admin = Caller::new("demo-admin", "administrator");
        let summary = seed_demo(&service, &admin, today()).unwrap();
        let states: Vec<(String, String)> = summary
            .receipts
            .iter()
            .map(|r| (r.id.clone(), service.receipt(&admin, &r.id).unwrap().state.name().to_string()))
            .collect();
        let want = [("DEMO-R-1", "confirmed"), ("DEMO-R-2", "partially_returned"), ("DEMO-R-3", "cancelled")];
        assert_eq!(states, want.map(|(i, s)| (i.to_string(), s.to_string())));
        assert!(summary.to_string().contains("DEMO-R-2"));
        // 1000 moved to the card, 250 and 100 redeemed, 30 of R-2's 60 given back.
        let card = &summary.cards[6].number;
        let probe =
            SaleInput { number: Some(card.clone()), lines: Some(vec![line("1", "1", None)]), ..Default::default() };
        assert_eq!(service.calculate(&admin, &probe, today()).unwrap().active_balance.to_string(), "680");
    }
}

/// Where `serve --demo` keeps its rules and users, and the users' passwords.
#[derive(Debug, Clone)]
pub struct DemoSetup {
    pub rules_dir: std::path::PathBuf,
    pub users_file: std::path::PathBuf,
    /// (name, role, password): printed once so the demo can be called.
    pub users: Vec<(String, String, String)>,
}

fn random_password() -> String {
    use rand::distributions::{Alphanumeric, DistString};
    Alphanumeric.sample_string(&mut rand::thread_rng(), 16)
}

/// Lays out a fresh demo directory: the shipped rules (unless `rules` names
/// a directory) and a users file with one user per role and random
/// passwords (stored only as Argon2id hashes).
pub fn prepare(data: &std::path::Path, rules: Option<&std::path::Path>) -> std::io::Result<DemoSetup> {
    std::fs::create_dir_all(data)?;
    let rules_dir = match rules {
        Some(r) => r.to_path_buf(),
        None => {
            let dir = data.join("rules");
            std::fs::create_dir_all(&dir)?;
            for (name, text) in crate::rules::RuleSet::shipped_files() {
                std::fs::write(dir.join(name), text)?;
            }
            dir
        }
    };
    let users_file = data.join("users.toml");
    let mut users = Vec::new();
    let mut text = String::from("# Demo users: one per role. Passwords are printed once at start-up.\n\n");
    for (name, role) in demo_users() {
        let password = random_password();
        text.push_str(&format!(
            "[[user]]\nname = \"{name}\"\nrole = \"{role}\"\nhash = \"{}\"\n\n",
            crate::auth::hash_password(&password)
        ));
        users.push((name.to_string(), role.to_string(), password));
    }
    std::fs::write(&users_file, text)?;
    Ok(DemoSetup { rules_dir, users_file, users })
}

/// Seeds the demo data set as `demo-admin`, as of the rules' today.
pub fn seed(service: &CardService) -> Result<DemoSummary, Failure> {
    let admin = Caller::new("demo-admin", "administrator");
    seed_demo(service, &admin, service.today())
}

/// The purchase methods' curl lines, on the card of the demo's receipts: a
/// new sale, its return and cancellation, and a receipt read.
fn print_purchase_lines(out: &mut impl std::io::Write, base: &str, cashier: &str, summary: &DemoSummary) {
    let Some(card) = summary.receipts.first().map(|r| r.number.as_str()) else { return };
    let lines = r#""Lines":[{"Position":1,"Amount":600},{"Position":2,"Amount":400,"Category":"tobacco"}]"#;
    let sale = format!(r#""ReceiptId":"DEMO-R-4","Number":"{card}",{lines},"Redeem":100"#);
    let calls = [
        ("Calculate", format!(r#""Number":"{card}",{lines},"Redeem":100"#)),
        ("Confirm", sale),
        ("Return", r#""ReceiptId":"DEMO-R-4","ReturnId":"DEMO-RT-2","Lines":[{"Position":1,"Amount":150}]"#.into()),
        ("Cancel", r#""ReceiptId":"DEMO-R-4""#.into()),
    ];
    for (method, body) in calls {
        let _ = writeln!(out, "  curl -s -u {cashier} -X POST {base}/api/purchase/{method} -d '{{{body}}}'");
    }
    let _ = writeln!(out, "  curl -s -u {cashier} {base}/api/purchase/Receipt/DEMO-R-2");
}

/// What `serve --demo` prints: users, data and ready-to-paste curl commands.
pub fn print_welcome(
    out: &mut impl std::io::Write,
    addr: std::net::SocketAddr,
    data: &std::path::Path,
    setup: &DemoSetup,
    summary: &DemoSummary,
) {
    let base = format!("http://{addr}");
    let pw =
        |role: &str| setup.users.iter().find(|u| u.1 == role).map(|u| format!("{}:{}", u.0, u.2)).unwrap_or_default();
    let card = |i: usize| summary.cards.get(i).map(|c| c.number.clone()).unwrap_or_default();
    let active = summary
        .cards
        .iter()
        .find(|c| c.description.starts_with("Active"))
        .map(|c| c.number.clone())
        .unwrap_or_else(|| card(0));
    let phone = summary.contacts.first().map(|c| c.mobile.clone()).unwrap_or_default();
    let _ = writeln!(out, "cashdesk listening on {base}");
    let _ = writeln!(out, "demo data in {} (rules in {})", data.display(), setup.rules_dir.display());
    let _ = writeln!(out, "\nUsers (name, role, password):");
    for (n, r, p) in &setup.users {
        let _ = writeln!(out, "  {n:<18} {r:<16} {p}");
    }
    let _ = writeln!(out, "\n{summary}");
    let _ = writeln!(out, "Try:");
    let _ = writeln!(out, "  curl -s -u {} {base}/api/card/balance/by/number/{active}", pw("cashier"));
    let _ =
        writeln!(out, "  curl -s -u {} {base}/api/card/balance/by/phone/{}", pw("cashier"), phone.replace('+', "%2B"));
    let _ = writeln!(
        out,
        "  curl -s -u {} -X POST {base}/api/card/Block -d '{{\"Number\":\"{active}\",\"BlockReasonCode\":\"0\"}}'",
        pw("client")
    );
    let _ = writeln!(
        out,
        "  curl -s -u {} -X POST {base}/api/card/UnBlock -d '{{\"Number\":\"{active}\",\"UnBlockReasonCode\":\"0\"}}'",
        pw("client")
    );
    let _ = writeln!(out, "  curl -s -u {} {base}/api/admin/cards/{active}/history", pw("administrator"));
    print_purchase_lines(out, &base, &pw("cashier"), summary);
    let _ = writeln!(out, "\nStop with Ctrl-C.");
}

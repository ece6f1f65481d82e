//! The purchase part of the reference model (SPEC §8), written from the
//! spec: integer hundredths, floor2 as integer division, the shipped
//! purchases.toml values typed in from §8.2. It does not call the library's
//! purchase computation.

use super::*;

/// §8.2 as shipped.
const EARN_STATUSES: [St; 2] = [St::Issued, St::Active];
const DELAY_DAYS: u64 = 14;
const LIFETIME_DAYS: u64 = 365;
const SHARE_PERCENT: i64 = 50;

/// Percent earned by card type code (§8.2; type "1" earns nothing).
fn percent(card_type: &str) -> i64 {
    match card_type {
        "0" => 5,
        "2" => 3,
        _ => 0,
    }
}

/// Receipt ids as tills send them: two good ones, one malformed.
pub const RECEIPTS: [(&str, Arg); 3] = [("R-1", Arg::Val("R-1")), ("R-2", Arg::Val("R-2")), ("a/b", Arg::Bad)];
pub const RETURN_IDS: [(&str, Arg); 3] = [("T-1", Arg::Val("T-1")), ("T-2", Arg::Val("T-2")), ("", Arg::Missing)];

/// A line as sent: (Position, Amount, Category).
pub type LineSpec = (&'static str, &'static str, Option<&'static str>);

/// Line sets of a sale: ordinary, with tobacco, with a bad position, a bad
/// amount, a duplicated position.
pub const SALES: [&[LineSpec]; 6] = [
    &[("1", "600.00", None), ("2", "400.00", Some("food")), ("3", "150.00", Some("tobacco"))],
    &[("1", "10.01", None), ("2", "20.02", None), ("3", "30.03", None)],
    &[("1", "99.99", Some("tobacco"))],
    &[("1.5", "10", None)],
    &[("1", "0.001", None)],
    &[("2", "10", None), ("2", "5", None)],
];

/// Redemptions asked for: none, some, too much for most receipts, not money.
pub const REDEEMS: [(&str, Option<i64>); 6] =
    [("", Some(0)), ("0", Some(0)), ("5", Some(500)), ("12.34", Some(1234)), ("900", Some(90_000)), ("-1", None)];

/// Lines of a return: (Position, Amount).
pub const RETURNS: [&[(&str, &str)]; 5] =
    [&[("1", "300.00")], &[("1", "600"), ("2", "400")], &[("3", "150")], &[("2", "10.02"), ("1", "5")], &[("9", "1")]];

#[derive(Debug, Clone)]
pub struct MLine {
    pos: i64,
    amount: i64,
    category: Option<&'static str>,
    redeemed: i64,
    accrued: i64,
    returned: i64,
    reversed: i64,
    restored: i64,
}

#[derive(Debug, Clone)]
pub struct MReceipt {
    card: &'static str,
    lines: Vec<MLine>,
    redeem: i64,
    /// (hundredths, ExpireDate) in the order taken.
    portions: Vec<(i64, Option<NaiveDate>)>,
    restored: i64,
    /// The card the Cancel changed (the receipt's card, or the card that
    /// replaced it), which its replay names again (§8.4: a replay answers
    /// what the first call answered).
    cancelled: Option<&'static str>,
    /// Return id → its lines (position, amount) and the card it changed.
    returns: BTreeMap<&'static str, (ReturnLines, &'static str)>,
}

/// A return's lines: (position, amount) in hundredths.
type ReturnLines = Vec<(i64, i64)>;

fn money(s: &str, zero_ok: bool) -> Option<i64> {
    let d: Decimal = s.trim().parse().ok()?;
    let d = d.normalize();
    if d.scale() > 2 || d.is_sign_negative() && !d.is_zero() || d > Decimal::from(1_000_000_000) {
        return None;
    }
    let c = cents(d);
    (c > 0 || zero_ok).then_some(c)
}

fn position(s: &str) -> Option<i64> {
    let n: i64 = s.parse().ok().filter(|_| s.bytes().all(|b| b.is_ascii_digit()))?;
    (1..=100_000).contains(&n).then_some(n)
}

/// §8.1 step 2: positions (valid, unique), then amounts.
/// A parsed line: (position, hundredths, category).
type Parsed = (i64, i64, Option<&'static str>);

fn parse_lines(lines: &[LineSpec]) -> Result<Vec<Parsed>, ErrorKey> {
    let mut seen = Vec::new();
    for (p, _, _) in lines {
        let p = position(p).ok_or(ErrorKey::InvalidPosition)?;
        if seen.contains(&p) {
            return Err(ErrorKey::InvalidPosition);
        }
        seen.push(p);
    }
    lines.iter().zip(seen).map(|((_, a, c), p)| Ok((p, money(a, false).ok_or(ErrorKey::InvalidAmount)?, *c))).collect()
}

fn state(lot: &MLot, blocked: bool, today: NaiveDate) -> u8 {
    if lot.expire.is_some_and(|e| e < today) {
        2
    } else if lot.frozen || blocked {
        3
    } else if lot.active_from > today {
        1
    } else {
        0
    }
}

/// Nearest ExpireDate first, none last, then earliest ActiveFrom, then the
/// order added.
fn nearest(lots: &[MLot], mut idx: Vec<usize>) -> Vec<usize> {
    idx.sort_by_key(|&i| (lots[i].expire.is_none(), lots[i].expire, lots[i].active_from, i));
    idx
}

fn take(lots: &mut Vec<MLot>, from: &[(usize, i64)]) {
    for (i, c) in from {
        lots[*i].cents -= c;
    }
    lots.retain(|l| l.cents != 0);
}

impl Model {
    fn active_balance(&self, n: &str, today: NaiveDate) -> i64 {
        let card = &self.cards[n];
        card.lots
            .iter()
            .filter(|l| l.type_code == "0" && state(l, card.status == St::Blocked, today) == 0)
            .map(|l| l.cents)
            .sum()
    }

    /// §5.5 step 4's lookup, as purchases use it.
    fn sale_card(&self, number: Option<&str>, mobile: Option<&str>) -> Result<&'static str, ErrorKey> {
        let card = match number.map(|s| lookup(&NUMBERS, s)) {
            Some(Arg::Val(n)) => Some(*self.cards.get_key_value(n).ok_or(ErrorKey::CannotFindCardNumber)?.0),
            _ => None,
        };
        let Some(Arg::Val(m)) = mobile.map(|s| lookup(&PHONES, s)) else {
            return card.ok_or(ErrorKey::CannotFindCardNumber);
        };
        let contact = self.by_mobile(m).ok_or(ErrorKey::CannotFindMobile)?;
        match card {
            Some(n) if self.cards[n].contact != Some(contact) => Err(ErrorKey::CardNumberBindToAnotherContact),
            Some(n) => Ok(n),
            None => self.current_card(contact).ok_or(ErrorKey::CannotFindCardNumber),
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn confirm(
        &mut self,
        role: &str,
        receipt: &'static str,
        number: Option<&str>,
        mobile: Option<&str>,
        sale: usize,
        redeem: &str,
        today: NaiveDate,
    ) -> M {
        if !["cashier", ADMIN].contains(&role) {
            return Err(ErrorKey::AccessDenied);
        }
        let number = number.filter(|_| number.map(|s| lookup(&NUMBERS, s)) != Some(Arg::Missing));
        let mobile = mobile.filter(|_| mobile.map(|s| lookup(&PHONES, s)) != Some(Arg::Missing));
        if number.is_none() && mobile.is_none() {
            return Err(ErrorKey::RequiredParameterNotSpecified);
        }
        let Arg::Val(id) = lookup(&RECEIPTS, receipt) else { return Err(ErrorKey::InvalidReceiptId) };
        if number.is_some_and(|s| lookup(&NUMBERS, s) == Arg::Bad) {
            return Err(ErrorKey::InvalidCardNumber);
        }
        if mobile.is_some_and(|s| lookup(&PHONES, s) == Arg::Bad) {
            return Err(ErrorKey::InvalidMobileNumber);
        }
        let lines = parse_lines(SALES[sale])?;
        let r = lookup(&REDEEMS, redeem).ok_or(ErrorKey::InvalidAmount)?;
        if let Some(existing) = self.receipts.get(id) {
            let found = self.sale_card(number, mobile).ok();
            let mut ours: Vec<_> = lines.clone();
            let mut theirs: Vec<_> = existing.lines.iter().map(|l| (l.pos, l.amount, l.category)).collect();
            ours.sort();
            theirs.sort();
            return if found == Some(existing.card) && ours == theirs && existing.redeem == r {
                Ok(Effect { card: Some(existing.card), changed: false, moved: false })
            } else {
                Err(ErrorKey::ReceiptIdConflict)
            };
        }
        let n = self.sale_card(number, mobile)?;
        let card = &self.cards[n];
        if !EARN_STATUSES.contains(&card.status) || (r > 0 && card.status != St::Active) {
            return Err(ErrorKey::StatusError);
        }
        let eligible = |c: Option<&str>| c != Some("tobacco");
        let e: i64 = lines.iter().filter(|l| eligible(l.2)).map(|l| l.1).sum();
        if r > e * SHARE_PERCENT / 100 {
            return Err(ErrorKey::RedeemLimitExceeded);
        }
        if r > self.active_balance(n, today) {
            return Err(ErrorKey::NotEnoughBonuses);
        }
        // Allocation by largest remainder, ties to the lower position.
        let mut s: Vec<i64> = lines.iter().map(|l| if eligible(l.2) && e > 0 { r * l.1 / e } else { 0 }).collect();
        let mut order: Vec<usize> = (0..lines.len()).filter(|&i| eligible(lines[i].2)).collect();
        order.sort_by_key(|&i| (std::cmp::Reverse(if e > 0 { r * lines[i].1 % e } else { 0 }), lines[i].0));
        let rest = r - s.iter().sum::<i64>();
        for &i in order.iter().take(rest as usize) {
            s[i] += 1;
        }
        let p = percent(card.card_type);
        let mlines: Vec<MLine> = lines
            .iter()
            .zip(&s)
            .map(|(&(pos, amount, category), &si)| MLine {
                pos,
                amount,
                category,
                redeemed: si,
                accrued: if eligible(category) { (amount - si) * p / 100 } else { 0 },
                returned: 0,
                reversed: 0,
                restored: 0,
            })
            .collect();
        let accrued: i64 = mlines.iter().map(|l| l.accrued).sum();
        // Redemption from active lots of type 0, nearest expiry first.
        let card = self.cards.get_mut(n).expect("found");
        let blocked = card.status == St::Blocked;
        let candidates: Vec<usize> = (0..card.lots.len())
            .filter(|&i| card.lots[i].type_code == "0" && state(&card.lots[i], blocked, today) == 0)
            .collect();
        let mut left = r;
        let mut taken = Vec::new();
        let mut portions = Vec::new();
        for i in nearest(&card.lots, candidates) {
            if left == 0 {
                break;
            }
            let t = left.min(card.lots[i].cents);
            left -= t;
            taken.push((i, t));
            portions.push((t, card.lots[i].expire));
        }
        take(&mut card.lots, &taken);
        if accrued > 0 {
            let from = today + chrono::Days::new(DELAY_DAYS);
            let expire = from + chrono::Days::new(LIFETIME_DAYS - 1);
            card.lots.push(MLot {
                cents: accrued,
                type_code: "0",
                active_from: from,
                expire: Some(expire),
                frozen: false,
                receipt: Some(id),
            });
        }
        self.receipts.insert(
            id,
            MReceipt {
                card: n,
                lines: mlines,
                redeem: r,
                portions,
                restored: 0,
                cancelled: None,
                returns: BTreeMap::new(),
            },
        );
        Ok(Effect { card: Some(n), changed: true, moved: false })
    }

    /// The card a reversal works on (§8.4): the receipt's, or its contact's
    /// current card when it was blocked for replacement.
    fn reversal_card(&self, n: &'static str) -> &'static str {
        let card = &self.cards[n];
        match card.contact {
            Some(code) if card.replaced() => self.current_card(code).unwrap_or(n),
            _ => n,
        }
    }

    /// Takes back `x` of accrual and gives back `y` of redemption.
    fn reverse(&mut self, id: &'static str, x: i64, y: i64, today: NaiveDate) -> &'static str {
        let rec = &self.receipts[id];
        let n = self.reversal_card(rec.card);
        let (portions, given_before) = (rec.portions.clone(), rec.restored);
        let card = self.cards.get_mut(n).expect("card");
        let own: Vec<usize> = (0..card.lots.len()).filter(|&i| card.lots[i].receipt == Some(id)).collect();
        let others: Vec<usize> = (0..card.lots.len())
            .filter(|&i| {
                card.lots[i].receipt != Some(id)
                    && card.lots[i].type_code == "0"
                    && card.lots[i].expire.is_none_or(|e| e >= today)
            })
            .collect();
        let mut left = x;
        let mut from = Vec::new();
        for i in nearest(&card.lots, own).into_iter().chain(nearest(&card.lots, others)) {
            let t = left.min(card.lots[i].cents);
            if t > 0 {
                left -= t;
                from.push((i, t));
            }
        }
        take(&mut card.lots, &from);
        // Give back: last portion first, after what was given back before.
        let (mut skip, mut give) = (given_before, y);
        for (amount, expire) in portions.iter().rev() {
            let skipped = skip.min(*amount);
            skip -= skipped;
            let g = give.min(amount - skipped);
            if g > 0 {
                give -= g;
                card.lots.push(MLot {
                    cents: g,
                    type_code: "0",
                    active_from: today,
                    expire: *expire,
                    frozen: false,
                    receipt: None,
                });
            }
        }
        self.receipts.get_mut(id).expect("receipt").restored += y;
        n
    }

    pub fn cancel(&mut self, role: &str, receipt: &'static str, today: NaiveDate) -> M {
        if !["cashier", "senior_employee", "director", ADMIN].contains(&role) {
            return Err(ErrorKey::AccessDenied);
        }
        let Arg::Val(id) = lookup(&RECEIPTS, receipt) else { return Err(ErrorKey::InvalidReceiptId) };
        let rec = self.receipts.get_mut(id).ok_or(ErrorKey::CannotFindReceipt)?;
        if let Some(first) = rec.cancelled {
            return Ok(Effect { card: Some(first), changed: false, moved: false });
        }
        rec.cancelled = Some(rec.card);
        let x: i64 = rec.lines.iter().map(|l| l.accrued - l.reversed).sum();
        let y: i64 = rec.lines.iter().map(|l| l.redeemed - l.restored).sum();
        for l in &mut rec.lines {
            (l.reversed, l.restored) = (l.accrued, l.redeemed);
        }
        let n = self.reverse(id, x, y, today);
        self.receipts.get_mut(id).expect("receipt").cancelled = Some(n);
        Ok(Effect { card: Some(n), changed: true, moved: false })
    }

    pub fn return_goods(
        &mut self,
        role: &str,
        receipt: &'static str,
        return_id: &'static str,
        ret: usize,
        today: NaiveDate,
    ) -> M {
        if !["cashier", "senior_employee", "director", ADMIN].contains(&role) {
            return Err(ErrorKey::AccessDenied);
        }
        let rid = match lookup(&RETURN_IDS, return_id) {
            Arg::Missing => return Err(ErrorKey::RequiredParameterNotSpecified),
            Arg::Val(r) => r,
            Arg::Bad => return Err(ErrorKey::InvalidReturnId),
        };
        let Arg::Val(id) = lookup(&RECEIPTS, receipt) else { return Err(ErrorKey::InvalidReceiptId) };
        let mut lines = Vec::new();
        for (p, a) in RETURNS[ret] {
            let p = position(p).ok_or(ErrorKey::InvalidPosition)?;
            lines.push((p, money(a, false).ok_or(ErrorKey::InvalidAmount)?));
        }
        let rec = self.receipts.get_mut(id).ok_or(ErrorKey::CannotFindReceipt)?;
        if let Some((first, card)) = rec.returns.get(rid) {
            let (mut a, mut b) = (first.clone(), lines.clone());
            a.sort();
            b.sort();
            return if a == b {
                Ok(Effect { card: Some(card), changed: false, moved: false })
            } else {
                Err(ErrorKey::ReceiptIdConflict)
            };
        }
        if rec.cancelled.is_some() {
            return Err(ErrorKey::ReceiptCancelled);
        }
        let mut at = Vec::new();
        for (p, _) in &lines {
            at.push(rec.lines.iter().position(|l| l.pos == *p).ok_or(ErrorKey::InvalidPosition)?);
        }
        for (&i, (_, a)) in at.iter().zip(&lines) {
            if rec.lines[i].returned + a > rec.lines[i].amount {
                return Err(ErrorKey::ReturnExceedsPurchase);
            }
        }
        let (mut x, mut y) = (0, 0);
        for (&i, (_, a)) in at.iter().zip(&lines) {
            let l = &mut rec.lines[i];
            l.returned += a;
            let (rev, res) = if l.returned == l.amount {
                (l.accrued, l.redeemed)
            } else {
                (l.accrued * l.returned / l.amount, l.redeemed * l.returned / l.amount)
            };
            x += rev - l.reversed;
            y += res - l.restored;
            (l.reversed, l.restored) = (rev, res);
        }
        rec.returns.insert(rid, (lines, rec.card));
        let n = self.reverse(id, x, y, today);
        if let Some(entry) = self.receipts.get_mut(id).expect("receipt").returns.get_mut(rid) {
            entry.1 = n;
        }
        Ok(Effect { card: Some(n), changed: true, moved: false })
    }
}

/// Purchase steps: sales (often on an onboarded card), cancels, returns.
pub fn steps() -> impl Strategy<Value = Vec<Op>> {
    let till = prop_oneof![6 => Just("cashier"), 2 => Just(ADMIN), 1 => role()];
    let target = prop_oneof![
        6 => card().prop_map(|n| (Some(n), None)),
        2 => phone().prop_map(|m| (None, Some(m))),
        1 => (number(), phone()).prop_map(|(n, m)| (Some(n), Some(m))),
        1 => number().prop_map(|n| (Some(n), None)),
    ];
    let receipt = prop_oneof![4 => Just("R-1"), 3 => Just("R-2"), 1 => Just("a/b")];
    let sale = prop_oneof![5 => 0..3usize, 1 => 0..SALES.len()];
    let redeem = select(REDEEMS.iter().map(|r| r.0).collect::<Vec<_>>());
    // A sale, and often the till's retry of it after a time-out.
    let confirm = (till.clone(), receipt.clone(), target, sale, redeem, any::<bool>()).prop_map(
        |(role, receipt, (number, mobile), sale, redeem, retry)| {
            let op = Op::Confirm { role, receipt, number, mobile, sale, redeem };
            if retry {
                vec![op.clone(), op]
            } else {
                vec![op]
            }
        },
    );
    let cancel = (till.clone(), receipt.clone()).prop_map(|(role, receipt)| vec![Op::Cancel { role, receipt }]);
    let ret = (till, receipt, select(RETURN_IDS.iter().map(|r| r.0).collect::<Vec<_>>()), 0..RETURNS.len())
        .prop_map(|(role, receipt, return_id, ret)| vec![Op::Return { role, receipt, return_id, ret }]);
    // A customer onboarded, given bonuses, a sale on the card, then returns
    // and a cancel: the reversal paths with real figures.
    let story = (
        card(),
        select(&CONTACTS[..]),
        select(&CONTACT_PHONES[..4]),
        select(&["R-1", "R-2"][..]),
        0..3usize,
        select(&["", "5", "12.34"][..]),
        prop::collection::vec((select(&["T-1", "T-2"][..]), 0..RETURNS.len()), 0..3),
        any::<bool>(),
    )
        .prop_map(|(number, code, mobile, receipt, sale, redeem, returns, cancel)| {
            let mut ops = vec![
                Op::UpsertCard { role: ADMIN, number, category: None, card_type: None },
                Op::UpsertContact { role: ADMIN, code, mobile: Some(mobile), name: Some("Ivan Petrov") },
                Op::Issue { role: "cashier", number: Some(number) },
                Op::BindTo { role: "cashier", number: Some(number), mobile: Some(mobile) },
                Op::Active { role: "cashier", number: Some(number) },
                Op::AddBonus {
                    role: ADMIN,
                    number,
                    amount: "10",
                    type_code: "0",
                    active_from: None,
                    expire: Some("2031-12-31"),
                    frozen: false,
                },
                Op::AddBonus {
                    role: ADMIN,
                    number,
                    amount: "3.10",
                    type_code: "0",
                    active_from: None,
                    expire: None,
                    frozen: false,
                },
                Op::Confirm { role: "cashier", receipt, number: Some(number), mobile: None, sale, redeem },
            ];
            for (return_id, ret) in returns {
                ops.push(Op::Return { role: "cashier", receipt, return_id, ret });
            }
            if cancel {
                ops.push(Op::Cancel { role: "director", receipt });
            }
            ops
        });
    prop_oneof![5 => confirm, 2 => cancel, 3 => ret, 4 => story]
}

//! The shipped rule set against SPEC.md §1 and §5.
//!
//! Every expected value below is typed from SPEC.md, never read back from the
//! rule files: a test that reads its answer from the rules it checks tests
//! nothing. Where a table is looped over, the assertion message names the cell.

use cashdesk_card::domain::Status;
use cashdesk_card::rules::{BlockFacts, Check, Decision, Facts, Method, Outcome, RuleSet};
use cashdesk_card::ErrorKey;
use std::path::Path;

// ---- SPEC.md §1 ----

/// The six roles of SPEC.md §5's tables, in the tables' column order.
const ROLES: [&str; 6] = ["client", "call_center", "marketer", "senior_employee", "director", "administrator"];
/// Index of `administrator` in [`ROLES`].
const ADMIN: usize = 5;
/// SPEC.md §1's seventh role; it has no column in §5's tables.
const CASHIER: &str = "cashier";
/// Role index used for the cashier in the loops (past the six columns).
const CASHIER_IX: usize = 6;
/// Block reason codes `0`..`4` (SPEC.md §1).
const BLOCK_CODES: [&str; 5] = ["0", "1", "2", "3", "4"];
/// Unblock reason codes `0`..`3` (SPEC.md §1).
const UNBLOCK_CODES: [&str; 4] = ["0", "1", "2", "3"];
/// Block reason 4, "Замена карты" (replacement), SPEC.md §5.6 step 6.
const REPLACEMENT: usize = 4;

const Y: bool = true;
const N: bool = false;

// ---- SPEC.md §5.5 "Who may block with which reason" ----
// rows: block reason 0 lost, 1 undesirable list, 2 blacklist, 3 refusal, 4 replacement
// cols: client, call_center, marketer, senior_employee, director, administrator
const BLOCK: [[bool; 6]; 5] = [
    [Y, Y, Y, Y, Y, Y], // 0 lost
    [N, N, N, Y, Y, Y], // 1 undesirable list
    [N, N, N, N, Y, Y], // 2 blacklist
    [N, Y, Y, N, N, Y], // 3 refusal
    [N, Y, Y, Y, Y, Y], // 4 replacement
];

// ---- SPEC.md §5.6 "Who may lift which block" ----
const LIFT: [[bool; 6]; 5] = [
    [Y, Y, Y, Y, Y, Y], // 0 lost
    [N, N, N, Y, Y, Y], // 1 undesirable list
    [N, N, N, N, Y, Y], // 2 blacklist
    [N, Y, Y, N, N, Y], // 3 refusal
    [N, N, N, N, N, N], // 4 replacement
];

// ---- SPEC.md §5.6 "Who may use which unblock reason" ----
const UNBLOCK_ROLE: [[bool; 6]; 4] = [
    [Y, Y, Y, Y, Y, Y], // 0 found
    [N, N, N, Y, Y, Y], // 1 leaves undesirable list
    [N, N, N, N, Y, Y], // 2 leaves blacklist
    [N, Y, Y, N, N, Y], // 3 restored
];

// ---- SPEC.md §5.6 step 10: found↔lost, 1↔1, 2↔2, restored↔refusal ----
// rows: unblock reason; cols: block reason 0..4
const ANSWERS: [[bool; 5]; 4] = [
    [Y, N, N, N, N], // 0 found answers 0 lost
    [N, Y, N, N, N], // 1 answers 1
    [N, N, Y, N, N], // 2 answers 2
    [N, N, N, Y, N], // 3 restored answers 3 refusal
];

/// A table cell; the cashier (no column in SPEC's tables) may nothing.
fn may(row: &[bool; 6], role: usize) -> bool {
    role < 6 && row[role]
}

fn role_name(role: usize) -> &'static str {
    if role == CASHIER_IX {
        CASHIER
    } else {
        ROLES[role]
    }
}

/// A card as far as the rules care.
#[derive(Debug, Clone, Copy)]
struct Card {
    status: Status,
    bound: bool,
    registered: bool,
}

/// Every status × bound × registered.
fn cards() -> Vec<Card> {
    let mut v = Vec::new();
    for status in Status::ALL {
        for bound in [false, true] {
            for registered in [false, true] {
                v.push(Card { status, bound, registered });
            }
        }
    }
    v
}

const BLOCKED_BOUND_REGISTERED: Card = Card { status: Status::Blocked, bound: true, registered: true };
const ACTIVE_BOUND_REGISTERED: Card = Card { status: Status::Active, bound: true, registered: true };

const STATUS_ERROR: Outcome = Outcome::Refuse(ErrorKey::StatusError);
const BLOCK_REASON_ERROR: Outcome = Outcome::Refuse(ErrorKey::BlockReasonError);
const UNBLOCK_REASON_ERROR: Outcome = Outcome::Refuse(ErrorKey::UnBlockReasonError);

// ---- SPEC.md §5 as a reference function ----

/// §5.2 Issue, §5.3 BindTo step 4, §5.4 Active step 4, §5.5 Block step 6,
/// §5.6 UnBlock steps 5 and 11: the status part of each method.
fn spec_status(method: Method, c: Card) -> Outcome {
    use Status::*;
    match method {
        Method::Issue => match c.status {
            New => Outcome::To(Issued),
            Issued => Outcome::Stay,
            Active | Blocked => STATUS_ERROR,
        },
        Method::BindTo => match c.status {
            New | Blocked => STATUS_ERROR,
            Issued | Active => Outcome::Stay,
        },
        Method::Active => match c.status {
            New | Blocked => STATUS_ERROR,
            Issued if c.bound && c.registered => Outcome::To(Active),
            Issued => STATUS_ERROR,
            Active => Outcome::Stay,
        },
        Method::Block => match c.status {
            New | Blocked => STATUS_ERROR,
            Issued if !c.bound => STATUS_ERROR,
            Issued | Active => Outcome::To(Blocked),
        },
        Method::UnBlock => match c.status {
            Blocked if c.bound && c.registered => Outcome::To(Active),
            Blocked => Outcome::To(Issued),
            New | Issued | Active => STATUS_ERROR,
        },
        // No transitions: access is `may_call`; purchases are computed (SPEC §8).
        _ => Outcome::Stay,
    }
}

/// §5.5 steps 3, 5, 6–7: unknown reason, then the reason's roles, then status.
fn spec_block(role: usize, reason: Option<usize>, c: Card) -> (Outcome, Check) {
    let Some(b) = reason else { return (BLOCK_REASON_ERROR, Check::UnknownReason) };
    if !may(&BLOCK[b], role) {
        return (BLOCK_REASON_ERROR, Check::BlockReasonRole);
    }
    (spec_status(Method::Block, c), Check::Transition)
}

/// §5.6 steps 3, 5–11 for a card whose block reason and blocker are known.
fn spec_unblock(role: usize, unblock: Option<usize>, block: usize, blocker: usize, c: Card) -> (Outcome, Check) {
    let Some(u) = unblock else { return (UNBLOCK_REASON_ERROR, Check::UnknownReason) };
    if c.status != Status::Blocked {
        return (STATUS_ERROR, Check::Transition);
    }
    if block == REPLACEMENT {
        return (UNBLOCK_REASON_ERROR, Check::FinalBlock);
    }
    if blocker == ADMIN && role != ADMIN {
        return (UNBLOCK_REASON_ERROR, Check::ReservedBlock);
    }
    if !may(&LIFT[block], role) {
        return (UNBLOCK_REASON_ERROR, Check::LiftRole);
    }
    if !may(&UNBLOCK_ROLE[u], role) {
        return (UNBLOCK_REASON_ERROR, Check::UnblockReasonRole);
    }
    if role != ADMIN && !ANSWERS[u][block] {
        return (UNBLOCK_REASON_ERROR, Check::Pairing);
    }
    (spec_status(Method::UnBlock, c), Check::Transition)
}

// ---- helpers over the rule set ----

fn rules() -> RuleSet {
    RuleSet::shipped()
}

fn role(r: &RuleSet, ix: usize) -> cashdesk_card::rules::RoleId {
    r.role(role_name(ix)).unwrap_or_else(|| panic!("role `{}` is not in the shipped rules", role_name(ix)))
}

fn block_reason(r: &RuleSet, ix: usize) -> cashdesk_card::rules::ReasonId {
    r.block_reason(BLOCK_CODES[ix]).unwrap_or_else(|| panic!("block reason {ix} is not in the shipped rules"))
}

fn unblock_reason(r: &RuleSet, ix: usize) -> cashdesk_card::rules::ReasonId {
    r.unblock_reason(UNBLOCK_CODES[ix]).unwrap_or_else(|| panic!("unblock reason {ix} is not in the shipped rules"))
}

fn simple_facts(r: &RuleSet, method: Method, role_ix: usize, c: Card) -> Facts {
    Facts {
        method,
        status: c.status,
        bound: c.bound,
        registered: c.registered,
        role: role(r, role_ix),
        reason: None,
        block: None,
    }
}

fn block_facts(r: &RuleSet, role_ix: usize, reason: Option<usize>, c: Card) -> Facts {
    Facts { reason: reason.map(|b| block_reason(r, b)), ..simple_facts(r, Method::Block, role_ix, c) }
}

fn unblock_facts(r: &RuleSet, role_ix: usize, unblock: Option<usize>, block: usize, blocker: usize, c: Card) -> Facts {
    Facts {
        reason: unblock.map(|u| unblock_reason(r, u)),
        block: Some(BlockFacts { reason: Some(block_reason(r, block)), blocker: Some(role(r, blocker)) }),
        ..simple_facts(r, Method::UnBlock, role_ix, c)
    }
}

/// The text of a shipped rule file.
fn shipped_text(file: &str) -> &'static str {
    RuleSet::shipped_files()
        .iter()
        .find(|(n, _)| *n == file)
        .map(|(_, t)| *t)
        .unwrap_or_else(|| panic!("{file} is not shipped"))
}

/// The decision's rule is in `file`, at a line > 0 whose text contains `needle`.
fn assert_source(r: &RuleSet, d: &Decision, file: &str, needle: &str, what: &str) {
    let src = r.source(d.rule);
    assert_eq!(src.file, file, "{what}: decided by {src} ({}), expected a row of {file}", src.summary);
    assert!(src.line > 0, "{what}: source {src} has no line");
    let line = shipped_text(file).lines().nth(src.line - 1).unwrap_or("");
    assert!(line.contains(needle), "{what}: {src} is `{line}`, expected a line containing `{needle}`");
}

// ---- the three matrices ----

#[test]
fn every_cell_of_the_block_matrix_matches_spec() {
    let r = rules();
    for (b, row) in BLOCK.iter().enumerate() {
        for (role_ix, &allowed) in row.iter().enumerate() {
            let d = r.decide(&block_facts(&r, role_ix, Some(b), ACTIVE_BOUND_REGISTERED));
            let cell = format!("Block: role {} × block reason {b}", ROLES[role_ix]);
            if allowed {
                assert_eq!(d.outcome, Outcome::To(Status::Blocked), "{cell}: SPEC says yes, got {d:?}");
            } else {
                assert_eq!(
                    (d.outcome, d.check),
                    (BLOCK_REASON_ERROR, Check::BlockReasonRole),
                    "{cell}: SPEC says no, got {d:?}"
                );
            }
        }
    }
}

#[test]
fn every_cell_of_the_lift_matrix_matches_spec() {
    let r = rules();
    for (b, row) in LIFT.iter().enumerate() {
        for (role_ix, &allowed) in row.iter().enumerate() {
            // Blocked by a client (not the administrator), so step 7 passes.
            for u in 0..UNBLOCK_CODES.len() {
                let d = r.decide(&unblock_facts(&r, role_ix, Some(u), b, 0, BLOCKED_BOUND_REGISTERED));
                let cell = format!("UnBlock lift: role {} × block reason {b} (unblock reason {u})", ROLES[role_ix]);
                if allowed {
                    assert!(
                        !matches!(d.check, Check::LiftRole | Check::FinalBlock),
                        "{cell}: SPEC says the role may lift this block, got {d:?}"
                    );
                } else {
                    assert_eq!(d.outcome, UNBLOCK_REASON_ERROR, "{cell}: SPEC says no, got {d:?}");
                    let expect = if b == REPLACEMENT { Check::FinalBlock } else { Check::LiftRole };
                    assert_eq!(d.check, expect, "{cell}: refused by the wrong check");
                }
            }
        }
    }
}

#[test]
fn every_cell_of_the_unblock_reason_matrix_matches_spec() {
    let r = rules();
    for (u, row) in UNBLOCK_ROLE.iter().enumerate() {
        for (role_ix, &allowed) in row.iter().enumerate() {
            // Block reason 0 (lost): every role may lift it, so the lift step
            // passes and the unblock reason's roles decide.
            assert!(LIFT[0][role_ix]);
            let d = r.decide(&unblock_facts(&r, role_ix, Some(u), 0, 0, BLOCKED_BOUND_REGISTERED));
            let cell = format!("UnBlock reason role: role {} × unblock reason {u}", ROLES[role_ix]);
            if allowed {
                assert_ne!(d.check, Check::UnblockReasonRole, "{cell}: SPEC says yes, got {d:?}");
            } else {
                assert_eq!(
                    (d.outcome, d.check),
                    (UNBLOCK_REASON_ERROR, Check::UnblockReasonRole),
                    "{cell}: SPEC says no, got {d:?}"
                );
            }
        }
    }
}

#[test]
fn an_unblock_reason_must_answer_the_block_reason_except_for_the_administrator() {
    let r = rules();
    for role_ix in 0..ROLES.len() {
        for b in 0..BLOCK_CODES.len() {
            for u in 0..UNBLOCK_CODES.len() {
                if b == REPLACEMENT || !LIFT[b][role_ix] || !UNBLOCK_ROLE[u][role_ix] {
                    continue; // an earlier step answers
                }
                let d = r.decide(&unblock_facts(&r, role_ix, Some(u), b, 0, BLOCKED_BOUND_REGISTERED));
                let cell = format!("pairing: role {} × block reason {b} × unblock reason {u}", ROLES[role_ix]);
                if role_ix == ADMIN || ANSWERS[u][b] {
                    assert_eq!(d.outcome, Outcome::To(Status::Active), "{cell}: SPEC says OK, got {d:?}");
                } else {
                    assert_eq!(
                        (d.outcome, d.check),
                        (UNBLOCK_REASON_ERROR, Check::Pairing),
                        "{cell}: SPEC says the reasons do not pair, got {d:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn the_administrator_may_unblock_with_any_reason_that_does_not_answer_the_block() {
    let r = rules();
    // blacklist (2) lifted with "found" (0): no pairing, but the administrator is exempt.
    let d = r.decide(&unblock_facts(&r, ADMIN, Some(0), 2, 4, BLOCKED_BOUND_REGISTERED));
    assert_eq!(d.outcome, Outcome::To(Status::Active), "{d:?}");
    // the same for a director is a pairing refusal
    let d = r.decide(&unblock_facts(&r, 4, Some(0), 2, 4, BLOCKED_BOUND_REGISTERED));
    assert_eq!((d.outcome, d.check), (UNBLOCK_REASON_ERROR, Check::Pairing), "{d:?}");
}

// ---- named rules ----

#[test]
fn block_by_marketer_for_blacklist_is_refused() {
    let r = rules();
    let d = r.decide(&block_facts(&r, 2, Some(2), ACTIVE_BOUND_REGISTERED));
    assert_eq!((d.outcome, d.check), (BLOCK_REASON_ERROR, Check::BlockReasonRole), "{d:?}");
}

#[test]
fn block_by_director_for_blacklist_blocks_the_card() {
    let r = rules();
    let d = r.decide(&block_facts(&r, 4, Some(2), ACTIVE_BOUND_REGISTERED));
    assert_eq!(d.outcome, Outcome::To(Status::Blocked), "{d:?}");
}

#[test]
fn cashier_may_block_with_no_reason() {
    let r = rules();
    for b in 0..BLOCK_CODES.len() {
        for c in cards() {
            let d = r.decide(&block_facts(&r, CASHIER_IX, Some(b), c));
            assert_eq!(
                (d.outcome, d.check),
                (BLOCK_REASON_ERROR, Check::BlockReasonRole),
                "cashier blocking a {c:?} with reason {b}: {d:?}"
            );
        }
    }
}

#[test]
fn cashier_may_lift_no_block() {
    // SPEC's lift table has no cashier column: nobody but the six roles may lift.
    let r = rules();
    for b in 0..BLOCK_CODES.len() {
        for u in 0..UNBLOCK_CODES.len() {
            let d = r.decide(&unblock_facts(&r, CASHIER_IX, Some(u), b, 0, BLOCKED_BOUND_REGISTERED));
            assert_eq!(d.outcome, UNBLOCK_REASON_ERROR, "cashier lifting block {b} with {u}: {d:?}");
        }
    }
}

#[test]
fn block_by_client_of_a_new_card_for_blacklist_is_a_block_reason_error_not_a_status_error() {
    let r = rules();
    for bound in [false, true] {
        let c = Card { status: Status::New, bound, registered: false };
        let d = r.decide(&block_facts(&r, 0, Some(2), c));
        assert_eq!((d.outcome, d.check), (BLOCK_REASON_ERROR, Check::BlockReasonRole), "{c:?}: {d:?}");
    }
}

#[test]
fn block_with_an_unknown_reason_is_a_block_reason_error_before_the_status() {
    let r = rules();
    for c in cards() {
        for role_ix in 0..=CASHIER_IX {
            let d = r.decide(&block_facts(&r, role_ix, None, c));
            assert_eq!((d.outcome, d.check), (BLOCK_REASON_ERROR, Check::UnknownReason), "{c:?}: {d:?}");
        }
    }
}

#[test]
fn block_status_errors_follow_spec() {
    // §5.5 step 6: New; Issued and bound to no contact; already Blocked.
    let r = rules();
    let lost = Some(0); // every role of the table may block for loss
    for c in cards() {
        for (role_ix, name) in ROLES.iter().enumerate() {
            let d = r.decide(&block_facts(&r, role_ix, lost, c));
            let expect = match (c.status, c.bound) {
                (Status::New, _) | (Status::Blocked, _) | (Status::Issued, false) => STATUS_ERROR,
                (Status::Issued, true) | (Status::Active, _) => Outcome::To(Status::Blocked),
            };
            assert_eq!(d.outcome, expect, "Block by {name} of {c:?}: {d:?}");
        }
    }
}

#[test]
fn unblock_of_a_card_that_is_not_blocked_is_a_status_error_even_with_a_bad_reason() {
    let r = rules();
    for status in [Status::New, Status::Issued, Status::Active] {
        let c = Card { status, bound: true, registered: true };
        // client: may not lift a blacklist, may not use "leaves blacklist";
        // blocked by an administrator; and the reasons do not pair.
        let d = r.decide(&unblock_facts(&r, 0, Some(2), 2, ADMIN, c));
        assert_eq!((d.outcome, d.check), (STATUS_ERROR, Check::Transition), "{c:?}: {d:?}");
        // a replacement block (final) does not come before the status either
        let d = r.decide(&unblock_facts(&r, ADMIN, Some(0), REPLACEMENT, ADMIN, c));
        assert_eq!((d.outcome, d.check), (STATUS_ERROR, Check::Transition), "{c:?}: {d:?}");
    }
}

#[test]
fn unblock_with_an_unknown_reason_is_an_unblock_reason_error_before_the_status() {
    // §5.6 step 3 (unknown reason code) comes before step 5 (card not Blocked).
    let r = rules();
    for c in cards() {
        for role_ix in 0..=CASHIER_IX {
            let d = r.decide(&unblock_facts(&r, role_ix, None, 0, 0, c));
            assert_eq!(
                (d.outcome, d.check),
                (UNBLOCK_REASON_ERROR, Check::UnknownReason),
                "UnBlock by {} of {c:?} with an unknown reason: {d:?}",
                role_name(role_ix)
            );
        }
    }
}

#[test]
fn a_card_blocked_by_an_administrator_can_only_be_unblocked_by_an_administrator() {
    let r = rules();
    for b in 0..REPLACEMENT {
        for role_ix in 0..=CASHIER_IX {
            for u in 0..UNBLOCK_CODES.len() {
                let d = r.decide(&unblock_facts(&r, role_ix, Some(u), b, ADMIN, BLOCKED_BOUND_REGISTERED));
                let cell = format!("{} unblocking block {b} (by administrator) with {u}", role_name(role_ix));
                if role_ix == ADMIN {
                    assert_eq!(d.outcome, Outcome::To(Status::Active), "{cell}: {d:?}");
                } else {
                    assert_eq!((d.outcome, d.check), (UNBLOCK_REASON_ERROR, Check::ReservedBlock), "{cell}: {d:?}");
                }
            }
        }
    }
}

#[test]
fn a_card_blocked_for_replacement_cannot_be_unblocked_even_by_an_administrator() {
    let r = rules();
    for role_ix in 0..=CASHIER_IX {
        for blocker in 0..=CASHIER_IX {
            for u in 0..UNBLOCK_CODES.len() {
                for c in cards().into_iter().filter(|c| c.status == Status::Blocked) {
                    let d = r.decide(&unblock_facts(&r, role_ix, Some(u), REPLACEMENT, blocker, c));
                    assert_eq!(
                        (d.outcome, d.check),
                        (UNBLOCK_REASON_ERROR, Check::FinalBlock),
                        "{} unblocking a replaced card blocked by {} with {u}: {d:?}",
                        role_name(role_ix),
                        role_name(blocker)
                    );
                }
            }
        }
    }
}

#[test]
fn final_block_reason_beats_the_administrator_rule() {
    let r = rules();
    // blocked for replacement by an administrator; a director tries
    let d = r.decide(&unblock_facts(&r, 4, Some(0), REPLACEMENT, ADMIN, BLOCKED_BOUND_REGISTERED));
    assert_eq!((d.outcome, d.check), (UNBLOCK_REASON_ERROR, Check::FinalBlock), "{d:?}");
}

#[test]
fn administrator_rule_beats_the_lift_matrix() {
    let r = rules();
    // blacklist blocked by an administrator; a client may not lift it either
    assert!(!LIFT[2][0]);
    let d = r.decide(&unblock_facts(&r, 0, Some(0), 2, ADMIN, BLOCKED_BOUND_REGISTERED));
    assert_eq!((d.outcome, d.check), (UNBLOCK_REASON_ERROR, Check::ReservedBlock), "{d:?}");
}

#[test]
fn lift_matrix_beats_the_unblock_reason_role() {
    let r = rules();
    // client: may not lift blacklist, may not use "leaves blacklist"
    assert!(!LIFT[2][0] && !UNBLOCK_ROLE[2][0]);
    let d = r.decide(&unblock_facts(&r, 0, Some(2), 2, 4, BLOCKED_BOUND_REGISTERED));
    assert_eq!((d.outcome, d.check), (UNBLOCK_REASON_ERROR, Check::LiftRole), "{d:?}");
}

#[test]
fn unblock_reason_role_beats_pairing() {
    let r = rules();
    // client lifting a loss with "leaves blacklist": not the client's reason, and no pairing
    assert!(LIFT[0][0] && !UNBLOCK_ROLE[2][0] && !ANSWERS[2][0]);
    let d = r.decide(&unblock_facts(&r, 0, Some(2), 0, 0, BLOCKED_BOUND_REGISTERED));
    assert_eq!((d.outcome, d.check), (UNBLOCK_REASON_ERROR, Check::UnblockReasonRole), "{d:?}");
}

#[test]
fn unblock_returns_the_card_to_active_only_when_bound_and_registered() {
    let r = rules();
    for bound in [false, true] {
        for registered in [false, true] {
            let c = Card { status: Status::Blocked, bound, registered };
            let d = r.decide(&unblock_facts(&r, 0, Some(0), 0, 0, c));
            let expect = if bound && registered { Status::Active } else { Status::Issued };
            assert_eq!(d.outcome, Outcome::To(expect), "{c:?}: {d:?}");
            assert_ne!(d.outcome, Outcome::To(Status::New));
        }
    }
}

#[test]
fn unblock_of_a_card_whose_block_reason_left_the_rules_is_refused() {
    let r = rules();
    let mut f = unblock_facts(&r, ADMIN, Some(0), 0, 0, BLOCKED_BOUND_REGISTERED);
    f.block = Some(BlockFacts { reason: None, blocker: Some(role(&r, 0)) });
    assert_eq!(r.decide(&f).outcome, UNBLOCK_REASON_ERROR);
    f.block = None;
    assert_eq!(r.decide(&f).outcome, UNBLOCK_REASON_ERROR);
}

#[test]
fn issue_bindto_and_active_follow_spec_for_every_status() {
    let r = rules();
    for method in [Method::Issue, Method::BindTo, Method::Active] {
        for c in cards() {
            for role_ix in 0..=CASHIER_IX {
                let d = r.decide(&simple_facts(&r, method, role_ix, c));
                assert_eq!(
                    d.outcome,
                    spec_status(method, c),
                    "{} by {} of {c:?}: {d:?}",
                    method.name(),
                    role_name(role_ix)
                );
                assert_eq!(d.check, Check::Transition);
            }
        }
    }
}

#[test]
fn issue_of_an_issued_card_is_ok_without_change() {
    let r = rules();
    let d =
        r.decide(&simple_facts(&r, Method::Issue, 0, Card { status: Status::Issued, bound: false, registered: false }));
    assert_eq!(d.outcome, Outcome::Stay);
}

#[test]
fn active_of_an_issued_card_bound_to_an_unregistered_contact_is_a_status_error() {
    let r = rules();
    let c = Card { status: Status::Issued, bound: true, registered: false };
    assert_eq!(r.decide(&simple_facts(&r, Method::Active, 0, c)).outcome, STATUS_ERROR);
}

// ---- everything at once, with the check that answered ----

/// Every fact combination of Block and UnBlock the SPEC covers.
fn all_block_and_unblock_cases(r: &RuleSet) -> Vec<(Facts, (Outcome, Check), String)> {
    let mut v = Vec::new();
    for c in cards() {
        for role_ix in 0..=CASHIER_IX {
            for b in (0..BLOCK_CODES.len()).map(Some).chain([None]) {
                v.push((
                    block_facts(r, role_ix, b, c),
                    spec_block(role_ix, b, c),
                    format!("Block by {} with {b:?} of {c:?}", role_name(role_ix)),
                ));
            }
            for u in (0..UNBLOCK_CODES.len()).map(Some).chain([None]) {
                for b in 0..BLOCK_CODES.len() {
                    for blocker in 0..=CASHIER_IX {
                        v.push((
                            unblock_facts(r, role_ix, u, b, blocker, c),
                            spec_unblock(role_ix, u, b, blocker, c),
                            format!(
                                "UnBlock by {} with {u:?} of {c:?} blocked with {b} by {}",
                                role_name(role_ix),
                                role_name(blocker)
                            ),
                        ));
                    }
                }
            }
        }
    }
    v
}

#[test]
fn every_block_and_unblock_decision_matches_spec_in_outcome_and_order() {
    let r = rules();
    let mut wrong = Vec::new();
    for (f, expect, what) in all_block_and_unblock_cases(&r) {
        let d = r.decide(&f);
        if (d.outcome, d.check) != expect {
            wrong.push(format!("{what}: expected {expect:?}, got ({:?}, {:?})", d.outcome, d.check));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} decisions differ from SPEC, first ones:\n{}",
        wrong.len(),
        wrong[..wrong.len().min(20)].join("\n")
    );
}

#[test]
fn load_dir_of_the_rules_directory_decides_as_the_shipped_set() {
    let shipped = rules();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let loaded = RuleSet::load_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
    let mut n = 0;
    for (f, _, what) in all_block_and_unblock_cases(&shipped) {
        let (a, b) = (shipped.decide(&f), loaded.decide(&f));
        assert_eq!((a.outcome, a.check), (b.outcome, b.check), "{what}");
        assert_eq!(shipped.source(a.rule), loaded.source(b.rule), "{what}");
        n += 1;
    }
    for method in [Method::Issue, Method::BindTo, Method::Active] {
        for c in cards() {
            let f = simple_facts(&shipped, method, 0, c);
            assert_eq!(shipped.decide(&f).outcome, loaded.decide(&f).outcome);
        }
    }
    assert!(n > 1000);
}

// ---- explanations and sources ----

#[test]
fn refusals_are_explained_naming_the_role_or_the_reason() {
    let r = rules();
    let number = "12345678";
    for (f, _, what) in all_block_and_unblock_cases(&r) {
        let d = r.decide(&f);
        let text = r.explain(&f, &d, number);
        let Outcome::Refuse(_) = d.outcome else {
            assert!(text.is_empty(), "{what}: an allowed decision has no explanation, got `{text}`");
            continue;
        };
        assert!(text.split_whitespace().count() >= 3, "{what}: `{text}` is not a sentence");
        let title = r.role_title(f.role);
        let sent = f.reason.map(|x| match f.method {
            Method::Block => r.block_reason_name(x),
            _ => r.unblock_reason_name(x),
        });
        let blocked_with = f.block.and_then(|b| b.reason).map(|x| r.block_reason_name(x));
        let blocker = f.block.and_then(|b| b.blocker).map(|x| r.role_title(x));
        let must: Vec<&str> = match d.check {
            Check::Transition => vec![number],
            // Facts carry no code for an unknown reason, so the sentence can
            // only say which kind of reason was unknown.
            Check::UnknownReason if f.method == Method::Block => vec!["block reason"],
            Check::UnknownReason => vec!["unblock reason"],
            Check::BlockReasonRole => vec![title, sent.unwrap_or("?")],
            Check::FinalBlock => vec![number, blocked_with.unwrap_or("?")],
            Check::ReservedBlock => vec![number, blocker.unwrap_or("?"), r.role_title(role(&r, ADMIN))],
            Check::LiftRole => vec![title, blocked_with.unwrap_or("?")],
            Check::UnblockReasonRole => vec![title, sent.unwrap_or("?")],
            Check::Pairing => vec![sent.unwrap_or("?"), blocked_with.unwrap_or("?")],
        };
        for m in must {
            assert!(text.contains(m), "{what}: `{text}` ({:?}) should name `{m}`", d.check);
        }
        assert!(!text.contains('{'), "{what}: `{text}` has an unfilled placeholder");
    }
}

#[test]
fn decisions_point_at_the_rule_file_and_line_that_made_them() {
    let r = rules();
    let active = ACTIVE_BOUND_REGISTERED;
    let blocked = BLOCKED_BOUND_REGISTERED;
    // Block refused by the reason's roles: the blacklist row of block_reasons.toml.
    let d = r.decide(&block_facts(&r, 2, Some(2), active));
    assert_source(&r, &d, "block_reasons.toml", "code = \"2\"", "marketer blocks for blacklist");
    // Block allowed: the Block row of transitions.toml.
    let d = r.decide(&block_facts(&r, 4, Some(2), active));
    assert_source(&r, &d, "transitions.toml", "method = \"Block\"", "director blocks for blacklist");
    // Block of a blocked card: the Block row.
    let d = r.decide(&block_facts(&r, 4, Some(2), blocked));
    assert_source(&r, &d, "transitions.toml", "method = \"Block\"", "block of a blocked card");
    // UnBlock of an active card: the UnBlock row.
    let d = r.decide(&unblock_facts(&r, 0, Some(0), 0, 0, active));
    assert_source(&r, &d, "transitions.toml", "method = \"UnBlock\"", "unblock of an active card");
    // Final block: the replacement row of block_reasons.toml.
    let d = r.decide(&unblock_facts(&r, ADMIN, Some(0), REPLACEMENT, 0, blocked));
    assert_source(&r, &d, "block_reasons.toml", "code = \"4\"", "unblock of a replaced card");
    // Administrator rule: [reserved_blocks] of unblock_reasons.toml.
    let d = r.decide(&unblock_facts(&r, 4, Some(0), 0, ADMIN, blocked));
    assert_source(&r, &d, "unblock_reasons.toml", "administrator", "unblock of an administrator's block");
    // Lift role: the block reason's row.
    let d = r.decide(&unblock_facts(&r, 0, Some(2), 2, 4, blocked));
    assert_source(&r, &d, "block_reasons.toml", "code = \"2\"", "client lifts blacklist");
    // Unblock reason role: the unblock reason's row.
    let d = r.decide(&unblock_facts(&r, 0, Some(2), 0, 0, blocked));
    assert_source(&r, &d, "unblock_reasons.toml", "code = \"2\"", "client unblocks with leaves-blacklist");
    // Pairing: the unblock reason's row.
    let d = r.decide(&unblock_facts(&r, 4, Some(0), 2, 4, blocked));
    assert_source(&r, &d, "unblock_reasons.toml", "code = \"0\"", "director lifts blacklist with found");
    // Allowed UnBlock: the UnBlock row of transitions.toml.
    let d = r.decide(&unblock_facts(&r, 4, Some(2), 2, 4, blocked));
    assert_eq!(d.outcome, Outcome::To(Status::Active));
    assert_source(&r, &d, "transitions.toml", "method = \"UnBlock\"", "director lifts blacklist");
    // Issue, BindTo, Active rows.
    for (m, needle) in [
        (Method::Issue, "method = \"Issue\""),
        (Method::BindTo, "method = \"BindTo\""),
        (Method::Active, "method = \"Active\""),
    ] {
        for c in cards() {
            let d = r.decide(&simple_facts(&r, m, 0, c));
            assert_source(&r, &d, "transitions.toml", needle, &format!("{} of {c:?}", m.name()));
        }
    }
}

// ---- SPEC.md §8.4 "Who may call each" ----

#[test]
fn who_may_call_the_purchase_methods_matches_spec_8_4() {
    let r = rules();
    // cols: client, call_center, marketer, senior_employee, director, administrator, cashier
    let expect: [(Method, [bool; 7]); 5] = [
        (Method::Calculate, [N, N, N, N, N, Y, Y]),
        (Method::Confirm, [N, N, N, N, N, Y, Y]),
        (Method::Cancel, [N, N, N, Y, Y, Y, Y]),
        (Method::Return, [N, N, N, Y, Y, Y, Y]),
        (Method::Receipt, [N, Y, Y, Y, Y, Y, Y]),
    ];
    for (method, row) in expect {
        for (ix, &allowed) in row.iter().enumerate() {
            let role = role(&r, ix);
            assert_eq!(
                r.may_call(role, method),
                allowed,
                "{} may call {}: SPEC says {allowed}",
                role_name(ix),
                method.name()
            );
        }
    }
}

//! One decision through the interpreted rule set next to the same decision
//! hand-coded as a `match` over SPEC.md's tables, in the same run; for Block,
//! also next to casbin's `enforce` on SPEC.md §5.5's role × reason matrix.
//!
//! Targets: `RuleSet::decide` within 2× the hand-coded match, and at least
//! 1,000× faster than casbin's `enforce`. Also `rules diff` over the whole
//! decision space (shipped rules against a copy where directors may block
//! for refusal); target: well under a second.
//!
//!     cargo bench --bench rules -- --warm-up-time 1 --measurement-time 3

use casbin::{CoreApi, DefaultModel, Enforcer, MemoryAdapter, MgmtApi};
use cashdesk_card::domain::Status;
use cashdesk_card::rules::{BlockFacts, Facts, Method, Outcome, RuleSet};
use cashdesk_card::ErrorKey;
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

// ---- SPEC.md §5.5 and §5.6 as plain Rust ----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Client,
    CallCenter,
    Marketer,
    SeniorEmployee,
    Director,
    Administrator,
    /// SPEC.md: `cashier` may block with no reason.
    Cashier,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BlockReason {
    Lost,
    Undesirable,
    Blacklist,
    Refusal,
    Replacement,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UnblockReason {
    Found,
    LeavesUndesirable,
    LeavesBlacklist,
    Restored,
}

#[derive(Debug, Clone, Copy)]
struct HandFacts {
    method: Method,
    status: Status,
    bound: bool,
    registered: bool,
    role: Role,
    block_reason: Option<BlockReason>,
    unblock_reason: Option<UnblockReason>,
    /// The card's block: reason and the role that blocked it.
    block: Option<(BlockReason, Role)>,
}

/// SPEC.md §5.5 "Who may block with which reason".
fn may_block(reason: BlockReason, role: Role) -> bool {
    use BlockReason::*;
    use Role::*;
    matches!(
        (reason, role),
        (Lost, Client | CallCenter | Marketer | SeniorEmployee | Director | Administrator)
            | (Undesirable, SeniorEmployee | Director | Administrator)
            | (Blacklist, Director | Administrator)
            | (Refusal, CallCenter | Marketer | Administrator)
            | (Replacement, CallCenter | Marketer | SeniorEmployee | Director | Administrator)
    )
}

/// SPEC.md §5.6 "Who may lift which block".
fn may_lift(reason: BlockReason, role: Role) -> bool {
    use BlockReason::*;
    use Role::*;
    matches!(
        (reason, role),
        (Lost, Client | CallCenter | Marketer | SeniorEmployee | Director | Administrator)
            | (Undesirable, SeniorEmployee | Director | Administrator)
            | (Blacklist, Director | Administrator)
            | (Refusal, CallCenter | Marketer | Administrator)
    )
}

/// SPEC.md §5.6 "Who may use which unblock reason".
fn may_use(reason: UnblockReason, role: Role) -> bool {
    use Role::*;
    use UnblockReason::*;
    matches!(
        (reason, role),
        (Found, Client | CallCenter | Marketer | SeniorEmployee | Director | Administrator)
            | (LeavesUndesirable, SeniorEmployee | Director | Administrator)
            | (LeavesBlacklist, Director | Administrator)
            | (Restored, CallCenter | Marketer | Administrator)
    )
}

/// SPEC.md §5.6 step 10.
fn answers(u: UnblockReason, b: BlockReason) -> bool {
    use BlockReason::*;
    use UnblockReason::*;
    matches!(
        (u, b),
        (Found, Lost) | (LeavesUndesirable, Undesirable) | (LeavesBlacklist, Blacklist) | (Restored, Refusal)
    )
}

const STATUS_ERROR: Outcome = Outcome::Refuse(ErrorKey::StatusError);

fn decide_by_hand(f: &HandFacts) -> Outcome {
    use Status::*;
    match f.method {
        Method::Issue => match f.status {
            New => Outcome::To(Issued),
            Issued => Outcome::Stay,
            Active | Blocked => STATUS_ERROR,
        },
        Method::BindTo => match f.status {
            New | Blocked => STATUS_ERROR,
            Issued | Active => Outcome::Stay,
        },
        Method::Active => match f.status {
            Issued if f.bound && f.registered => Outcome::To(Active),
            Active => Outcome::Stay,
            _ => STATUS_ERROR,
        },
        Method::Block => {
            let Some(b) = f.block_reason else { return Outcome::Refuse(ErrorKey::BlockReasonError) };
            if !may_block(b, f.role) {
                return Outcome::Refuse(ErrorKey::BlockReasonError);
            }
            match f.status {
                Active => Outcome::To(Blocked),
                Issued if f.bound => Outcome::To(Blocked),
                _ => STATUS_ERROR,
            }
        }
        Method::UnBlock => {
            let no = Outcome::Refuse(ErrorKey::UnBlockReasonError);
            let Some(u) = f.unblock_reason else { return no };
            if f.status != Blocked {
                return STATUS_ERROR;
            }
            let Some((b, blocker)) = f.block else { return no };
            if b == BlockReason::Replacement {
                return no;
            }
            if blocker == Role::Administrator && f.role != Role::Administrator {
                return no;
            }
            if !may_lift(b, f.role) || !may_use(u, f.role) {
                return no;
            }
            if f.role != Role::Administrator && !answers(u, b) {
                return no;
            }
            Outcome::To(if f.bound && f.registered { Active } else { Issued })
        }
        // No transitions: Balance, Admin and the purchase methods.
        _ => Outcome::Stay,
    }
}

const ROLES: [(Role, &str); 7] = [
    (Role::Client, "client"),
    (Role::CallCenter, "call_center"),
    (Role::Marketer, "marketer"),
    (Role::SeniorEmployee, "senior_employee"),
    (Role::Director, "director"),
    (Role::Administrator, "administrator"),
    (Role::Cashier, "cashier"),
];
const BLOCK_REASONS: [(BlockReason, &str); 5] = [
    (BlockReason::Lost, "0"),
    (BlockReason::Undesirable, "1"),
    (BlockReason::Blacklist, "2"),
    (BlockReason::Refusal, "3"),
    (BlockReason::Replacement, "4"),
];
const UNBLOCK_REASONS: [(UnblockReason, &str); 4] = [
    (UnblockReason::Found, "0"),
    (UnblockReason::LeavesUndesirable, "1"),
    (UnblockReason::LeavesBlacklist, "2"),
    (UnblockReason::Restored, "3"),
];

/// Before timing: the hand-coded match and the shipped rules agree on every
/// Block and UnBlock, so the two timings are of the same decision.
fn assert_same_decisions(rules: &RuleSet) {
    for method in [Method::Issue, Method::BindTo, Method::Active, Method::Block, Method::UnBlock] {
        for status in Status::ALL {
            for (bound, registered) in [(false, false), (false, true), (true, false), (true, true)] {
                for (role, role_name) in ROLES {
                    let Some(role_id) = rules.role(role_name) else { panic!("no role {role_name}") };
                    let facts = Facts { method, status, bound, registered, role: role_id, reason: None, block: None };
                    let hand = HandFacts {
                        method,
                        status,
                        bound,
                        registered,
                        role,
                        block_reason: None,
                        unblock_reason: None,
                        block: None,
                    };
                    let mut cases = vec![(facts, hand)];
                    for (b, code) in BLOCK_REASONS {
                        let id = rules.block_reason(code);
                        if method == Method::Block {
                            cases.push((Facts { reason: id, ..facts }, HandFacts { block_reason: Some(b), ..hand }));
                        }
                        if method != Method::UnBlock {
                            continue;
                        }
                        for (blocker, blocker_name) in ROLES {
                            let blocker_id = rules.role(blocker_name);
                            for (u, ucode) in UNBLOCK_REASONS {
                                cases.push((
                                    Facts {
                                        reason: rules.unblock_reason(ucode),
                                        block: Some(BlockFacts { reason: id, blocker: blocker_id }),
                                        ..facts
                                    },
                                    HandFacts { unblock_reason: Some(u), block: Some((b, blocker)), ..hand },
                                ));
                            }
                        }
                    }
                    for (f, h) in cases {
                        assert_eq!(rules.decide(&f).outcome, decide_by_hand(&h), "{f:?} / {h:?}");
                    }
                }
            }
        }
    }
}

/// SPEC.md §5.5 "Who may block with which reason", cell by cell, as the
/// table stands: rows are block reasons 0–4, columns the roles client,
/// call_center, marketer, senior_employee, director, administrator (the
/// first six of `ROLES`).
const SPEC_BLOCK_MATRIX: [[bool; 6]; 5] = [
    [true, true, true, true, true, true],     // 0 lost
    [false, false, false, true, true, true],  // 1 undesirable list
    [false, false, false, false, true, true], // 2 blacklist
    [false, true, true, false, false, true],  // 3 refusal
    [false, true, true, true, true, true],    // 4 replacement
];

/// Plain ACL: a request is allowed when a policy line names exactly its
/// role, block reason code and action.
const CASBIN_MODEL: &str = r#"
[request_definition]
r = sub, obj, act

[policy_definition]
p = sub, obj, act

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = r.sub == p.sub && r.obj == p.obj && r.act == p.act
"#;

/// The §5.5 matrix as a casbin enforcer: one `p, role, reason, block` line per
/// "yes" cell. Model and adapter loading are async, so setup runs on a
/// current-thread tokio runtime; `enforce` itself is synchronous.
fn casbin_enforcer() -> Enforcer {
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("tokio runtime");
    rt.block_on(async {
        let model = DefaultModel::from_str(CASBIN_MODEL).await.expect("casbin model");
        let mut e = Enforcer::new(model, MemoryAdapter::default()).await.expect("casbin enforcer");
        for (row, (_, code)) in SPEC_BLOCK_MATRIX.iter().zip(BLOCK_REASONS) {
            for (&yes, (_, role)) in row.iter().zip(ROLES) {
                if yes {
                    let added = e.add_policy(vec![role.into(), code.into(), "block".into()]).await;
                    assert!(added.expect("casbin add_policy"), "duplicate policy {role} {code}");
                }
            }
        }
        e
    })
}

/// Before timing: casbin, the hand-coded match and the shipped rules all give
/// SPEC.md §5.5's answer in each of the 30 role × reason cells (and all refuse
/// a cashier), so the three timings are of the same decision.
fn assert_casbin_matches_spec(e: &Enforcer, rules: &RuleSet) {
    let mut cells = 0;
    for (row, (b, code)) in SPEC_BLOCK_MATRIX.iter().zip(BLOCK_REASONS) {
        for (i, (role, name)) in ROLES.into_iter().enumerate() {
            // ROLES[6] is the cashier, outside the table: never with a reason.
            let spec = row.get(i).copied().unwrap_or(false);
            let by_casbin = e.enforce((name, code, "block")).expect("casbin enforce");
            assert_eq!(by_casbin, spec, "casbin: {name} blocking with reason {code}");
            assert_eq!(may_block(b, role), spec, "match: {name} blocking with reason {code}");
            let facts = Facts {
                method: Method::Block,
                status: Status::Active,
                bound: true,
                registered: true,
                role: rules.role(name).unwrap_or_else(|| panic!("no role {name}")),
                reason: rules.block_reason(code),
                block: None,
            };
            let want = if spec { Outcome::To(Status::Blocked) } else { Outcome::Refuse(ErrorKey::BlockReasonError) };
            assert_eq!(rules.decide(&facts).outcome, want, "rules: {name} blocking with reason {code}");
            cells += usize::from(i < 6);
        }
    }
    assert_eq!(cells, 30);
}

fn bench(c: &mut Criterion) {
    let rules = RuleSet::shipped();
    assert_same_decisions(&rules);
    let enforcer = casbin_enforcer();
    assert_casbin_matches_spec(&enforcer, &rules);
    let role = |n: &str| rules.role(n).unwrap_or_else(|| panic!("no role {n}"));
    let director = role("director");
    let blacklist = rules.block_reason("2").unwrap_or_else(|| panic!("no block reason 2"));
    let leaves_blacklist = rules.unblock_reason("2").unwrap_or_else(|| panic!("no unblock reason 2"));

    // UnBlock, the deepest path: every check runs and passes.
    let unblock = Facts {
        method: Method::UnBlock,
        status: Status::Blocked,
        bound: true,
        registered: true,
        role: director,
        reason: Some(leaves_blacklist),
        block: Some(BlockFacts { reason: Some(blacklist), blocker: Some(director) }),
    };
    let unblock_hand = HandFacts {
        method: Method::UnBlock,
        status: Status::Blocked,
        bound: true,
        registered: true,
        role: Role::Director,
        block_reason: None,
        unblock_reason: Some(UnblockReason::LeavesBlacklist),
        block: Some((BlockReason::Blacklist, Role::Director)),
    };
    // Block, allowed.
    let block = Facts {
        method: Method::Block,
        status: Status::Active,
        bound: true,
        registered: true,
        role: director,
        reason: Some(blacklist),
        block: None,
    };
    let block_hand = HandFacts {
        method: Method::Block,
        status: Status::Active,
        bound: true,
        registered: true,
        role: Role::Director,
        block_reason: Some(BlockReason::Blacklist),
        unblock_reason: None,
        block: None,
    };
    // Both ways must agree, or the comparison means nothing.
    assert_eq!(rules.decide(&unblock).outcome, Outcome::To(Status::Active));
    assert_eq!(decide_by_hand(&unblock_hand), Outcome::To(Status::Active));
    assert_eq!(rules.decide(&block).outcome, Outcome::To(Status::Blocked));
    assert_eq!(decide_by_hand(&block_hand), Outcome::To(Status::Blocked));
    assert!(enforcer.enforce(("director", "2", "block")).expect("casbin enforce"));
    let cashier = Facts { role: role("cashier"), ..block };
    assert_eq!(rules.decide(&cashier).outcome, Outcome::Refuse(ErrorKey::BlockReasonError));
    assert_eq!(decide_by_hand(&HandFacts { role: Role::Cashier, ..block_hand }), rules.decide(&cashier).outcome);

    let mut g = c.benchmark_group("unblock_deepest");
    g.bench_function("interpreted", |b| b.iter(|| rules.decide(black_box(&unblock))));
    g.bench_function("match", |b| b.iter(|| decide_by_hand(black_box(&unblock_hand))));
    g.finish();

    let mut g = c.benchmark_group("block");
    g.bench_function("interpreted", |b| b.iter(|| rules.decide(black_box(&block))));
    g.bench_function("match", |b| b.iter(|| decide_by_hand(black_box(&block_hand))));
    g.bench_function("casbin", |b| b.iter(|| enforcer.enforce(black_box(("director", "2", "block")))));
    g.finish();
}

fn bench_diff(c: &mut Criterion) {
    let old = RuleSet::shipped();
    let files: Vec<(&str, String)> = RuleSet::shipped_files()
        .iter()
        .map(|(n, t)| {
            let t = if *n == "block_reasons.toml" {
                t.replace(
                    "block_roles = [\"call_center\", \"marketer\", \"administrator\"]",
                    "block_roles = [\"call_center\", \"marketer\", \"director\", \"administrator\"]",
                )
            } else {
                t.to_string()
            };
            (*n, t)
        })
        .collect();
    let refs: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
    let new = RuleSet::from_sources(&refs).expect("the edited set checks");
    let d = cashdesk_card::rules::diff::diff(&old, &new);
    assert_eq!(d.decisions.iter().map(|g| g.cases).sum::<usize>(), 16, "the edit changes 16 decisions");
    c.bench_function("rules_diff_whole_space", |b| {
        b.iter(|| cashdesk_card::rules::diff::diff(black_box(&old), black_box(&new)))
    });
}

criterion_group!(benches, bench, bench_diff);
criterion_main!(benches);

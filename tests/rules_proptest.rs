//! Random block/unblock matrices written as TOML, compiled, and every Block and
//! UnBlock decision compared with a naive reading of SPEC.md §5.5 and §5.6.
//!
//! The reasons are written in a shuffled order, so a reason's index in the
//! compiled set differs from its code: a mix-up of the two shows here.

use cashdesk_card::domain::Status;
use cashdesk_card::rules::{BlockFacts, Check, Facts, Method, Outcome, RuleSet};
use cashdesk_card::ErrorKey;
use proptest::prelude::*;

/// The roles of roles.toml; the seventh (cashier) is never named in the
/// generated matrices and so may nothing.
const ROLES: [&str; 7] =
    ["client", "call_center", "marketer", "senior_employee", "director", "administrator", "cashier"];
const NB: usize = 5; // block reasons
const NU: usize = 4; // unblock reasons

#[derive(Debug, Clone)]
struct Matrices {
    block: [[bool; 6]; NB],
    lift: [[bool; 6]; NB],
    unblock: [[bool; 6]; NU],
    /// answers[u][b]: unblock reason u answers block reason b.
    answers: [[bool; NB]; NU],
    exempt: [bool; 6],
    reserved: [bool; 6],
    is_final: [bool; NB],
    /// The order the reasons are written in.
    block_order: Vec<usize>,
    unblock_order: Vec<usize>,
}

fn row6() -> impl Strategy<Value = [bool; 6]> {
    prop::array::uniform6(any::<bool>())
}

fn matrices() -> impl Strategy<Value = Matrices> {
    (
        prop::array::uniform5(row6()),
        prop::array::uniform5(row6()),
        prop::array::uniform4(row6()),
        prop::array::uniform4(prop::array::uniform5(any::<bool>())),
        row6(),
        row6(),
        prop::array::uniform5(prop::bool::weighted(0.3)),
        Just((0..NB).collect::<Vec<_>>()).prop_shuffle(),
        Just((0..NU).collect::<Vec<_>>()).prop_shuffle(),
    )
        .prop_map(|(block, mut lift, unblock, answers, exempt, reserved, is_final, block_order, unblock_order)| {
            // A final reason can never be lifted: its lift_roles are empty.
            for (row, f) in lift.iter_mut().zip(is_final) {
                if f {
                    *row = [false; 6];
                }
            }
            Matrices { block, lift, unblock, answers, exempt, reserved, is_final, block_order, unblock_order }
        })
}

fn code(i: usize) -> String {
    format!("r{i}")
}

fn role_list(row: &[bool; 6]) -> String {
    let names: Vec<String> = (0..6).filter(|&r| row[r]).map(|r| format!("\"{}\"", ROLES[r])).collect();
    format!("[{}]", names.join(", "))
}

fn block_reasons_toml(m: &Matrices) -> String {
    let mut s = String::from("# generated\n");
    for &b in &m.block_order {
        s += &format!(
            "\n[[block_reason]]\ncode = \"{}\"\nname = \"block reason {b}\"\nblock_roles = {}\nlift_roles = {}\nfinal = {}\n",
            code(b),
            role_list(&m.block[b]),
            role_list(&m.lift[b]),
            m.is_final[b]
        );
    }
    s
}

fn unblock_reasons_toml(m: &Matrices) -> String {
    let mut s = String::from("# generated\n");
    for &u in &m.unblock_order {
        let answers: Vec<String> = (0..NB).filter(|&b| m.answers[u][b]).map(|b| format!("\"{}\"", code(b))).collect();
        s += &format!(
            "\n[[unblock_reason]]\ncode = \"{}\"\nname = \"unblock reason {u}\"\nroles = {}\nanswers = [{}]\n",
            code(u),
            role_list(&m.unblock[u]),
            answers.join(", ")
        );
    }
    s += &format!("\n[pairing]\nexempt_roles = {}\n", role_list(&m.exempt));
    s += &format!("\n[reserved_blocks]\nroles = {}\n", role_list(&m.reserved));
    s
}

fn compile(m: &Matrices) -> RuleSet {
    let (b, u) = (block_reasons_toml(m), unblock_reasons_toml(m));
    let files: Vec<(&str, &str)> = RuleSet::shipped_files()
        .iter()
        .map(|&(n, t)| match n {
            "block_reasons.toml" => (n, b.as_str()),
            "unblock_reasons.toml" => (n, u.as_str()),
            _ => (n, t),
        })
        .collect();
    match RuleSet::from_sources(&files) {
        Ok(r) => r,
        Err(e) => {
            panic!("generated rules do not check:\n{e}\n--- block_reasons.toml\n{b}\n--- unblock_reasons.toml\n{u}")
        }
    }
}

fn cell(row: &[bool; 6], role: usize) -> bool {
    role < 6 && row[role]
}

/// SPEC.md §5.5 steps 3, 5, 6–7 and the shipped transitions (§5.5 step 6).
fn reference_block(m: &Matrices, role: usize, reason: Option<usize>, st: Status, bound: bool) -> (Outcome, Check) {
    let Some(b) = reason else { return (Outcome::Refuse(ErrorKey::BlockReasonError), Check::UnknownReason) };
    if !cell(&m.block[b], role) {
        return (Outcome::Refuse(ErrorKey::BlockReasonError), Check::BlockReasonRole);
    }
    let outcome = match st {
        Status::New | Status::Blocked => Outcome::Refuse(ErrorKey::StatusError),
        Status::Issued if !bound => Outcome::Refuse(ErrorKey::StatusError),
        Status::Issued | Status::Active => Outcome::To(Status::Blocked),
    };
    (outcome, Check::Transition)
}

/// SPEC.md §5.6 steps 3, 5–11, with the rule-driven generalisation of step 7
/// (reserved roles) and step 10 (exempt roles).
fn reference_unblock(
    m: &Matrices,
    role: usize,
    unblock: Option<usize>,
    (block, blocker): (usize, usize),
    (st, bound, registered): (Status, bool, bool),
) -> (Outcome, Check) {
    let no = Outcome::Refuse(ErrorKey::UnBlockReasonError);
    let Some(u) = unblock else { return (no, Check::UnknownReason) };
    if st != Status::Blocked {
        return (Outcome::Refuse(ErrorKey::StatusError), Check::Transition);
    }
    if m.is_final[block] {
        return (no, Check::FinalBlock);
    }
    if cell(&m.reserved, blocker) && !cell(&m.reserved, role) {
        return (no, Check::ReservedBlock);
    }
    if !cell(&m.lift[block], role) {
        return (no, Check::LiftRole);
    }
    if !cell(&m.unblock[u], role) {
        return (no, Check::UnblockReasonRole);
    }
    if !cell(&m.exempt, role) && !m.answers[u][block] {
        return (no, Check::Pairing);
    }
    (Outcome::To(if bound && registered { Status::Active } else { Status::Issued }), Check::Transition)
}

fn check_all(m: &Matrices) -> Result<usize, TestCaseError> {
    let r = compile(m);
    let role = |i: usize| r.role(ROLES[i]).unwrap_or_else(|| panic!("no role {}", ROLES[i]));
    let breason = |i: usize| r.block_reason(&code(i)).unwrap_or_else(|| panic!("no block reason {i}"));
    let ureason = |i: usize| r.unblock_reason(&code(i)).unwrap_or_else(|| panic!("no unblock reason {i}"));
    let mut n = 0;
    for st in Status::ALL {
        for bound in [false, true] {
            for registered in [false, true] {
                for (who, who_name) in ROLES.iter().enumerate() {
                    let base = Facts {
                        method: Method::Block,
                        status: st,
                        bound,
                        registered,
                        role: role(who),
                        reason: None,
                        block: None,
                    };
                    for b in (0..NB).map(Some).chain([None]) {
                        let f = Facts { reason: b.map(breason), ..base };
                        let d = r.decide(&f);
                        let want = reference_block(m, who, b, st, bound);
                        prop_assert_eq!(
                            (d.outcome, d.check),
                            want,
                            "Block by {} with reason {:?} of a {:?} card (bound {})",
                            who_name,
                            b,
                            st,
                            bound
                        );
                        n += 1;
                    }
                    for u in (0..NU).map(Some).chain([None]) {
                        for b in 0..NB {
                            for (blocker, blocker_name) in ROLES.iter().enumerate() {
                                let f = Facts {
                                    method: Method::UnBlock,
                                    reason: u.map(ureason),
                                    block: Some(BlockFacts { reason: Some(breason(b)), blocker: Some(role(blocker)) }),
                                    ..base
                                };
                                let d = r.decide(&f);
                                let want = reference_unblock(m, who, u, (b, blocker), (st, bound, registered));
                                prop_assert_eq!(
                                    (d.outcome, d.check),
                                    want,
                                    "UnBlock by {} with {:?} of a {:?} card (bound {}, registered {}) blocked with {} by {}",
                                    who_name,
                                    u,
                                    st,
                                    bound,
                                    registered,
                                    b,
                                    blocker_name
                                );
                                n += 1;
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(n)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_matrices_decide_as_spec_reads_them(m in matrices()) {
        let n = check_all(&m)?;
        prop_assert_eq!(n, 16 * ROLES.len() * (NB + 1 + (NU + 1) * NB * ROLES.len()));
    }
}

/// The generator itself: a set built from SPEC.md's own tables must decide
/// like the shipped set, or the TOML writer and the reference are off.
#[test]
fn spec_matrices_written_by_the_generator_decide_as_spec_reads_them() {
    const Y: bool = true;
    const N: bool = false;
    let block = [[Y, Y, Y, Y, Y, Y], [N, N, N, Y, Y, Y], [N, N, N, N, Y, Y], [N, Y, Y, N, N, Y], [N, Y, Y, Y, Y, Y]];
    let lift = [[Y, Y, Y, Y, Y, Y], [N, N, N, Y, Y, Y], [N, N, N, N, Y, Y], [N, Y, Y, N, N, Y], [N, N, N, N, N, N]];
    let unblock = [[Y, Y, Y, Y, Y, Y], [N, N, N, Y, Y, Y], [N, N, N, N, Y, Y], [N, Y, Y, N, N, Y]];
    let answers = [[Y, N, N, N, N], [N, Y, N, N, N], [N, N, Y, N, N], [N, N, N, Y, N]];
    let m = Matrices {
        block,
        lift,
        unblock,
        answers,
        exempt: [N, N, N, N, N, Y],
        reserved: [N, N, N, N, N, Y],
        is_final: [N, N, N, N, Y],
        block_order: vec![4, 2, 0, 3, 1],
        unblock_order: vec![3, 1, 2, 0],
    };
    if let Err(e) = check_all(&m) {
        panic!("{e}");
    }
}

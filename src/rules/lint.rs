//! Warnings about a rule set that checks but may not mean what its author
//! meant, found by running its decisions: a status no call can reach, a
//! block nobody can ever lift although its reason is not final, a card
//! blocked for replacement that someone can unblock, a status that may
//! redeem but never takes part in purchases.

use super::ctx::RuleProblem;
use super::{BlockFacts, Facts, Method, Outcome, ReasonId, RoleId, RuleSet, RuleSource};
use crate::domain::Status;

fn warning(src: &RuleSource, message: String, hint: Option<String>) -> RuleProblem {
    RuleProblem { file: src.file.clone(), line: src.line, col: src.col.max(1), message, hint, follows: false }
}

impl RuleSet {
    /// Everything `rules check` warns about (the set still loads).
    pub fn warnings(&self) -> Vec<RuleProblem> {
        let mut out = self.unreachable_statuses();
        out.extend(self.permanent_blocks());
        out.extend(self.unblockable_replacements());
        out.extend(self.statuses_that_never_redeem());
        out
    }

    fn role_ids(&self) -> impl Iterator<Item = RoleId> + '_ {
        (0..self.roles.len()).map(|i| RoleId(i as u8))
    }

    /// Roles that may call Block and block with reason `b`.
    fn blockers(&self, b: usize) -> Vec<RoleId> {
        self.role_ids()
            .filter(|r| self.may_call(*r, Method::Block) && self.block_reasons[b].block_roles >> r.0 & 1 == 1)
            .collect()
    }

    /// (role, unblock reason) pairs that lift a card blocked with `b` by
    /// `blocker`, for some bound/registered.
    fn lifts(&self, b: usize, blocker: RoleId) -> Vec<(RoleId, ReasonId)> {
        let mut out = Vec::new();
        for role in self.role_ids().filter(|r| self.may_call(*r, Method::UnBlock)) {
            for u in (0..self.unblock_reasons.len()).map(|i| ReasonId(i as u8)) {
                let lifted = [(false, false), (true, false), (true, true)].iter().any(|(bound, registered)| {
                    let f = Facts {
                        method: Method::UnBlock,
                        status: Status::Blocked,
                        bound: *bound,
                        registered: *registered,
                        role,
                        reason: Some(u),
                        block: Some(BlockFacts { reason: Some(ReasonId(b as u8)), blocker: Some(blocker) }),
                    };
                    matches!(self.decide(&f).outcome, Outcome::To(_))
                });
                if lifted {
                    out.push((role, u));
                }
            }
        }
        out
    }

    fn permanent_blocks(&self) -> Vec<RuleProblem> {
        let mut out = Vec::new();
        // A replacement block is meant to last (SPEC §5.6 step 6), final or not.
        for (b, reason) in self.block_reasons.iter().enumerate().filter(|(_, r)| !r.is_final && !r.replacement) {
            let stuck: Vec<&str> = self
                .blockers(b)
                .into_iter()
                .filter(|by| self.lifts(b, *by).is_empty())
                .map(|r| self.role_name(r))
                .collect();
            if !stuck.is_empty() {
                out.push(warning(
                    self.source(reason.rule),
                    format!(
                        "block reason {} «{}» is not final, but a card blocked with it by {} can never be unblocked by any role with any unblock reason",
                        reason.code,
                        reason.name,
                        stuck.join(", ")
                    ),
                    Some("add a role to its lift_roles and to an unblock reason that answers it, or mark it final = true".into()),
                ));
            }
        }
        out
    }

    fn unblockable_replacements(&self) -> Vec<RuleProblem> {
        let mut out = Vec::new();
        for (b, reason) in self.block_reasons.iter().enumerate().filter(|(_, r)| r.replacement) {
            // Per lifting role: the unblock reasons it can use and whose blocks it lifts.
            let blockers = self.blockers(b);
            let mut by_role: Vec<(RoleId, Vec<&str>, Vec<&str>)> = Vec::new();
            for by in &blockers {
                for (role, u) in self.lifts(b, *by) {
                    let i = match by_role.iter().position(|(r, ..)| *r == role) {
                        Some(i) => i,
                        None => {
                            by_role.push((role, Vec::new(), Vec::new()));
                            by_role.len() - 1
                        }
                    };
                    let (_, us, bys) = &mut by_role[i];
                    let code = self.unblock_reason_code(u);
                    if !us.contains(&code) {
                        us.push(code);
                    }
                    if !bys.contains(&self.role_name(*by)) {
                        bys.push(self.role_name(*by));
                    }
                }
            }
            let cases: Vec<String> = by_role
                .iter()
                .map(|(role, us, bys)| {
                    let whose = if bys.len() == blockers.len() {
                        "whoever blocked it".to_string()
                    } else {
                        format!("blocked by {}", bys.join(", "))
                    };
                    format!("{} with unblock reason {} ({whose})", self.role_name(*role), us.join(", "))
                })
                .collect();
            if !cases.is_empty() {
                out.push(warning(
                    self.source(reason.rule),
                    format!(
                        "a card blocked for replacement with reason {} «{}» can be unblocked, and its contact would then have two current cards: {}",
                        reason.code,
                        reason.name,
                        cases.join("; ")
                    ),
                    Some("mark the reason final = true with empty lift_roles".into()),
                ));
            }
        }
        out
    }

    /// Statuses reached from `new` by calls some role may make successfully.
    fn reached(&self) -> u8 {
        let mut reached = 1u8 << Status::New.index();
        loop {
            let before = reached;
            for from in Status::ALL.into_iter().filter(|s| before >> s.index() & 1 == 1) {
                for m in Method::WITH_TRANSITIONS {
                    for role in self.role_ids().filter(|r| self.may_call(*r, m)) {
                        for f in self.facts_from(m, from, role) {
                            if let Outcome::To(to) = self.decide(&f).outcome {
                                reached |= 1 << to.index();
                            }
                        }
                    }
                }
            }
            if reached == before {
                return reached;
            }
        }
    }

    /// Every call of `m` by `role` on a card in `from`.
    fn facts_from(&self, m: Method, from: Status, role: RoleId) -> Vec<Facts> {
        let reasons: Vec<Option<ReasonId>> = match m {
            Method::Block => (0..self.block_reasons.len()).map(|i| Some(ReasonId(i as u8))).collect(),
            Method::UnBlock => (0..self.unblock_reasons.len()).map(|i| Some(ReasonId(i as u8))).collect(),
            _ => vec![None],
        };
        let blocks: Vec<Option<BlockFacts>> = match m {
            Method::UnBlock => (0..self.block_reasons.len())
                .flat_map(|b| {
                    self.blockers(b)
                        .into_iter()
                        .map(move |by| Some(BlockFacts { reason: Some(ReasonId(b as u8)), blocker: Some(by) }))
                })
                .collect(),
            _ => vec![None],
        };
        let mut out = Vec::new();
        for (bound, registered) in [(false, false), (false, true), (true, false), (true, true)] {
            for reason in &reasons {
                for block in &blocks {
                    out.push(Facts {
                        method: m,
                        status: from,
                        bound,
                        registered,
                        role,
                        reason: *reason,
                        block: *block,
                    });
                }
            }
        }
        out
    }

    fn unreachable_statuses(&self) -> Vec<RuleProblem> {
        let reached = self.reached();
        let mut out = Vec::new();
        for st in Status::ALL.into_iter().filter(|s| reached >> s.index() & 1 == 0) {
            let rows: Vec<&super::TransitionDef> =
                self.transitions.iter().filter(|t| t.outcome == Outcome::To(st)).collect();
            // A status no row leads to is already a check error; here the
            // rows exist but no role's call gets through them.
            let Some(first) = rows.first() else { continue };
            let cases: Vec<String> = rows
                .iter()
                .map(|t| {
                    let src = self.source(t.rule);
                    let callers = self.role_ids().filter(|r| self.may_call(*r, t.method)).count();
                    let why = if callers == 0 {
                        format!("no role may call {} (roles.toml)", t.method.name())
                    } else {
                        "every role that may call it is refused".to_string()
                    };
                    format!("{}:{} {}: {why}", src.file, src.line, src.summary)
                })
                .collect();
            out.push(warning(
                self.source(first.rule),
                format!("status `{}` is never reached: {}", st.ident(), cases.join("; ")),
                Some("check which roles may call the method (roles.toml) and use its reasons".into()),
            ));
        }
        out
    }

    fn statuses_that_never_redeem(&self) -> Vec<RuleProblem> {
        let p = &self.purchases;
        let idle: Vec<&str> =
            Status::ALL.iter().filter(|s| p.may_redeem(**s) && !p.earns(**s)).map(|s| s.ident()).collect();
        if idle.is_empty() {
            return Vec::new();
        }
        vec![warning(
            self.source(p.redemption_statuses_rule),
            format!(
                "[redemption] statuses lists {}, which [accrual] statuses does not: such a card's receipts are refused, so it never redeems",
                idle.join(", ")
            ),
            Some("add the status to [accrual] statuses too, or remove it here".into()),
        )]
    }
}

//! The lifecycle's whole decision space under two sets, and the grouping of
//! what changed. Roles are matched by name, reasons by code; a code one set
//! lacks is an unknown code there, answered as the server answers it.

use super::{AccessChange, DecisionChange, MessageChange};
use crate::domain::Status;
use crate::rules::{BlockFacts, Decision, Facts, Method, Outcome, ReasonId, RoleId, RuleSet};
use std::collections::BTreeMap;

/// A reason as both sets see it: its code, and its id in each (None: unknown there).
#[derive(Clone)]
struct Both {
    label: String,
    old: Option<ReasonId>,
    new: Option<ReasonId>,
}

fn block_reasons(old: &RuleSet, new: &RuleSet, with_unknown: bool) -> Vec<Both> {
    let mut codes: Vec<&str> = old.block_reasons.iter().map(|r| r.code.as_str()).collect();
    codes.extend(new.block_reasons.iter().map(|r| r.code.as_str()).filter(|c| old.block_reason(c).is_none()));
    let mut out: Vec<Both> = codes
        .into_iter()
        .map(|c| {
            let (o, n) = (old.block_reason(c), new.block_reason(c));
            let name = n.map(|r| new.block_reason_name(r)).or(o.map(|r| old.block_reason_name(r))).unwrap_or("");
            Both { label: format!("{c} «{name}»"), old: o, new: n }
        })
        .collect();
    if with_unknown {
        out.push(Both { label: "an unknown code".into(), old: None, new: None });
    }
    out
}

fn unblock_reasons(old: &RuleSet, new: &RuleSet) -> Vec<Both> {
    let mut codes: Vec<&str> = old.unblock_reasons.iter().map(|r| r.code.as_str()).collect();
    codes.extend(new.unblock_reasons.iter().map(|r| r.code.as_str()).filter(|c| old.unblock_reason(c).is_none()));
    let mut out: Vec<Both> = codes
        .into_iter()
        .map(|c| {
            let (o, n) = (old.unblock_reason(c), new.unblock_reason(c));
            let name = n.map(|r| new.unblock_reason_name(r)).or(o.map(|r| old.unblock_reason_name(r))).unwrap_or("");
            Both { label: format!("{c} «{name}»"), old: o, new: n }
        })
        .collect();
    out.push(Both { label: "an unknown code".into(), old: None, new: None });
    out
}

/// The roles both sets define, in the old set's order.
fn roles(old: &RuleSet, new: &RuleSet) -> Vec<(String, RoleId, RoleId)> {
    old.role_names().filter_map(|n| Some((n.to_string(), old.role(n)?, new.role(n)?))).collect()
}

fn verdict(d: &Decision) -> String {
    match d.outcome {
        Outcome::To(s) => format!("allowed, the card becomes {}", s.ident()),
        Outcome::Stay => "allowed, no change".into(),
        Outcome::Refuse(k) => format!("refused ({k})"),
    }
}

/// A card as the rules see it: status, bound, registered (16 cells).
const CELLS: usize = 16;

fn cell_facts(c: usize) -> (Status, bool, bool) {
    (Status::ALL[c / 4], (c / 2) % 2 == 1, c % 2 == 1)
}

/// "new; issued bound; active not registered" for a set of cells.
pub(super) fn describe_cells(mask: u16) -> String {
    let mut parts = Vec::new();
    for st in Status::ALL {
        let bits = (mask >> (st.index() * 4)) & 0b1111;
        let name = st.ident();
        // bit index = bound * 2 + registered
        let part = match bits {
            0 => continue,
            0b1111 => name.to_string(),
            0b1100 => format!("{name} bound"),
            0b0011 => format!("{name} not bound"),
            0b1010 => format!("{name} registered"),
            0b0101 => format!("{name} not registered"),
            _ => (0..4)
                .filter(|i| bits & (1 << i) != 0)
                .map(|i| {
                    let b = if i >= 2 { "bound" } else { "not bound" };
                    let r = if i % 2 == 1 { "registered" } else { "not registered" };
                    format!("{name} {b} {r}")
                })
                .collect::<Vec<_>>()
                .join("; "),
        };
        parts.push(part);
    }
    parts.join("; ")
}

/// One case of the space, as far as grouping cares.
struct Case<'a> {
    method: Method,
    role: &'a str,
    reason: Option<&'a str>,
    block_reason: Option<&'a str>,
    blocker: Option<&'a str>,
    cell: usize,
}

type GroupKey = (usize, usize, usize, usize, String, String);
/// A group's key and its labels: method, role, reason, block reason.
type GroupHead = (GroupKey, String, String, Option<String>, Option<String>);

#[derive(Default)]
struct Groups {
    order: Vec<GroupHead>,
    /// key → blocker label → cells
    cells: BTreeMap<GroupKey, BTreeMap<String, u16>>,
    messages: BTreeMap<(usize, String, String), usize>,
    compared: usize,
}

impl Groups {
    fn add(&mut self, idx: (usize, usize, usize, usize), case: &Case, od: &Decision, nd: &Decision) {
        let (ov, nv) = (verdict(od), verdict(nd));
        let key = (idx.0, idx.1, idx.2, idx.3, ov, nv);
        let entry = self.cells.entry(key.clone()).or_default();
        if entry.is_empty() {
            self.order.push((
                key,
                case.method.name().to_string(),
                case.role.to_string(),
                case.reason.map(str::to_string),
                case.block_reason.map(str::to_string),
            ));
        }
        *entry.entry(case.blocker.unwrap_or("not known").to_string()).or_default() |= 1 << case.cell;
    }
}

/// Compares every lifecycle decision a role may reach (it may call the
/// method under both sets; access itself is [`access`]).
pub(super) fn compare(old: &RuleSet, new: &RuleSet) -> (usize, Vec<DecisionChange>, Vec<MessageChange>) {
    let roles = roles(old, new);
    let blocks = block_reasons(old, new, true);
    let card_blocks = block_reasons(old, new, false);
    let unblocks = unblock_reasons(old, new);
    let none = [Both { label: String::new(), old: None, new: None }];
    let mut blockers: Vec<(Option<&str>, Option<RoleId>, Option<RoleId>)> =
        roles.iter().map(|(n, o, w)| (Some(n.as_str()), Some(*o), Some(*w))).collect();
    blockers.push((None, None, None));
    let mut g = Groups::default();
    for (mi, m) in Method::WITH_TRANSITIONS.into_iter().enumerate() {
        let reasons: &[Both] = match m {
            Method::Block => &blocks,
            Method::UnBlock => &unblocks,
            _ => &none,
        };
        let card_reasons: &[Both] = if m == Method::UnBlock { &card_blocks } else { &none };
        let who: &[(Option<&str>, Option<RoleId>, Option<RoleId>)] =
            if m == Method::UnBlock { &blockers } else { &[(None, None, None)] };
        for (ri, (role, ro, rn)) in roles.iter().enumerate() {
            if !old.may_call(*ro, m) || !new.may_call(*rn, m) {
                continue;
            }
            for (xi, reason) in reasons.iter().enumerate() {
                for (bi, br) in card_reasons.iter().enumerate() {
                    for (blocker, bo, bn) in who {
                        for cell in 0..CELLS {
                            let (status, bound, registered) = cell_facts(cell);
                            let facts =
                                |role: RoleId, reason: Option<ReasonId>, b: Option<ReasonId>, by: Option<RoleId>| {
                                    Facts {
                                        method: m,
                                        status,
                                        bound,
                                        registered,
                                        role,
                                        reason,
                                        block: (m == Method::UnBlock).then_some(BlockFacts { reason: b, blocker: by }),
                                    }
                                };
                            let fo = facts(*ro, reason.old, br.old, *bo);
                            let fnew = facts(*rn, reason.new, br.new, *bn);
                            let (od, nd) = (old.decide(&fo), new.decide(&fnew));
                            g.compared += 1;
                            let case = Case {
                                method: m,
                                role,
                                reason: (m == Method::Block || m == Method::UnBlock).then_some(reason.label.as_str()),
                                block_reason: (m == Method::UnBlock).then_some(br.label.as_str()),
                                blocker: *blocker,
                                cell,
                            };
                            if od.outcome != nd.outcome {
                                g.add((mi, ri, xi, bi), &case, &od, &nd);
                            } else if matches!(od.outcome, Outcome::Refuse(_)) {
                                let (to, tn) = (old.explain(&fo, &od, "NUMBER"), new.explain(&fnew, &nd, "NUMBER"));
                                if to != tn {
                                    *g.messages.entry((mi, to, tn)).or_default() += 1;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    // Within one method, role and reasons: what is now (or was) allowed first.
    g.order.sort_by_key(|(k, ..)| (k.0, k.1, k.2, k.3, !(k.4.starts_with("allowed") || k.5.starts_with("allowed"))));
    let all_blockers = blockers.len();
    let changes = g
        .order
        .iter()
        .map(|(key, method, role, reason, block_reason)| {
            let by = &g.cells[key];
            let cases = by.values().map(|m| m.count_ones() as usize).sum();
            let masks: Vec<u16> = by.values().copied().collect();
            let same = masks.windows(2).all(|w| w[0] == w[1]);
            let (blockers, cards) = if *method != "UnBlock" {
                (None, describe_cells(masks[0]))
            } else if same && by.len() == all_blockers {
                (Some("any role".to_string()), describe_cells(masks[0]))
            } else if same {
                (Some(by.keys().cloned().collect::<Vec<_>>().join(", ")), describe_cells(masks[0]))
            } else {
                let each: Vec<String> =
                    by.iter().map(|(b, m)| format!("blocked by {b}: {}", describe_cells(*m))).collect();
                (Some("several".to_string()), each.join(" | "))
            };
            DecisionChange {
                method: method.clone(),
                role: role.clone(),
                reason: reason.clone(),
                block_reason: block_reason.clone(),
                blockers,
                old: key.4.clone(),
                new: key.5.clone(),
                cards,
                cases,
            }
        })
        .collect();
    let messages = g
        .messages
        .into_iter()
        .map(|((mi, old, new), cases)| MessageChange {
            method: Method::WITH_TRANSITIONS[mi].name().to_string(),
            old,
            new,
            cases,
        })
        .collect();
    (g.compared, changes, messages)
}

/// Role × method access under both sets (roles both define).
pub(super) fn access(old: &RuleSet, new: &RuleSet) -> Vec<AccessChange> {
    let mut out = Vec::new();
    for (role, ro, rn) in roles(old, new) {
        for m in Method::ALL {
            let (a, b) = (old.may_call(ro, m), new.may_call(rn, m));
            if a != b {
                let say = |x: bool| if x { "may call".to_string() } else { "AccessDenied (HTTP 403)".to_string() };
                out.push(AccessChange { role: role.clone(), method: m.name().to_string(), old: say(a), new: say(b) });
            }
        }
    }
    out
}

//! The transition rows (transitions.toml) → the per-cell decision table,
//! with the whole-machine checks: exactly one row per cell, every status
//! reachable, a way out of `blocked`.

use super::ctx::{check_template, did_you_mean, problem, whole, Ctx};
use super::raw;
use super::*;

/// Error keys a transition row may answer with.
const TRANSITION_KEYS: [ErrorKey; 5] = [
    ErrorKey::StatusError,
    ErrorKey::BlockReasonError,
    ErrorKey::UnBlockReasonError,
    ErrorKey::CardNumberBindToAnotherContact,
    ErrorKey::ContactBindToAnotherCardNumber,
];

pub(super) fn compile_transitions(
    cx: &mut Ctx,
    f: &raw::TransitionsFile,
    out: &mut Vec<TransitionDef>,
    table: &mut [[u16; 16]; 5],
) {
    let file = "transitions.toml";
    if f.transition.len() > TRANSITIONS_MAX {
        cx.err(file, whole(file), format!("more than {TRANSITIONS_MAX} transitions"), None);
        return;
    }
    // Which rows (by index into `out`) and which raw rows match each cell.
    let mut row_spans: Vec<std::ops::Range<usize>> = Vec::new();
    for t in &f.transition {
        let mspan = t.method.span();
        let method = match Method::from_name(t.method.get_ref()) {
            Some(m) if m.transition_index().is_some() => m,
            _ => {
                let hint = did_you_mean(t.method.get_ref(), Method::WITH_TRANSITIONS.iter().map(|m| m.name()));
                cx.err(
                    file,
                    mspan.clone(),
                    format!(
                        "unknown method `{}`; transitions are for Issue, BindTo, Active, Block and UnBlock",
                        t.method.get_ref()
                    ),
                    hint,
                );
                continue;
            }
        };
        let mut from = 0u8;
        for s in t.from.get_ref() {
            match Status::from_ident(s.get_ref()) {
                Some(st) => from |= 1 << st.index(),
                None => {
                    let hint = did_you_mean(s.get_ref(), Status::ALL.iter().map(|s| s.ident()));
                    cx.err(file, s.span(), format!("unknown status `{}`", s.get_ref()), hint);
                }
            }
        }
        if t.from.get_ref().is_empty() {
            cx.err(file, t.from.span(), "`from` lists no status".into(), None);
        }
        let stay = t.stay.as_ref().map(|s| *s.get_ref()).unwrap_or(false);
        let given = t.to.is_some() as u8 + stay as u8 + t.error.is_some() as u8;
        if given != 1 {
            cx.err(
                file,
                mspan.clone(),
                "a transition needs exactly one of `to`, `stay = true` or `error`".into(),
                None,
            );
            continue;
        }
        let outcome = if let Some(to) = &t.to {
            match Status::from_ident(to.get_ref()) {
                Some(Status::New) => {
                    cx.err(
                        file,
                        to.span(),
                        "no transition may lead into `new`: a card never becomes new again".into(),
                        None,
                    );
                    continue;
                }
                Some(st) => Outcome::To(st),
                None => {
                    let hint = did_you_mean(to.get_ref(), Status::ALL.iter().map(|s| s.ident()));
                    cx.err(file, to.span(), format!("unknown status `{}`", to.get_ref()), hint);
                    continue;
                }
            }
        } else if let Some(e) = &t.error {
            match ErrorKey::from_key(e.get_ref()) {
                Some(k) if TRANSITION_KEYS.contains(&k) => Outcome::Refuse(k),
                _ => {
                    let hint = did_you_mean(e.get_ref(), TRANSITION_KEYS.iter().map(|k| k.as_key()));
                    cx.err(file, e.span(), format!("unknown error key `{}` for a transition", e.get_ref()), hint);
                    continue;
                }
            }
        } else {
            Outcome::Stay
        };
        if let Some(m) = &t.message {
            check_template(cx, file, m, &["{number}", "{status}", "{method}", "{role}"]);
        }
        let message = t.message.as_ref().map(|m| m.get_ref().clone()).unwrap_or_default();
        let froms: Vec<&str> = t.from.get_ref().iter().map(|s| s.get_ref().as_str()).collect();
        let mut summary = format!("{} from {}", method.name(), froms.join("/"));
        if let Some(b) = t.bound {
            summary.push_str(if b { ", bound" } else { ", not bound" });
        }
        if let Some(r) = t.registered {
            summary.push_str(if r { ", registered" } else { ", not registered" });
        }
        summary.push_str(&match outcome {
            Outcome::To(s) => format!(" -> {}", s.ident()),
            Outcome::Stay => " -> stay".into(),
            Outcome::Refuse(k) => format!(" -> {k}"),
        });
        let rule = cx.rule(file, mspan.clone(), summary);
        out.push(TransitionDef { method, from, bound: t.bound, registered: t.registered, outcome, message, rule });
        row_spans.push(mspan);
    }
    // Every cell must be matched by exactly one row: overlaps are ambiguous
    // and gaps would leave a call with no answer.
    for m in Method::WITH_TRANSITIONS {
        let ti = m.transition_index().unwrap_or(0);
        for st in Status::ALL {
            for bound in [false, true] {
                for reg in [false, true] {
                    let matching: Vec<usize> = out
                        .iter()
                        .enumerate()
                        .filter(|(_, t)| {
                            t.method == m
                                && t.from & (1 << st.index()) != 0
                                && t.bound.is_none_or(|b| b == bound)
                                && t.registered.is_none_or(|r| r == reg)
                        })
                        .map(|(i, _)| i)
                        .collect();
                    let c = cell(st, bound, reg);
                    match matching.as_slice() {
                        [only] => table[ti][c] = *only as u16,
                        [] => {}
                        [first, rest @ ..] => {
                            for other in rest {
                                let (l, _) = cx.pos(file, row_spans[*first].start);
                                let msg = format!(
                                    "this {} transition and the one at line {l} both match a {} card (bound = {bound}, registered = {reg})",
                                    m.name(),
                                    st.ident()
                                );
                                // Report each overlapping pair once.
                                let span = row_spans[*other].clone();
                                let (ol, oc) = cx.pos(file, span.start);
                                if !cx.problems.iter().any(|p| {
                                    p.file == file
                                        && p.line == ol
                                        && p.col == oc
                                        && p.message.contains(&format!("line {l} both"))
                                }) {
                                    cx.err(
                                        file,
                                        span,
                                        msg,
                                        Some("add a `bound` or `registered` guard, or remove one row".into()),
                                    );
                                }
                            }
                            table[ti][c] = *first as u16;
                        }
                    }
                }
            }
        }
        for st in Status::ALL {
            let missing: Vec<String> = [(false, false), (false, true), (true, false), (true, true)]
                .iter()
                .filter(|(b, r)| table[ti][cell(st, *b, *r)] == u16::MAX)
                .map(|(b, r)| format!("bound = {b}, registered = {r}"))
                .collect();
            if !missing.is_empty() && cx.problems.iter().all(|p| p.file != file || !p.message.starts_with("unknown")) {
                cx.follow_on(cx.problems.len());
                let at = cx.problems.len();
                cx.err(
                    file,
                    0..0,
                    format!("no {} transition matches a {} card ({})", m.name(), st.ident(), missing.join("; ")),
                    Some(format!(
                        "add a [[transition]] with method = \"{}\" and from = [\"{}\"]",
                        m.name(),
                        st.ident()
                    )),
                );
                cx.follow_on(at);
            }
        }
    }
}

/// Whole-machine checks: every status reachable from New, and a way out of
/// Blocked while some block reason is not final.
pub(super) fn check_machine(
    cx: &mut Ctx,
    f: &raw::TransitionsFile,
    ts: &[TransitionDef],
    blocks: &[BlockReasonDef],
    have_blocks: bool,
) {
    let first = cx.problems.len();
    check_reachable(cx, f, ts);
    check_way_out(cx, ts, blocks, have_blocks);
    cx.follow_on(first);
}

fn check_reachable(cx: &mut Ctx, f: &raw::TransitionsFile, ts: &[TransitionDef]) {
    let file = "transitions.toml";
    let mut reached = 1u8 << Status::New.index();
    loop {
        let before = reached;
        for t in ts {
            if let Outcome::To(s) = t.outcome {
                if t.from & reached != 0 {
                    reached |= 1 << s.index();
                }
            }
        }
        if reached == before {
            break;
        }
    }
    for st in Status::ALL {
        if reached & (1 << st.index()) == 0 {
            let span = f.transition.first().map(|t| t.method.span()).unwrap_or(0..0);
            cx.err(file, span, format!("status `{}` cannot be reached from `new` by any transition", st.ident()), None);
        }
    }
}

fn check_way_out(cx: &mut Ctx, ts: &[TransitionDef], blocks: &[BlockReasonDef], have_blocks: bool) {
    let file = "transitions.toml";
    let way_out = ts.iter().any(|t| {
        t.from & (1 << Status::Blocked.index()) != 0 && matches!(t.outcome, Outcome::To(s) if s != Status::Blocked)
    });
    if have_blocks && !way_out {
        if let Some(r) = blocks.iter().find(|b| !b.is_final) {
            let code = r.code.clone();
            let src = cx.sources[r.rule.0 as usize].clone();
            cx.problems.push(problem(
                file,
                1,
                1,
                format!(
                    "no transition leads out of `blocked`, but block reason `{code}` ({}:{}) is not final",
                    src.file, src.line
                ),
                Some("add an UnBlock transition from blocked, or mark every block reason final".into()),
            ));
        }
    }
}

//! What checking a rule set collects: the problems found (each with file,
//! line, column and a hint), the rule sources decisions point at, and the
//! small checks every file shares (codes, names, message placeholders).

use super::raw::S;
use super::{RoleDef, RuleId, RuleSource};
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::fmt;

/// One problem in a rule set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleProblem {
    pub file: String,
    pub line: usize,
    pub col: usize,
    pub message: String,
    pub hint: Option<String>,
    /// A whole-set problem (a gap, an unreachable status) that another
    /// problem may cause: listed after the direct problems.
    pub follows: bool,
}

impl fmt::Display for RuleProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.line, self.col, self.message)?;
        if let Some(h) = &self.hint {
            write!(f, " (hint: {h})")?;
        }
        Ok(())
    }
}

/// Every problem found in a rule set that does not check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleErrors(pub Vec<RuleProblem>);

impl fmt::Display for RuleErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.0 {
            writeln!(f, "{p}")?;
        }
        write!(f, "{} problem(s) found", self.0.len())
    }
}

impl std::error::Error for RuleErrors {}

pub(super) fn problem(file: &str, line: usize, col: usize, message: String, hint: Option<String>) -> RuleProblem {
    RuleProblem { file: file.to_string(), line, col, message, hint, follows: false }
}

/// Suggests the closest candidate to a misspelt name.
pub(super) fn did_you_mean<'a>(given: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        let score = strsim::jaro_winkler(&given.to_lowercase(), &c.to_lowercase());
        if score > 0.75 && best.is_none_or(|(b, _)| score > b) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| format!("did you mean `{c}`?"))
}

pub(super) struct Ctx<'a> {
    pub files: HashMap<&'a str, &'a str>,
    pub problems: Vec<RuleProblem>,
    pub sources: Vec<RuleSource>,
}

impl<'a> Ctx<'a> {
    pub(super) fn pos(&self, file: &str, offset: usize) -> (usize, usize) {
        let text = self.files.get(file).copied().unwrap_or("");
        let offset = offset.min(text.len());
        let before = &text.as_bytes()[..offset];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = before.iter().rposition(|&b| b == b'\n').map(|i| i + 1).unwrap_or(0);
        let col = String::from_utf8_lossy(&before[line_start..]).chars().count() + 1;
        (line, col)
    }

    pub(super) fn err(&mut self, file: &str, span: std::ops::Range<usize>, message: String, hint: Option<String>) {
        let (line, col) = self.pos(file, span.start);
        self.problems.push(problem(file, line, col, message, hint));
    }

    /// Marks the problems from index `from` on as follow-ons.
    pub(super) fn follow_on(&mut self, from: usize) {
        for p in self.problems.iter_mut().skip(from) {
            p.follows = true;
        }
    }

    pub(super) fn rule(&mut self, file: &str, span: std::ops::Range<usize>, summary: String) -> RuleId {
        let (line, col) = self.pos(file, span.start);
        self.sources.push(RuleSource { file: file.to_string(), line, col, summary });
        RuleId((self.sources.len() - 1) as u16)
    }

    pub(super) fn parse<T: DeserializeOwned>(&mut self, file: &str) -> Option<T> {
        let text = *self.files.get(file)?;
        match toml::from_str::<T>(text) {
            Ok(v) => Some(v),
            Err(e) => {
                let span = e.span().unwrap_or(0..0);
                let msg = e.message().trim().to_string();
                let hint = unknown_field_hint(&msg);
                self.err(file, span, msg, hint);
                None
            }
        }
    }

    /// Resolves role names to a bitmask, reporting unknown names. When
    /// roles.toml did not parse (`roles_read` false) every name would be
    /// "unknown": that file's own problem is reported, not one per reference.
    pub(super) fn roles(&mut self, file: &str, names: &[S], roles: &[RoleDef], roles_read: bool) -> u64 {
        let mut mask = 0u64;
        for n in names {
            match roles.iter().position(|r| r.name == *n.get_ref()) {
                Some(i) => mask |= 1 << i,
                None if !roles_read => {}
                None => {
                    let hint = did_you_mean(n.get_ref(), roles.iter().map(|r| r.name.as_str()));
                    self.err(file, n.span(), format!("unknown role `{}`", n.get_ref()), hint);
                }
            }
        }
        mask
    }
}

/// serde's "unknown field `x`, expected one of `a`, `b`" already lists the
/// candidates; pick the closest as the hint.
fn unknown_field_hint(msg: &str) -> Option<String> {
    let rest = msg.strip_prefix("unknown field `")?;
    let (given, expected) = rest.split_once('`')?;
    let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    did_you_mean(given, candidates.into_iter())
}

pub(super) fn whole(file: &str) -> std::ops::Range<usize> {
    let _ = file;
    0..0
}

pub(super) fn check_code(cx: &mut Ctx, file: &str, code: &S) {
    let c = code.get_ref();
    if c.is_empty() || c.len() > 16 || !c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-') {
        cx.err(file, code.span(), format!("code `{c}` must be 1-16 letters, digits, `_` or `-`"), None);
    }
}

pub(super) fn check_name(cx: &mut Ctx, file: &str, name: &S) {
    let n = name.get_ref();
    if n.trim().is_empty() || n.chars().count() > 200 || n.chars().any(|c| c.is_control()) {
        cx.err(file, name.span(), "a name must be 1-200 characters without control characters".into(), None);
    }
}

pub(super) fn check_template(cx: &mut Ctx, file: &str, s: &S, allowed: &[&str]) {
    let text = s.get_ref();
    let mut rest = text.as_str();
    while let Some(start) = rest.find('{') {
        let after = &rest[start..];
        let Some(end) = after.find('}') else { break };
        let ph = &after[..=end];
        if !allowed.contains(&ph) {
            let hint = did_you_mean(ph, allowed.iter().copied());
            cx.err(file, s.span(), format!("unknown placeholder `{ph}`; use {}", allowed.join(", ")), hint);
        }
        rest = &after[end + 1..];
    }
}

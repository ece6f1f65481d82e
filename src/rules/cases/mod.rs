//! `rules test`: a retailer's expectations (a small TOML file of lifecycle
//! cases, role × reason matrices and receipts) checked against a rule set.
//! Each failing case is named by its line, with what was decided instead
//! and the rule row that decided it.

mod raw;
mod receipt;

use super::{BlockFacts, Facts, Method, Outcome, RuleSet};
use crate::domain::Status;
use crate::ErrorKey;
use std::fmt;

/// One expectation that did not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFailure {
    pub line: usize,
    /// The case in words, e.g. "Block active bound registered, role director, reason 3".
    pub case: String,
    pub expected: String,
    pub decided: String,
    /// Where the deciding rule stands and what it says.
    pub rule: String,
}

/// The outcome of a run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CaseReport {
    pub cases: usize,
    pub failures: Vec<CaseFailure>,
}

/// A cases file that cannot be run: its problems, each with its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CasesError(pub Vec<String>);

impl fmt::Display for CasesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("\n"))
    }
}

impl CaseReport {
    /// The report as `rules test` prints it, naming each failure by `file:line`.
    pub fn to_text(&self, file: &str) -> String {
        let mut s = String::new();
        for f in &self.failures {
            s.push_str(&format!(
                "{file}:{}: {}: expected {}, decided {}\n    decided by {}\n",
                f.line, f.case, f.expected, f.decided, f.rule
            ));
        }
        if self.failures.is_empty() {
            s.push_str(&format!("{file}: all {} cases pass\n", self.cases));
        } else {
            s.push_str(&format!("{file}: {} of {} cases fail\n", self.failures.len(), self.cases));
        }
        s
    }
}

/// Runs every expectation of `text` (the file `file`) against `rules`.
pub fn run(rules: &RuleSet, file: &str, text: &str) -> Result<CaseReport, CasesError> {
    let parsed: raw::CasesFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(0);
        CasesError(vec![format!("{file}:{line}: {}", e.message().trim())])
    })?;
    let mut cx = Run { rules, text, file, report: CaseReport::default(), errors: Vec::new() };
    for c in &parsed.case {
        let line = line_of(text, c.span().start);
        cx.lifecycle(line, c.get_ref());
    }
    for m in &parsed.matrix {
        cx.matrix(m.get_ref());
    }
    for r in &parsed.receipt {
        receipt::run(&mut cx, r.span().start, r.get_ref());
    }
    if cx.errors.is_empty() {
        Ok(cx.report)
    } else {
        Err(CasesError(cx.errors))
    }
}

pub(super) fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

pub(super) struct Run<'a> {
    pub rules: &'a RuleSet,
    pub text: &'a str,
    pub file: &'a str,
    pub report: CaseReport,
    pub errors: Vec<String>,
}

impl Run<'_> {
    /// The line of `key = …` in the table that starts at `start` (the
    /// table's own line when the key is not written there).
    pub fn key_line(&self, start: usize, key: &str) -> usize {
        let table = &self.text[start.min(self.text.len())..];
        let end = table[1..].find("\n[[").map(|i| i + 1).unwrap_or(table.len());
        let found = table[..end].find(&format!("\n{key} =")).map(|i| i + 1).unwrap_or(0);
        line_of(self.text, start + found)
    }

    pub fn error(&mut self, line: usize, msg: String) {
        self.errors.push(format!("{}:{line}: {msg}", self.file));
    }

    pub fn check(&mut self, line: usize, case: String, expected: String, decided: String, rule: String) {
        self.report.cases += 1;
        if expected != decided {
            self.report.failures.push(CaseFailure { line, case, expected, decided, rule });
        }
    }

    fn matrix(&mut self, m: &raw::RawMatrix) {
        for row in &m.rows {
            let line = line_of(self.text, row.span().start);
            let cells: Vec<&str> = row.get_ref().expect.split_whitespace().collect();
            if cells.len() != m.roles.len() {
                let msg = format!("{} cells for {} roles; write one per role", cells.len(), m.roles.len());
                self.error(line, msg);
                continue;
            }
            for (role, cell) in m.roles.iter().zip(cells) {
                let expect = match cell {
                    "yes" => "OK".to_string(),
                    "-" => m.no.clone(),
                    key => key.to_string(),
                };
                let c = raw::RawCase {
                    name: m.name.clone(),
                    method: m.method.clone(),
                    status: m.status.clone(),
                    role: Some(role.clone()),
                    bound: m.bound,
                    registered: m.registered,
                    reason: row.get_ref().reason.clone(),
                    block_reason: row.get_ref().block_reason.clone(),
                    blocker: m.blocker.clone(),
                    expect,
                    to: None,
                };
                self.lifecycle(line, &c);
            }
        }
    }

    fn lifecycle(&mut self, line: usize, c: &raw::RawCase) {
        let r = self.rules;
        let Some(method) = Method::from_name(&c.method) else {
            return self.error(line, format!("unknown method `{}`", c.method));
        };
        let Some(status) = Status::from_ident(&c.status) else {
            return self.error(line, format!("unknown status `{}`; use new, issued, active or blocked", c.status));
        };
        let Some(role_name) = &c.role else { return self.error(line, "a case needs a `role`".into()) };
        let Some(role) = r.role(role_name) else {
            return self.error(line, format!("unknown role `{role_name}`"));
        };
        let blocker = match &c.blocker {
            Some(b) => match r.role(b) {
                Some(x) => Some(x),
                None => return self.error(line, format!("unknown role `{b}` in blocker")),
            },
            None => None,
        };
        if c.expect != "OK" && ErrorKey::from_key(&c.expect).is_none() {
            return self.error(line, format!("unknown expectation `{}`; use OK or an error key", c.expect));
        }
        let mut what = format!("{} {}", method.name(), c.status);
        what.push_str(if c.bound { " bound" } else { " not bound" });
        what.push_str(if c.registered { " registered" } else { " not registered" });
        what.push_str(&format!(", role {role_name}"));
        if let Some(x) = &c.reason {
            what.push_str(&format!(", reason {x}"));
        }
        if let Some(x) = &c.block_reason {
            what.push_str(&format!(", blocked with {x}"));
        }
        if let Some(x) = &c.blocker {
            what.push_str(&format!(" by {x}"));
        }
        if let Some(n) = &c.name {
            what = format!("{n}: {what}");
        }
        if !r.may_call(role, method) {
            let src = r.source(r.role_rule(role));
            let rule = format!("{}:{}  {}", src.file, src.line, src.summary);
            return self.check(line, what, c.expect.clone(), "AccessDenied".into(), rule);
        }
        let facts = Facts {
            method,
            status,
            bound: c.bound,
            registered: c.registered,
            role,
            reason: match method {
                Method::Block => c.reason.as_deref().and_then(|x| r.block_reason(x)),
                _ => c.reason.as_deref().and_then(|x| r.unblock_reason(x)),
            },
            block: (method == Method::UnBlock)
                .then(|| BlockFacts { reason: c.block_reason.as_deref().and_then(|x| r.block_reason(x)), blocker }),
        };
        let d = r.decide(&facts);
        let src = r.source(d.rule);
        let rule = format!("{}:{}  {}", src.file, src.line, src.summary);
        let (decided, expected) = match (d.outcome, &c.to) {
            (Outcome::Refuse(k), _) => (k.to_string(), c.expect.clone()),
            (Outcome::To(s), Some(_)) => (format!("OK, the card becomes {}", s.ident()), expect_to(c)),
            (Outcome::Stay, Some(_)) => ("OK, no change".to_string(), expect_to(c)),
            (_, None) => ("OK".to_string(), c.expect.clone()),
        };
        self.check(line, what, expected, decided, rule);
    }
}

fn expect_to(c: &raw::RawCase) -> String {
    match &c.to {
        Some(to) if c.expect == "OK" && to == "stay" => "OK, no change".to_string(),
        Some(to) if c.expect == "OK" => format!("OK, the card becomes {to}"),
        _ => c.expect.clone(),
    }
}

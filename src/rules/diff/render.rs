//! A diff as a person reads it (grouped text) and as a tool reads it (JSON).

use super::{DecisionChange, RuleDiff};
use std::fmt::{self, Write};

impl RuleDiff {
    /// The text report; `samples` describes the sample receipts (from [`super::samples`]).
    pub fn to_text(&self, samples: &str) -> String {
        let mut s = String::new();
        let differ: usize = self.decisions.iter().map(|d| d.cases).sum();
        let _ = writeln!(s, "{} lifecycle decisions compared, {differ} differ.", self.cases_compared);
        if self.is_empty() {
            s.push_str("No differences: both rule sets decide, read and compute alike.\n");
            return s;
        }
        if !self.decisions.is_empty() {
            s.push_str("\nDecisions\n");
            let mut last = String::new();
            for d in &self.decisions {
                let head = heading(d);
                if head != last {
                    let _ = writeln!(s, "  {head}:");
                    last = head;
                }
                let by = d.blockers.as_deref().map(|b| format!(", blocked by {b}")).unwrap_or_default();
                let n = if d.cases == 1 { "case" } else { "cases" };
                let _ = writeln!(s, "    was {}, now {} — {} {n}{by}: {}", d.old, d.new, d.cases, d.cards);
            }
        }
        if !self.messages.is_empty() {
            s.push_str("\nMessages (same answer, another Value)\n");
            for m in &self.messages {
                let _ = writeln!(s, "  {} — {} cases:\n    was «{}»\n    now «{}»", m.method, m.cases, m.old, m.new);
            }
        }
        if !self.access.is_empty() {
            s.push_str("\nAccess\n");
            for a in &self.access {
                let _ = writeln!(s, "  {} calling {}: was {}, now {}", a.role, a.method, a.old, a.new);
            }
        }
        if !self.settings.is_empty() {
            s.push_str("\nSettings\n");
            for c in &self.settings {
                let _ = writeln!(s, "  {}: {} → {}", c.what, c.old, c.new);
            }
        }
        if !self.receipts.is_empty() {
            let _ = writeln!(s, "\nSample receipts whose figures change ({samples})");
            let w0 = self.receipts.iter().map(|r| r.receipt.chars().count()).max().unwrap_or(0).max(7);
            let w1 = self.receipts.iter().map(|r| r.figure.len()).max().unwrap_or(0).max(6);
            let w2 = self.receipts.iter().map(|r| r.old.chars().count()).max().unwrap_or(0).max(3);
            let _ = writeln!(s, "  {:<w0$}  {:<w1$}  {:>w2$}  new", "receipt", "figure", "old");
            for r in &self.receipts {
                let _ = writeln!(s, "  {:<w0$}  {:<w1$}  {:>w2$}  {}", r.receipt, r.figure, r.old, r.new);
            }
        }
        s
    }

    /// The JSON report, for tools.
    pub fn to_json(&self, samples: &str) -> String {
        #[derive(serde::Serialize)]
        struct Report<'a> {
            changed: bool,
            sample_receipts: &'a str,
            #[serde(flatten)]
            diff: &'a RuleDiff,
        }
        serde_json::to_string_pretty(&Report { changed: !self.is_empty(), sample_receipts: samples, diff: self })
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}

fn heading(d: &DecisionChange) -> String {
    let mut h = d.method.clone();
    if let Some(r) = &d.reason {
        h.push_str(&format!(" with reason {r}"));
    }
    if let Some(b) = &d.block_reason {
        h.push_str(&format!(" of a card blocked with {b}"));
    }
    h.push_str(&format!(", role {}", d.role));
    h
}

impl fmt::Display for RuleDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text("the shipped samples"))
    }
}

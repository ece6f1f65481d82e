//! The status machine as a diagram (Graphviz DOT, Mermaid, or SVG via `svg`), one edge per
//! transition row that moves a card, labelled with its method and guards.

use super::{Outcome, RuleSet, TransitionDef};
use crate::domain::Status;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphFormat {
    Dot,
    Mermaid,
    /// Drawn by `svg::status_machine`.
    Svg,
}

fn label(t: &TransitionDef) -> String {
    let mut l = t.method.name().to_string();
    let mut guards = Vec::new();
    if let Some(b) = t.bound {
        guards.push(if b { "bound" } else { "not bound" });
    }
    if let Some(r) = t.registered {
        guards.push(if r { "registered" } else { "not registered" });
    }
    if !guards.is_empty() {
        l.push_str(&format!(" [{}]", guards.join(", ")));
    }
    l
}

pub(super) fn edges(rules: &RuleSet) -> Vec<(Status, Status, String, bool)> {
    let mut out = Vec::new();
    for t in &rules.transitions {
        for from in Status::ALL {
            if t.from & (1 << from.index()) == 0 {
                continue;
            }
            match t.outcome {
                Outcome::To(to) => out.push((from, to, label(t), false)),
                Outcome::Stay => out.push((from, from, label(t), true)),
                Outcome::Refuse(_) => {}
            }
        }
    }
    out
}

pub fn render(rules: &RuleSet, format: GraphFormat) -> String {
    let mut s = String::new();
    match format {
        GraphFormat::Svg => return super::svg::status_machine(rules),
        GraphFormat::Dot => {
            s.push_str("digraph card_status {\n  rankdir=LR;\n  node [shape=box, style=rounded];\n");
            for st in Status::ALL {
                s.push_str(&format!(
                    "  {} [label=\"{} {}\\n{}\"];\n",
                    st.ident(),
                    rules.status_code(st),
                    st.ident(),
                    rules.status_name(st).replace('"', "\\\"")
                ));
            }
            for (from, to, l, stay) in edges(rules) {
                let style = if stay { ", style=dashed" } else { "" };
                s.push_str(&format!("  {} -> {} [label=\"{}\"{}];\n", from.ident(), to.ident(), l, style));
            }
            s.push_str("}\n");
        }
        GraphFormat::Mermaid => {
            s.push_str("stateDiagram-v2\n");
            for st in Status::ALL {
                s.push_str(&format!(
                    "    {}: {} {} ({})\n",
                    st.ident(),
                    rules.status_code(st),
                    st.ident(),
                    rules.status_name(st)
                ));
            }
            s.push_str("    [*] --> new\n");
            for (from, to, l, stay) in edges(rules) {
                let l = if stay { format!("{l} (no change)") } else { l };
                s.push_str(&format!("    {} --> {}: {}\n", from.ident(), to.ident(), l.replace(':', " ")));
            }
        }
    }
    s
}

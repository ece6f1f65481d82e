//! `cashdesk rules …`: check, explain, draw, compare and test a rule set.
//! Flags are parsed here; what each command computes lives in the library
//! (`cashdesk_card::rules`), so tests and tools see the same answers.

mod explain;
mod receipt_json;

use cashdesk_card::rules::{GraphFormat, RuleSet};
use clap::{Subcommand, ValueEnum};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Clone, Copy, ValueEnum)]
pub enum GraphKind {
    Dot,
    Mermaid,
    Svg,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
pub enum RulesCommand {
    /// Check a rule set; exit 0 when it is sound, else list every problem.
    /// Warnings (a status never reached, a block nobody can lift, a
    /// replacement card that can be unblocked) are listed too.
    Check {
        dir: PathBuf,
        /// Exit 1 when there are warnings (for a retailer's CI).
        #[arg(long)]
        deny_warnings: bool,
    },
    /// Show the decision for given inputs and the rule row behind it, or the
    /// figures of a receipt (--receipt).
    Explain(Box<explain::ExplainArgs>),
    /// Show what behaves differently under NEW than under OLD: every lifecycle
    /// decision, access, names, messages, settings and sample receipts.
    /// Exit 0 when nothing changes, 1 when something does, 2 on an error.
    Diff {
        old: PathBuf,
        new: PathBuf,
        #[arg(long, value_enum, default_value = "text")]
        format: ReportFormat,
    },
    /// Check a file of expectations (cases, matrices, receipts) against a
    /// rule set; exit 0 when all hold, 1 when one fails, 2 on an error.
    Test { dir: PathBuf, cases: PathBuf },
    /// Print the status machine as Graphviz DOT, Mermaid or SVG (drawn in
    /// process, no external program), or the block / unblock matrices as SVG.
    Graph {
        dir: PathBuf,
        #[arg(long, value_enum, default_value = "dot")]
        format: GraphKind,
        /// Draw the role × reason matrices instead of the status machine (SVG only).
        #[arg(long)]
        matrices: bool,
    },
}

/// Writes a command's answer. A closed pipe (`… | head`) ends the output
/// quietly instead of panicking.
pub fn emit(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
}

/// Loads a set, printing its problems when it does not check.
pub fn load(dir: &Path) -> Option<RuleSet> {
    match RuleSet::load_dir(dir) {
        Ok(r) => Some(r),
        Err(e) => {
            eprintln!("{e}");
            None
        }
    }
}

pub fn run(c: RulesCommand) -> ExitCode {
    match c {
        RulesCommand::Check { dir, deny_warnings } => match load(&dir) {
            Some(r) => {
                let warnings = r.warnings();
                for w in &warnings {
                    eprintln!("warning: {w}");
                }
                let note = match warnings.len() {
                    0 => String::new(),
                    n => format!(", {n} warning(s)"),
                };
                emit(&format!(
                    "{}: the rule set checks ({} roles, {} transitions){note}\n",
                    dir.display(),
                    r.role_names().count(),
                    r.transition_count()
                ));
                ExitCode::from(if deny_warnings && !warnings.is_empty() { 1 } else { 0 })
            }
            None => ExitCode::FAILURE,
        },
        RulesCommand::Graph { dir, format, matrices } => {
            let Some(r) = load(&dir) else { return ExitCode::FAILURE };
            let f = match format {
                GraphKind::Dot => GraphFormat::Dot,
                GraphKind::Mermaid => GraphFormat::Mermaid,
                GraphKind::Svg => GraphFormat::Svg,
            };
            match (matrices, f) {
                (true, GraphFormat::Svg) => emit(&cashdesk_card::rules::svg::matrices(&r)),
                (true, _) => {
                    eprintln!("error: --matrices is drawn as SVG only; add --format svg");
                    return ExitCode::from(2);
                }
                (false, f) => emit(&r.graph(f)),
            }
            ExitCode::SUCCESS
        }
        RulesCommand::Explain(a) => explain::run(*a),
        RulesCommand::Test { dir, cases } => {
            let Some(r) = load(&dir) else { return ExitCode::from(2) };
            let text = match std::fs::read_to_string(&cases) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("error: cannot read {}: {e}", cases.display());
                    return ExitCode::from(2);
                }
            };
            let shown = cases.display().to_string();
            match cashdesk_card::rules::cases::run(&r, &shown, &text) {
                Ok(report) => {
                    emit(&report.to_text(&shown));
                    ExitCode::from(if report.failures.is_empty() { 0 } else { 1 })
                }
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::from(2)
                }
            }
        }
        RulesCommand::Diff { old, new, format } => {
            let (Some(a), Some(b)) = (load(&old), load(&new)) else { return ExitCode::from(2) };
            let d = cashdesk_card::rules::diff::diff(&a, &b);
            let samples = cashdesk_card::rules::diff::samples(&a, &b);
            emit(&match format {
                ReportFormat::Text => d.to_text(&samples),
                ReportFormat::Json => d.to_json(&samples) + "\n",
            });
            ExitCode::from(if d.is_empty() { 0 } else { 1 })
        }
    }
}

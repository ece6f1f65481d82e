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
}

#[derive(Subcommand)]
pub enum RulesCommand {
    /// Check a rule set; exit 0 when it is sound, else list every problem.
    Check { dir: PathBuf },
    /// Show the decision for given inputs and the rule row behind it, or the
    /// figures of a receipt (--receipt).
    Explain(Box<explain::ExplainArgs>),
    /// Print the status machine as Graphviz DOT or Mermaid.
    Graph {
        dir: PathBuf,
        #[arg(long, value_enum, default_value = "dot")]
        format: GraphKind,
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
        RulesCommand::Check { dir } => match load(&dir) {
            Some(r) => {
                emit(&format!(
                    "{}: the rule set checks ({} roles, {} transitions)\n",
                    dir.display(),
                    r.role_names().count(),
                    r.transition_count()
                ));
                ExitCode::SUCCESS
            }
            None => ExitCode::FAILURE,
        },
        RulesCommand::Graph { dir, format } => match load(&dir) {
            Some(r) => {
                let f = match format {
                    GraphKind::Dot => GraphFormat::Dot,
                    GraphKind::Mermaid => GraphFormat::Mermaid,
                };
                emit(&r.graph(f));
                ExitCode::SUCCESS
            }
            None => ExitCode::FAILURE,
        },
        RulesCommand::Explain(a) => explain::run(*a),
    }
}

//! `cashdesk`: the command line of cashdesk-card. Parses flags, builds a
//! config, calls the library.

use anyhow::{bail, Context};
use cashdesk_card::rules::{BlockFacts, Facts, GraphFormat, Method, RuleSet};
use cashdesk_card::server::{ServeConfig, Server};
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Deserialize;
use std::io::{BufRead, IsTerminal, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// jemalloc, not the system allocator: a durable state change allocates and
/// frees sled's node copies on one thread and its epoch collector frees them
/// on others, which glibc's per-thread arenas handle poorly. With jemalloc,
/// 32 concurrent durable callers reach ~8.3–8.8× one caller instead of
/// ~7.3–7.8× (`benches/group_commit.rs`, alternated runs; README Figures).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(name = "cashdesk", version, about = "Loyalty-card processing: rules, store and the HTTP API cash desks call")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server.
    Serve(ServeArgs),
    /// Manage the users file.
    #[command(subcommand)]
    User(UserCommand),
    /// Bulk-load contacts, cards or bonus lots from CSV.
    Import(ImportArgs),
    /// Read the server's integration log.
    Log(LogArgs),
    /// Check, explain and draw a rule set.
    #[command(subcommand)]
    Rules(RulesCommand),
}

#[derive(Args)]
struct ServeArgs {
    /// Data directory (the store and the journal live here).
    #[arg(long, env = "CASHDESK_DATA")]
    data: Option<PathBuf>,
    /// Rule directory.
    #[arg(long, env = "CASHDESK_RULES")]
    rules: Option<PathBuf>,
    /// Users file (TOML with Argon2id hashes).
    #[arg(long, env = "CASHDESK_USERS")]
    users: Option<PathBuf>,
    /// Address to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free port).
    #[arg(long, env = "CASHDESK_LISTEN")]
    listen: Option<SocketAddr>,
    /// Log every request and response body, not only errors.
    #[arg(long, env = "CASHDESK_LOG_REQUESTS")]
    log_requests: bool,
    /// Largest request body in bytes (default 65536).
    #[arg(long, env = "CASHDESK_BODY_LIMIT")]
    body_limit: Option<usize>,
    /// Operational log lines on standard error: text for people, json (one
    /// object a line) for log shippers.
    #[arg(long, env = "CASHDESK_LOG_FORMAT", value_enum)]
    log_format: Option<LogFormat>,
    /// Serve Prometheus metrics at http://ADDR/metrics (no auth; off when not given).
    #[arg(long, env = "CASHDESK_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    /// Config file (TOML: data, rules, users, listen, log_requests, body_limit,
    /// log_format, metrics_listen).
    #[arg(long, env = "CASHDESK_CONFIG")]
    config: Option<PathBuf>,
    /// Run on a fresh demo data set with one user per role, and print how to call it.
    #[arg(long)]
    demo: bool,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    data: Option<PathBuf>,
    rules: Option<PathBuf>,
    users: Option<PathBuf>,
    listen: Option<SocketAddr>,
    log_requests: Option<bool>,
    body_limit: Option<usize>,
    log_format: Option<LogFormat>,
    metrics_listen: Option<SocketAddr>,
}

#[derive(Clone, Copy, Default, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add or replace a user; the password is read from standard input (one line).
    Add {
        #[arg(long)]
        users: PathBuf,
        #[arg(long)]
        name: String,
        #[arg(long)]
        role: String,
        /// Rule directory whose roles the role must be one of (default: the shipped roles).
        #[arg(long)]
        rules: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ImportWhat {
    Contacts,
    Cards,
    Bonuses,
}

#[derive(Args)]
struct ImportArgs {
    #[arg(long)]
    data: PathBuf,
    #[arg(long)]
    rules: PathBuf,
    what: ImportWhat,
    file: PathBuf,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

#[derive(Args)]
struct LogArgs {
    #[arg(long)]
    data: PathBuf,
    /// Only integration errors.
    #[arg(long)]
    errors: bool,
    /// Only entries since: RFC 3339, YYYY-MM-DD, or a duration ago (15m, 2h, 3d).
    #[arg(long)]
    since: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum GraphKind {
    Dot,
    Mermaid,
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Check a rule set; exit 0 when it is sound, else list every problem.
    Check { dir: PathBuf },
    /// Show the decision for given inputs and the rule row behind it.
    Explain {
        dir: PathBuf,
        /// Issue, BindTo, Active, Block or UnBlock.
        #[arg(long)]
        method: String,
        /// new, issued, active or blocked.
        #[arg(long)]
        status: String,
        #[arg(long)]
        role: String,
        /// The card is bound to a contact.
        #[arg(long)]
        bound: bool,
        /// The contact's registration is sufficient.
        #[arg(long)]
        registered: bool,
        /// Block: the block reason code; UnBlock: the unblock reason code.
        #[arg(long)]
        reason: Option<String>,
        /// UnBlock: the reason code the card was blocked with.
        #[arg(long)]
        block_reason: Option<String>,
        /// UnBlock: the role that blocked the card.
        #[arg(long)]
        blocker: Option<String>,
    },
    /// Print the status machine as Graphviz DOT or Mermaid.
    Graph {
        dir: PathBuf,
        #[arg(long, value_enum, default_value = "dot")]
        format: GraphKind,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `serve` may ask for JSON in its config file: it starts logging itself.
    if !matches!(cli.command, Command::Serve(_)) {
        init_logging(LogFormat::Text);
    }
    let result = match cli.command {
        Command::Serve(a) => serve(a),
        Command::User(UserCommand::Add { users, name, role, rules }) => {
            user_add(&users, &name, &role, rules.as_deref())
        }
        Command::Import(a) => import(a),
        Command::Log(a) => log(a),
        Command::Rules(c) => return rules(c),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Operational logs on standard error, filtered by `RUST_LOG` (default
/// `info,sled=warn`). Text has colours only on a terminal (and without `NO_COLOR`).
fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,sled=warn".into());
    let logs = tracing_subscriber::fmt().with_writer(std::io::stderr).with_env_filter(filter);
    match format {
        LogFormat::Text => {
            let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
            logs.with_ansi(colour).init();
        }
        LogFormat::Json => logs.json().flatten_event(true).with_span_list(false).init(),
    }
}

/// Starts the `/metrics` listener when an address is given; its bound address.
fn start_metrics(rt: &tokio::runtime::Runtime, addr: Option<SocketAddr>) -> anyhow::Result<Option<SocketAddr>> {
    addr.map(|addr| rt.block_on(cashdesk_card::metrics::serve(addr))).transpose().map_err(Into::into)
}

fn serve(a: ServeArgs) -> anyhow::Result<()> {
    let file: ConfigFile = match &a.config {
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
            toml::from_str(&text).with_context(|| format!("{} is not a valid config file", p.display()))?
        }
        None => ConfigFile::default(),
    };
    init_logging(a.log_format.or(file.log_format).unwrap_or_default());
    let metrics_listen = a.metrics_listen.or(file.metrics_listen);
    let listen = a.listen.or(file.listen).unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
    let body_bytes_max = a.body_limit.or(file.body_limit).unwrap_or(cashdesk_card::http::BODY_BYTES_MAX);
    let log_requests = a.log_requests || file.log_requests.unwrap_or(false);
    let rt = tokio::runtime::Runtime::new()?;
    if a.demo {
        let data = match a.data.or(file.data) {
            Some(d) => d,
            None => std::env::temp_dir().join(format!(
                "cashdesk-demo-{}-{}",
                std::process::id(),
                chrono::Utc::now().format("%Y%m%d%H%M%S")
            )),
        };
        if data.join("store").exists() {
            bail!("{} already holds a store; --demo needs a fresh directory", data.display());
        }
        let setup = cashdesk_card::demo::prepare(&data, a.rules.or(file.rules).as_deref())?;
        let config = ServeConfig {
            data: data.clone(),
            rules: setup.rules_dir.clone(),
            users: setup.users_file.clone(),
            listen,
            log_requests,
            body_bytes_max,
        };
        let server = Server::open(config)?;
        let summary = cashdesk_card::demo::seed(&server.service)?;
        let metrics = start_metrics(&rt, metrics_listen)?;
        rt.block_on(server.run(move |addr| {
            cashdesk_card::demo::print_welcome(&mut std::io::stdout(), addr, &data, &setup, &summary);
            print_metrics_address(metrics);
        }))?;
        return Ok(());
    }
    let need =
        |v: Option<PathBuf>, flag: &str| v.with_context(|| format!("--{flag} is required (or set it in --config)"));
    let config = ServeConfig {
        data: need(a.data.or(file.data), "data")?,
        rules: need(a.rules.or(file.rules), "rules")?,
        users: need(a.users.or(file.users), "users")?,
        listen,
        log_requests,
        body_bytes_max,
    };
    let server = Server::open(config)?;
    let metrics = start_metrics(&rt, metrics_listen)?;
    rt.block_on(server.run(|addr| {
        println!("cashdesk listening on http://{addr}");
        print_metrics_address(metrics);
    }))?;
    Ok(())
}

/// After the listening line (which scripts read first): where `/metrics` is.
fn print_metrics_address(metrics: Option<SocketAddr>) {
    if let Some(addr) = metrics {
        println!("metrics on http://{addr}/metrics");
    }
    let _ = std::io::stdout().flush();
}

fn user_add(users: &Path, name: &str, role: &str, rules: Option<&Path>) -> anyhow::Result<()> {
    let set = match rules {
        Some(dir) => RuleSet::load_dir(dir).map_err(|e| anyhow::anyhow!("the rules do not check:\n{e}"))?,
        None => RuleSet::shipped(),
    };
    if set.role(role).is_none() {
        let known: Vec<&str> = set.role_names().collect();
        bail!("unknown role `{role}`; the roles are {} (use --rules DIR for a custom set)", known.join(", "));
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        bail!("the password (read from standard input) is empty");
    }
    cashdesk_card::auth::add_or_replace_user(users, name, role, password)?;
    eprintln!("user `{name}` ({role}) saved in {}", users.display());
    Ok(())
}

fn import(a: ImportArgs) -> anyhow::Result<()> {
    let rules = RuleSet::load_dir(&a.rules).map_err(|e| anyhow::anyhow!("the rules do not check:\n{e}"))?;
    let store = cashdesk_card::store::SledStore::open(&a.data.join("store"))
        .context("cannot open the store (is the server running on it?)")?;
    let service = cashdesk_card::service::CardService::new(
        std::sync::Arc::new(store),
        std::sync::Arc::new(cashdesk_card::rules::RuleHandle::new(rules)),
    );
    let kind = match a.what {
        ImportWhat::Contacts => cashdesk_card::import::ImportKind::Contacts,
        ImportWhat::Cards => cashdesk_card::import::ImportKind::Cards,
        ImportWhat::Bonuses => cashdesk_card::import::ImportKind::Bonuses,
    };
    let caller = cashdesk_card::service::Caller::new("import", "administrator");
    let report = cashdesk_card::import::import_file(&service, &caller, kind, &a.file, !a.quiet)?;
    for bad in &report.bad {
        eprintln!("line {}: {}: {}", bad.line, bad.key, bad.message);
    }
    println!(
        "{} rows read, {} imported, {} bad, in {:.2} s",
        report.rows,
        report.imported,
        report.bad.len(),
        report.seconds
    );
    if report.bad.is_empty() {
        Ok(())
    } else {
        bail!("{} bad line(s); the good lines were imported", report.bad.len())
    }
}

fn log(a: LogArgs) -> anyhow::Result<()> {
    let since =
        a.since.as_deref().map(cashdesk_card::journal::parse_since).transpose().map_err(|e| anyhow::anyhow!(e))?;
    let filter = cashdesk_card::journal::JournalFilter { errors_only: a.errors, since };
    let entries = cashdesk_card::journal::read_journal(&a.data.join("journal"), &filter)?;
    let mut out = std::io::stdout().lock();
    for e in &entries {
        writeln!(out, "{}", cashdesk_card::journal::format_entry(e))?;
    }
    Ok(())
}

fn rules(c: RulesCommand) -> ExitCode {
    let load = |dir: &Path| match RuleSet::load_dir(dir) {
        Ok(r) => Some(r),
        Err(e) => {
            eprintln!("{e}");
            None
        }
    };
    match c {
        RulesCommand::Check { dir } => match load(&dir) {
            Some(r) => {
                println!(
                    "{}: the rule set checks ({} roles, {} transitions)",
                    dir.display(),
                    r.role_names().count(),
                    r.transition_count()
                );
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
                print!("{}", r.graph(f));
                ExitCode::SUCCESS
            }
            None => ExitCode::FAILURE,
        },
        RulesCommand::Explain { dir, method, status, role, bound, registered, reason, block_reason, blocker } => {
            let Some(r) = load(&dir) else { return ExitCode::FAILURE };
            match explain(&r, &method, &status, &role, bound, registered, reason, block_reason, blocker) {
                Ok(text) => {
                    println!("{text}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn explain(
    r: &RuleSet,
    method: &str,
    status: &str,
    role: &str,
    bound: bool,
    registered: bool,
    reason: Option<String>,
    block_reason: Option<String>,
    blocker: Option<String>,
) -> anyhow::Result<String> {
    let m = Method::from_name(method).context("unknown method; use Issue, BindTo, Active, Block or UnBlock")?;
    let st = cashdesk_card::domain::Status::from_ident(status)
        .context("unknown status; use new, issued, active or blocked")?;
    let role_id = r.role(role).with_context(|| format!("unknown role `{role}`"))?;
    let reason_id = match (&reason, m) {
        (Some(code), Method::Block) => {
            Some(r.block_reason(code).with_context(|| format!("unknown block reason `{code}`"))?)
        }
        (Some(code), Method::UnBlock) => {
            Some(r.unblock_reason(code).with_context(|| format!("unknown unblock reason `{code}`"))?)
        }
        _ => None,
    };
    let block = match m {
        Method::UnBlock => Some(BlockFacts {
            reason: block_reason.as_deref().and_then(|c| r.block_reason(c)),
            blocker: blocker.as_deref().and_then(|b| r.role(b)),
        }),
        _ => None,
    };
    if matches!(m, Method::Block | Method::UnBlock) && reason.is_none() {
        bail!("--reason is required for {}", m.name());
    }
    let facts = Facts { method: m, status: st, bound, registered, role: role_id, reason: reason_id, block };
    let d = r.decide(&facts);
    let src = r.source(d.rule);
    let mut out = format!("decision: {}\nrule:     {}:{}  {}", r.describe(&d), src.file, src.line, src.summary);
    let why = r.explain(&facts, &d, "NUMBER");
    if !why.is_empty() {
        out.push_str(&format!("\nValue:    {why}"));
    }
    Ok(out)
}

//! `cashdesk`: the command line of cashdesk-card. Parses flags, builds a
//! config, calls the library.

use anyhow::{bail, Context};
mod rules_cli;

use cashdesk_card::rules::RuleSet;
use cashdesk_card::server::{ServeConfig, Server, ServerError};
use cashdesk_card::store::StoreError;
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Deserialize;
use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod export;
mod listen;
mod store_cli;
mod user;

/// jemalloc, not the system allocator: a durable state change allocates and
/// frees sled's node copies on one thread and its epoch collector frees them
/// on others, which glibc's per-thread arenas handle poorly. With jemalloc,
/// 32 concurrent durable callers reach ~8.3–8.8× one caller instead of
/// ~7.3–7.8× (`benches/group_commit.rs`, alternated runs; README Figures).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read at its start: freed pages go back to the system
/// within about a second, from jemalloc's own background thread. Without it
/// jemalloc purges only while the program allocates, so after a burst (a
/// wave of thousands of half-open connections, closed at the header timeout)
/// an idle server kept the burst's pages (tests/serve_limits.rs measures it).
/// The symbol is prefixed because tikv-jemallocator prefixes jemalloc's.
#[cfg(all(not(target_env = "msvc"), target_os = "linux"))]
#[export_name = "_rjem_malloc_conf"]
#[used]
static JEMALLOC_CONF: &u8 = &b"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0\0"[0];

#[derive(Parser)]
#[command(name = "cashdesk", version, about = "Loyalty-card processing: rules, store and the HTTP API cash desks call")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server.
    Serve(Box<ServeArgs>),
    /// Manage the users file.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Bulk-load contacts, cards or bonus lots from CSV.
    Import(ImportArgs),
    /// Write the store as the CSV files `import` reads back (backup, migration).
    Export(export::ExportArgs),
    /// Work on a whole store: copy it between engines.
    #[command(subcommand)]
    Store(store_cli::StoreCommand),
    /// Read the server's integration log.
    Log(LogArgs),
    /// Check, explain and draw a rule set.
    #[command(subcommand)]
    Rules(rules_cli::RulesCommand),
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
    /// Address to listen on: 127.0.0.1:8080, a bare port (8080 = 127.0.0.1:8080),
    /// or HOST:PORT (resolved at start-up); port 0 picks a free port.
    #[arg(long, env = "CASHDESK_LISTEN", value_parser = listen::parse_listen)]
    listen: Option<SocketAddr>,
    /// Log every request and response body, not only errors
    /// (--log-requests=false turns it off; the environment takes true/false, 1/0, yes/no, on/off).
    #[arg(long, env = "CASHDESK_LOG_REQUESTS", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = parse_switch)]
    log_requests: Option<bool>,
    /// Days the integration journal keeps an entry (default 30, at most 36500):
    /// personal data a request carried is gone from the journal after them.
    #[arg(long, env = "CASHDESK_JOURNAL_RETENTION_DAYS", value_parser = retention_days)]
    journal_retention_days: Option<u32>,
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
    /// Seconds a client may take to send a request's head (default 10).
    #[arg(long, env = "CASHDESK_HEADER_TIMEOUT", value_parser = seconds)]
    header_timeout: Option<f64>,
    /// Seconds a client may take to send a request's body; then 408 (default 30).
    #[arg(long, env = "CASHDESK_BODY_TIMEOUT", value_parser = seconds)]
    body_timeout: Option<f64>,
    /// Seconds a keep-alive connection may stay idle (default 60).
    #[arg(long, env = "CASHDESK_IDLE_TIMEOUT", value_parser = seconds)]
    idle_timeout: Option<f64>,
    /// Most concurrent connections; new ones past it are closed at once
    /// (default: the open-files limit less 256 and a tenth).
    #[arg(long, env = "CASHDESK_MAX_CONNECTIONS", value_parser = clap::value_parser!(u64).range(1..))]
    max_connections: Option<u64>,
    /// Seconds in-flight requests may take to finish after SIGTERM (default 10).
    #[arg(long, env = "CASHDESK_SHUTDOWN_TIMEOUT", value_parser = seconds)]
    shutdown_timeout: Option<f64>,
    /// TLS certificate chain (PEM); with --tls-key the port speaks HTTPS.
    #[arg(long, env = "CASHDESK_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "CASHDESK_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Pid file, removed on exit (default DATA/cashdesk.pid).
    #[arg(long, env = "CASHDESK_PID_FILE")]
    pid_file: Option<PathBuf>,
    /// Config file (TOML: the settings above by their long names, `-` as `_`).
    #[arg(long, env = "CASHDESK_CONFIG")]
    config: Option<PathBuf>,
    /// Run on a fresh demo data set with one user per role, and print how to call it.
    #[arg(long)]
    demo: bool,
    #[command(flatten)]
    store: StoreArgs,
}

/// Where the cards, contacts and receipts live, and a PostgreSQL store's pool.
#[derive(Args, Clone, Default)]
struct StoreArgs {
    /// The store: a directory (sled) or postgres://user:password@host:port/database
    /// (PostgreSQL; several servers may share it, DATA then holds only this
    /// server's journal). Default: sled in DATA/store.
    #[arg(long, env = "CASHDESK_STORE")]
    store: Option<String>,
    /// PostgreSQL: most connections this server holds (default 16).
    #[arg(long, env = "CASHDESK_PG_POOL_SIZE", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pg_pool_size: Option<u32>,
    /// PostgreSQL: seconds to wait for a connection, new or from the pool (default 5).
    #[arg(long, env = "CASHDESK_PG_CONNECT_TIMEOUT", value_parser = seconds)]
    pg_connect_timeout: Option<f64>,
    /// PostgreSQL: seconds a statement, lock waits included, may run (default 30).
    #[arg(long, env = "CASHDESK_PG_STATEMENT_TIMEOUT", value_parser = seconds)]
    pg_statement_timeout: Option<f64>,
}

impl StoreArgs {
    fn pg_options(&self) -> cashdesk_card::store::PgOptions {
        let d = cashdesk_card::store::PgOptions::default();
        let secs = std::time::Duration::from_secs_f64;
        cashdesk_card::store::PgOptions {
            pool_size: self.pg_pool_size.unwrap_or(d.pool_size),
            connect_timeout: self.pg_connect_timeout.map(secs).unwrap_or(d.connect_timeout),
            statement_timeout: self.pg_statement_timeout.map(secs).unwrap_or(d.statement_timeout),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    data: Option<PathBuf>,
    rules: Option<PathBuf>,
    users: Option<PathBuf>,
    listen: Option<toml::Value>,
    log_requests: Option<bool>,
    journal_retention_days: Option<u32>,
    body_limit: Option<usize>,
    log_format: Option<LogFormat>,
    metrics_listen: Option<SocketAddr>,
    header_timeout: Option<f64>,
    body_timeout: Option<f64>,
    idle_timeout: Option<f64>,
    max_connections: Option<u64>,
    shutdown_timeout: Option<f64>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    pid_file: Option<PathBuf>,
}

/// A number of days from 1 to the journal's maximum.
fn retention_days(s: &str) -> Result<u32, String> {
    let max = cashdesk_card::journal::RETENTION_DAYS_MAX;
    match s.trim().parse::<u32>() {
        Ok(v) if (1..=max).contains(&v) => Ok(v),
        _ => Err(format!("`{s}` is not a whole number of days from 1 to {max}")),
    }
}

/// A positive number of seconds, e.g. `10` or `0.5`.
fn seconds(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 86_400.0 => Ok(v),
        _ => Err(format!("`{s}` is not a number of seconds between 0 and 86400 (e.g. 10 or 0.5)")),
    }
}

/// The connection settings of `serve`: flag (or environment), else config
/// file, else default.
struct Connection {
    timeouts: cashdesk_card::server::Timeouts,
    max_connections: Option<usize>,
    shutdown_timeout: std::time::Duration,
    tls: Option<cashdesk_card::server::TlsFiles>,
}

fn connection_settings(a: &ServeArgs, file: &ConfigFile) -> anyhow::Result<Connection> {
    use std::time::Duration;
    let secs = |flag: Option<f64>, key: Option<f64>, name: &str, default: Duration| -> anyhow::Result<Duration> {
        match flag.or(key) {
            None => Ok(default),
            Some(v) => seconds(&v.to_string()).map(Duration::from_secs_f64).map_err(|e| anyhow::anyhow!("{name}: {e}")),
        }
    };
    let d = cashdesk_card::server::Timeouts::default();
    let timeouts = cashdesk_card::server::Timeouts {
        header: secs(a.header_timeout, file.header_timeout, "header_timeout", d.header)?,
        body: secs(a.body_timeout, file.body_timeout, "body_timeout", d.body)?,
        idle: secs(a.idle_timeout, file.idle_timeout, "idle_timeout", d.idle)?,
    };
    let shutdown_timeout = secs(
        a.shutdown_timeout,
        file.shutdown_timeout,
        "shutdown_timeout",
        cashdesk_card::server::DEFAULT_SHUTDOWN_TIMEOUT,
    )?;
    let max_connections = match a.max_connections.or(file.max_connections) {
        Some(0) => bail!("max_connections must be at least 1"),
        Some(n) => Some(usize::try_from(n).unwrap_or(usize::MAX)),
        None => None,
    };
    let tls = match (a.tls_cert.clone().or(file.tls_cert.clone()), a.tls_key.clone().or(file.tls_key.clone())) {
        (Some(cert), Some(key)) => Some(cashdesk_card::server::TlsFiles { cert, key }),
        (None, None) => None,
        _ => bail!("TLS needs both a certificate (--tls-cert / tls_cert) and a key (--tls-key / tls_key)"),
    };
    Ok(Connection { timeouts, max_connections, shutdown_timeout, tls })
}

#[derive(Clone, Copy, Default, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum ImportWhat {
    Contacts,
    Cards,
    Bonuses,
}

#[derive(Args)]
struct ImportArgs {
    /// Data directory (as for serve: flag, CASHDESK_DATA, config file).
    #[arg(long, env = "CASHDESK_DATA")]
    data: Option<PathBuf>,
    /// Rule directory (flag, CASHDESK_RULES, config file).
    #[arg(long, env = "CASHDESK_RULES")]
    rules: Option<PathBuf>,
    /// Config file (its `data` and `rules` keys are used).
    #[arg(long, env = "CASHDESK_CONFIG")]
    config: Option<PathBuf>,
    #[command(flatten)]
    store: StoreArgs,
    what: ImportWhat,
    file: PathBuf,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

#[derive(Args)]
struct LogArgs {
    /// Data directory (as for serve: flag, CASHDESK_DATA, config file).
    #[arg(long, env = "CASHDESK_DATA")]
    data: Option<PathBuf>,
    /// Config file (its `data` key is used).
    #[arg(long, env = "CASHDESK_CONFIG")]
    config: Option<PathBuf>,
    /// Only integration errors.
    #[arg(long)]
    errors: bool,
    /// Only entries since: RFC 3339, YYYY-MM-DD, or a duration ago (15m, 2h, 3d).
    #[arg(long)]
    since: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `serve` may ask for JSON in its config file: it starts logging itself.
    if !matches!(cli.command, Command::Serve(_)) {
        init_logging(LogFormat::Text);
    }
    let result = match cli.command {
        Command::Serve(a) => serve(*a),
        Command::User(c) => user::run(c),
        Command::Import(a) => import(a),
        Command::Export(a) => export::run(a),
        Command::Store(c) => store_cli::run(c),
        Command::Log(a) => log(a),
        Command::Rules(c) => return rules_cli::run(c),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", each_cause_once(&e));
            ExitCode::FAILURE
        }
    }
}

/// A boolean setting as people and environments spell it.
fn parse_switch(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err("expected true/false, 1/0, yes/no or on/off".into()),
    }
}

/// The message and its causes, `: `-separated like `{:#}`, leaving out a
/// cause whose text the line already holds (an error that quotes its source
/// in its own message as well as returning it as `source()`).
fn each_cause_once(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// A store that another process holds is named by the data directory the
/// user gave (not the store inside it), without sled's own words about its
/// lock file; other store errors say what they say.
fn store_error(e: StoreError, data: &Path) -> anyhow::Error {
    match e {
        StoreError::Locked { .. } => {
            anyhow::anyhow!("another cashdesk is running on {}; stop it, or use another data directory", data.display())
        }
        other => other.into(),
    }
}

fn server_error(e: ServerError, data: &Path) -> anyhow::Error {
    match e {
        ServerError::Store(e) => store_error(e, data),
        other => other.into(),
    }
}

/// Reads the config file named by `--config`/CASHDESK_CONFIG, or none.
fn read_config(path: Option<&Path>) -> anyhow::Result<ConfigFile> {
    let Some(p) = path else { return Ok(ConfigFile::default()) };
    let text = std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
    toml::from_str(&text).with_context(|| format!("{} is not a valid config file", p.display()))
}

/// Writes to standard output; a reader that went away (`| head`) ends the
/// output quietly instead of failing.
fn write_stdout(write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match write(&mut out).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to standard output"),
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
    let file = read_config(a.config.as_deref())?;
    let file_listen = match &file.listen {
        Some(value) => Some(listen::from_config(value).map_err(|e| anyhow::anyhow!("config file: listen: {e}"))?),
        None => None,
    };
    init_logging(a.log_format.or(file.log_format).unwrap_or_default());
    let metrics_listen = a.metrics_listen.or(file.metrics_listen);
    let listen = a.listen.or(file_listen).unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
    let body_bytes_max = a.body_limit.or(file.body_limit).unwrap_or(cashdesk_card::http::BODY_BYTES_MAX);
    let log_requests = a.log_requests.or(file.log_requests).unwrap_or(false);
    let journal_retention_days = match a.journal_retention_days.or(file.journal_retention_days) {
        Some(days) => retention_days(&days.to_string()).map_err(|e| anyhow::anyhow!("journal_retention_days: {e}"))?,
        None => cashdesk_card::journal::RETENTION_DAYS_DEFAULT,
    };
    let conn = connection_settings(&a, &file)?;
    let pid_file = a.pid_file.clone().or(file.pid_file.clone());
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
        let setup = cashdesk_card::demo::prepare(&data, a.rules.or(file.rules).as_deref())
            .with_context(|| format!("cannot lay out the demo in {}", data.display()))?;
        let config = ServeConfig {
            log_requests,
            journal_retention_days,
            body_bytes_max,
            timeouts: conn.timeouts,
            max_connections: conn.max_connections,
            shutdown_timeout: conn.shutdown_timeout,
            tls: conn.tls,
            pid_file,
            ..ServeConfig::new(data.clone(), setup.rules_dir.clone(), setup.users_file.clone(), listen)
        };
        let server = Server::open(config).map_err(|e| server_error(e, &data))?;
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
        log_requests,
        journal_retention_days,
        body_bytes_max,
        timeouts: conn.timeouts,
        max_connections: conn.max_connections,
        shutdown_timeout: conn.shutdown_timeout,
        tls: conn.tls,
        pid_file,
        store: a.store.store.clone(),
        pg: a.store.pg_options(),
        ..ServeConfig::new(
            need(a.data.or(file.data), "data")?,
            need(a.rules.or(file.rules), "rules")?,
            need(a.users.or(file.users), "users")?,
            listen,
        )
    };
    let scheme = if config.tls.is_some() { "https" } else { "http" };
    let data = config.data.clone();
    let server = Server::open(config).map_err(|e| server_error(e, &data))?;
    let metrics = start_metrics(&rt, metrics_listen)?;
    rt.block_on(server.run(|addr| {
        println!("cashdesk listening on {scheme}://{addr}");
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

fn import(a: ImportArgs) -> anyhow::Result<()> {
    let file = read_config(a.config.as_deref())?;
    let data = a.data.or(file.data).context("--data is required (or CASHDESK_DATA, or `data` in --config)")?;
    let rules_dir =
        a.rules.or(file.rules).context("--rules is required (or CASHDESK_RULES, or `rules` in --config)")?;
    let rules = RuleSet::load_dir(&rules_dir).map_err(|e| anyhow::anyhow!("the rules do not check:\n{e}"))?;
    let store = cashdesk_card::store::open_store(a.store.store.as_deref(), &data, &a.store.pg_options())
        .map_err(|e| store_error(e, &data))?;
    let service = cashdesk_card::service::CardService::new(
        store,
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
    let file = read_config(a.config.as_deref())?;
    let data = a.data.or(file.data).context("--data is required (or CASHDESK_DATA, or `data` in --config)")?;
    let entries = cashdesk_card::journal::read_journal(&data.join("journal"), &filter)?;
    write_stdout(|out| {
        for e in &entries {
            writeln!(out, "{}", cashdesk_card::journal::format_entry(e))?;
        }
        Ok(())
    })
}

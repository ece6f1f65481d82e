//! `cashdesk user add|passwd|remove|list`: the users file from the command
//! line, with new passwords asked for without echo on a terminal.

use anyhow::{anyhow, bail, Context};
use cashdesk_card::auth::{self, Users, PASSWORD_CHARS_MIN};
use cashdesk_card::rules::RuleSet;
use clap::{Args, Subcommand};
use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum UserCommand {
    /// Add a user, or replace the role and password of one. The password is
    /// asked for twice, without echo, when standard input is a terminal;
    /// otherwise it is the first line of standard input.
    Add {
        #[command(flatten)]
        file: UsersFile,
        #[arg(long)]
        name: String,
        #[arg(long)]
        role: String,
        /// Rule directory whose roles the role must be one of (default: the
        /// rules of --config or CASHDESK_RULES, else the shipped roles).
        #[arg(long, env = "CASHDESK_RULES")]
        rules: Option<PathBuf>,
        #[command(flatten)]
        policy: PasswordPolicy,
    },
    /// Give a user a new password (read as for `add`); the role stays.
    Passwd {
        #[command(flatten)]
        file: UsersFile,
        #[arg(long)]
        name: String,
        #[command(flatten)]
        policy: PasswordPolicy,
    },
    /// Remove a user.
    Remove {
        #[command(flatten)]
        file: UsersFile,
        #[arg(long)]
        name: String,
    },
    /// List the users: name and role, one per line (never the hashes).
    List {
        #[command(flatten)]
        file: UsersFile,
    },
}

/// Where the users file is: `--users`, else CASHDESK_USERS, else the
/// config file's `users`.
#[derive(Args)]
pub struct UsersFile {
    /// Users file (TOML with Argon2id hashes).
    #[arg(long, env = "CASHDESK_USERS")]
    users: Option<PathBuf>,
    /// Config file (its `users` and `rules` keys are used).
    #[arg(long, env = "CASHDESK_CONFIG")]
    config: Option<PathBuf>,
}

#[derive(Args)]
pub struct PasswordPolicy {
    /// Shortest password accepted, in characters.
    #[arg(long, default_value_t = PASSWORD_CHARS_MIN, value_name = "CHARS")]
    min_password_length: usize,
}

pub fn run(command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Add { file, name, role, rules, policy } => {
            let config = crate::read_config(file.config.as_deref())?;
            let users = file.users.or(config.users).context(USERS_REQUIRED)?;
            check_role(&role, rules.or(config.rules).as_deref())?;
            let password = read_new_password(&name, policy.min_password_length)?;
            auth::add_or_replace_user(&users, &name, &role, &password)?;
            eprintln!("user `{name}` ({role}) saved in {}; {RELOAD_HINT}", users.display());
        }
        UserCommand::Passwd { file, name, policy } => {
            let users = users_path(file)?;
            // Before asking for a password that could not be used.
            if !Users::load(&users)?.roles().any(|(n, _)| n == name) {
                return Err(auth::AuthError::NoSuchUser { name, path: users }.into());
            }
            let password = read_new_password(&name, policy.min_password_length)?;
            let role = auth::change_password(&users, &name, &password)?;
            eprintln!("new password for `{name}` ({role}) saved in {}; {RELOAD_HINT}", users.display());
        }
        UserCommand::Remove { file, name } => {
            let users = users_path(file)?;
            let role = auth::remove_user(&users, &name)?;
            eprintln!("user `{name}` ({role}) removed from {}; {RELOAD_HINT}", users.display());
        }
        UserCommand::List { file } => {
            let users = Users::load(&users_path(file)?)?;
            crate::write_stdout(|out| {
                for (name, role) in users.roles() {
                    writeln!(out, "{name:<24} {role}")?;
                }
                Ok(())
            })?;
        }
    }
    Ok(())
}

const USERS_REQUIRED: &str = "--users is required (or CASHDESK_USERS, or `users` in --config)";
const RELOAD_HINT: &str = "a running server takes the change on SIGHUP";

fn users_path(file: UsersFile) -> anyhow::Result<PathBuf> {
    let config = crate::read_config(file.config.as_deref())?;
    file.users.or(config.users).context(USERS_REQUIRED)
}

fn check_role(role: &str, rules: Option<&Path>) -> anyhow::Result<()> {
    let set = match rules {
        Some(dir) => RuleSet::load_dir(dir).map_err(|e| anyhow!("the rules do not check:\n{e}"))?,
        None => RuleSet::shipped(),
    };
    if set.role(role).is_none() {
        let known: Vec<&str> = set.role_names().collect();
        bail!("unknown role `{role}`; the roles are {} (use --rules DIR for a custom set)", known.join(", "));
    }
    Ok(())
}

/// Asks twice without echo on a terminal; reads one line otherwise (a
/// script, a pipe). Refuses a password shorter than `min_chars`.
fn read_new_password(name: &str, min_chars: usize) -> anyhow::Result<String> {
    let hint = |m: String| anyhow!("{m}; nothing was changed (--min-password-length sets the minimum)");
    if !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).context("cannot read the password from standard input")?;
        let password = line.trim_end_matches(['\n', '\r']).to_string();
        auth::check_new_password(&password, min_chars).map_err(hint)?;
        return Ok(password);
    }
    let prompt = |text: String| rpassword::prompt_password(text).context("cannot read the password from the terminal");
    let password = prompt(format!("New password for {name} (at least {min_chars} characters): "))?;
    auth::check_new_password(&password, min_chars).map_err(hint)?;
    if prompt("Repeat the password: ".to_string())? != password {
        bail!("the two passwords differ; nothing was changed");
    }
    Ok(password)
}

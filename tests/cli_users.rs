//! `cashdesk user add|passwd|remove|list` through the real binary: the users
//! file they leave, the password prompt on a real pseudo-terminal (no echo),
//! and a running server taking the change on SIGHUP.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// Runs `cashdesk user ARGS --users FILE` with `stdin` as standard input.
fn user(users: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cashdesk"))
        .arg("user")
        .args(args)
        .arg("--users")
        .arg(users)
        .env_remove("CASHDESK_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[track_caller]
fn expect_ok(out: &Output) -> String {
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    text(&out.stdout)
}

#[track_caller]
fn expect_refused(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(1), "stdout: {} stderr: {}", text(&out.stdout), text(&out.stderr));
    text(&out.stderr)
}

fn basic(name: &str, password: &str) -> String {
    use base64::Engine;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{name}:{password}")))
}

#[test]
fn add_list_passwd_remove_keep_only_hashes_and_say_what_they_did() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.toml");
    let said = text(&user(&users, &["add", "--name", "desk-17", "--role", "cashier"], "first-secret-pw\n").stderr);
    assert_eq!(
        said,
        format!("user `desk-17` (cashier) saved in {}; a running server takes the change on SIGHUP\n", users.display())
    );
    expect_ok(&user(&users, &["add", "--name", "boss", "--role", "director"], "bosses-secret-pw\r\n"));

    let listed = expect_ok(&user(&users, &["list"], ""));
    let rows: Vec<Vec<&str>> = listed.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows, [vec!["desk-17", "cashier"], vec!["boss", "director"]]);
    assert!(!listed.contains("argon2"), "list never shows hashes: {listed}");

    let said = text(&user(&users, &["passwd", "--name", "desk-17"], "second-secret-pw\n").stderr);
    assert!(said.starts_with("new password for `desk-17` (cashier) saved in"), "{said}");
    let said = text(&user(&users, &["remove", "--name", "boss"], "").stderr);
    assert!(said.starts_with("user `boss` (director) removed from"), "{said}");
    assert_eq!(expect_ok(&user(&users, &["list"], "")).split_whitespace().collect::<Vec<_>>(), ["desk-17", "cashier"]);

    let file = std::fs::read_to_string(&users).unwrap();
    for secret in ["first-secret-pw", "second-secret-pw", "bosses-secret-pw"] {
        assert!(!file.contains(secret));
    }
    let auth = cashdesk_card::auth::Authenticator::new(cashdesk_card::auth::Users::load(&users).unwrap());
    let ok = cashdesk_card::auth::AuthOutcome::Ok(cashdesk_card::auth::Principal {
        name: "desk-17".into(),
        role: "cashier".into(),
    });
    assert_eq!(auth.check(Some(&basic("desk-17", "second-secret-pw"))), ok);
}

#[test]
fn short_passwords_unknown_users_and_unknown_roles_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.toml");
    let said = expect_refused(&user(&users, &["add", "--name", "desk-1", "--role", "cashier"], "short\n"));
    assert_eq!(
        said,
        "error: the password is 5 characters long; it must have at least 12; nothing was changed \
         (--min-password-length sets the minimum)\n"
    );
    assert!(!users.exists());
    let said = expect_refused(&user(&users, &["add", "--name", "desk-1", "--role", "cashier"], "\n"));
    assert!(said.starts_with("error: the password is empty;"), "{said}");

    // The minimum is a flag; the default is 12 characters, not bytes.
    let args = ["add", "--name", "desk-1", "--role", "cashier", "--min-password-length", "5"];
    expect_ok(&user(&users, &args, "short\n"));
    expect_ok(&user(&users, &["passwd", "--name", "desk-1"], "пароль-длинн\n"));
    let before = std::fs::read_to_string(&users).unwrap();
    let said = expect_refused(&user(&users, &["passwd", "--name", "desk-1"], "пароль-длин\n"));
    assert!(said.contains("11 characters long; it must have at least 12"), "{said}");

    let said = expect_refused(&user(&users, &["passwd", "--name", "ghost"], "long-enough-secret\n"));
    assert_eq!(said, format!("error: there is no user `ghost` in {}\n", users.display()));
    let said = expect_refused(&user(&users, &["remove", "--name", "ghost"], ""));
    assert_eq!(said, format!("error: there is no user `ghost` in {}\n", users.display()));
    let said = expect_refused(&user(&users, &["add", "--name", "x", "--role", "cashiers"], "long-enough-secret\n"));
    assert!(said.starts_with("error: unknown role `cashiers`; the roles are "), "{said}");
    assert_eq!(std::fs::read_to_string(&users).unwrap(), before);

    let missing = dir.path().join("missing.toml");
    let said = expect_refused(&user(&missing, &["list"], ""));
    assert!(said.starts_with(&format!("error: cannot read users file `{}`", missing.display())), "{said}");
}

#[cfg(unix)]
#[test]
fn a_rewrite_keeps_the_file_mode() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.toml");
    expect_ok(&user(&users, &["add", "--name", "desk-1", "--role", "cashier"], "long-enough-secret\n"));
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&users), 0o600, "a new users file is its owner's only");
    std::fs::set_permissions(&users, std::fs::Permissions::from_mode(0o640)).unwrap();
    expect_ok(&user(&users, &["passwd", "--name", "desk-1"], "another-long-secret\n"));
    assert_eq!(mode(&users), 0o640);
    expect_ok(&user(&users, &["remove", "--name", "desk-1"], ""));
    assert_eq!(mode(&users), 0o640);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temp file left behind");
}

/// `cashdesk user add` on a pseudo-terminal whose echo is on, as in a real
/// terminal: a line read by the shell before it is echoed back (so the test
/// would see an echoed password), the password typed at the prompt is not.
#[cfg(unix)]
#[test]
fn on_a_terminal_the_password_is_asked_twice_and_never_echoed() {
    use rexpect::process::WaitStatus;
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.toml");
    let run = |repeat: &str| {
        let mut command = Command::new("sh");
        command.arg("-c").arg(format!(
            "stty echo; echo echo-is-on; read canary; echo \"read $canary\"; exec '{}' user add --users '{}' --name desk-9 --role cashier",
            env!("CARGO_BIN_EXE_cashdesk"),
            users.display()
        ));
        let mut session = rexpect::session::spawn_command(command, Some(30_000)).unwrap();
        // Type only once the shell has turned echo on: bytes that arrive
        // before `stty echo` runs are never echoed.
        session.exp_string("echo-is-on").unwrap();
        session.send_line("visible-canary").unwrap();
        session.flush().unwrap();
        let mut seen = session.exp_string("read visible-canary").unwrap();
        seen += &session.exp_string("New password for desk-9 (at least 12 characters): ").unwrap();
        wait_until_echo_is_off(&session);
        session.send_line("typed-secret-42").unwrap();
        session.flush().unwrap();
        seen += &session.exp_string("Repeat the password: ").unwrap();
        wait_until_echo_is_off(&session);
        session.send_line(repeat).unwrap();
        session.flush().unwrap();
        seen += &session.exp_eof().unwrap();
        let status = session.process().wait().unwrap();
        (seen, status)
    };

    let (seen, status) = run("typed-secret-43");
    assert!(seen.contains("visible-canary"), "the terminal echoes what the shell reads: {seen:?}");
    assert!(!seen.contains("typed-secret"), "the password was echoed: {seen:?}");
    assert!(seen.contains("the two passwords differ; nothing was changed"), "{seen:?}");
    assert!(matches!(status, WaitStatus::Exited(_, 1)), "{status:?}");
    assert!(!users.exists());

    let (seen, status) = run("typed-secret-42");
    assert!(!seen.contains("typed-secret"), "the password was echoed: {seen:?}");
    assert!(seen.contains("user `desk-9` (cashier) saved in"), "{seen:?}");
    assert!(matches!(status, WaitStatus::Exited(_, 0)), "{status:?}");
    let file = std::fs::read_to_string(&users).unwrap();
    assert!(!file.contains("typed-secret") && file.contains("$argon2id$"));
    let auth = cashdesk_card::auth::Authenticator::new(cashdesk_card::auth::Users::load(&users).unwrap());
    assert!(matches!(auth.check(Some(&basic("desk-9", "typed-secret-42"))), cashdesk_card::auth::AuthOutcome::Ok(_)));
}

/// The prompt is written before the terminal's echo is turned off; typing
/// in between would be echoed (no person types that fast, a test does).
/// Also proves that the command turns echo off: the shell turned it on.
#[cfg(unix)]
fn wait_until_echo_is_off(session: &rexpect::session::PtySession) {
    use nix::sys::termios::{tcgetattr, LocalFlags};
    let master = session.process().get_file_handle().unwrap();
    for _ in 0..500 {
        if !tcgetattr(&master).unwrap().local_flags.contains(LocalFlags::ECHO) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("the password prompt never turned the terminal's echo off");
}

/// Polls until `path` answers `status` for `authorization` (the server
/// reloads on its own thread after SIGHUP).
#[track_caller]
fn wait_for(app: &common::App, authorization: &str, status: u16) {
    let path = "/api/card/balance/by/number/123456";
    for _ in 0..100 {
        if app.raw("GET", path, Some(authorization), None).status == status {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{path} never answered {status}");
}

#[test]
fn a_running_server_takes_passwd_and_remove_on_sighup() {
    let app = common::spawn_app();
    let users = app.dir.join("users.toml");
    let old = app.as_role("cashier");
    let new = basic("cashier", "a-brand-new-password");
    app.raw("GET", "/api/card/balance/by/number/123456", Some(&old), None).expect(200, "CannotFindCardNumber");

    expect_ok(&user(&users, &["passwd", "--name", "cashier"], "a-brand-new-password\n"));
    // Nothing changes until the server is told.
    app.raw("GET", "/api/card/balance/by/number/123456", Some(&old), None).expect(200, "CannotFindCardNumber");
    app.hup();
    wait_for(&app, &new, 200);
    app.raw("GET", "/api/card/balance/by/number/123456", Some(&old), None).expect(401, "Unauthorized");

    let director = app.as_role("director");
    app.raw("GET", "/api/card/balance/by/number/123456", Some(&director), None).expect(200, "CannotFindCardNumber");
    expect_ok(&user(&users, &["remove", "--name", "director"], ""));
    app.hup();
    wait_for(&app, &director, 401);
    app.raw("GET", "/api/card/balance/by/number/123456", Some(&new), None).expect(200, "CannotFindCardNumber");
}

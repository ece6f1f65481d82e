//! `cashdesk rules …` through the real binary: what a retailer types and sees.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn rules_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")
}

/// Runs `cashdesk ARGS` with `stdin` and returns (exit code, stdout, stderr).
fn cashdesk(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cashdesk"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cashdesk starts");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("stdin written");
    let Output { status, stdout, stderr } = child.wait_with_output().expect("cashdesk ends");
    (status.code().unwrap_or(-1), String::from_utf8_lossy(&stdout).into(), String::from_utf8_lossy(&stderr).into())
}

fn explain(extra: &[&str], stdin: &str) -> (i32, String, String) {
    let dir = rules_dir();
    let mut args = vec!["rules", "explain", dir.to_str().expect("utf-8 path")];
    args.extend_from_slice(extra);
    cashdesk(&args, stdin)
}

const RECEIPT_8_5: &str = r#"{"Lines": [{"Position": 1, "Amount": 600.00}, {"Position": 2, "Amount": "400.00"},
  {"Position": 3, "Amount": 150.00, "Category": "tobacco"}], "Redeem": 250}"#;
const LOTS_8_5: &str = r#"[{"Amount": 300, "ExpireDate": "2026-06-30", "ActiveFrom": "2026-01-01"},
  {"Amount": 100, "ActiveFrom": "2026-01-01"}]"#;

/// The line of `out` that starts with `start`, or a failure showing `out`.
fn line<'a>(out: &'a str, start: &str) -> &'a str {
    out.lines().find(|l| l.starts_with(start)).unwrap_or_else(|| panic!("no line starting `{start}` in:\n{out}"))
}

fn words(l: &str) -> Vec<&str> {
    l.split_whitespace().collect()
}

#[test]
fn explain_shows_the_worked_example_of_spec_8_5_line_by_line() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let lots = tmp.path().join("lots.json");
    std::fs::write(&lots, LOTS_8_5).expect("lots written");
    let (code, out, err) = explain(
        &["--receipt", "-", "--today", "2026-03-01", "--card-type", "0", "--lots", lots.to_str().expect("utf-8")],
        RECEIPT_8_5,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(line(&out, "decision:"), "decision: OK");
    assert_eq!(words(line(&out, "1 "))[..5], ["1", "600.00", "yes", "150.00", "22.50"], "{out}");
    assert_eq!(words(line(&out, "2 "))[..5], ["2", "400.00", "yes", "100.00", "15.00"], "{out}");
    assert_eq!(words(line(&out, "3 "))[..5], ["3", "150.00", "no", "0.00", "0.00"], "{out}");
    assert!(line(&out, "3 ").contains("purchases.toml:") && line(&out, "3 ").contains("tobacco"), "{out}");
    assert!(line(&out, "1 ").contains("card type 0 earns 5%"), "{out}");
    assert!(line(&out, "eligible total (E):").ends_with(" 1000.00"), "{out}");
    assert!(line(&out, "max redeem:").ends_with(" 400.00"), "{out}");
    assert!(line(&out, "redeemed:").contains("250.00 from lot 1 (expires 2026-06-30)"), "{out}");
    let accrued = line(&out, "accrued:");
    assert!(accrued.contains("37.50") && accrued.contains("active from 2026-03-15, expiring 2027-03-14"), "{out}");
}

#[test]
fn explain_names_the_refusal_in_spec_order() {
    let (code, out, err) = explain(&["--receipt", "-", "--today", "2026-03-01", "--balance", "100"], RECEIPT_8_5);
    assert_eq!(code, 0, "{err}");
    assert_eq!(line(&out, "decision:"), "decision: NotEnoughBonuses");
    assert_eq!(line(&out, "Value:"), "Value:    250 bonuses asked for, but the card has only 100 active");
    let big = RECEIPT_8_5.replace("\"Redeem\": 250", "\"Redeem\": 500.01");
    let (_, out, _) = explain(&["--receipt", "-", "--balance", "10000"], &big);
    assert_eq!(line(&out, "decision:"), "decision: RedeemLimitExceeded");
    assert!(line(&out, "rule:").contains("max_share_percent"), "{out}");
    let (_, out, _) = explain(&["--receipt", "-", "--status", "issued", "--balance", "10000"], RECEIPT_8_5);
    assert_eq!(line(&out, "decision:"), "decision: StatusError");
    assert!(line(&out, "rule:").contains("[redemption] statuses"), "{out}");
}

#[test]
fn explain_refuses_a_bad_receipt_with_its_key() {
    for (body, words) in [
        (r#"{"Lines": [{"Position": 1.5, "Amount": 1}]}"#, "InvalidPosition"),
        (r#"{"Lines": [{"Position": 1, "Amount": 1}, {"Position": "1", "Amount": 2}]}"#, "listed twice"),
        (r#"{"Lines": [{"Position": 1, "Amount": 0.001}]}"#, "InvalidAmount"),
        (r#"{"Lines": []}"#, "RequiredParameterNotSpecified"),
        (r#"[1, 2]"#, "must be a JSON object"),
    ] {
        let (code, out, err) = explain(&["--receipt", "-"], body);
        assert_eq!(code, 2, "{body}: {out}");
        assert!(err.contains(words), "{body}: expected `{words}` in: {err}");
    }
}

#[test]
fn explain_answers_access_denied_for_a_method_the_role_may_not_call() {
    let (code, out, _) = explain(&["--receipt", "-", "--role", "director"], RECEIPT_8_5);
    assert_eq!(code, 0);
    assert_eq!(line(&out, "decision:"), "decision: AccessDenied (HTTP 403)");
    assert_eq!(line(&out, "Value:"), "Value:    the role `director` may not call Calculate");
    assert!(line(&out, "rule:").contains("roles.toml:"), "{out}");
    let (_, out, _) = explain(&["--method", "Admin", "--role", "cashier"], "");
    assert_eq!(line(&out, "decision:"), "decision: AccessDenied (HTTP 403)");
    let (_, out, _) = explain(&["--method", "Balance", "--role", "client"], "");
    assert!(line(&out, "decision:").starts_with("decision: OK"), "{out}");
    let (_, out, _) = explain(&["--method", "Block", "--status", "active", "--role", "client", "--reason", "0"], "");
    assert!(line(&out, "decision:").starts_with("decision: OK"), "{out}");
}

#[test]
fn unblock_without_a_block_reason_is_a_clear_error() {
    let (code, _, err) =
        explain(&["--method", "UnBlock", "--status", "blocked", "--role", "director", "--reason", "0"], "");
    assert_eq!(code, 2);
    assert!(err.contains("--block-reason is required for UnBlock"), "{err}");
    let (code, _, err) = explain(&["--method", "Block", "--status", "active", "--role", "director"], "");
    assert_eq!(code, 2);
    assert!(err.contains("--reason is required for Block"), "{err}");
}

#[test]
fn an_unknown_reason_code_is_decided_as_the_server_does() {
    let (code, out, err) =
        explain(&["--method", "Block", "--status", "active", "--role", "director", "--reason", "9"], "");
    assert_eq!(code, 0, "{err}");
    assert_eq!(line(&out, "decision:"), "decision: BlockReasonError");
}

#[test]
fn explain_help_lists_balance_and_the_purchase_methods() {
    let (code, out, _) = cashdesk(&["rules", "explain", "--help"], "");
    assert_eq!(code, 0);
    for m in ["Balance", "Calculate", "Confirm", "Cancel", "Return", "Receipt", "--receipt", "--today", "--balance"] {
        assert!(out.contains(m), "`{m}` is not in the help:\n{out}");
    }
}

// ---- rules diff ----

/// A copy of the shipped rules with `old` (once in `file`) replaced by `new`.
fn edited(edits: &[(&str, &str, &str)]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    for entry in std::fs::read_dir(rules_dir()).expect("rules dir") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), tmp.path().join(entry.file_name())).expect("copied");
    }
    for (file, old, new) in edits {
        let path = tmp.path().join(file);
        let text = std::fs::read_to_string(&path).expect("readable");
        assert_eq!(text.matches(old).count(), 1, "`{old}` must occur once in {file}");
        std::fs::write(&path, text.replace(old, new)).expect("written");
    }
    tmp
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

const DIRECTORS_BLOCK_FOR_REFUSAL: (&str, &str, &str) = (
    "block_reasons.toml",
    "block_roles = [\"call_center\", \"marketer\", \"administrator\"]",
    "block_roles = [\"call_center\", \"marketer\", \"director\", \"administrator\"]",
);

#[test]
fn diff_of_a_set_with_itself_is_empty_and_exits_0() {
    let dir = rules_dir();
    let (code, out, err) = cashdesk(&["rules", "diff", path(&dir), path(&dir)], "");
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(" 0 differ."), "{out}");
    assert!(out.contains("No differences"), "{out}");
}

#[test]
fn diff_shows_a_planted_change_grouped_for_a_person() {
    let new = edited(&[DIRECTORS_BLOCK_FOR_REFUSAL]);
    let (code, out, err) = cashdesk(&["rules", "diff", path(&rules_dir()), path(new.path())], "");
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("16 differ."), "{out}");
    assert!(out.contains("  Block with reason 3 «Отказ от использования», role director:\n"), "{out}");
    assert!(
        out.contains("    was refused (BlockReasonError), now allowed, the card becomes blocked — 6 cases: issued bound; active\n"),
        "{out}"
    );
    assert!(
        out.contains("    was refused (BlockReasonError), now refused (StatusError) — 10 cases: new; issued not bound; blocked\n"),
        "{out}"
    );
    assert!(!out.contains("Settings") && !out.contains("Sample receipts"), "nothing else changed:\n{out}");
}

#[test]
fn diff_reports_access_settings_and_sample_receipts_and_speaks_json() {
    let new = edited(&[
        ("purchases.toml", "\"0\" = 5   # bonus card", "\"0\" = 7   # bonus card"),
        (
            "roles.toml",
            "\"Cancel\", \"Return\", \"Receipt\"]\n\n[[role]]\nname = \"director\"",
            "\"Return\", \"Receipt\"]\n\n[[role]]\nname = \"director\"",
        ),
    ]);
    let (code, out, err) = cashdesk(&["rules", "diff", path(&rules_dir()), path(new.path())], "");
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("  senior_employee calling Cancel: was may call, now AccessDenied (HTTP 403)\n"), "{out}");
    assert!(out.contains("  purchases.toml [accrual.percent] \"0\": 5% → 7%\n"), "{out}");
    let row = out.lines().find(|l| l.contains("card type 0, active, Redeem 0 ") && l.contains("accrued")).unwrap_or("");
    assert_eq!(words(row)[6..], ["accrued", "50", "70"], "{out}");
    let (code, json, _) = cashdesk(&["rules", "diff", path(&rules_dir()), path(new.path()), "--format", "json"], "");
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(v["changed"], true);
    assert_eq!(v["access"][0]["role"], "senior_employee");
    assert_eq!(v["access"][0]["method"], "Cancel");
    assert!(
        v["receipts"].as_array().is_some_and(|r| r.iter().any(|x| x["figure"] == "accrued" && x["new"] == "70")),
        "{json}"
    );
    assert!(v["cases_compared"].as_u64().is_some_and(|n| n > 20_000), "{json}");
}

#[test]
fn diff_of_a_set_that_does_not_check_exits_2() {
    let new = edited(&[("purchases.toml", "max_share_percent = 50", "max_share_percent = 500")]);
    let (code, _, err) = cashdesk(&["rules", "diff", path(&rules_dir()), path(new.path())], "");
    assert_eq!(code, 2);
    assert!(err.contains("purchases.toml:") && err.contains("max_share_percent"), "{err}");
}

// ---- rules test ----

#[test]
fn the_shipped_expectations_hold_for_the_shipped_rules() {
    let dir = rules_dir();
    let cases = dir.join("tests.toml");
    let (code, out, err) = cashdesk(&["rules", "test", path(&dir), path(&cases)], "");
    assert_eq!(code, 0, "{out}{err}");
    let n: usize = out.split_whitespace().nth(2).and_then(|w| w.parse().ok()).unwrap_or(0);
    assert!(n > 140, "the shipped expectations cover the matrices and §8.5: {out}");
}

#[test]
fn a_wrong_expectation_fails_naming_its_line_and_the_deciding_rule() {
    let dir = rules_dir();
    let text = std::fs::read_to_string(dir.join("tests.toml")).expect("tests.toml");
    let wrong = text.replacen(
        "{ reason = \"2\", expect = \"-      -      -        -      yes",
        "{ reason = \"2\", expect = \"-      -      -        yes    yes",
        1,
    );
    let wrong = wrong.replacen("accrued = \"37.50\"", "accrued = \"37.55\"", 1);
    assert_ne!(wrong, text);
    let tmp = tempfile::tempdir().expect("tempdir");
    let cases = tmp.path().join("mine.toml");
    std::fs::write(&cases, &wrong).expect("written");
    let (code, out, _) = cashdesk(&["rules", "test", path(&dir), path(&cases)], "");
    assert_eq!(code, 1, "{out}");
    let row = wrong.lines().position(|l| l.contains("{ reason = \"2\"")).expect("row") + 1;
    let acc = wrong.lines().position(|l| l.starts_with("accrued = \"37.55\"")).expect("accrued") + 1;
    let shown = path(&cases).to_string();
    assert!(out.contains(&format!("{shown}:{row}: block matrix: Block active bound registered, role senior_employee, reason 2: expected OK, decided BlockReasonError\n    decided by block_reasons.toml:")), "{out}");
    assert!(out.contains(&format!("{shown}:{acc}: SPEC 8.5 R-1: accrued: expected 37.55, decided 37.5")), "{out}");
    assert!(out.ends_with("2 of 149 cases fail\n"), "{out}");
}

#[test]
fn a_rule_change_fails_the_expectations_it_breaks() {
    let new = edited(&[DIRECTORS_BLOCK_FOR_REFUSAL]);
    let cases = rules_dir().join("tests.toml");
    let (code, out, _) = cashdesk(&["rules", "test", path(new.path()), path(&cases)], "");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("role director, reason 3: expected BlockReasonError, decided OK"), "{out}");
}

#[test]
fn a_broken_cases_file_is_an_error_with_its_line() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cases = tmp.path().join("bad.toml");
    std::fs::write(&cases, "[[case]]\nmethod = \"Block\"\nstatus = \"activ\"\nrole = \"director\"\nexpect = \"OK\"\n")
        .expect("written");
    let (code, _, err) = cashdesk(&["rules", "test", path(&rules_dir()), path(&cases)], "");
    assert_eq!(code, 2);
    assert!(err.contains(":1: unknown status `activ`"), "{err}");
}

// ---- rules check ----

#[test]
fn check_lists_warnings_and_deny_warnings_fails_on_them() {
    let dir = edited(&[(
        "block_reasons.toml",
        "lift_roles = []\nfinal = true\nreplacement = true",
        "lift_roles = [\"administrator\"]\nreplacement = true",
    )]);
    let (code, out, err) = cashdesk(&["rules", "check", path(dir.path())], "");
    assert_eq!(code, 0, "{err}");
    assert!(out.ends_with("the rule set checks (7 roles, 19 transitions), 1 warning(s)\n"), "{out}");
    assert!(err.starts_with("warning: block_reasons.toml:"), "{err}");
    assert!(err.contains("blocked for replacement"), "{err}");
    let (code, _, _) = cashdesk(&["rules", "check", "--deny-warnings", path(dir.path())], "");
    assert_eq!(code, 1);
    let (code, out, err) = cashdesk(&["rules", "check", "--deny-warnings", path(&rules_dir())], "");
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
}

#[test]
fn check_lists_a_status_typo_first() {
    let dir = edited(&[(
        "transitions.toml",
        "method = \"Issue\"\nfrom = [\"new\"]",
        "method = \"Issue\"\nfrom = [\"neww\"]",
    )]);
    let (code, _, err) = cashdesk(&["rules", "check", path(dir.path())], "");
    assert_eq!(code, 1);
    let first = err.lines().next().unwrap_or("");
    assert!(
        first.starts_with("transitions.toml:") && first.contains("unknown status `neww` (hint: did you mean `new`?)"),
        "{err}"
    );
}

// ---- rules graph --format svg ----

#[test]
fn a_planted_change_shows_in_the_matrices_picture() {
    let draw = |dir: &Path| cashdesk(&["rules", "graph", path(dir), "--format", "svg", "--matrices"], "").1;
    let (before, after) = (draw(&rules_dir()), draw(edited(&[DIRECTORS_BLOCK_FOR_REFUSAL]).path()));
    assert!(before.contains("<svg"), "{before}");
    let yes = |s: &str| s.matches(">yes<").count();
    assert_eq!(yes(&after), yes(&before) + 1, "one more allowed cell");
}

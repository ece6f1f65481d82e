//! Broken rule sets are refused with the file and line of each problem.
//!
//! Each test takes the shipped files, breaks one snippet, and expects the
//! problem at the line where the broken snippet now stands (found in the
//! modified text, so the test does not depend on today's line numbers).

use cashdesk_card::rules::{RuleErrors, RuleProblem, RuleSet, RULE_FILES};
use std::path::Path;

type Files = Vec<(String, String)>;

fn shipped() -> Files {
    RuleSet::shipped_files().iter().map(|(n, t)| (n.to_string(), t.to_string())).collect()
}

/// The shipped set with `old` (which must occur exactly once) replaced by `new` in `file`.
fn broken(file: &str, old: &str, new: &str) -> Files {
    also(shipped(), file, old, new)
}

/// Applies another replacement to a set.
fn also(mut files: Files, file: &str, old: &str, new: &str) -> Files {
    let text = &mut files.iter_mut().find(|(n, _)| n == file).unwrap_or_else(|| panic!("no {file}")).1;
    assert_eq!(text.matches(old).count(), 1, "`{old}` must occur once in {file}");
    *text = text.replace(old, new);
    files
}

fn text<'a>(files: &'a Files, file: &str) -> &'a str {
    &files.iter().find(|(n, _)| n == file).unwrap_or_else(|| panic!("no {file}")).1
}

/// 1-based line and column where `needle` (which must occur once) starts in `file`.
fn at(files: &Files, file: &str, needle: &str) -> (usize, usize) {
    let t = text(files, file);
    assert_eq!(t.matches(needle).count(), 1, "`{needle}` must occur once in {file}");
    let start = t.find(needle).unwrap_or(0);
    let before = &t[..start];
    let line = before.matches('\n').count() + 1;
    let col = before[before.rfind('\n').map(|i| i + 1).unwrap_or(0)..].chars().count() + 1;
    (line, col)
}

fn problems(files: &Files) -> Vec<RuleProblem> {
    let refs: Vec<(&str, &str)> = files.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
    match RuleSet::from_sources(&refs) {
        Ok(_) => panic!("the broken set was accepted"),
        Err(RuleErrors(p)) => {
            assert!(!p.is_empty(), "refused with no problem");
            p
        }
    }
}

/// The one problem whose message contains `words`; all problems are shown if none or several do.
fn the_problem<'a>(ps: &'a [RuleProblem], words: &str) -> &'a RuleProblem {
    let found: Vec<&RuleProblem> = ps.iter().filter(|p| p.message.contains(words)).collect();
    match found.as_slice() {
        [one] => one,
        _ => panic!("expected one problem saying `{words}`, got:\n{}", show(ps)),
    }
}

fn show(ps: &[RuleProblem]) -> String {
    ps.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n")
}

fn assert_at(p: &RuleProblem, file: &str, line: usize) {
    assert_eq!((p.file.as_str(), p.line), (file, line), "problem reported at the wrong place: {p}");
    assert!(p.col > 0, "{p}: no column");
}

fn hint(p: &RuleProblem) -> &str {
    p.hint.as_deref().unwrap_or_else(|| panic!("{p}: no hint"))
}

#[test]
fn the_shipped_set_checks() {
    let refs: Vec<(&str, &str)> = RuleSet::shipped_files().to_vec();
    if let Err(e) = RuleSet::from_sources(&refs) {
        panic!("{e}");
    }
}

#[test]
fn a_toml_syntax_error_is_reported_at_its_line() {
    let files = broken("roles.toml", "name = \"marketer\"", "name = \"marketer");
    let ps = problems(&files);
    assert_eq!(ps.len(), 1, "{}", show(&ps));
    let (line, _) = at(&files, "roles.toml", "name = \"marketer\n");
    assert_at(&ps[0], "roles.toml", line);
}

#[test]
fn a_toml_syntax_error_in_block_reasons_is_the_only_problem_reported() {
    // unblock_reasons.toml refers to block reason codes; they are not all
    // "unknown" just because block_reasons.toml did not parse.
    let files = broken("block_reasons.toml", "[[block_reason]]\ncode = \"2\"", "[[block_reason]\ncode = \"2\"");
    let ps = problems(&files);
    assert_eq!(ps.len(), 1, "{}", show(&ps));
    let (line, _) = at(&files, "block_reasons.toml", "[[block_reason]\ncode = \"2\"");
    assert_at(&ps[0], "block_reasons.toml", line);
}

#[test]
fn an_unknown_role_is_reported_with_a_did_you_mean_hint() {
    let files = broken(
        "block_reasons.toml",
        "block_roles = [\"senior_employee\", \"director\", \"administrator\"]",
        "block_roles = [\"senior_employe\", \"director\", \"administrator\"]",
    );
    let ps = problems(&files);
    assert_eq!(ps.len(), 1, "{}", show(&ps));
    let p = the_problem(&ps, "unknown role `senior_employe`");
    let (line, col) = at(&files, "block_reasons.toml", "\"senior_employe\"");
    assert_at(p, "block_reasons.toml", line);
    assert_eq!(p.col, col, "{p}: should point at the misspelt name");
    assert!(hint(p).contains("`senior_employee`"), "{p}");
}

#[test]
fn an_unknown_status_in_transitions_is_reported_with_a_hint() {
    let files = broken("transitions.toml", "from = [\"active\", \"blocked\"]", "from = [\"active\", \"blocekd\"]");
    let ps = problems(&files);
    let p = the_problem(&ps, "unknown status `blocekd`");
    let (line, _) = at(&files, "transitions.toml", "\"blocekd\"");
    assert_at(p, "transitions.toml", line);
    assert!(hint(p).contains("`blocked`"), "{p}");
}

#[test]
fn an_unknown_target_status_in_transitions_is_reported() {
    let files = broken("transitions.toml", "from = [\"new\"]\nto = \"issued\"", "from = [\"new\"]\nto = \"isued\"");
    let ps = problems(&files);
    let p = the_problem(&ps, "unknown status `isued`");
    let (line, _) = at(&files, "transitions.toml", "to = \"isued\"");
    assert_at(p, "transitions.toml", line);
    assert!(hint(p).contains("`issued`"), "{p}");
}

#[test]
fn an_unknown_block_reason_in_answers_is_reported() {
    let files = broken("unblock_reasons.toml", "answers = [\"2\"]", "answers = [\"9\"]");
    let ps = problems(&files);
    assert_eq!(ps.len(), 1, "{}", show(&ps));
    let p = the_problem(&ps, "unknown block reason `9`");
    let (line, _) = at(&files, "unblock_reasons.toml", "answers = [\"9\"]");
    assert_at(p, "unblock_reasons.toml", line);
}

#[test]
fn an_unknown_contact_field_in_registration_is_reported_with_a_hint() {
    let files = broken("registration.toml", "required_fields = [\"Name\"]", "required_fields = [\"Nmae\"]");
    let ps = problems(&files);
    assert_eq!(ps.len(), 1, "{}", show(&ps));
    let p = the_problem(&ps, "unknown contact field `Nmae`");
    let (line, _) = at(&files, "registration.toml", "required_fields = [\"Nmae\"]");
    assert_at(p, "registration.toml", line);
    assert!(hint(p).contains("`Name`"), "{p}");
}

#[test]
fn a_broken_registration_file_is_refused_by_load_dir_naming_the_file_and_line() {
    let files = broken("registration.toml", "required_fields = [\"Name\"]", "required_fields = \"Name\"");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for (n, t) in &files {
        std::fs::write(dir.path().join(n), t).unwrap_or_else(|e| panic!("{e}"));
    }
    let err = match RuleSet::load_dir(dir.path()) {
        Ok(_) => panic!("a registration.toml whose required_fields is a string was accepted"),
        Err(e) => e,
    };
    assert_eq!(err.0.len(), 1, "{err}");
    let (line, _) = at(&files, "registration.toml", "required_fields = \"Name\"");
    assert_at(&err.0[0], "registration.toml", line);
    assert!(err.to_string().contains(&format!("registration.toml:{line}:")), "{err}");
}

#[test]
fn an_unknown_error_key_in_transitions_is_reported_with_a_hint() {
    let files = broken(
        "transitions.toml",
        "error = \"StatusError\"\nmessage = \"card {number} is already blocked\"",
        "error = \"StatusEror\"\nmessage = \"card {number} is already blocked\"",
    );
    let ps = problems(&files);
    assert_eq!(ps.len(), 1, "{}", show(&ps));
    let p = the_problem(&ps, "unknown error key `StatusEror`");
    let (line, _) = at(&files, "transitions.toml", "error = \"StatusEror\"");
    assert_at(p, "transitions.toml", line);
    assert!(hint(p).contains("`StatusError`"), "{p}");
}

#[test]
fn a_duplicate_block_reason_code_is_reported_at_the_second_one() {
    let files = broken(
        "block_reasons.toml",
        "code = \"3\"\nname = \"Отказ от использования\"",
        "code = \"2\"\nname = \"Отказ от использования\"",
    );
    let ps = problems(&files);
    let p = the_problem(&ps, "duplicate block reason code `2`");
    let (line, _) = at(&files, "block_reasons.toml", "code = \"2\"\nname = \"Отказ");
    assert_at(p, "block_reasons.toml", line);
}

#[test]
fn a_duplicate_unblock_reason_code_is_reported_at_the_second_one() {
    let files = broken("unblock_reasons.toml", "code = \"3\"", "code = \"1\"");
    let ps = problems(&files);
    assert_eq!(ps.len(), 1, "{}", show(&ps));
    let p = the_problem(&ps, "duplicate unblock reason code `1`");
    let (line, _) = at(&files, "unblock_reasons.toml", "code = \"1\"\nname = \"Восстановление");
    assert_at(p, "unblock_reasons.toml", line);
}

#[test]
fn a_duplicate_status_code_is_reported_at_the_second_one() {
    let files = broken("statuses.toml", "id = \"active\"\ncode = \"2\"", "id = \"active\"\ncode = \"1\"");
    let ps = problems(&files);
    assert_eq!(ps.len(), 1, "{}", show(&ps));
    let p = the_problem(&ps, "duplicate status code `1`");
    let (line, _) = at(&files, "statuses.toml", "code = \"1\"\nname = \"Активная\"");
    assert_at(p, "statuses.toml", line);
}

#[test]
fn a_transition_into_new_is_reported() {
    let files = broken("transitions.toml", "stay = true   # a cash desk", "to = \"new\"   # a cash desk");
    let ps = problems(&files);
    let p = the_problem(&ps, "no transition may lead into `new`");
    let (line, _) = at(&files, "transitions.toml", "to = \"new\"");
    assert_at(p, "transitions.toml", line);
}

#[test]
fn a_status_unreachable_from_new_is_reported() {
    // Nothing leads to `active` any more: Active stays, UnBlock goes to issued.
    let files = broken(
        "transitions.toml",
        "from = [\"issued\"]\nbound = true\nregistered = true\nto = \"active\"",
        "from = [\"issued\"]\nbound = true\nregistered = true\nstay = true",
    );
    let files = also(
        files,
        "transitions.toml",
        "from = [\"blocked\"]\nbound = true\nregistered = true\nto = \"active\"",
        "from = [\"blocked\"]\nbound = true\nregistered = true\nto = \"issued\"",
    );
    let ps = problems(&files);
    assert_eq!(ps.len(), 1, "{}", show(&ps));
    let p = the_problem(&ps, "status `active` cannot be reached from `new`");
    // A machine-wide problem is reported at the first transition.
    let first = text(&files, "transitions.toml").find("method = ").unwrap_or(0);
    let line = text(&files, "transitions.toml")[..first].matches('\n').count() + 1;
    assert_at(p, "transitions.toml", line);
}

#[test]
fn blocked_with_no_way_out_while_a_reason_is_not_final_is_reported() {
    let files = shipped();
    let t = text(&files, "transitions.toml");
    let cut = t.find("# ---- UnBlock").unwrap_or_else(|| panic!("no UnBlock section"));
    let no_way_out = format!(
        "{}[[transition]]\nmethod = \"UnBlock\"\nfrom = [\"blocked\"]\nerror = \"UnBlockReasonError\"\n\n\
         [[transition]]\nmethod = \"UnBlock\"\nfrom = [\"new\", \"issued\", \"active\"]\nerror = \"StatusError\"\n",
        &t[..cut]
    );
    let files = broken("transitions.toml", t, &no_way_out);
    let ps = problems(&files);
    assert_eq!(ps.len(), 1, "{}", show(&ps));
    let p = the_problem(&ps, "no transition leads out of `blocked`");
    assert_eq!(p.file, "transitions.toml", "{p}");
    assert!(p.line > 0, "{p}");
    // The message names the non-final reason where it stands.
    let (line, _) = at(&files, "block_reasons.toml", "code = \"0\"");
    assert!(p.message.contains(&format!("block_reasons.toml:{line}")), "{p}");
}

#[test]
fn two_overlapping_transitions_are_reported_at_the_second_naming_the_first() {
    let files = broken(
        "transitions.toml",
        "from = [\"issued\"]\nstay = true   # a cash desk",
        "from = [\"new\", \"issued\"]\nstay = true   # a cash desk",
    );
    let ps = problems(&files);
    assert_eq!(ps.len(), 1, "{}", show(&ps));
    let p = the_problem(&ps, "both match a new card");
    let (second, _) = at(&files, "transitions.toml", "method = \"Issue\"\nfrom = [\"new\", \"issued\"]");
    let (first, _) = at(&files, "transitions.toml", "method = \"Issue\"\nfrom = [\"new\"]\n");
    assert_at(p, "transitions.toml", second);
    assert!(p.message.contains(&format!("line {first} ")), "{p}");
}

#[test]
fn a_gap_in_the_transitions_is_reported() {
    let files = broken("transitions.toml", "from = [\"new\", \"blocked\"]\nerror = \"StatusError\"\nmessage = \"card {number} is «{status}»; a new or blocked", "from = [\"new\"]\nerror = \"StatusError\"\nmessage = \"card {number} is «{status}»; a new or blocked");
    let ps = problems(&files);
    assert_eq!(ps.len(), 1, "{}", show(&ps));
    let p = the_problem(&ps, "no BindTo transition matches a blocked card");
    // A gap has no row to point at: the file itself.
    assert_at(p, "transitions.toml", 1);
    assert!(hint(p).contains("from = [\"blocked\"]"), "{p}");
}

#[test]
fn an_unknown_field_name_is_reported_at_its_line_with_a_hint() {
    let files = broken(
        "block_reasons.toml",
        "lift_roles = [\"director\", \"administrator\"]",
        "lift_role = [\"director\", \"administrator\"]",
    );
    let ps = problems(&files);
    assert_eq!(ps.len(), 1, "{}", show(&ps));
    let p = the_problem(&ps, "unknown field `lift_role`");
    let (line, _) = at(&files, "block_reasons.toml", "lift_role = ");
    assert_at(p, "block_reasons.toml", line);
    assert!(hint(p).contains("`lift_roles`"), "{p}");
}

#[test]
fn an_unknown_method_in_roles_is_reported_with_a_hint() {
    let files = broken("roles.toml", "\"UnBlock\", \"Admin\",", "\"UnBlock\", \"Admni\",");
    let ps = problems(&files);
    assert_eq!(ps.len(), 1, "{}", show(&ps));
    let p = the_problem(&ps, "unknown method `Admni`");
    let (line, _) = at(&files, "roles.toml", "\"Admni\"");
    assert_at(p, "roles.toml", line);
    assert!(hint(p).contains("`Admin`"), "{p}");
}

#[test]
fn a_final_block_reason_with_lift_roles_is_reported() {
    let files =
        broken("block_reasons.toml", "lift_roles = []\nfinal = true", "lift_roles = [\"director\"]\nfinal = true");
    let ps = problems(&files);
    assert_eq!(ps.len(), 1, "{}", show(&ps));
    let p = the_problem(&ps, "is final but lists lift_roles");
    let (line, _) = at(&files, "block_reasons.toml", "final = true");
    assert_at(p, "block_reasons.toml", line);
}

#[test]
fn an_unknown_placeholder_in_messages_is_reported() {
    let files = broken("messages.toml", "only {reserved} may", "only {reserverd} may");
    let ps = problems(&files);
    assert_eq!(ps.len(), 1, "{}", show(&ps));
    let p = the_problem(&ps, "unknown placeholder `{reserverd}`");
    let (line, _) = at(&files, "messages.toml", "reserved_block = ");
    assert_at(p, "messages.toml", line);
    assert!(hint(p).contains("`{reserved}`"), "{p}");
}

#[test]
fn several_problems_in_one_set_are_all_reported() {
    let files = broken(
        "block_reasons.toml",
        "block_roles = [\"director\", \"administrator\"]",
        "block_roles = [\"directr\", \"administrater\"]",
    );
    let files = also(files, "registration.toml", "required_fields = [\"Name\"]", "required_fields = [\"Nmae\"]");
    let files = also(files, "statuses.toml", "id = \"active\"\ncode = \"2\"", "id = \"active\"\ncode = \"1\"");
    let files = also(files, "transitions.toml", "from = [\"active\", \"blocked\"]", "from = [\"active\", \"blocekd\"]");
    let files = also(files, "unblock_reasons.toml", "answers = [\"2\"]", "answers = [\"9\"]");
    let ps = problems(&files);
    let expect = [
        ("statuses.toml", at(&files, "statuses.toml", "code = \"1\"\nname = \"Активная\"").0, "duplicate status code"),
        ("block_reasons.toml", at(&files, "block_reasons.toml", "\"directr\"").0, "unknown role `directr`"),
        ("block_reasons.toml", at(&files, "block_reasons.toml", "\"administrater\"").0, "unknown role `administrater`"),
        ("unblock_reasons.toml", at(&files, "unblock_reasons.toml", "answers = [\"9\"]").0, "unknown block reason `9`"),
        ("registration.toml", at(&files, "registration.toml", "\"Nmae\"").0, "unknown contact field `Nmae`"),
        ("transitions.toml", at(&files, "transitions.toml", "\"blocekd\"").0, "unknown status `blocekd`"),
    ];
    for (file, line, words) in expect {
        let p = the_problem(&ps, words);
        assert_at(p, file, line);
    }
    assert_eq!(ps.len(), expect.len(), "{}", show(&ps));
    // Reported in file order (RULE_FILES), then line.
    let order: Vec<(usize, usize)> =
        ps.iter().map(|p| (RULE_FILES.iter().position(|f| *f == p.file).unwrap_or(99), p.line)).collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "{}", show(&ps));
}

fn write_dir(files: &Files, skip: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for (n, t) in files {
        if !skip.contains(&n.as_str()) {
            std::fs::write(dir.path().join(n), t).unwrap_or_else(|e| panic!("{e}"));
        }
    }
    dir
}

#[test]
fn a_missing_rule_file_is_reported_by_load_dir() {
    let dir = write_dir(&shipped(), &["options.toml"]);
    let err = match RuleSet::load_dir(dir.path()) {
        Ok(_) => panic!("a set without options.toml was accepted"),
        Err(e) => e,
    };
    assert_eq!(err.0.len(), 1, "{err}");
    let p = &err.0[0];
    assert_eq!(p.file, "options.toml", "{p}");
    assert_eq!(p.line, 0, "{p}: a missing file has no line");
    assert!(p.message.contains("missing"), "{p}");
}

#[test]
fn a_missing_file_and_a_broken_file_are_both_reported_by_load_dir() {
    let files = broken("registration.toml", "required_fields = [\"Name\"]", "required_fields = [\"Nmae\"]");
    let dir = write_dir(&files, &["names.toml"]);
    let err = match RuleSet::load_dir(dir.path()) {
        Ok(_) => panic!("accepted"),
        Err(e) => e,
    };
    assert_eq!(err.0.len(), 2, "{err}");
    assert!(err.0.iter().any(|p| p.file == "names.toml" && p.message.contains("missing")), "{err}");
    let (line, _) = at(&files, "registration.toml", "\"Nmae\"");
    assert_at(the_problem(&err.0, "unknown contact field"), "registration.toml", line);
}

#[test]
fn an_unknown_rule_file_in_the_directory_is_reported_with_a_hint() {
    let dir = write_dir(&shipped(), &[]);
    std::fs::write(dir.path().join("option.toml"), "").unwrap_or_else(|e| panic!("{e}"));
    let err = match RuleSet::load_dir(dir.path()) {
        Ok(_) => panic!("accepted"),
        Err(e) => e,
    };
    let p = the_problem(&err.0, "unknown rule file `option.toml`");
    assert_eq!(p.file, "option.toml");
    assert!(hint(p).contains("`options.toml`"), "{p}");
}

#[test]
fn a_rule_directory_that_does_not_exist_is_reported() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let gone = dir.path().join("no-such-dir");
    let err = match RuleSet::load_dir(&gone) {
        Ok(_) => panic!("accepted"),
        Err(e) => e,
    };
    assert_eq!(err.0.len(), 1, "{err}");
    assert!(err.0[0].message.contains("cannot read the rule directory"), "{err}");
}

#[test]
fn the_shipped_rules_directory_loads() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    if let Err(e) = RuleSet::load_dir(&dir) {
        panic!("{e}");
    }
}

// ---- purchases.toml (SPEC §8.2: "rules check refuses an unknown status,
// bonus type or card type, a percent outside 0–100, a negative day count, a
// share outside 0–100") ----

/// purchases.toml with one replacement: the one problem, at the line of `needle`.
fn purchase_problem(old: &str, new: &str, words: &str, needle: &str) -> RuleProblem {
    let files = broken("purchases.toml", old, new);
    let ps = problems(&files);
    assert_eq!(ps.len(), 1, "{}", show(&ps));
    let p = the_problem(&ps, words).clone();
    let (line, col) = at(&files, "purchases.toml", needle);
    assert_at(&p, "purchases.toml", line);
    assert_eq!(p.col, col, "{p}: should point at `{needle}`");
    p
}

#[test]
fn an_unknown_status_in_purchases_is_reported_with_a_hint() {
    let p =
        purchase_problem("statuses = [\"active\"]", "statuses = [\"activ\"]", "unknown status `activ`", "\"activ\"");
    assert!(hint(&p).contains("`active`"), "{p}");
}

#[test]
fn a_status_listed_twice_in_purchases_is_reported() {
    purchase_problem(
        "statuses = [\"issued\", \"active\"]",
        "statuses = [\"issued\", \"active\", \"issued\"]",
        "status `issued` is listed twice",
        "\"issued\"]",
    );
}

#[test]
fn an_unknown_bonus_type_in_purchases_is_reported() {
    let p = purchase_problem(
        "statuses = [\"issued\", \"active\"]\n# The bonus type earned bonuses are added as: \"0\" monetary, \"1\" status\n# (the names are in names.toml).\nbonus_type = \"0\"",
        "statuses = [\"issued\", \"active\"]\n# The bonus type earned bonuses are added as: \"0\" monetary, \"1\" status\n# (the names are in names.toml).\nbonus_type = \"2\"",
        "unknown bonus type `2`",
        "\"2\"\n# Earned",
    );
    assert!(p.message.contains("\"0\" (monetary)"), "{p}");
}

#[test]
fn an_unknown_card_type_in_purchases_is_reported() {
    purchase_problem(
        "\"2\" = 3   # bonus/discount",
        "\"3\" = 3   # bonus/discount",
        "unknown card type `3`",
        "3   # bonus/discount",
    );
}

#[test]
fn a_card_type_listed_twice_is_reported_at_the_second() {
    let p =
        purchase_problem("\"2\" = 3   # bonus/discount", "\"0\" = 3   # bonus/discount", "duplicate key", "\"0\" = 3");
    assert_eq!(p.file, "purchases.toml");
}

#[test]
fn a_percent_outside_0_to_100_is_reported() {
    purchase_problem("\"0\" = 5   # bonus card", "\"0\" = 105   # bonus card", "must be from 0 to 100, not 105", "105");
    purchase_problem(
        "\"0\" = 5   # bonus card",
        "\"0\" = -1   # bonus card",
        "must be from 0 to 100, not -1",
        "-1   # bonus",
    );
    purchase_problem(
        "\"0\" = 5   # bonus card",
        "\"0\" = 2.555   # bonus card",
        "at most 2 digits after the point",
        "2.555",
    );
    purchase_problem(
        "\"0\" = 5   # bonus card",
        "\"0\" = \"5\"   # bonus card",
        "must be a number from 0 to 100",
        "\"5\"   #",
    );
}

#[test]
fn a_negative_day_count_is_reported() {
    let p = purchase_problem(
        "activation_delay_days = 14",
        "activation_delay_days = -14",
        "activation_delay_days must not be negative",
        "-14",
    );
    assert!(hint(&p).contains("0"), "{p}");
    purchase_problem(
        "lifetime_days = 365",
        "lifetime_days = 99999999",
        "lifetime_days must be at most 36500",
        "99999999",
    );
}

#[test]
fn a_share_outside_0_to_100_is_reported() {
    purchase_problem("max_share_percent = 50", "max_share_percent = 150", "must be from 0 to 100, not 150", "150");
}

#[test]
fn a_category_listed_twice_is_reported() {
    purchase_problem(
        "excluded_categories = [\"tobacco\"]",
        "excluded_categories = [\"tobacco\", \"alcohol\", \"tobacco\"]",
        "category `tobacco` is listed twice",
        "\"tobacco\"]",
    );
}

#[test]
fn a_misspelt_purchases_setting_is_reported_with_a_hint() {
    let p = purchase_problem(
        "max_share_percent = 50",
        "max_share_procent = 50",
        "unknown field `max_share_procent`",
        "max_share_procent",
    );
    assert!(hint(&p).contains("`max_share_percent`"), "{p}");
}

#[test]
fn a_missing_purchases_file_is_reported_by_load_dir() {
    let dir = write_dir(&shipped(), &["purchases.toml"]);
    let err = match RuleSet::load_dir(dir.path()) {
        Ok(_) => panic!("a set without purchases.toml was accepted"),
        Err(e) => e,
    };
    assert_eq!(err.0.len(), 1, "{err}");
    assert_eq!((err.0[0].file.as_str(), err.0[0].message.as_str()), ("purchases.toml", "missing rule file"));
}

#[test]
fn a_tests_file_beside_the_rules_is_not_an_unknown_rule_file() {
    let dir = write_dir(&shipped(), &[]);
    std::fs::write(dir.path().join("tests.toml"), "").unwrap_or_else(|e| panic!("{e}"));
    if let Err(e) = RuleSet::load_dir(dir.path()) {
        panic!("{e}");
    }
}

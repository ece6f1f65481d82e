//! `rules check` says what a set means: warnings for a set that checks but
//! behaves as its author may not have meant, and follow-on errors listed
//! after the problem that causes them.

use cashdesk_card::rules::{RuleErrors, RuleProblem, RuleSet};

fn set(edits: &[(&str, &str, &str)]) -> Result<RuleSet, RuleErrors> {
    let mut files: Vec<(String, String)> =
        RuleSet::shipped_files().iter().map(|(n, t)| (n.to_string(), t.to_string())).collect();
    for (file, old, new) in edits {
        let text = &mut files.iter_mut().find(|(n, _)| n == file).unwrap_or_else(|| panic!("no {file}")).1;
        assert_eq!(text.matches(old).count(), 1, "`{old}` must occur once in {file}");
        *text = text.replace(old, new);
    }
    let refs: Vec<(&str, &str)> = files.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
    RuleSet::from_sources(&refs)
}

fn warnings(edits: &[(&str, &str, &str)]) -> Vec<RuleProblem> {
    set(edits).unwrap_or_else(|e| panic!("{e}")).warnings()
}

fn show(ps: &[RuleProblem]) -> String {
    ps.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n")
}

#[test]
fn the_shipped_set_has_no_warnings() {
    let w = RuleSet::shipped().warnings();
    assert!(w.is_empty(), "{}", show(&w));
}

#[test]
fn a_block_nobody_can_lift_is_a_warning_naming_who_blocked() {
    let w = warnings(&[(
        "block_reasons.toml",
        "lift_roles = [\"senior_employee\", \"director\", \"administrator\"]",
        "lift_roles = []",
    )]);
    assert_eq!(w.len(), 1, "{}", show(&w));
    assert_eq!(w[0].file, "block_reasons.toml");
    assert!(
        w[0].message.starts_with("block reason 1 «Попадание в список нежелательных клиентов» is not final"),
        "{}",
        w[0]
    );
    assert!(
        w[0].message.contains("blocked with it by senior_employee, director, administrator can never be unblocked"),
        "{}",
        w[0]
    );
}

#[test]
fn a_replacement_card_that_someone_can_unblock_is_a_warning_naming_them() {
    let w = warnings(&[(
        "block_reasons.toml",
        "lift_roles = []\nfinal = true\nreplacement = true",
        "lift_roles = [\"administrator\"]\nreplacement = true",
    )]);
    assert_eq!(w.len(), 1, "{}", show(&w));
    assert!(w[0].message.contains("blocked for replacement with reason 4 «Замена карты» can be unblocked"), "{}", w[0]);
    assert!(w[0].message.contains("administrator with unblock reason 0, 1, 2, 3 (whoever blocked it)"), "{}", w[0]);
}

#[test]
fn a_status_no_role_can_reach_is_a_warning_with_the_rows() {
    // Block stays in the machine, but no role keeps the method.
    let files: Vec<(&str, String)> = RuleSet::shipped_files()
        .iter()
        .map(|(n, t)| (*n, if *n == "roles.toml" { t.replace("\"Block\", ", "") } else { t.to_string() }))
        .collect();
    let refs: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
    let w = RuleSet::from_sources(&refs).unwrap_or_else(|e| panic!("{e}")).warnings();
    assert_eq!(w.len(), 1, "{}", show(&w));
    assert!(w[0].message.starts_with("status `blocked` is never reached: transitions.toml:"), "{}", w[0]);
    assert!(w[0].message.contains("no role may call Block (roles.toml)"), "{}", w[0]);
}

#[test]
fn a_status_that_may_redeem_but_never_buys_is_a_warning() {
    let w = warnings(&[("purchases.toml", "statuses = [\"active\"]", "statuses = [\"active\", \"blocked\"]")]);
    assert_eq!(w.len(), 1, "{}", show(&w));
    assert!(w[0].message.contains("[redemption] statuses lists blocked"), "{}", w[0]);
}

#[test]
fn a_status_typo_is_listed_before_the_problems_it_causes() {
    let err = match set(&[(
        "transitions.toml",
        "method = \"Issue\"\nfrom = [\"new\"]",
        "method = \"Issue\"\nfrom = [\"neww\"]",
    )]) {
        Ok(_) => panic!("accepted"),
        Err(e) => e,
    };
    let ps = err.0;
    assert!(ps[0].message.starts_with("unknown status `neww`"), "the cause comes first:\n{}", show(&ps));
    assert!(ps.len() > 1, "the follow-ons are still reported:\n{}", show(&ps));
    for p in &ps[1..] {
        assert!(p.follows, "{p}");
        assert!(p.hint.as_deref().unwrap_or("").contains("may follow from the problems listed above"), "{p}");
    }
}

#[test]
fn a_follow_on_alone_is_not_said_to_follow_from_anything() {
    // Nothing leads to `active`: the only problem, and no cause above it.
    let err = match set(&[
        (
            "transitions.toml",
            "from = [\"issued\"]\nbound = true\nregistered = true\nto = \"active\"",
            "from = [\"issued\"]\nbound = true\nregistered = true\nstay = true",
        ),
        (
            "transitions.toml",
            "from = [\"blocked\"]\nbound = true\nregistered = true\nto = \"active\"",
            "from = [\"blocked\"]\nbound = true\nregistered = true\nto = \"issued\"",
        ),
    ]) {
        Ok(_) => panic!("accepted"),
        Err(e) => e,
    };
    assert_eq!(err.0.len(), 1, "{err}");
    assert_eq!(err.0[0].hint, None, "{err}");
}

//! The shipped rule set (`rules/`), compiled into the binary so the demo and
//! library users have a working set without a directory at hand.

use super::RuleSet;

pub const FILES: &[(&str, &str)] = &[
    ("statuses.toml", include_str!("../../rules/statuses.toml")),
    ("roles.toml", include_str!("../../rules/roles.toml")),
    ("block_reasons.toml", include_str!("../../rules/block_reasons.toml")),
    ("unblock_reasons.toml", include_str!("../../rules/unblock_reasons.toml")),
    ("registration.toml", include_str!("../../rules/registration.toml")),
    ("formats.toml", include_str!("../../rules/formats.toml")),
    ("options.toml", include_str!("../../rules/options.toml")),
    ("names.toml", include_str!("../../rules/names.toml")),
    ("transitions.toml", include_str!("../../rules/transitions.toml")),
    ("messages.toml", include_str!("../../rules/messages.toml")),
    ("purchases.toml", include_str!("../../rules/purchases.toml")),
];

pub fn rule_set() -> RuleSet {
    // The shipped files are checked by the test suite (`shipped_rules_check`),
    // so this cannot fail in a released binary.
    match RuleSet::from_sources(FILES) {
        Ok(r) => r,
        Err(e) => panic!("the shipped rule set does not check:\n{e}"),
    }
}

use cashdesk_card::rules::RuleSet;
use std::path::Path;

#[test]
fn shipped_rules_check() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    match RuleSet::load_dir(&dir) {
        Ok(_) => {}
        Err(e) => panic!("{e}"),
    }
    let _ = RuleSet::shipped();
}

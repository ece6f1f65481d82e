use cashdesk_card::domain::Status;
use cashdesk_card::rules::{Facts, Method, RuleSet};

/// Found by fuzzing the interpreter with hand-made facts: a block reason id
/// given with a method that reads unblock reasons must not panic `explain`.
#[test]
fn explaining_hand_made_facts_never_panics() {
    let r = RuleSet::shipped();
    let role = r.role("director").unwrap();
    let reason = r.block_reason("4"); // index 4: beyond the four unblock reasons
    for method in Method::ALL {
        for status in Status::ALL {
            let f = Facts { method, status, bound: false, registered: false, role, reason, block: None };
            let d = r.decide(&f);
            let _ = r.explain(&f, &d, "123456");
        }
    }
}

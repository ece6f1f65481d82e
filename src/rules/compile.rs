//! The compile step: raw TOML structs → a checked `RuleSet`. Every problem
//! found is reported, each with file, line, column and, where a name is
//! misspelt, a hint.

use super::ctx::{check_code, check_name, check_template, did_you_mean, problem, whole, Ctx};
pub use super::ctx::{RuleErrors, RuleProblem};
use super::raw::{self, S};
use super::transitions::{check_machine, compile_transitions};
use super::*;
use crate::domain::CheckDigit;
use std::collections::{BTreeMap, HashMap};

/// Largest rule file read, in bytes.
pub const RULE_FILE_BYTES_MAX: u64 = 1 << 20;

/// Built-in contact fields a registration may require.
pub const CONTACT_FIELDS: [&str; 6] = ["Name", "MobileNumber", "Email", "BirthDate", "Gender", "City"];

pub fn load_dir(dir: &Path) -> Result<RuleSet, RuleErrors> {
    let mut problems = Vec::new();
    let mut texts: Vec<(String, String)> = Vec::new();
    let shown = dir.display().to_string();
    match std::fs::read_dir(dir) {
        Err(e) => {
            return Err(RuleErrors(vec![problem(&shown, 0, 0, format!("cannot read the rule directory: {e}"), None)]));
        }
        Ok(entries) => {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().to_string();
                if name.ends_with(".toml") && !RULE_FILES.contains(&name.as_str()) && name != TESTS_FILE {
                    problems.push(problem(
                        &name,
                        1,
                        1,
                        format!("unknown rule file `{name}`"),
                        did_you_mean(&name, RULE_FILES.iter().copied()),
                    ));
                }
            }
        }
    }
    for name in RULE_FILES {
        let path = dir.join(name);
        match std::fs::metadata(&path) {
            Ok(m) if m.len() > RULE_FILE_BYTES_MAX => {
                problems.push(problem(name, 1, 1, format!("file is larger than {RULE_FILE_BYTES_MAX} bytes"), None));
                continue;
            }
            _ => {}
        }
        match std::fs::read(&path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(t) => texts.push((name.to_string(), t)),
                Err(_) => problems.push(problem(name, 1, 1, "file is not UTF-8 text".into(), None)),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => problems.push(problem(
                name,
                0,
                0,
                "missing rule file".into(),
                Some(format!("every set needs {}", RULE_FILES.join(", "))),
            )),
            Err(e) => problems.push(problem(name, 0, 0, format!("cannot read: {e}"), None)),
        }
    }
    if !problems.is_empty() {
        // Still check the files that were read, so one run shows everything.
        let refs: Vec<(&str, &str)> = texts.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
        if let Err(RuleErrors(more)) = compile(&refs) {
            problems.extend(more.into_iter().filter(|p| p.message != "missing rule file"));
        }
        return Err(RuleErrors(problems));
    }
    let refs: Vec<(&str, &str)> = texts.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
    compile(&refs)
}

/// Checks a set given as (file name, text) pairs and builds the `RuleSet`.
pub fn compile(files: &[(&str, &str)]) -> Result<RuleSet, RuleErrors> {
    let mut cx = Ctx { files: files.iter().copied().collect(), problems: Vec::new(), sources: Vec::new() };
    // Rule 0 is the place decisions without a row point at.
    cx.sources.push(RuleSource { file: "(built in)".into(), line: 0, col: 0, summary: "no rule applies".into() });
    for name in RULE_FILES {
        if !cx.files.contains_key(name) {
            cx.problems.push(problem(name, 0, 0, "missing rule file".into(), None));
        }
    }

    let statuses: Option<raw::StatusesFile> = cx.parse("statuses.toml");
    let roles_f: Option<raw::RolesFile> = cx.parse("roles.toml");
    let blocks_f: Option<raw::BlockReasonsFile> = cx.parse("block_reasons.toml");
    let unblocks_f: Option<raw::UnblockReasonsFile> = cx.parse("unblock_reasons.toml");
    let reg_f: Option<raw::RegistrationFile> = cx.parse("registration.toml");
    let formats_f: Option<raw::FormatsFile> = cx.parse("formats.toml");
    let options_f: Option<raw::OptionsFile> = cx.parse("options.toml");
    let names_f: Option<raw::NamesFile> = cx.parse("names.toml");
    let trans_f: Option<raw::TransitionsFile> = cx.parse("transitions.toml");
    let messages_f: Option<raw::MessagesFile> = cx.parse("messages.toml");
    let purchases_f: Option<raw::PurchasesFile> = cx.parse("purchases.toml");

    // ---- statuses ----
    let mut status_codes: [String; 4] = Default::default();
    let mut status_names: [String; 4] = Default::default();
    if let Some(f) = &statuses {
        let file = "statuses.toml";
        let mut seen = [false; 4];
        let mut codes: HashMap<String, ()> = HashMap::new();
        for s in &f.status {
            let Some(st) = Status::from_ident(s.id.get_ref()) else {
                let hint = did_you_mean(s.id.get_ref(), Status::ALL.iter().map(|s| s.ident()));
                cx.err(
                    file,
                    s.id.span(),
                    format!("unknown status `{}`; the statuses are new, issued, active, blocked", s.id.get_ref()),
                    hint,
                );
                continue;
            };
            if seen[st.index()] {
                cx.err(file, s.id.span(), format!("status `{}` is defined twice", st.ident()), None);
            }
            seen[st.index()] = true;
            if codes.insert(s.code.get_ref().clone(), ()).is_some() {
                cx.err(file, s.code.span(), format!("duplicate status code `{}`", s.code.get_ref()), None);
            }
            check_code(&mut cx, file, &s.code);
            check_name(&mut cx, file, &s.name);
            status_codes[st.index()] = s.code.get_ref().clone();
            status_names[st.index()] = s.name.get_ref().clone();
        }
        for st in Status::ALL {
            if !seen[st.index()] {
                cx.err(file, whole(file), format!("status `{}` is not defined", st.ident()), None);
            }
        }
    }

    // ---- roles ----
    let mut roles: Vec<RoleDef> = Vec::new();
    if let Some(f) = &roles_f {
        let file = "roles.toml";
        if f.role.len() > ROLES_MAX {
            cx.err(file, whole(file), format!("more than {ROLES_MAX} roles"), None);
        }
        for r in f.role.iter().take(ROLES_MAX) {
            let name = r.name.get_ref();
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                cx.err(file, r.name.span(), format!("role name `{name}` must be letters, digits or `_`"), None);
            }
            if roles.iter().any(|x| x.name == *name) {
                cx.err(file, r.name.span(), format!("duplicate role `{name}`"), None);
            }
            let mut methods = 0u16;
            for m in &r.methods {
                match Method::from_name(m.get_ref()) {
                    Some(m) => methods |= m.bit(),
                    None => {
                        let hint = did_you_mean(m.get_ref(), Method::ALL.iter().map(|m| m.name()));
                        cx.err(file, m.span(), format!("unknown method `{}`", m.get_ref()), hint);
                    }
                }
            }
            let allowed: Vec<&str> = Method::ALL.iter().filter(|m| methods & m.bit() != 0).map(|m| m.name()).collect();
            let rule = cx.rule(file, r.name.span(), format!("role {name} may call {}", allowed.join(", ")));
            let title = r.title.clone().unwrap_or_else(|| name.clone());
            let article = match &r.article {
                Some(a) if a.get_ref().chars().count() > 16 || a.get_ref().chars().any(|c| c.is_control()) => {
                    cx.err(
                        file,
                        a.span(),
                        "an article must be at most 16 characters, e.g. \"a\", \"an\" or \"\"".into(),
                        None,
                    );
                    String::new()
                }
                Some(a) => a.get_ref().trim().to_string(),
                // English: "an" before a vowel letter; write `article` where that is wrong.
                None if title.starts_with(|c: char| "aeiouAEIOU".contains(c)) => "an".into(),
                None => "a".into(),
            };
            roles.push(RoleDef { name: name.clone(), title, article, methods, rule });
        }
        if roles.is_empty() {
            cx.err(file, whole(file), "no roles are defined".into(), None);
        }
    }

    // ---- block reasons ----
    let mut block_reasons: Vec<BlockReasonDef> = Vec::new();
    if let Some(f) = &blocks_f {
        let file = "block_reasons.toml";
        if f.block_reason.len() > REASONS_MAX {
            cx.err(file, whole(file), format!("more than {REASONS_MAX} block reasons"), None);
        }
        for r in f.block_reason.iter().take(REASONS_MAX) {
            check_code(&mut cx, file, &r.code);
            check_name(&mut cx, file, &r.name);
            if block_reasons.iter().any(|x| x.code == *r.code.get_ref()) {
                cx.err(file, r.code.span(), format!("duplicate block reason code `{}`", r.code.get_ref()), None);
            }
            let block_roles = cx.roles(file, &r.block_roles, &roles, roles_f.is_some());
            let lift_roles = cx.roles(file, &r.lift_roles, &roles, roles_f.is_some());
            let is_final = r.is_final.as_ref().map(|b| *b.get_ref()).unwrap_or(false);
            if is_final && lift_roles != 0 {
                let span = r.is_final.as_ref().map(|b| b.span()).unwrap_or(r.code.span());
                cx.err(
                    file,
                    span,
                    format!("block reason `{}` is final but lists lift_roles", r.code.get_ref()),
                    Some("a final block can never be lifted: empty lift_roles or set final = false".into()),
                );
            }
            let rule =
                cx.rule(file, r.code.span(), format!("block reason {} «{}»", r.code.get_ref(), r.name.get_ref()));
            block_reasons.push(BlockReasonDef {
                code: r.code.get_ref().clone(),
                name: r.name.get_ref().clone(),
                block_roles,
                lift_roles,
                is_final,
                replacement: r.replacement,
                rule,
            });
        }
    }

    // ---- unblock reasons ----
    let mut unblock_reasons: Vec<UnblockReasonDef> = Vec::new();
    let (mut pairing_exempt, mut reserved) = (0u64, 0u64);
    let mut reserved_rule = RuleId(0);
    if let Some(f) = &unblocks_f {
        let file = "unblock_reasons.toml";
        if f.unblock_reason.len() > REASONS_MAX {
            cx.err(file, whole(file), format!("more than {REASONS_MAX} unblock reasons"), None);
        }
        for r in f.unblock_reason.iter().take(REASONS_MAX) {
            check_code(&mut cx, file, &r.code);
            check_name(&mut cx, file, &r.name);
            if unblock_reasons.iter().any(|x| x.code == *r.code.get_ref()) {
                cx.err(file, r.code.span(), format!("duplicate unblock reason code `{}`", r.code.get_ref()), None);
            }
            let roles_mask = cx.roles(file, &r.roles, &roles, roles_f.is_some());
            let mut answers = 0u64;
            for a in &r.answers {
                match block_reasons.iter().position(|b| b.code == *a.get_ref()) {
                    Some(i) => answers |= 1 << i,
                    None if blocks_f.is_some() => {
                        let hint = did_you_mean(a.get_ref(), block_reasons.iter().map(|b| b.code.as_str()));
                        cx.err(file, a.span(), format!("unknown block reason `{}`", a.get_ref()), hint);
                    }
                    None => {}
                }
            }
            let rule =
                cx.rule(file, r.code.span(), format!("unblock reason {} «{}»", r.code.get_ref(), r.name.get_ref()));
            unblock_reasons.push(UnblockReasonDef {
                code: r.code.get_ref().clone(),
                name: r.name.get_ref().clone(),
                roles: roles_mask,
                answers,
                rule,
            });
        }
        pairing_exempt = cx.roles(file, &f.pairing.roles, &roles, roles_f.is_some());
        reserved = cx.roles(file, &f.reserved_blocks.roles, &roles, roles_f.is_some());
        let r_span = f.reserved_blocks.roles.first().map(|s| s.span()).unwrap_or(0..0);
        reserved_rule = cx.rule(file, r_span, "[reserved_blocks] roles".into());
    }

    // ---- registration ----
    let mut required_fields = Vec::new();
    let mut extra_fields = Vec::new();
    let mut genders = None;
    if let Some(f) = &reg_f {
        let file = "registration.toml";
        let extra: Vec<String> = f.extra_fields.iter().map(|s| s.get_ref().clone()).collect();
        extra_fields = extra.clone();
        genders = f.genders.as_ref().map(|g| registration_names(&mut cx, file, g, "gender"));
        for e in &f.extra_fields {
            if CONTACT_FIELDS.iter().any(|c| c.eq_ignore_ascii_case(e.get_ref())) {
                cx.err(
                    file,
                    e.span(),
                    format!("`{}` is a built-in field; list only other fields in extra_fields", e.get_ref()),
                    None,
                );
            } else if e.get_ref().is_empty() || e.get_ref().len() > 64 {
                cx.err(file, e.span(), "extra field names must be 1-64 characters".into(), None);
            }
        }
        for r in &f.required_fields {
            let name = r.get_ref();
            let known = CONTACT_FIELDS.contains(&name.as_str()) || extra.contains(name);
            if !known {
                let hint = did_you_mean(name, CONTACT_FIELDS.iter().copied().chain(extra.iter().map(|s| s.as_str())));
                cx.err(
                    file,
                    r.span(),
                    format!("unknown contact field `{name}`"),
                    hint.or(Some("declare custom fields in extra_fields".into())),
                );
            } else if required_fields.contains(name) {
                cx.err(file, r.span(), format!("field `{name}` is listed twice"), None);
            } else {
                required_fields.push(name.clone());
            }
        }
    }

    // ---- formats ----
    let mut card_format = CardFormat::default();
    let mut region = PhoneRegion::default();
    let mut zone = Zone::Local;
    if let Some(f) = &formats_f {
        let file = "formats.toml";
        let (lo, hi) = (*f.card_number.digits_min.get_ref(), *f.card_number.digits_max.get_ref());
        if !(1..=64).contains(&lo) {
            cx.err(file, f.card_number.digits_min.span(), format!("digits_min must be 1..64, not {lo}"), None);
        }
        if !(1..=64).contains(&hi) || hi < lo {
            cx.err(file, f.card_number.digits_max.span(), format!("digits_max must be digits_min..64, not {hi}"), None);
        }
        card_format.digits_min = lo.clamp(1, 64) as usize;
        card_format.digits_max = hi.clamp(1, 64) as usize;
        if let Some(cd) = &f.card_number.check_digit {
            card_format.check_digit = match cd.get_ref().as_str() {
                "none" => CheckDigit::None,
                "luhn" => CheckDigit::Luhn,
                "ean13" => CheckDigit::Ean13,
                other => {
                    let hint = did_you_mean(other, ["none", "luhn", "ean13"].into_iter());
                    cx.err(file, cd.span(), format!("unknown check digit `{other}`; use none, luhn or ean13"), hint);
                    CheckDigit::None
                }
            };
            if card_format.check_digit == CheckDigit::Ean13 && !(lo..=hi).contains(&13) {
                cx.err(file, cd.span(), "ean13 numbers have 13 digits, outside digits_min..digits_max".into(), None);
            }
        }
        match PhoneRegion::parse(f.mobile_number.region.get_ref()) {
            Some(r) => region = r,
            None => cx.err(
                file,
                f.mobile_number.region.span(),
                format!("unknown region `{}`; use an ISO country code such as RU", f.mobile_number.region.get_ref()),
                None,
            ),
        }
        let z = f.time.zone.get_ref();
        if z != "local" {
            match z.parse::<chrono_tz::Tz>() {
                Ok(tz) => zone = Zone::Named(tz),
                Err(_) => cx.err(
                    file,
                    f.time.zone.span(),
                    format!("unknown time zone `{z}`; use \"local\" or a name such as Europe/Moscow"),
                    None,
                ),
            }
        }
    }

    let options = options_f
        .as_ref()
        .map(|o| Options {
            freeze_while_blocked: o.balance.freeze_while_blocked,
            auto_activate: o.bind.auto_activate,
            move_lots_on_replacement: o.bind.move_lots_on_replacement,
        })
        .unwrap_or(Options { freeze_while_blocked: true, auto_activate: false, move_lots_on_replacement: true });

    // ---- names ----
    let mut category_names: [String; 2] = Default::default();
    let mut card_type_names: [String; 3] = Default::default();
    let mut bonus_state_names: [String; 5] = Default::default();
    let mut bonus_type_names: [String; 2] = Default::default();
    if let Some(f) = &names_f {
        fill_names(&mut cx, "card_categories", &f.card_categories, &mut category_names);
        fill_names(&mut cx, "card_types", &f.card_types, &mut card_type_names);
        fill_names(&mut cx, "bonus_states", &f.bonus_states, &mut bonus_state_names);
        fill_names(&mut cx, "bonus_types", &f.bonus_types, &mut bonus_type_names);
    }

    // ---- messages ----
    let messages = messages_f.as_ref().map(|m| {
        let file = "messages.toml";
        let lifecycle = ["{number}", "{role}", "{reason}", "{block_reason}", "{blocker}", "{reserved}"];
        let status = ["{status}", "{statuses}"];
        let amounts = ["{redeem}", "{limit}", "{share}", "{eligible}", "{balance}"];
        let mut take = |s: &S, allowed: &[&str]| {
            check_template(&mut cx, file, s, allowed);
            s.get_ref().clone()
        };
        Messages {
            block_reason_role: take(&m.block_reason_role, &lifecycle),
            unknown_block_reason: take(&m.unknown_block_reason, &lifecycle),
            unknown_unblock_reason: take(&m.unknown_unblock_reason, &lifecycle),
            final_block: take(&m.final_block, &lifecycle),
            reserved_block: take(&m.reserved_block, &lifecycle),
            lift_role: take(&m.lift_role, &lifecycle),
            unblock_reason_role: take(&m.unblock_reason_role, &lifecycle),
            pairing: take(&m.pairing, &lifecycle),
            purchase_status: take(&m.purchase_status, &status),
            redeem_status: take(&m.redeem_status, &status),
            redeem_limit: take(&m.redeem_limit, &amounts),
            not_enough_bonuses: take(&m.not_enough_bonuses, &amounts),
        }
    });

    // ---- purchases ----
    let purchases = match &purchases_f {
        Some(f) => purchases::check(&mut cx, f),
        None => purchases::PurchaseRules::none(),
    };

    // ---- transitions ----
    let mut transitions: Vec<TransitionDef> = Vec::new();
    let mut table = [[u16::MAX; 16]; 5];
    if let Some(f) = &trans_f {
        compile_transitions(&mut cx, f, &mut transitions, &mut table);
        check_machine(&mut cx, f, &transitions, &block_reasons, blocks_f.is_some());
    }

    if !cx.problems.is_empty() {
        return Err(RuleErrors(cause_first(cx.problems)));
    }
    let Some(messages) = messages else {
        return Err(RuleErrors(vec![problem("messages.toml", 0, 0, "missing rule file".into(), None)]));
    };
    let mut decisions = [[Decision { outcome: Outcome::Stay, check: Check::Transition, rule: RuleId(0) }; 16]; 5];
    for (t, cells) in table.iter().enumerate() {
        for (c, &row) in cells.iter().enumerate() {
            // Every cell has a row: gaps were refused above.
            if let Some(tr) = transitions.get(row as usize) {
                decisions[t][c] = Decision { outcome: tr.outcome, check: Check::Transition, rule: tr.rule };
            }
        }
    }
    let block_masks = block_reasons.iter().map(|b| b.block_roles).collect();
    Ok(RuleSet {
        decisions,
        block_masks,
        status_codes,
        status_names,
        roles,
        block_reasons,
        unblock_reasons,
        pairing_exempt,
        reserved,
        reserved_rule,
        required_fields,
        extra_fields,
        genders,
        card_format,
        region,
        zone,
        options,
        category_names,
        card_type_names,
        bonus_state_names,
        bonus_type_names,
        transitions,
        sources: cx.sources,
        messages,
        purchases,
    })
}

/// The names of a registration.toml list, each checked: not blank, at most
/// 64 characters, not listed twice (letter case aside, as field names match).
fn registration_names(cx: &mut Ctx<'_>, file: &str, list: &[S], what: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for item in list {
        let name = item.get_ref();
        if name.trim().is_empty() || name.chars().count() > 64 {
            cx.err(file, item.span(), format!("{what} names must be 1-64 characters"), None);
        } else if out.iter().any(|o| o.eq_ignore_ascii_case(name)) {
            cx.err(file, item.span(), format!("{what} `{name}` is listed twice"), None);
        } else {
            out.push(name.clone());
        }
    }
    out
}

/// Direct problems first, in file and line order; then the whole-set
/// problems that may follow from them, saying so.
fn cause_first(mut problems: Vec<RuleProblem>) -> Vec<RuleProblem> {
    let order = |p: &RuleProblem| (p.follows, RULE_FILES.iter().position(|f| *f == p.file), p.line, p.col);
    problems.sort_by_key(order);
    if problems.iter().any(|p| !p.follows) {
        for p in problems.iter_mut().filter(|p| p.follows) {
            let note = "this may follow from the problems listed above".to_string();
            p.hint = Some(match p.hint.take() {
                Some(h) => format!("{h}; {note}"),
                None => note,
            });
        }
    }
    problems
}

fn fill_names<const N: usize>(cx: &mut Ctx, table: &str, map: &BTreeMap<String, S>, out: &mut [String; N]) {
    let file = "names.toml";
    for (code, name) in map {
        match code.parse::<usize>() {
            Ok(i) if i < N && *code == i.to_string() => {
                check_name(cx, file, name);
                out[i] = name.get_ref().clone();
            }
            _ => cx.err(
                file,
                name.span(),
                format!("[{table}] has unknown code `{code}`; the codes are 0..{}", N - 1),
                None,
            ),
        }
    }
    for (i, slot) in out.iter().enumerate() {
        if slot.is_empty() && !map.contains_key(&i.to_string()) {
            let span = map.values().next().map(|s| s.span()).unwrap_or(0..0);
            cx.err(file, span, format!("[{table}] has no name for code `{i}`"), None);
        }
    }
}

//! The compile step: raw TOML structs → a checked `RuleSet`. Every problem
//! found is reported, each with file, line, column and, where a name is
//! misspelt, a hint.

use super::raw::{self, S};
use super::*;
use crate::domain::CheckDigit;
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// One problem in a rule set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleProblem {
    pub file: String,
    pub line: usize,
    pub col: usize,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for RuleProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.line, self.col, self.message)?;
        if let Some(h) = &self.hint {
            write!(f, " (hint: {h})")?;
        }
        Ok(())
    }
}

/// Every problem found in a rule set that does not check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleErrors(pub Vec<RuleProblem>);

impl fmt::Display for RuleErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.0 {
            writeln!(f, "{p}")?;
        }
        write!(f, "{} problem(s) found", self.0.len())
    }
}

impl std::error::Error for RuleErrors {}

/// Largest rule file read, in bytes.
pub const RULE_FILE_BYTES_MAX: u64 = 1 << 20;

/// Built-in contact fields a registration may require.
pub const CONTACT_FIELDS: [&str; 6] = ["Name", "MobileNumber", "Email", "BirthDate", "Gender", "City"];

/// Error keys a transition row may answer with.
const TRANSITION_KEYS: [ErrorKey; 5] = [
    ErrorKey::StatusError,
    ErrorKey::BlockReasonError,
    ErrorKey::UnBlockReasonError,
    ErrorKey::CardNumberBindToAnotherContact,
    ErrorKey::ContactBindToAnotherCardNumber,
];

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
                if name.ends_with(".toml") && !RULE_FILES.contains(&name.as_str()) {
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

fn problem(file: &str, line: usize, col: usize, message: String, hint: Option<String>) -> RuleProblem {
    RuleProblem { file: file.to_string(), line, col, message, hint }
}

/// Suggests the closest candidate to a misspelt name.
fn did_you_mean<'a>(given: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        let score = strsim::jaro_winkler(&given.to_lowercase(), &c.to_lowercase());
        if score > 0.75 && best.is_none_or(|(b, _)| score > b) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| format!("did you mean `{c}`?"))
}

struct Ctx<'a> {
    files: HashMap<&'a str, &'a str>,
    problems: Vec<RuleProblem>,
    sources: Vec<RuleSource>,
}

impl<'a> Ctx<'a> {
    fn pos(&self, file: &str, offset: usize) -> (usize, usize) {
        let text = self.files.get(file).copied().unwrap_or("");
        let offset = offset.min(text.len());
        let before = &text.as_bytes()[..offset];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = before.iter().rposition(|&b| b == b'\n').map(|i| i + 1).unwrap_or(0);
        let col = String::from_utf8_lossy(&before[line_start..]).chars().count() + 1;
        (line, col)
    }

    fn err(&mut self, file: &str, span: std::ops::Range<usize>, message: String, hint: Option<String>) {
        let (line, col) = self.pos(file, span.start);
        self.problems.push(problem(file, line, col, message, hint));
    }

    fn rule(&mut self, file: &str, span: std::ops::Range<usize>, summary: String) -> RuleId {
        let (line, col) = self.pos(file, span.start);
        self.sources.push(RuleSource { file: file.to_string(), line, col, summary });
        RuleId((self.sources.len() - 1) as u16)
    }

    fn parse<T: DeserializeOwned>(&mut self, file: &str) -> Option<T> {
        let text = *self.files.get(file)?;
        match toml::from_str::<T>(text) {
            Ok(v) => Some(v),
            Err(e) => {
                let span = e.span().unwrap_or(0..0);
                let msg = e.message().trim().to_string();
                let hint = unknown_field_hint(&msg);
                self.err(file, span, msg, hint);
                None
            }
        }
    }

    /// Resolves role names to a bitmask, reporting unknown names. When
    /// roles.toml did not parse (`roles_read` false) every name would be
    /// "unknown": that file's own problem is reported, not one per reference.
    fn roles(&mut self, file: &str, names: &[S], roles: &[RoleDef], roles_read: bool) -> u64 {
        let mut mask = 0u64;
        for n in names {
            match roles.iter().position(|r| r.name == *n.get_ref()) {
                Some(i) => mask |= 1 << i,
                None if !roles_read => {}
                None => {
                    let hint = did_you_mean(n.get_ref(), roles.iter().map(|r| r.name.as_str()));
                    self.err(file, n.span(), format!("unknown role `{}`", n.get_ref()), hint);
                }
            }
        }
        mask
    }
}

/// serde's "unknown field `x`, expected one of `a`, `b`" already lists the
/// candidates; pick the closest as the hint.
fn unknown_field_hint(msg: &str) -> Option<String> {
    let rest = msg.strip_prefix("unknown field `")?;
    let (given, expected) = rest.split_once('`')?;
    let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    did_you_mean(given, candidates.into_iter())
}

fn whole(file: &str) -> std::ops::Range<usize> {
    let _ = file;
    0..0
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
            let mut methods = 0u8;
            for m in &r.methods {
                match Method::from_name(m.get_ref()) {
                    Some(m) => methods |= m.bit(),
                    None => {
                        let hint = did_you_mean(m.get_ref(), Method::ALL.iter().map(|m| m.name()));
                        cx.err(file, m.span(), format!("unknown method `{}`", m.get_ref()), hint);
                    }
                }
            }
            roles.push(RoleDef { name: name.clone(), title: r.title.clone().unwrap_or_else(|| name.clone()), methods });
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
    if let Some(f) = &reg_f {
        let file = "registration.toml";
        let extra: Vec<String> = f.extra_fields.iter().map(|s| s.get_ref().clone()).collect();
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
        let mut take = |s: &S| {
            check_template(
                &mut cx,
                file,
                s,
                &["{number}", "{role}", "{reason}", "{block_reason}", "{blocker}", "{reserved}"],
            );
            s.get_ref().clone()
        };
        Messages {
            block_reason_role: take(&m.block_reason_role),
            unknown_block_reason: take(&m.unknown_block_reason),
            unknown_unblock_reason: take(&m.unknown_unblock_reason),
            final_block: take(&m.final_block),
            reserved_block: take(&m.reserved_block),
            lift_role: take(&m.lift_role),
            unblock_reason_role: take(&m.unblock_reason_role),
            pairing: take(&m.pairing),
        }
    });

    // ---- transitions ----
    let mut transitions: Vec<TransitionDef> = Vec::new();
    let mut table = [[u16::MAX; 16]; 5];
    if let Some(f) = &trans_f {
        compile_transitions(&mut cx, f, &mut transitions, &mut table);
        check_machine(&mut cx, f, &transitions, &block_reasons, blocks_f.is_some());
    }

    if !cx.problems.is_empty() {
        cx.problems.sort_by(|a, b| {
            (RULE_FILES.iter().position(|f| *f == a.file), a.line, a.col).cmp(&(
                RULE_FILES.iter().position(|f| *f == b.file),
                b.line,
                b.col,
            ))
        });
        return Err(RuleErrors(cx.problems));
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
    })
}

fn check_code(cx: &mut Ctx, file: &str, code: &S) {
    let c = code.get_ref();
    if c.is_empty() || c.len() > 16 || !c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-') {
        cx.err(file, code.span(), format!("code `{c}` must be 1-16 letters, digits, `_` or `-`"), None);
    }
}

fn check_name(cx: &mut Ctx, file: &str, name: &S) {
    let n = name.get_ref();
    if n.trim().is_empty() || n.chars().count() > 200 || n.chars().any(|c| c.is_control()) {
        cx.err(file, name.span(), "a name must be 1-200 characters without control characters".into(), None);
    }
}

fn check_template(cx: &mut Ctx, file: &str, s: &S, allowed: &[&str]) {
    let text = s.get_ref();
    let mut rest = text.as_str();
    while let Some(start) = rest.find('{') {
        let after = &rest[start..];
        let Some(end) = after.find('}') else { break };
        let ph = &after[..=end];
        if !allowed.contains(&ph) {
            let hint = did_you_mean(ph, allowed.iter().copied());
            cx.err(file, s.span(), format!("unknown placeholder `{ph}`; use {}", allowed.join(", ")), hint);
        }
        rest = &after[end + 1..];
    }
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

fn compile_transitions(
    cx: &mut Ctx,
    f: &raw::TransitionsFile,
    out: &mut Vec<TransitionDef>,
    table: &mut [[u16; 16]; 5],
) {
    let file = "transitions.toml";
    if f.transition.len() > TRANSITIONS_MAX {
        cx.err(file, whole(file), format!("more than {TRANSITIONS_MAX} transitions"), None);
        return;
    }
    // Which rows (by index into `out`) and which raw rows match each cell.
    let mut row_spans: Vec<std::ops::Range<usize>> = Vec::new();
    for t in &f.transition {
        let mspan = t.method.span();
        let method = match Method::from_name(t.method.get_ref()) {
            Some(m) if m.transition_index().is_some() => m,
            _ => {
                let hint = did_you_mean(t.method.get_ref(), Method::WITH_TRANSITIONS.iter().map(|m| m.name()));
                cx.err(
                    file,
                    mspan.clone(),
                    format!(
                        "unknown method `{}`; transitions are for Issue, BindTo, Active, Block and UnBlock",
                        t.method.get_ref()
                    ),
                    hint,
                );
                continue;
            }
        };
        let mut from = 0u8;
        for s in t.from.get_ref() {
            match Status::from_ident(s.get_ref()) {
                Some(st) => from |= 1 << st.index(),
                None => {
                    let hint = did_you_mean(s.get_ref(), Status::ALL.iter().map(|s| s.ident()));
                    cx.err(file, s.span(), format!("unknown status `{}`", s.get_ref()), hint);
                }
            }
        }
        if t.from.get_ref().is_empty() {
            cx.err(file, t.from.span(), "`from` lists no status".into(), None);
        }
        let stay = t.stay.as_ref().map(|s| *s.get_ref()).unwrap_or(false);
        let given = t.to.is_some() as u8 + stay as u8 + t.error.is_some() as u8;
        if given != 1 {
            cx.err(
                file,
                mspan.clone(),
                "a transition needs exactly one of `to`, `stay = true` or `error`".into(),
                None,
            );
            continue;
        }
        let outcome = if let Some(to) = &t.to {
            match Status::from_ident(to.get_ref()) {
                Some(Status::New) => {
                    cx.err(
                        file,
                        to.span(),
                        "no transition may lead into `new`: a card never becomes new again".into(),
                        None,
                    );
                    continue;
                }
                Some(st) => Outcome::To(st),
                None => {
                    let hint = did_you_mean(to.get_ref(), Status::ALL.iter().map(|s| s.ident()));
                    cx.err(file, to.span(), format!("unknown status `{}`", to.get_ref()), hint);
                    continue;
                }
            }
        } else if let Some(e) = &t.error {
            match ErrorKey::from_key(e.get_ref()) {
                Some(k) if TRANSITION_KEYS.contains(&k) => Outcome::Refuse(k),
                _ => {
                    let hint = did_you_mean(e.get_ref(), TRANSITION_KEYS.iter().map(|k| k.as_key()));
                    cx.err(file, e.span(), format!("unknown error key `{}` for a transition", e.get_ref()), hint);
                    continue;
                }
            }
        } else {
            Outcome::Stay
        };
        if let Some(m) = &t.message {
            check_template(cx, file, m, &["{number}", "{status}", "{method}", "{role}"]);
        }
        let message = t.message.as_ref().map(|m| m.get_ref().clone()).unwrap_or_default();
        let froms: Vec<&str> = t.from.get_ref().iter().map(|s| s.get_ref().as_str()).collect();
        let mut summary = format!("{} from {}", method.name(), froms.join("/"));
        if let Some(b) = t.bound {
            summary.push_str(if b { ", bound" } else { ", not bound" });
        }
        if let Some(r) = t.registered {
            summary.push_str(if r { ", registered" } else { ", not registered" });
        }
        summary.push_str(&match outcome {
            Outcome::To(s) => format!(" -> {}", s.ident()),
            Outcome::Stay => " -> stay".into(),
            Outcome::Refuse(k) => format!(" -> {k}"),
        });
        let rule = cx.rule(file, mspan.clone(), summary);
        out.push(TransitionDef { method, from, bound: t.bound, registered: t.registered, outcome, message, rule });
        row_spans.push(mspan);
    }
    // Every cell must be matched by exactly one row: overlaps are ambiguous
    // and gaps would leave a call with no answer.
    for m in Method::WITH_TRANSITIONS {
        let ti = m.transition_index().unwrap_or(0);
        for st in Status::ALL {
            for bound in [false, true] {
                for reg in [false, true] {
                    let matching: Vec<usize> = out
                        .iter()
                        .enumerate()
                        .filter(|(_, t)| {
                            t.method == m
                                && t.from & (1 << st.index()) != 0
                                && t.bound.is_none_or(|b| b == bound)
                                && t.registered.is_none_or(|r| r == reg)
                        })
                        .map(|(i, _)| i)
                        .collect();
                    let c = cell(st, bound, reg);
                    match matching.as_slice() {
                        [only] => table[ti][c] = *only as u16,
                        [] => {}
                        [first, rest @ ..] => {
                            for other in rest {
                                let (l, _) = cx.pos(file, row_spans[*first].start);
                                let msg = format!(
                                    "this {} transition and the one at line {l} both match a {} card (bound = {bound}, registered = {reg})",
                                    m.name(),
                                    st.ident()
                                );
                                // Report each overlapping pair once.
                                let span = row_spans[*other].clone();
                                let (ol, oc) = cx.pos(file, span.start);
                                if !cx.problems.iter().any(|p| {
                                    p.file == file
                                        && p.line == ol
                                        && p.col == oc
                                        && p.message.contains(&format!("line {l} both"))
                                }) {
                                    cx.err(
                                        file,
                                        span,
                                        msg,
                                        Some("add a `bound` or `registered` guard, or remove one row".into()),
                                    );
                                }
                            }
                            table[ti][c] = *first as u16;
                        }
                    }
                }
            }
        }
        for st in Status::ALL {
            let missing: Vec<String> = [(false, false), (false, true), (true, false), (true, true)]
                .iter()
                .filter(|(b, r)| table[ti][cell(st, *b, *r)] == u16::MAX)
                .map(|(b, r)| format!("bound = {b}, registered = {r}"))
                .collect();
            if !missing.is_empty() && cx.problems.iter().all(|p| p.file != file || !p.message.starts_with("unknown")) {
                cx.err(
                    file,
                    0..0,
                    format!("no {} transition matches a {} card ({})", m.name(), st.ident(), missing.join("; ")),
                    Some(format!(
                        "add a [[transition]] with method = \"{}\" and from = [\"{}\"]",
                        m.name(),
                        st.ident()
                    )),
                );
            }
        }
    }
}

/// Whole-machine checks: every status reachable from New, and a way out of
/// Blocked while some block reason is not final.
fn check_machine(
    cx: &mut Ctx,
    f: &raw::TransitionsFile,
    ts: &[TransitionDef],
    blocks: &[BlockReasonDef],
    have_blocks: bool,
) {
    let file = "transitions.toml";
    let mut reached = 1u8 << Status::New.index();
    loop {
        let before = reached;
        for t in ts {
            if let Outcome::To(s) = t.outcome {
                if t.from & reached != 0 {
                    reached |= 1 << s.index();
                }
            }
        }
        if reached == before {
            break;
        }
    }
    for st in Status::ALL {
        if reached & (1 << st.index()) == 0 {
            let span = f.transition.first().map(|t| t.method.span()).unwrap_or(0..0);
            cx.err(file, span, format!("status `{}` cannot be reached from `new` by any transition", st.ident()), None);
        }
    }
    let way_out = ts.iter().any(|t| {
        t.from & (1 << Status::Blocked.index()) != 0 && matches!(t.outcome, Outcome::To(s) if s != Status::Blocked)
    });
    if have_blocks && !way_out {
        if let Some(r) = blocks.iter().find(|b| !b.is_final) {
            let code = r.code.clone();
            let src = cx.sources[r.rule.0 as usize].clone();
            cx.problems.push(problem(
                file,
                1,
                1,
                format!(
                    "no transition leads out of `blocked`, but block reason `{code}` ({}:{}) is not final",
                    src.file, src.line
                ),
                Some("add an UnBlock transition from blocked, or mark every block reason final".into()),
            ));
        }
    }
}
